"""Named hand poses shipped as pose files in resources/poses/ (edited via tools/make_presets.py)."""
from __future__ import annotations

from pathlib import Path

from engine.hand.pose_io import PoseRecord, load_pose

PRESET_DIR = Path(__file__).resolve().parents[2] / "resources" / "poses"
DEFAULT_PRESET = "relaxed"


def preset_names() -> list[str]:
    """Names of the shipped presets, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name: str) -> PoseRecord:
    """The preset called `name`; ValueError listing the valid names if there is none."""
    path = PRESET_DIR / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"unknown preset {name!r}; choose from: {', '.join(preset_names())}")
    return load_pose(path)
