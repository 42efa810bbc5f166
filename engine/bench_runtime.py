"""Timing of pose -> styled crop, stage by stage, and of batches (the `bench` command's runtime figures).

Latency is what one dragged pose costs, so it is timed one crop at a time on ONE torch thread
(the app's setting on a 2-core machine, engine.models.device.inference_threads); throughput is
what a dataset command gets, batches on up to THROUGHPUT_THREADS threads: generate_batch splits
each batch into that many shards, each run whole (encoding, G, style) on a worker thread of one
torch thread (engine.batch_threads), and the rate counts whole batches, every step included,
beside the process's CPU time per image over them. The style stage is the shipped learned style
stage (engine.style.learned.LearnedStyle, resources/models/style_stage) styling toward a
simulated RealSense frame (BENCH_SENSOR, through the sensor model), applied to the crop in mm in
the crop's own camera: the issue's pose -> styled crop is encode + G + that stage. Without the
stage's weights the `realsense` sensor model itself stands in, and the JSON says which ran
(`runtime_style`). G runs on the chosen backend (engine.models.inference; `backend`), and
`generator_by_backend` times every backend that runs here side by side, interleaved, on the
same encodings. Speed is measured here, never asserted in tests.

`gflop_per_img` counts the generator's convolutions (2 * multiply-adds); `peak_gflop_s` is this
machine's float32 matrix-multiply rate on the same threads, an achievable peak to hold G against.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from engine.bench import BENCH_RANGES, percentiles_ms, time_each
from engine.camera import KINECT_V1
from engine.data.crop import CROP_SIZE, crop_camera, make_transform, normalise_joints
from engine.data.paste import paste_crop
from engine.hand.sampler import sample_pose
from engine.models import DEFAULT_GENERATOR_PATH, DEFAULT_STYLE_STAGE_PATH
from engine.models.device import resolve_device
from engine.models.device_names import RUNTIME_BACKEND
from engine.models.fast_encoding import encode_pose_numpy
from engine.models.generator import ENCODING_SIZE, load_generator
from engine.models.inference import InferenceGenerator, backends_for, resolve_backend
from engine.models.pose_encoding import crop_view
from engine.runtime_batch import crop_to_mm, generate_batch
from engine.sim.render import render_hand
from engine.style.base import Style
from engine.style.registry import resolve_style

BENCH_SENSOR = "realsense"
# The style image of the learned stage: a render through BENCH_SENSOR from a stream of its own
# (the evaluate command's sensor-style seed, engine.eval: apart from every pose set).
STYLE_IMAGE_SEED = 5_000_011
LATENCY_THREADS = 1
THROUGHPUT_THREADS = 2
THROUGHPUT_BATCH = 64
PEAK_MATRIX = 1024  # sgemm side for the peak estimate: large enough to run at full rate


@contextmanager
def torch_threads(n: int):
    """Run a block on n torch threads, then restore the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def conv_gflop(net: torch.nn.Module, encoding: torch.Tensor) -> float:
    """GFLOP of the convolutions of one pass of G's body on `encoding` (batch 1, the body's input
    as InferenceGenerator.encode makes it), by forward hooks."""
    total = 0

    def hook(mod: torch.nn.Conv2d, _inputs: tuple, out: torch.Tensor) -> None:
        nonlocal total
        k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
        total += 2 * out.numel() * k

    hooks = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.inference_mode():
            net.body(encoding)
    finally:
        for h in hooks:
            h.remove()
    return total / 1e9


def peak_gflop_s(threads: int, repeats: int = 5) -> float:
    """Best float32 matmul rate (GFLOP/s) on `threads` threads: the machine's practical peak."""
    a = torch.randn(PEAK_MATRIX, PEAK_MATRIX)
    b = torch.randn(PEAK_MATRIX, PEAK_MATRIX)
    best = float("inf")
    with torch_threads(threads), torch.inference_mode():
        torch.mm(a, b)
        for _ in range(repeats):
            t0 = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - t0)
    return 2 * PEAK_MATRIX ** 3 / best / 1e9


def runtime_style(weights: str | Path = DEFAULT_STYLE_STAGE_PATH) -> tuple[Style, dict]:
    """(the style stage timed, prepared; what it is, for the JSON): the learned stage toward a
    BENCH_SENSOR render, or that sensor model itself when the stage's weights are missing."""
    if Path(weights).is_file():
        from engine.data.readers.sim import SimConfig, crop_sample
        from engine.style.learned import LearnedStyle, crop_to_mm as stage_crop_to_mm

        s = crop_sample(SimConfig(seed=STYLE_IMAGE_SEED, sensors=(BENCH_SENSOR,)), 0)
        image = stage_crop_to_mm(s.depth, float(s.transform.centre[2]))
        style = LearnedStyle(image, name=f"learned:{BENCH_SENSOR}", weights=weights).prepare()
        return style, {"kind": "learned", "weights": str(weights),
                       "style_image": f"{BENCH_SENSOR} render, sim seed {STYLE_IMAGE_SEED} sample 0"}
    return resolve_style(BENCH_SENSOR).prepare(), {
        "kind": "sensor", "name": BENCH_SENSOR, "note": f"no learned style stage at {weights}"}


def bench_runtime(count: int = 100, device: str = "cpu", model_path: str | Path = DEFAULT_GENERATOR_PATH,
                  seed: int = 0, backend: str = RUNTIME_BACKEND,
                  style_weights: str | Path = DEFAULT_STYLE_STAGE_PATH) -> dict:
    """latency_ms per stage, throughput_img_s (G + style) and generator_throughput_img_s (G
    alone), gflop_per_img, peak, device, resolution, the backend G ran on and the style stage
    timed."""
    dev = resolve_device(device)
    model, _ = load_generator(model_path, device=dev)
    gens = {name: InferenceGenerator(model, backend=name) for name in backends_for(dev)}
    gens = {name: g for name, g in gens.items() if g.backend == name}  # the ones that run here
    asked = resolve_backend(backend, dev)
    gen = gens[asked] if asked in gens else InferenceGenerator(model, backend=asked)  # says why not
    style, style_info = runtime_style(style_weights)
    rng = np.random.default_rng(seed)
    joints = np.stack([sample_pose(rng, BENCH_RANGES, camera=KINECT_V1).joints() for _ in range(count)])
    transforms = [make_transform(j, KINECT_V1) for j in joints]
    y = np.stack([normalise_joints(j, t) for j, t in zip(joints, transforms)])
    views = np.stack([crop_view(t) for t in transforms])
    crops = gen(y, views)
    encodings = [gen.encode(y[i:i + 1], views[i:i + 1]) for i in range(count)]
    surrounds = [render_hand(j, KINECT_V1).depth for j in joints]  # the app pastes onto the clean render

    def g_stage(g: InferenceGenerator) -> Callable[[int], None]:
        def run_g(i: int) -> None:
            with torch.inference_mode():
                out = g.network_and_cut(encodings[i])  # one pose: on CUDA the graph's replay
            if dev.type == "cuda":
                torch.cuda.synchronize()
            del out
        return run_g

    stages: dict[str, Callable[[int], object]] = {
        "encode": lambda i: encode_pose_numpy(y[i:i + 1], views[i:i + 1], size=ENCODING_SIZE),
        "generator": g_stage(gen),
        "style": lambda i: style.apply(crop_to_mm(crops[i], transforms[i]), crop_camera(transforms[i]), i, 1.0),
        "paste": lambda i: paste_crop(crops[i], transforms[i], surround=surrounds[i]),
        "pose_to_styled_crop": lambda i: generate_batch(gen, joints[i:i + 1], KINECT_V1, style, i, frames=False),
    }
    with torch_threads(LATENCY_THREADS):
        latency = {name: percentiles_ms(time_each(fn, count)) for name, fn in stages.items()}
        by_backend = interleaved_ms({name: g_stage(g) for name, g in gens.items()}, count)
    batch = THROUGHPUT_BATCH
    threads = max(1, min(THROUGHPUT_THREADS, os.cpu_count() or 1))
    # Whole batches only (the bench's poses, then as many more of the same stream as fill the
    # last batch): a short batch would time the learned stage's padding (engine.models.
    # style_inference runs every call at its fixed batch shape), not a batch's rate.
    batched = -(-count // batch) * batch
    more = [sample_pose(rng, BENCH_RANGES, camera=KINECT_V1).joints() for _ in range(batched - count)]
    batch_joints = np.concatenate([joints, np.asarray(more).reshape(-1, 21, 3)])
    with torch_threads(threads):
        generate_batch(gen, batch_joints[:batch], KINECT_V1, style, 0, frames=False)  # warm-up
        t0, cpu0 = time.perf_counter(), time.process_time()
        done = 0
        for start in range(0, batched, batch):
            done += len(generate_batch(gen, batch_joints[start:start + batch], KINECT_V1, style, start,
                                       frames=False).depth)
        throughput = done / (time.perf_counter() - t0)
        cpu_per_img = (time.process_time() - cpu0) / done
        generator_throughput, generator_done = _generator_rate(gen, batch_joints, batch)
    return {
        "device": str(dev) if dev.type != "cuda" else torch.cuda.get_device_name(dev),
        "resolution": [CROP_SIZE, CROP_SIZE],
        "latency_threads": LATENCY_THREADS,
        "latency_ms": latency,
        "throughput_img_s": round(throughput, 1),
        "throughput_images": done,  # what the rate was measured over
        "throughput_threads": threads,
        "throughput_batch": batch,
        # the process's CPU time over the same batches: what a load on the machine barely moves,
        # where it cuts the rate
        "throughput_cpu_ms_per_img": round(cpu_per_img * 1e3, 2),
        # G alone (encoding, network, cut) over the same whole batches: on a GPU the rate above
        # also waits for the CPU's style stage, this one is the accelerator's
        "generator_throughput_img_s": round(generator_throughput, 1),
        "generator_throughput_images": generator_done,  # the crops G returned while timed
        "gflop_per_img": round(conv_gflop(gen.net, encodings[0]), 4),
        "peak_gflop_s": {"threads_1": round(peak_gflop_s(1), 1), f"threads_{threads}": round(peak_gflop_s(threads), 1)},
        "backend": gen.backend,
        **({"backend_fallback": gen.fallback} if gen.fallback else {}),
        # CUDA only: whether one pose ran as a CUDA graph's replay, and why not where it did not
        **({"cuda_graph": gen.graphed, **({"graph_fallback": gen.graph_fallback} if gen.graph_fallback else {})}
           if dev.type == "cuda" else {}),
        "generator_by_backend": by_backend,
        "runtime_style": style_info,
        "generator": str(model_path),
    }


def _generator_rate(gen: InferenceGenerator, joints: np.ndarray, batch: int) -> tuple[float, int]:
    """(images per second, crops returned) of G alone over `joints` in whole batches of `batch`
    (crop inputs made beforehand, one warm-up batch first; the output is numpy, so on CUDA the
    device has finished each batch)."""
    transforms = [make_transform(j, KINECT_V1) for j in joints]
    y = np.stack([normalise_joints(j, t) for j, t in zip(joints, transforms)])
    views = np.stack([crop_view(t) for t in transforms])
    gen(y[:batch], views[:batch])
    t0, done = time.perf_counter(), 0
    for start in range(0, len(y), batch):
        done += len(gen(y[start:start + batch], views[start:start + batch]))
    return done / (time.perf_counter() - t0), done


def interleaved_ms(runs: dict[str, Callable[[int], object]], count: int) -> dict[str, dict[str, float]]:
    """{name: {p50, p95}} of several callables timed in turn, item by item, so that a change in
    the machine's load falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for fn in runs.values():  # warm-up
        fn(0)
    for i in range(count):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn(i)
            times[name].append(time.perf_counter() - t0)
    return {name: percentiles_ms(t) for name, t in times.items()}
