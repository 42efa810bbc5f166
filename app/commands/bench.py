"""`python main.py bench [engine|app]`: how fast the engine's stages run on this machine, and
how the real window keeps up with a fingertip drag (`bench app`, under a virtual screen)."""
from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from engine.bench import FIT_COUNT, bench_dataset, bench_hand_model, bench_simulator, bench_style
from engine.models.device_names import BACKEND_CHOICES, BACKEND_HELP, DEVICE_CHOICES, RUNTIME_BACKEND
from engine.style.registry import style_names

APP_DRAG_S = 5.0  # long enough for ~100 frames of the generator on a 2-core CPU


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure the engine's (or the app's) speed on this machine",
                       description="engine (default): the engine's stages. app: the real window "
                                   "under a virtual screen, a fingertip drag per depth source.")
    p.add_argument("target", nargs="?", choices=("engine", "app"), default="engine",
                   help="what to measure (default: engine)")
    p.add_argument("--count", type=int, default=100, help="engine: poses per measurement (default 100)")
    p.add_argument("--drag-s", type=float, default=APP_DRAG_S,
                   help=f"app: seconds of dragging per source (default {APP_DRAG_S:g})")
    p.add_argument("--style", help="app: a style of the bank (`main.py styles --names`) the drags run "
                                   "with (default: the default scene's, none)")
    p.add_argument("--frames-in", choices=("process", "thread"), default="process",
                   help="app: where generator frames are computed: a frame process (the app's default) "
                        "or the runtime's thread, to compare")
    p.add_argument("--device", default="cpu", help="engine: where G runs for the runtime figures: cpu (default), cuda, mps or auto")
    p.add_argument("--style-weights", type=Path, help="engine: style stage checkpoint timed (default: the shipped one)")
    p.add_argument("--model", type=Path, help="engine: generator checkpoint timed (default: the shipped one)")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default=RUNTIME_BACKEND,
                   help=f"engine: how G runs for the stage and batch figures: {BACKEND_HELP}, the app's "
                        f"choice (default {RUNTIME_BACKEND}); every backend that runs here is also timed side by side")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.target == "app":
        return _run_app(args)
    if args.count < 1:
        raise ValueError(f"--count must be at least 1, got {args.count}")
    if args.device not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {args.device!r}; use {', '.join(DEVICE_CHOICES)}")
    import torch  # only for the thread count the numbers were taken with

    from engine.bench_runtime import bench_runtime
    from engine.models import DEFAULT_STYLE_STAGE_PATH

    weights = args.style_weights or DEFAULT_STYLE_STAGE_PATH
    result = {"machine": _machine(torch.get_num_threads()),
              "simulator": bench_simulator(args.count), "hand_model": bench_hand_model(args.count),
              **bench_runtime(args.count, args.device, backend=args.backend, style_weights=weights,
                             **({"model_path": args.model} if args.model else {})),
              "dataset": bench_dataset(args.count)}
    if weights.is_file():
        result["style"] = bench_style(args.count, weights=str(weights))
        result["peer"] = {"name": "AdaIN (VGG-19 to relu4_1 + mirrored decoder), 128x128, 1 thread",
                          "p50_ms": result["style"]["adain_peer_128_ms"]["p50"],
                          "ratio": result["style"]["peer_over_stage_p50"]}
    else:
        result["style"] = {"error": f"{weights}: no style stage weights (train one: main.py train style)"}
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
    fits = min(args.count, FIT_COUNT)
    for key, label in (("forward_kinematics_ms", "forward kinematics"), ("ik_drag_step_ms", "IK drag step (fingertip)"),
                       ("fit_pose_ms", f"fit to 21 joints ({fits} poses)")):
        print(f"{label}: p50 {hand[key]['p50']:.2f} ms, p95 {hand[key]['p95']:.2f} ms")
    print(f"fit error on sampled poses (shape unknown): {hand['fit_error_mm_mean']:.2e} mm mean")
    rs = result["runtime_style"]
    print(f"G backend {result['backend']}" + (f" ({result['backend_fallback']})" if "backend_fallback" in result else "")
          + f"; style stage: {rs['kind']} ({rs.get('style_image') or rs.get('note')})")
    for stage, t in result["latency_ms"].items():
        print(f"{stage} ({result['latency_threads']} thread, {result['device']}): p50 {t['p50']:.2f} ms, p95 {t['p95']:.2f} ms")
    for name, t in result["generator_by_backend"].items():
        print(f"generator on {name}, side by side: p50 {t['p50']:.2f} ms, p95 {t['p95']:.2f} ms")
    print(f"G + style in batches of {result['throughput_batch']} ({result['throughput_threads']} threads): "
          f"{result['throughput_img_s']:.0f} img/s; G {result['gflop_per_img']:.3f} GFLOP/img, "
          f"matmul peak " + ", ".join(f"{v:.0f} GFLOP/s ({k.replace('_', ' ')})" for k, v in result["peak_gflop_s"].items()))
    rates = result["dataset"]["samples_per_s"]
    print("dataset samples written per second (one process; --workers K runs K): "
          + ", ".join(f"{name.replace('_', ' ')} {rate:.1f}" for name, rate in rates.items()))
    st = result["style"]
    if "error" in st:
        print(f"style stage: {st['error']}")
    else:
        print(f"style stage 128x128 ({st['threads']} thread): p50 {st['style_stage_128_ms']['p50']:.2f} ms, "
              f"p95 {st['style_stage_128_ms']['p95']:.2f} ms; AdaIN peer (VGG-19 to relu4_1 + decoder): "
              f"p50 {st['adain_peer_128_ms']['p50']:.1f} ms, p95 {st['adain_peer_128_ms']['p95']:.1f} ms; "
              f"peer / stage {st['peer_over_stage_p50']:.1f}x")
    return 0


def _machine(torch_threads: int | None = None) -> dict:
    machine = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}
    if torch_threads is not None:
        machine["torch_threads"] = torch_threads
    return machine


def _run_app(args: argparse.Namespace) -> int:
    """Under a display, or re-run under xvfb-run; Qt is imported only past this point."""
    from app.display import has_display, no_display_message, run_under_xvfb

    if not args.drag_s > 0:
        raise ValueError(f"--drag-s must be positive, got {args.drag_s}")
    if args.style is not None and args.style not in style_names():
        raise ValueError(f"unknown style {args.style!r}; `python main.py styles --names` lists the bank")
    if not has_display():
        argv = ["bench", "app", "--drag-s", repr(args.drag_s), "--frames-in", args.frames_in,
                *(["--style", args.style] if args.style else []),
                *(["--json"] if args.json else [])]
        code = run_under_xvfb(argv)
        if code is None:
            raise OSError(no_display_message().replace("run under xvfb-run", "install xvfb-run"))
        return code
    from app.app_bench import bench_app

    result = {"machine": _machine(), **bench_app(args.drag_s, args.style, args.frames_in == "process")}
    if args.json:
        print(json.dumps(result))
        return 0
    for source in ("simulator", "generator"):
        r = result[source]
        if "error" in r:
            print(f"{source}: {r['error']}")
            continue
        ms = {k: "n/a" if v is None else f"{v:.0f} ms" for k, v in r.items() if k.endswith("_ms_p50")
              or k.endswith("_ms_p95") or k.endswith("_ms_max")}
        print(f"{source} (style {r['style']}): {r['frames_per_s']:.1f} frames/s, pose to screen p50 {ms['pose_to_screen_ms_p50']} "
              f"p95 {ms['pose_to_screen_ms_p95']}, GUI stall max {ms['stall_ms_max']} "
              f"p95 {ms['stall_ms_p95']}, runtime frame p50 {ms['runtime_frame_ms_p50']} "
              f"p95 {ms['runtime_frame_ms_p95']} (of which the worker's CPU p50 {ms['runtime_frame_cpu_ms_p50']}), "
              + (f"{r['frames_from_process']:.0%} of frames computed in the frame process" if r["frames_from_process"]
                 else "frames computed on the runtime's thread"))
    return 0
