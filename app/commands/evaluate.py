"""`python main.py evaluate`: how close a generator's depth is to reference depth, and to a
nearest-pose retrieval baseline (engine.eval.evaluate)."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from engine.eval import DEFAULT_BANK_SIZE
from engine.models.device_names import BACKEND_CHOICES, BACKEND_HELP, REFERENCE_BACKEND
from engine.seeds import TEST_SEED


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="score a generator against reference depth and a retrieval baseline",
        description="Generates depth for test poses and scores the network's raw output and the "
                    "output after its silhouette cut against the reference (--data sim: the clean "
                    "simulator render of the same pose; a dataset: its own depth): silhouette IoU, "
                    "boundary F-score, foreground and full-crop depth MAE, per-finger IoU, the pose "
                    "estimator's joint error and KID on its features; the same for the nearest "
                    "training image by pose and view, and (sim) for the simulator itself.")
    p.add_argument("--model", type=Path, help="generator checkpoint (default: the shipped generator)")
    p.add_argument("--data", required=True,
                   help="sim, or a dataset: DIR, nyu:PATH, icvl:PATH, msra:PATH, hands17:PATH")
    p.add_argument("--count", type=int, default=1000, help="poses to evaluate (default 1000)")
    p.add_argument("--seed", type=int, default=TEST_SEED,
                   help=f"sim stream of the evaluated poses (default {TEST_SEED}, the test split kept for the "
                        "final table; engine.seeds names the others)")
    p.add_argument("--estimator", type=Path, help="pose estimator checkpoint (default: the shipped one)")
    p.add_argument("--bank-size", type=int, default=DEFAULT_BANK_SIZE,
                   help=f"training images the retrieval baseline picks from (default {DEFAULT_BANK_SIZE})")
    p.add_argument("--cache-dir", type=Path,
                   help="where the baseline's bank is cached (default $HANDDEPTH_CACHE or ~/.cache/handdepth)")
    p.add_argument("--batch", type=int, default=64, help="images per batch (default 64)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto (default): CUDA when available")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default=REFERENCE_BACKEND,
                   help=f"how G runs: {BACKEND_HELP}, the runtime's choice (default {REFERENCE_BACKEND}, "
                        f"the checkpoint as trained)")
    p.add_argument("--compare-to", metavar="MODEL[:BACKEND]",
                   help="also score this generator (on BACKEND, default torch) on the same poses and report "
                        "the paired differences, --model minus it, with 95 %% bootstrap intervals ('compare_to')")
    p.add_argument("--style", help="also evaluate a style (a bank name or a depth PNG) on the clean sim crops "
                                   "of the evaluated seed: styled/unstyled KID and statistics, geometry shift")
    p.add_argument("--style-scale", type=float, help="mm per stored unit of a --style image (default: sidecar or guess)")
    p.add_argument("--learned", action="store_true",
                   help="with a sensor --style: evaluate the learned stage with a render through the sensor "
                        "as its style image, instead of the sensor model itself")
    p.add_argument("--style-weights", type=Path,
                   help="learned style stage checkpoint for an image --style or --learned (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print one JSON object (progress goes to stderr)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from engine.data.readers import open_dataset
    from engine.data.crop_bank import cache_dir, open_bank
    from engine.eval.estimator import load_estimator
    from engine.eval.evaluate import (
        bar_check,
        beats_baseline,
        check_generator_output,
        dataset_source,
        describe_path,
        evaluate,
        finite_or_none,
        inference_backend,
        outputs,
        sim_source,
        training_stream,
    )
    from engine.models import DEFAULT_ESTIMATOR_PATH, DEFAULT_GENERATOR_PATH
    from engine.models.checkpoint import load_model
    from engine.seeds import split_of
    from engine.train.common import pick_device

    if args.count < 1:
        raise ValueError("--count must be at least 1")
    if args.batch < 1 or args.bank_size < 1:
        raise ValueError("--batch and --bank-size must be at least 1")
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    style, style_sources = _style(args) if args.style is not None else (None, None)
    model_path = args.model or DEFAULT_GENERATOR_PATH
    estimator_path = args.estimator or DEFAULT_ESTIMATOR_PATH
    device = pick_device(args.device)
    generator, g_config, g_info = load_model(model_path, map_location=device)
    check_generator_output(generator)
    generator, backend = inference_backend(generator, args.backend)
    other = None
    if args.compare_to is not None:
        other_path, other_backend = compare_spec(args.compare_to)
        other_model = load_model(other_path, map_location=device)[0]
        check_generator_output(other_model)
        other = (other_path, *inference_backend(other_model, other_backend))
    estimator = load_estimator(estimator_path).to(device)
    train_stream, stream_origin = training_stream(g_config, g_info)

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int | None) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, dynamic_ncols=True, leave=False)
        bar.n = done
        bar.refresh()

    result: dict = {"model": describe_path(model_path), "data": args.data, **backend}
    # The data is opened (and a bad path reported) before the baseline bank costs a minute.
    if args.data == "sim":
        if args.seed == train_stream.seed:
            print(f"warning: --seed {args.seed} is the generator's training stream; "
                  "its poses are not held out", file=sys.stderr)
        # The generator's own cameras and pose ranges, another seed; the clean render is the
        # reference, so no sensor is applied.
        eval_stream = dataclasses.replace(train_stream, seed=args.seed, sensors=("none",))
        make_source = lambda: sim_source(args.count, batch=args.batch, config=eval_stream)  # noqa: E731
        result.update(seed=args.seed, split=split_of(args.seed, train_stream.seed),
                      held_out=args.seed != train_stream.seed)
    else:
        reader = open_dataset(args.data)
        make_source = lambda: dataset_source(reader, args.count, batch=args.batch)  # noqa: E731
        result.update(seed=None, split="dataset", held_out=True)
    source = make_source()
    try:
        bank = open_bank(cache_dir(args.cache_dir), train_stream, args.bank_size,
                         progress=lambda d, n: progress("baseline bank", d, n))
        scores = evaluate(generator, estimator, source, bank, batch=args.batch, progress=progress,
                          per_image=other is not None)
        if other is not None:
            # The same poses (a fresh pass over the same stream), so the differences are paired.
            theirs = evaluate(other[1], estimator, make_source(), bank, batch=args.batch, progress=progress,
                              per_image=True)
            scores["compare_to"] = compared(scores, theirs, describe_path(other[0]), other[2])
        if style is not None:
            from engine.eval.style_eval import evaluate_style
            style_seed = args.seed if args.data == "sim" else TEST_SEED
            scores.update(style=args.style, style_stage=type(style).__name__,
                          **evaluate_style(style, style_sources, estimator, args.count, style_seed, progress))
    finally:
        for bar in bars.values():
            bar.close()
    if scores["raw"]["n"] == 0:
        raise ValueError(f"no pose of {args.data} could be evaluated (skipped: {scores['skipped']})")
    result.update(scores)
    result["nn_baseline"].update(matches="pose and view", bank_size=len(bank), bank_seed=train_stream.seed,
                                 bank_sensors=list(train_stream.sensors), bank_stream=stream_origin)
    for name in outputs(result):
        result[name]["beats_nn_baseline"] = beats_baseline(result[name], result["nn_baseline"])
        if args.data == "sim":
            result[name]["bar"] = bar_check(result[name], result["non_finite_outputs"])
    result["estimator"] = describe_path(estimator_path)
    result = finite_or_none(result)

    if args.json:
        print(json.dumps(result))
    else:
        print(format_table(result))
    return 0


def compare_spec(spec: str) -> tuple[Path, str]:
    """--compare-to's MODEL[:BACKEND] (a colon belongs to the path unless a backend follows it)."""
    path, sep, backend = spec.rpartition(":")
    if sep and backend in BACKEND_CHOICES and path:
        return Path(path), backend
    return Path(spec), REFERENCE_BACKEND


def compared(ours: dict, theirs: dict, model: str, backend: dict) -> dict:
    """The compared model's headline scores and ours minus theirs per output (engine.eval.paired);
    where it has no cut, our cut is set against its raw output, the image it shows."""
    from engine.eval.paired import HIGHER_IS_BETTER, paired_differences

    mine, other = ours.pop("per_image"), theirs.pop("per_image")
    out: dict = {"model": model, **backend, "n": theirs["raw"]["n"]}
    for name in mine:
        against = name if name in other else "raw"
        out[name] = {"scores": {k: theirs[against][k] for k in HIGHER_IS_BETTER},
                     "ci95": theirs[against]["ci95"],
                     "paired": paired_differences(mine[name], other[against])}
    return out


def _style(args: argparse.Namespace) -> tuple[object, object]:
    """The style to evaluate and its source images (engine.eval.style_eval), resolved before
    anything slow runs, so a bad --style fails at once."""
    from engine.eval.style_eval import image_sources, sensor_sources
    from engine.sim.sensor_match import read_style_image
    from engine.style.registry import load_bank, resolve_style
    from engine.style.sensor import SensorStyle

    from engine.models import DEFAULT_STYLE_STAGE_PATH
    from engine.style.learned import LearnedStyle, crop_to_mm

    weights = args.style_weights or DEFAULT_STYLE_STAGE_PATH
    style = resolve_style(args.style, args.style_scale)
    if isinstance(style, SensorStyle):
        sources = sensor_sources(style.sensor)
        if args.learned:
            from engine.data.readers.sim import SimConfig, crop_sample
            s = crop_sample(SimConfig(seed=SENSOR_STYLE_SEED, sensors=(style.sensor,)), 0)
            image = crop_to_mm(s.depth, float(s.transform.centre[2]))
            style = LearnedStyle(image, name=style.name, title=f"a {style.sensor} render", weights=weights)
        elif args.style_weights is not None:
            raise ValueError(f"--style-weights applies to image styles or --learned; {args.style!r} is a sensor model")
        return style, sources
    if args.learned:
        raise ValueError(f"--learned applies to sensor styles; {args.style!r} is an image style")
    entries = {e.name: e for e in load_bank()}
    path, scale = (entries[args.style].image, entries[args.style].depth_scale_mm) \
        if args.style in entries else (args.style, args.style_scale)
    if args.style_weights is not None:
        style = LearnedStyle(path, scale, name=style.name, title=style.title, weights=weights)
    return style, image_sources(read_style_image(path, scale).depth)


# A sensor style evaluated through the learned stage gets this render as its style image: a
# simulator stream of its own, apart from the evaluated poses and the source crops.
SENSOR_STYLE_SEED = 5_000_011


_ROWS = (("silhouette IoU", "silhouette_iou", "{:.3f}"),
         ("boundary F (2 px)", "boundary_f", "{:.3f}"),
         ("foreground MAE (mm)", "fg_mae_mm", "{:.2f}"),
         ("full-crop MAE (mm)", "full_mae_mm", "{:.2f}"),
         ("finger IoU, mean", "finger_iou_mean", "{:.3f}"),
         ("pose error (mm)", "pose_error_mm", "{:.2f}"),
         ("pose error on reference (mm)", "pose_error_reference_mm", "{:.2f}"),
         ("KID", "kid", "{:.5f}"),
         ("KID std", "kid_std", "{:.5f}"),
         ("n", "n", "{}"))

# Full-frame rows (engine.eval.full_frame): the frame as shown, against the simulator's full render.
_FRAME_ROWS = (("full frame: IoU", "iou"), ("full frame: boundary F (1 px)", "boundary_f"),
               ("full frame: crop window IoU", "window_iou"))


def format_table(result: dict) -> str:
    show = lambda fmt, v: "-" if v is None else fmt.format(v)  # noqa: E731
    columns = [(name, result[name]) for name in ("raw", "cut", "nn_baseline", "simulator", "simulator_mean_hand")
               if name in result]
    titles = {"raw": "G raw", "cut": "G with cut", "nn_baseline": "nn baseline", "simulator": "simulator",
              "simulator_mean_hand": "sim mean hand"}
    lines = [f"model {result['model']} on {result['data']}"
             + (f" (seed {result['seed']}, {result['split']} split)" if result.get("seed") is not None else ""),
             f"{'':30s}" + "".join(f"{titles[name]:>13s}" for name, _ in columns)]
    for label, key, fmt in _ROWS:
        lines.append(f"{label:30s}" + "".join(f"{show(fmt, col.get(key)):>13s}" for _, col in columns))
    for label, key in _FRAME_ROWS:
        if any("full_frame" in col for _, col in columns):
            lines.append(f"{label:30s}" + "".join(f"{show('{:.3f}', col.get('full_frame', {}).get(key)):>13s}"
                                                  for _, col in columns))
    if result.get("non_finite_outputs"):
        lines.append(f"non-finite generator outputs: {result['non_finite_outputs']} of {result['raw']['n']} "
                     "(failures, scored as empty crops)")
    if result.get("skipped"):
        lines.append("skipped: " + ", ".join(f"{v} {k}" for k, v in result["skipped"].items()))
    for name, col in columns:
        if "bar" in col:
            bar = col["bar"]
            lines.append(f"bar for {titles[name]} (IoU >= {bar['silhouette_iou_min']}, MAE <= {bar['fg_mae_mm_max']} mm, "
                         f"pose error <= {bar['pose_error_ratio_max']}x reference): "
                         + ("passed" if bar["passed"] else "not passed"))
    if "styled" in result:
        lines.append(f"style {result['style']} ({result['style_stage']})")
        lines.append(f"{'':30s}{'unstyled':>12s}{'styled':>12s}{'reference':>12s}")
        for key in ("kid", "hole_ratio", "edge_hole_ratio", "hf_energy"):
            ref = result["style_reference"].get(key)
            lines.append(f"{key:30s}{show('{:.5f}', result['unstyled'][key]):>12s}"
                         f"{show('{:.5f}', result['styled'][key]):>12s}{show('{:.5f}', ref):>12s}")
        noise = result["style_check"].get("within_noise") or []
        lines.append(f"geometry shift {result['geometry_shift_mm']:.2f} mm; requirements "
                     + ("met" if result["style_check"]["passed"] else "not met")
                     + (f" ({', '.join(noise)} within noise only)" if noise else ""))
    if "compare_to" in result:
        other = result["compare_to"]
        lines.append(f"paired against {other['model']} ({other['backend']}), this model minus it, 95 % intervals:")
        for name in (n for n in ("raw", "cut") if n in other):
            for key, d in other[name]["paired"].items():
                ci = "" if d["ci95"] is None else f" ({d['ci95'][0]:+.4f}..{d['ci95'][1]:+.4f})"
                lines.append(f"  {titles[name]:11s} {key:16s} {d['difference']:+.4f}{ci} {d['verdict']}")
    lines.append(f"estimator {result['estimator']}")
    return "\n".join(lines)
