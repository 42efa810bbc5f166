"""Ctrl+E's one job, Qt-free: the current scene and frame as one sample on disk.

The sample is written by engine.export (the one sample writer the CLI also uses); this module
only gathers what the app knows and the engine does not: which source is shown and the style's
provenance as the user chose it.
"""
from __future__ import annotations

from pathlib import Path

from app.scene import Scene
from engine.export import write_sample
from engine.runtime import FrameResult
from engine.sample_frames import sample_of_frame, style_provenance


def export_sample(folder: str | Path, scene: Scene, frame: FrameResult, source: str) -> dict[str, Path]:
    """Write `frame` of `scene` (its `source` depth) into `folder` under the next free name."""
    style = scene.style
    provenance = {**style_provenance(style.name, style.scale_mm, frame.request.style, style.strength),
                  "seed": scene.seed}
    return write_sample(folder, sample_of_frame(frame, scene.pose_record(), source, provenance))


def exported_name(paths: dict[str, Path]) -> str:
    """The sample's stem ("pair_0001") for the status line."""
    return paths["depth"].name.rsplit("_", 1)[0]
