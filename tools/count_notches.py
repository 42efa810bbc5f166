"""Count the simulator's 1-px no-data notches over random poses (issue 15, "the teacher must be clean").

A notch is a pixel without data whose two opposite neighbours (left/right or up/down) are the
same part (engine.sim.render.notches). Run: python tools/count_notches.py [--count 1000]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.camera import ICVL_MSRA, KINECT_V1  # noqa: E402
from engine.hand.sampler import sample_pose  # noqa: E402
from engine.sim.render import notches, render_hand  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--camera", choices=("kinect_v1", "icvl"), default="kinect_v1")
    args = p.parse_args(argv)
    camera = {"kinect_v1": KINECT_V1, "icvl": ICVL_MSRA}[args.camera]
    rng = np.random.default_rng(args.seed)
    counts = []
    for _ in range(args.count):
        hand = sample_pose(rng, camera=camera)
        counts.append(int(notches(render_hand(hand.joints(), camera, hand.shape.thickness).labels).sum()))
    c = np.array(counts)
    print(f"{args.count} poses at {args.camera}: {int((c > 0).sum())} with notches, "
          f"median {np.median(c):.1f}, max {c.max()}, total {c.sum()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
