"""Convert RealSense's tracked-pose bank into resources/poses/bank/ (run: python -m tools.make_pose_bank).

    python -m tools.make_pose_bank [SOURCE_DIR] [--workers K]

SOURCE_DIR holds `animbank.pose`, `model_hand.json` and `LICENSE` (default
../shared/data/pose_bank_realsense). Each pose becomes 21 joints (engine.hand.realsense_bank)
and is fitted with engine.hand.fit.fit_pose, so the shipped poses are the model's own
parameters, inside its joint limits. The tracker's thumb-base joint sits ~9 mm from the wrist,
where the model's thumb CMC is ~30 mm out on the palm, so the fit leaves it out (that lowers
the mean fit error from ~5.5 to ~4.5 mm). Writes (each file atomically):
    bank.npz   params (N, 32) float32 (engine.hand.model's layout), fit_error_mm (N,) float32
    LICENSE    the source's Apache-2.0 licence, unchanged
    NOTICE     where the poses come from and what was changed
"""
from __future__ import annotations

import argparse
import io
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from engine.hand.fit import fit_pose
from engine.hand.model import pose_to_params
from engine.hand.pose_bank import BANK_DIR, BANK_FILE
from engine.hand.realsense_bank import bank_joints, read_bank, read_model
from engine.io_utils import atomic_write_bytes

DEFAULT_SOURCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pose_bank_realsense"
SOURCE_COMMIT = "75d5579aa258d97157d8a29b1c4da32f3d0a7608"
THUMB_CMC = 1

NOTICE = f"""HandDepth Studio pose bank (bank.npz)

Derived from Intel RealSense hand_tracking_samples (github.com/IntelRealSense/hand_tracking_samples,
commit {SOURCE_COMMIT}), files assets/animbank.pose and assets/model_hand.json,
Copyright Intel Corporation, licensed under the Apache License 2.0 (LICENSE beside this file).

Changes: each of the {{count}} tracked poses was converted from 17 rigid bodies to 21 joints
(engine/hand/realsense_bank.py) and fitted to HandDepth Studio's hand model
(tools/make_pose_bank.py); bank.npz holds the fitted model parameters, not the original numbers.
"""


def _fit(joints: np.ndarray) -> tuple[np.ndarray, float]:
    mask = np.ones(len(joints), dtype=bool)
    mask[THUMB_CMC] = False
    result = fit_pose(joints, "right", mask=mask)
    return pose_to_params(result.pose), result.mean_error_mm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    positions, rotations = read_bank(args.source / "animbank.pose")
    joints, residual = bank_joints(positions, rotations, read_model(args.source / "model_hand.json"))
    print(f"{len(joints)} poses; joint residual median {np.median(residual):.2f} mm, max {residual.max():.2f} mm")
    with ProcessPoolExecutor(args.workers) as pool:
        fitted = list(pool.map(_fit, joints, chunksize=16))
    params = np.stack([p for p, _ in fitted]).astype(np.float32)
    errors = np.array([e for _, e in fitted], dtype=np.float32)
    print(f"fit error mean {errors.mean():.1f} mm, 95th percentile {np.percentile(errors, 95):.1f} mm")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, params=params, fit_error_mm=errors)
    BANK_DIR.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(BANK_DIR / "LICENSE", (args.source / "LICENSE").read_bytes())
    atomic_write_bytes(BANK_DIR / "NOTICE", NOTICE.format(count=len(params)).encode())
    atomic_write_bytes(BANK_DIR / BANK_FILE, buffer.getvalue())
    print(f"wrote {BANK_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
