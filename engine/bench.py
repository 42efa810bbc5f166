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
