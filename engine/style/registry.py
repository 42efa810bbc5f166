"""The style registry: the bank in resources/styles/ and how a `--style` value is resolved.

Every place a style can be named (CLI `--style`, the scene file, the app's picker) passes the
user's text to `resolve_style`: a bank name gives that entry, anything else is taken for the
path of a depth PNG. The bank's index (resources/styles/index.json) lists each style with its
kind, thumbnail, source and licence, so `python main.py styles` can say where each came from.
Free of torch and Qt: the `styles` command and the CLI's help load it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.io_utils import read_json_file
from engine.models import DEFAULT_STYLE_STAGE_PATH
from engine.sim.sensors import SENSOR_NAMES
from engine.style.base import Style
from engine.style.image import check_png_header
from engine.style.matched import MatchedImageStyle
from engine.style.sensor import SensorStyle

STYLE_DIR = Path(__file__).resolve().parents[2] / "resources" / "styles"
BANK_INDEX = STYLE_DIR / "index.json"
BANK_VERSION = 1
KINDS = ("sensor", "image")
# The learned stage's weights; image styles fall back to the closest sensor model without them.
STYLE_STAGE_PATH = DEFAULT_STYLE_STAGE_PATH
_REQUIRED = ("name", "kind", "title", "description", "thumbnail", "source", "licence")


@dataclass(frozen=True)
class BankEntry:
    """One style of the bank, as its index describes it (paths resolved against the bank)."""

    name: str
    kind: str  # "sensor" (a simulator model) or "image" (a crop of a real frame)
    title: str
    description: str
    thumbnail: Path
    source: str
    licence: str
    licence_file: Path | None = None
    sensor: str | None = None  # kind "sensor": the engine.sim.sensors name
    image: Path | None = None  # kind "image": the depth PNG
    depth_scale_mm: float | None = None  # kind "image": mm per stored unit

    def style(self) -> Style:
        """A fresh, unprepared Style for this entry."""
        if self.kind == "sensor":
            return SensorStyle(self.sensor, name=self.name)
        return image_style(self.image, self.depth_scale_mm, name=self.name, title=self.title,
                           description=self.description)


def image_style(path: str | Path, scale: float | None = None, **labels: str) -> Style:
    """A depth image as a style: the learned stage (engine.style.learned) when its weights
    are installed, else the closest sensor model (engine.style.matched), so a checkout without
    the weights file still offers every style. Imported here, not at the top: the learned
    stage needs torch, and this module must load without it (`styles`, `--help`)."""
    if Path(STYLE_STAGE_PATH).is_file():
        from engine.style.learned import LearnedStyle
        return LearnedStyle(path, scale, weights=STYLE_STAGE_PATH, **labels)
    return MatchedImageStyle(path, scale, **labels)


def load_bank(index: str | Path = BANK_INDEX) -> tuple[BankEntry, ...]:
    """The bank's entries in index order; ValueError (one line naming the index) if it is malformed."""
    index = Path(index)
    data = read_json_file(index, ValueError)
    if not isinstance(data, dict) or data.get("version") != BANK_VERSION \
            or not isinstance(data.get("styles"), list):
        raise ValueError(f"{index}: expected {{\"version\": {BANK_VERSION}, \"styles\": [...]}}")
    entries, seen = [], set()
    for i, raw in enumerate(data["styles"]):
        entry = _entry(index, i, raw)
        if entry.name in seen:
            raise ValueError(f"{index}: style {entry.name!r} is listed twice")
        seen.add(entry.name)
        entries.append(entry)
    return tuple(entries)


def _entry(index: Path, i: int, raw: object) -> BankEntry:
    where = f"{index}: style {i}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is not an object")
    missing = [k for k in _REQUIRED if not isinstance(raw.get(k), str) or not raw[k]]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)}")
    kind = raw["kind"]
    if kind not in KINDS:
        raise ValueError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    folder = index.parent
    common = dict(name=raw["name"], kind=kind, title=raw["title"], description=raw["description"],
                  thumbnail=folder / raw["thumbnail"], source=raw["source"], licence=raw["licence"],
                  licence_file=folder / raw["licence_file"] if raw.get("licence_file") else None)
    if kind == "sensor":
        if raw.get("sensor") not in SENSOR_NAMES:
            raise ValueError(f"{where}: sensor {raw.get('sensor')!r} is not one of {', '.join(SENSOR_NAMES)}")
        return BankEntry(**common, sensor=raw["sensor"])
    scale = raw.get("depth_scale_mm")
    if not isinstance(raw.get("image"), str) or not isinstance(scale, (int, float)) or scale <= 0:
        raise ValueError(f"{where}: an image style needs \"image\" and a positive \"depth_scale_mm\"")
    return BankEntry(**common, image=folder / raw["image"], depth_scale_mm=float(scale))


def style_names(index: str | Path = BANK_INDEX) -> list[str]:
    """The bank's names, in index order."""
    return [entry.name for entry in load_bank(index)]


def resolve_style(value: str, scale: float | None = None, index: str | Path = BANK_INDEX) -> Style:
    """The style a `--style` value names: a bank name, or the path of a depth PNG.

    `scale` (mm per stored unit) applies to image files only; a bank image carries its own.
    The returned style is not prepared yet; a path is checked to be a PNG of a sane size, so a
    typo fails here, in one line, rather than on the first frame.
    """
    entries = {entry.name: entry for entry in load_bank(index)}
    if value in entries:
        if scale is not None:
            raise ValueError(f"style {value!r} is from the bank and has its own depth scale; "
                             f"a scale applies to image files only")
        return entries[value].style()
    path = Path(value)
    if path.suffix.lower() != ".png" and not path.exists():
        raise ValueError(f"unknown style {value!r}; bank names: {', '.join(entries)} "
                         f"(or the path of a depth PNG)")
    check_png_header(path)  # raises StyleImageError (one line) for a missing or non-PNG file
    return image_style(path, scale)


def style_image_source(value: str, scale: float | None = None,
                       index: str | Path = BANK_INDEX) -> tuple[Path, float | None]:
    """(depth PNG, mm per stored unit or None for "guess") that a `--style` value names, for
    callers that need the image itself (a training target), not a per-frame style. A bank style
    made by a model alone has no image: ValueError in one line."""
    entries = {entry.name: entry for entry in load_bank(index)}
    if value in entries:
        entry = entries[value]
        if entry.image is None:
            raise ValueError(f"style {value!r} is a simulator sensor model, not a style image; "
                             "give a bank image or the path of a depth PNG")
        return entry.image, entry.depth_scale_mm
    resolve_style(value, scale, index)  # the same one-line errors as everywhere else
    return Path(value), scale
