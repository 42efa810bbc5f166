"""From a pose to a sample's content, the same way for every writer (Ctrl+E, render, generate,
dataset): the runtime's `compute_frame` makes the frame, `sample_of_frame` picks the source's
depth, its unstyled depth and the render labels it keeps (the simulator's clean labels; for the
generator, its surround render's outside G's window), and the provenance says where it came
from. One path, so a sample never mixes one source's depth with another's labels.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.export import SampleContent, make_sample
from engine.hand.pose_io import PoseRecord
from engine.runtime import CropGenerator, FrameError, FrameRequest, FrameResult, compute_frame
from engine.style.base import Style

if TYPE_CHECKING:
    from engine.models.inference import InferenceGenerator

SOURCES = ("simulator", "generator")
_HASH_CHUNK = 1 << 20


@functools.cache
def project_version() -> str:
    """The version in pyproject.toml (the project is run from its checkout, not installed);
    read once per process, not once per sample."""
    path = Path(__file__).resolve().parents[1] / "pyproject.toml"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("version"):
            return line.split("=", 1)[1].strip().strip('"')
    return "unknown"


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file (a checkpoint's identity in provenance)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def style_provenance(value: str, scale: float | None, style: Style | None, strength: float = 1.0) -> dict:
    """What a sample says about its style: the name or path as given, scale, sensor, unit guess."""
    extra: dict = {"style": value, "strength": strength}
    if scale is not None:
        extra["style_scale_mm"] = scale
    sensor = getattr(style, "sensor", None)
    extra["sensor"] = sensor if sensor is not None else ("none" if style is None else None)
    if style is not None and style.assumption is not None:
        extra["style_assumption"] = style.assumption
    return extra


def generator_provenance(model_path: str | Path, info: dict) -> dict:
    """Which generator drew a sample: its file, content hash and training step."""
    return {"model": str(model_path), "model_sha256": file_sha256(model_path), "model_step": info.get("step")}


def sample_of_frame(frame: FrameResult, record: PoseRecord, source: str, provenance: dict) -> SampleContent:
    """The sample of `frame` as `source` ("simulator" or "generator") shows it.

    The generator's depth is labelled from its own pixels, except where the paste shows the
    simulator's render unchanged (outside G's window: that render's labels), the simulator's
    from its clean render (engine.sample_labels); the unstyled depth is the same source before
    the style.
    """
    if source == "generator":
        if frame.generated is None:
            raise ValueError("the frame has no generator output")
        depth, unstyled, reference = frame.depth, frame.generated, frame.generated_labels
    elif source == "simulator":
        depth, unstyled, reference = frame.simulator, frame.clean, frame.labels
    else:
        raise ValueError(f"unknown source {source!r}; choose from {', '.join(SOURCES)}")
    full = _full_provenance(source, provenance)
    if source == "generator":
        full["silhouette_cut"] = frame.request.silhouette_cut
    return make_sample(record, depth, unstyled, reference, full)


def _full_provenance(source: str, provenance: dict) -> dict:
    return {"source": source, **provenance, "project_version": project_version()}


def render_sample(record: PoseRecord, style: Style | None, seed: int, provenance: dict,
                  generator: CropGenerator | None = None, strength: float = 1.0,
                  silhouette_cut: bool = True, range_warning: bool = True) -> tuple[SampleContent, str | None]:
    """(sample, the style's range warning) of one pose: the generator's when one is given (with
    its silhouette cut or, `silhouette_cut=False`, raw), else the simulator's; see `sample_of_frame`.
    With `range_warning=False` the warning is not looked for (None)."""
    thickness = record.hand.shape.thickness if record.hand is not None else 1.0
    request = FrameRequest(joints=np.asarray(record.joints, np.float64), camera=record.camera,
                           thickness=thickness, style=style, seed=seed,
                           use_generator=generator is not None, strength=strength,
                           silhouette_cut=silhouette_cut, with_range_warning=range_warning)
    frame = compute_frame(request, generator)
    source = "generator" if generator is not None else "simulator"
    return sample_of_frame(frame, record, source, {**provenance, "seed": seed}), frame.range_warning


def simulated_samples(records: Sequence[PoseRecord], style: Style | None, seeds: Sequence[int],
                      provenances: Sequence[dict]) -> list[SampleContent]:
    """The simulator's samples of many poses, as `render_sample` makes each (without the range
    warning), styled by one Style.apply_batch call: a learned style runs its network on the
    frames together (cheaper per crop than one at a time), and a frame's bytes do not depend on
    its batch-mates or the batch's length (engine.models.style_inference)."""
    frames = [compute_frame(FrameRequest(joints=np.asarray(r.joints, np.float64), camera=r.camera,
                                         thickness=r.hand.shape.thickness if r.hand is not None else 1.0,
                                         with_range_warning=False)) for r in records]
    clean = [f.clean for f in frames]
    depths = clean if style is None else style.apply_batch(clean, [r.camera for r in records], seeds, 1.0)
    if not all(np.isfinite(d).all() for d in depths):
        raise FrameError("a styled depth frame has non-finite values (NaN/inf)")
    return [make_sample(r, d, f.clean, f.labels, _full_provenance("simulator", {**p, "seed": int(seed)}))
            for r, d, f, p, seed in zip(records, depths, frames, provenances, seeds)]


def generated_samples(records: Sequence[PoseRecord], generator: InferenceGenerator, style: Style | None,
                      seeds: Sequence[int], provenances: Sequence[dict]) -> list[SampleContent]:
    """The generator's samples of many poses from one engine.runtime_batch.generate_batch call
    (a batch fills the CPU where one crop cannot), each labelled as `sample_of_frame` labels a
    frame; `seeds[i]` is pose i's style seed (imports torch)."""
    from engine.runtime_batch import generate_batch

    batch = generate_batch(generator, np.stack([r.joints for r in records]), [r.camera for r in records],
                           style, seeds, frames=True,
                           thicknesses=[r.hand.shape.thickness if r.hand is not None else 1.0 for r in records])
    return [make_sample(r, depth, plain, labels, _full_provenance("generator", {**p, "seed": int(seed),
                                                                    "silhouette_cut": generator.silhouette_cut}))
            for r, depth, plain, labels, p, seed in zip(records, batch.depth, batch.unstyled, batch.labels,
                                                        provenances, seeds)]


def crop_generator(model) -> CropGenerator:
    """The runtime's one-crop generator interface (imports torch) over a loaded model, built once
    as an InferenceGenerator (folded) and reused for every crop, or over an InferenceGenerator
    the caller built with its backend (engine.models.inference). Each call says whether the
    silhouette cut applies (`generate --no-cut`, the app's View > Silhouette cut)."""
    from engine.models.generator import generate_crops
    from engine.models.inference import InferenceGenerator
    from engine.models.pose_encoding import crop_view

    fast = model if isinstance(model, InferenceGenerator) else InferenceGenerator(model)

    def generate(y: np.ndarray, transform, silhouette_cut: bool = True, thickness: float = 1.0) -> np.ndarray:
        return generate_crops(fast, np.asarray(y)[None], crop_view(transform)[None],
                              silhouette_cut=silhouette_cut, thickness=np.float32([thickness]))[0]

    return generate

