"""Timing of the engine's stages on this machine (the `bench` command's numbers).

Speed is measured here, never asserted in tests: the figures depend on the machine and its load.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from engine.camera import KINECT_V1
from engine.data.readers.sim import SimConfig, crop_sample
from engine.hand.fit import fit_pose
from engine.hand.ik import move_joint
from engine.hand.sampler import PoseRanges, sample_pose
from engine.sim.render import render_hand
from engine.sim.sensors import SENSOR_NAMES, apply_sensor

# The operating point: a hand 400-600 mm from a 640x480 Kinect-v1 camera.
BENCH_RANGES = PoseRanges(distance_mm=(400.0, 600.0))
FIT_COUNT = 20  # a full fit costs several IK steps (see the bench output): fewer poses keep it short


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {"p50": round(float(np.median(ms)), 3), "p95": round(float(np.percentile(ms, 95)), 3)}


def time_each(fn: Callable[[int], object], count: int, warmup: int = 3) -> list[float]:
    """Wall time of fn(i) for i in range(count), after `warmup` untimed calls (on the same i)."""
    for i in range(warmup):
        fn(i % count)
    times = []
    for i in range(count):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return times


def bench_simulator(count: int = 100, seed: int = 0) -> dict:
    """Latency of the clean full-frame render, each sensor model, and a training crop."""
    rng = np.random.default_rng(seed)
    hands = [sample_pose(rng, BENCH_RANGES, camera=KINECT_V1) for _ in range(count)]
    joints = [h.joints() for h in hands]
    renders = [render_hand(j, KINECT_V1).depth for j in joints]
    result = {
        "render_640x480_ms": percentiles_ms(time_each(lambda i: render_hand(joints[i], KINECT_V1), count)),
        "sensor_640x480_ms": {
            name: percentiles_ms(time_each(lambda i: apply_sensor(renders[i], KINECT_V1, name, i), count))
            for name in SENSOR_NAMES if name != "none"},
        "training_crop_128_ms": percentiles_ms(time_each(lambda i: crop_sample(SimConfig(seed=seed), i), count)),
        "hand_pixels_median": int(np.median([(d > 0).sum() for d in renders])),
    }
    return result


def bench_dataset(count: int = 100, seed: int = 0) -> dict:
    """Samples written per second by one `dataset` process once started (the simulator clean,
    with the Kinect v1 sensor style and with a learned bank style, and the generator), into a
    temporary folder; --workers K runs K such processes. The process's torch thread count is
    restored after the runs."""
    import tempfile
    from pathlib import Path

    import torch

    from engine.dataset import DatasetPlan, DatasetWriter, prepare_style

    sources = {"simulator": DatasetPlan(count=count, seed=seed),
               "simulator_kinect_v1": DatasetPlan(count=count, seed=seed, style="kinect_v1"),
               "simulator_sr305_palm_a": DatasetPlan(count=count, seed=seed, style="sr305_palm_a"),
               "generator": DatasetPlan(count=count, seed=seed, source="generator")}
    threads = torch.get_num_threads()
    rates = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, plan in sources.items():
                writer = DatasetWriter(plan, Path(tmp) / name, prepare_style(plan))
                t0 = time.perf_counter()
                writer.write_many(list(range(count)))
                rates[name] = round(count / (time.perf_counter() - t0), 1)
    finally:
        torch.set_num_threads(threads)
    return {"samples_per_s": rates, "workers": 1, "count": count}


def bench_hand_model(count: int = 100, seed: int = 0) -> dict:
    """Latency of forward kinematics, one IK drag step of a fingertip, and a full joint fit."""
    rng = np.random.default_rng(seed)
    hands = [sample_pose(rng, BENCH_RANGES, camera=KINECT_V1) for _ in range(count)]
    joints = [h.joints() for h in hands]
    # a drag step: the index fingertip moved 2 mm in a random direction
    steps = [j[8] + 2.0 * d / np.linalg.norm(d) for j, d in zip(joints, rng.normal(size=(count, 3)))]
    fit_count = min(count, FIT_COUNT)
    fits = [fit_pose(j, h.handedness) for j, h in zip(joints[:fit_count], hands[:fit_count])]
    return {
        "forward_kinematics_ms": percentiles_ms(time_each(lambda i: hands[i].joints(), count)),
        "ik_drag_step_ms": percentiles_ms(time_each(lambda i: move_joint(hands[i], 8, steps[i]), count)),
        "fit_pose_ms": percentiles_ms(time_each(lambda i: fit_pose(joints[i], hands[i].handedness), fit_count)),
        "fit_error_mm_mean": float(np.mean([f.mean_error_mm for f in fits])),
    }


# The style stage against its peer: one 128x128 crop, one thread (the operating point).
STYLE_BENCH_THREADS = 1
PEER_COUNT_MAX = 20  # the peer takes ~100x longer per call; fewer calls keep bench short


def bench_style(count: int = 100, seed: int = 0, weights: str | None = None) -> dict:
    """Per-crop latency of the learned style stage (LearnedStyle.apply on a 128x128 crop in mm:
    crop, network, holes and noise) and of the AdaIN peer (engine.models.adain_peer, random
    weights, style encoded once), with torch on STYLE_BENCH_THREADS thread(s); their ratio."""
    import torch

    from engine.data.crop import crop_camera
    from engine.models import DEFAULT_STYLE_STAGE_PATH
    from engine.models.adain_peer import AdaINPeer
    from engine.style.learned import LearnedStyle, crop_to_mm

    threads = torch.get_num_threads()
    torch.set_num_threads(STYLE_BENCH_THREADS)
    try:
        samples = [crop_sample(SimConfig(seed=seed), i) for i in range(count)]
        crops = [(crop_to_mm(s.clean, float(s.transform.centre[2])), crop_camera(s.transform)) for s in samples]
        style = LearnedStyle(crops[0][0], name="bench", weights=weights or DEFAULT_STYLE_STAGE_PATH).prepare()
        stage = time_each(lambda i: style.apply(crops[i][0], crops[i][1], i, 1.0), count)
        torch.manual_seed(seed)
        peer = AdaINPeer().eval()
        peer_count = min(count, PEER_COUNT_MAX)
        with torch.inference_mode():
            x = torch.from_numpy(np.stack([s.clean for s in samples[:peer_count]]))[:, None].expand(-1, 3, -1, -1)
            mean, std = peer.encode_style(x[:1])
            peer_t = time_each(lambda i: peer(x[i:i + 1], mean, std), peer_count, warmup=2)
    finally:
        torch.set_num_threads(threads)
    s_ms, p_ms = percentiles_ms(stage), percentiles_ms(peer_t)
    return {"style_stage_128_ms": s_ms, "adain_peer_128_ms": p_ms,
            "peer_over_stage_p50": round(p_ms["p50"] / s_ms["p50"], 1), "threads": STYLE_BENCH_THREADS}
