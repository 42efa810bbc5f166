"""`python main.py bench`: how fast the engine's stages run on this machine."""
from __future__ import annotations

import argparse
import json
import os
import platform

from engine.bench import bench_hand_model, bench_simulator


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure the engine's speed on this machine")
    p.add_argument("--count", type=int, default=100, help="poses per measurement (default 100)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise ValueError("--count must be at least 1")
    import torch  # only for the thread count the numbers were taken with

    result = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "torch_threads": torch.get_num_threads()},
              "simulator": bench_simulator(args.count), "hand_model": bench_hand_model(args.count)}
    if args.json:
        print(json.dumps(result))
        return 0
    sim = result["simulator"]
    print(f"clean render 640x480 (hand 400-600 mm): p50 {sim['render_640x480_ms']['p50']:.2f} ms, "
          f"p95 {sim['render_640x480_ms']['p95']:.2f} ms ({sim['hand_pixels_median']} hand pixels)")
    for name, t in sim["sensor_640x480_ms"].items():
        print(f"sensor {name:10s} 640x480: p50 {t['p50']:.2f} ms, p95 {t['p95']:.2f} ms")
    print(f"training crop 128x128 (sample + render + crop): p50 {sim['training_crop_128_ms']['p50']:.2f} ms")
    hand = result["hand_model"]
    for key, label in (("forward_kinematics_ms", "forward kinematics"), ("ik_drag_step_ms", "IK drag step (fingertip)"),
                       ("fit_pose_ms", "fit to 21 joints")):
        print(f"{label}: p50 {hand[key]['p50']:.2f} ms, p95 {hand[key]['p95']:.2f} ms")
    print(f"fit error on sampled poses (shape unknown): {hand['fit_error_mm_mean']:.2e} mm mean")
    return 0
