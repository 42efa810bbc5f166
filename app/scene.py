"""What the user is working on, Qt-free: the scene, its JSON file and autosave.

A scene file (JSON) holds everything needed to see the same picture again:

    {
      "format": "handdepth.scene", "version": 2,
      "pose":   {...},                      # engine.hand.pose_io's schema (the one pose schema)
      "camera": {"preset": "kinect_v1" | "custom", "fx", "fy", "cx", "cy", "width", "height"},
      "style":  {"name": "none" | bank name | image path,   # what `--style` takes
                 "scale_mm": number | null,             # `--style-scale`, image files only
                 "strength": 0..1},
      "seed":   0,                          # the sensor noise seed (noise holds still per scene)
      "view":   {"colormap", "levels": [near, far] | null, "crop", "compare",
                 "source": "generator" | "simulator",   # what the single depth view shows
                 "silhouette_cut": true | false,        # the generator's cut (false: raw output)
                 "orbit": {...} | null}          # orbit: the 3D view's camera
    }

The pose's own camera and the camera block must agree. The style is stored as the user named
it, so the scene, the CLI and the app resolve it the same way (engine.style.registry); whether
an image path still exists is the app's business when it opens the scene, not a format error.
Version 1 files ({"sensor", "strength", "image"}) still load: their image, else their sensor
model (a bank name), becomes the style. Every problem is a SceneFileError whose message is one line naming the file. "source" is the user's
choice; while the generator loads or when it is missing the app shows the simulator without
changing it. A file without it (written before the choice existed) gets the default; so does
one without "silhouette_cut" (on, as `generate` without --no-cut).
A file from a newer build (a higher "version") is refused whole: reading the parts this build
knows would silently drop the rest, and the next save would destroy it.
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.camera import CAMERA_PRESETS, DEFAULT_CAMERA, Camera
from engine.hand.controls import set_hand_distance
from engine.hand.fit import fit_pose
from engine.hand.model import HandPose
from engine.hand.pose_io import PoseRecord, record_from_dict, record_to_dict
from engine.hand.presets import DEFAULT_PRESET, load_preset
from engine.io_utils import atomic_write_json, read_json_file
from engine.sim.sensors import SENSOR_NAMES

log = logging.getLogger(__name__)

FORMAT = "handdepth.scene"
VERSION = 2
OLDEST_VERSION = 1  # style as {"sensor", "image"}; read, never written
CUSTOM_CAMERA = "custom"
HOME_ENV = "HANDDEPTH_HOME"  # overrides where autosave lives (tests point it at a temp folder)
AUTOSAVE_NAME = "autosave.json"
CORRUPT_SUFFIX = ".unreadable"  # an autosave that failed to load is moved aside, not lost
MAX_SET_ASIDE = 100  # unreadable autosaves kept; beyond that the bad one stays where it is
CAMERA_KEYS = ("fx", "fy", "cx", "cy", "width", "height")
CAMERA_TOLERANCE = 1e-6
DEFAULT_SEED = 0
# What the single depth view shows (and Ctrl+E exports): the generator's G(y) + style, or the
# simulator + style. The product's promise is the model's depth, so the generator is the default.
DEPTH_SOURCES = ("generator", "simulator")
DEFAULT_SOURCE = "generator"
# Where a new scene puts the hand: where the presets sit (tools/make_presets.py), so that every
# sensor model sees the whole hand, curled fingertips included (the ToF model starts at 500 mm).
DEFAULT_DISTANCE_MM = 700.0


class SceneFileError(ValueError):
    """A scene file that cannot be read; str() is one line naming the file."""


NO_STYLE = "none"  # the bank's clean entry: no style


@dataclass(frozen=True)
class StyleChoice:
    """The scene's style, as `--style` and `--style-scale` name it."""

    name: str = NO_STYLE  # a bank name or the path of a depth PNG
    strength: float = 1.0
    scale_mm: float | None = None  # mm per stored unit of an image file; None: sidecar or guess


@dataclass(frozen=True)
class ViewState:
    colormap: str = "grey"
    levels: tuple[float, float] | None = None  # None: around the hand's distance
    crop: bool = True  # the hand's crop, big on screen; full frame when off
    compare: bool = False  # A/B: simulator | generator | generator + style
    source: str = DEFAULT_SOURCE  # one of DEPTH_SOURCES
    silhouette_cut: bool = True  # the generator's eval-mode cut; off: the network's raw output
    orbit: dict | None = None  # the 3D view's camera state (vispy TurntableCamera.get_state())


@dataclass(frozen=True)
class Scene:
    hand: HandPose
    camera: Camera = DEFAULT_CAMERA
    camera_preset: str = "kinect_v1"
    style: StyleChoice = field(default_factory=StyleChoice)
    seed: int = DEFAULT_SEED
    view: ViewState = field(default_factory=ViewState)
    name: str | None = None  # the preset the pose started from, kept as provenance

    def pose_record(self) -> PoseRecord:
        return PoseRecord.from_hand(self.hand, self.camera, name=self.name)


def default_scene() -> Scene:
    record = load_preset(DEFAULT_PRESET)
    hand = set_hand_distance(record.hand, DEFAULT_DISTANCE_MM)
    return Scene(hand=hand, camera=DEFAULT_CAMERA, name=record.name)


def camera_preset_name(camera: Camera) -> str:
    """The CAMERA_PRESETS key whose intrinsics these are, or CUSTOM_CAMERA."""
    for name, preset in CAMERA_PRESETS.items():
        if all(math.isclose(getattr(camera, k), getattr(preset, k), abs_tol=1e-3) for k in CAMERA_KEYS):
            return name
    return CUSTOM_CAMERA


# -- JSON -------------------------------------------------------------------------------------

def scene_to_dict(scene: Scene) -> dict:
    view = scene.view
    return {
        "format": FORMAT, "version": VERSION,
        "pose": record_to_dict(scene.pose_record()),
        "camera": {"preset": scene.camera_preset, **scene.camera.to_dict()},
        "style": {"name": scene.style.name, "scale_mm": scene.style.scale_mm,
                  "strength": scene.style.strength},
        "seed": scene.seed,
        "view": {"colormap": view.colormap,
                 "levels": list(view.levels) if view.levels is not None else None,
                 "crop": view.crop, "compare": view.compare, "source": view.source,
                 "silhouette_cut": view.silhouette_cut,
                 "orbit": _jsonable(view.orbit)},
    }


def _jsonable(value):
    """Tuples and numpy scalars (vispy camera state) as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _object(d, key: str) -> dict:
    value = d.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"'{key}' must be an object")
    return value


def _bool(d: dict, key: str, default: bool) -> bool:
    value = d.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"'view.{key}' must be true or false")
    return value


def _finite_json(value, what: str) -> None:
    """Reject NaN/infinity anywhere in a free-form block (the 3D view's camera state)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _finite_json(v, f"{what}.{k}")
    elif isinstance(value, list):
        for v in value:
            _finite_json(v, what)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"'{what}' must be finite")


def _check_version(d: dict) -> int:
    version = d.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"'version' must be an integer, not {version!r}")
    if version > VERSION:
        raise ValueError(f"written by a newer HandDepth Studio (scene version {version}; this "
                         f"build reads up to {VERSION}); not opened")
    if version < OLDEST_VERSION:
        raise ValueError(f"unsupported scene version {version} (this app reads "
                         f"{OLDEST_VERSION}-{VERSION})")
    return version


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"'{what}' must be a finite number")
    return float(value)


def scene_from_dict(d: object) -> Scene:
    """Validate a decoded scene; ValueError with a one-line reason."""
    if not isinstance(d, dict):
        raise ValueError("the top level must be a JSON object")
    if d.get("format") != FORMAT:
        raise ValueError(f"not a scene file ('format' must be {FORMAT!r})")
    version = _check_version(d)
    if "pose" not in d:
        raise ValueError("missing key 'pose'")
    if not isinstance(d["pose"], dict):
        raise ValueError("'pose' must be an object")
    try:
        record = record_from_dict(d["pose"])
    except (ValueError, TypeError) as e:
        raise ValueError(f"pose: {e}") from None
    hand = record.hand
    if hand is None:  # joints only (e.g. from a dataset): recover the model's parameters
        hand = fit_pose(record.joints, record.handedness).pose

    cam = _object(d, "camera")
    camera = record.camera
    if cam:
        for k in CAMERA_KEYS:
            if k in cam and not math.isclose(_number(cam[k], f"camera.{k}"), getattr(camera, k),
                                             abs_tol=CAMERA_TOLERANCE):
                raise ValueError(f"'camera.{k}' disagrees with the pose's camera")
    preset = cam.get("preset", camera_preset_name(camera))
    if preset not in (*CAMERA_PRESETS, CUSTOM_CAMERA):
        raise ValueError(f"unknown camera preset {preset!r}")

    style = _style(_object(d, "style"), version)

    seed = d.get("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError("'seed' must be a non-negative integer")

    v = _object(d, "view")
    colormap = v.get("colormap", ViewState.colormap)
    if not isinstance(colormap, str):
        raise ValueError("'view.colormap' must be a name")
    levels = v.get("levels")
    if levels is not None:
        if not isinstance(levels, list) or len(levels) != 2:
            raise ValueError("'view.levels' must be [near, far] or null")
        levels = (_number(levels[0], "view.levels"), _number(levels[1], "view.levels"))
        if not 0.0 <= levels[0] < levels[1]:
            raise ValueError("'view.levels' must be [near, far] with 0 <= near < far")
    source = v.get("source", DEFAULT_SOURCE)
    if source not in DEPTH_SOURCES:
        raise ValueError(f"unknown 'view.source' {source!r}; valid: {', '.join(DEPTH_SOURCES)}")
    orbit = v.get("orbit")
    if orbit is not None and not isinstance(orbit, dict):
        raise ValueError("'view.orbit' must be an object or null")
    _finite_json(orbit, "view.orbit")
    view = ViewState(colormap=colormap, levels=levels, crop=_bool(v, "crop", True),
                     compare=_bool(v, "compare", False), source=source,
                     silhouette_cut=_bool(v, "silhouette_cut", True), orbit=orbit)
    return Scene(hand=hand, camera=camera, camera_preset=preset,
                 style=style,
                 seed=seed, view=view, name=record.name)


def _style(st: dict, version: int) -> StyleChoice:
    strength = _number(st.get("strength", 1.0), "style.strength")
    if not 0.0 <= strength <= 1.0:
        raise ValueError("'style.strength' must be between 0 and 1")
    if version == OLDEST_VERSION:
        return StyleChoice(_version1_style_name(st), strength)
    name = st.get("name", NO_STYLE)
    if not isinstance(name, str) or not name.strip():
        raise ValueError("'style.name' must be a style name or an image path")
    scale = st.get("scale_mm")
    if scale is not None and _number(scale, "style.scale_mm") <= 0:
        raise ValueError("'style.scale_mm' must be a positive number of mm or null")
    return StyleChoice(name, strength, None if scale is None else float(scale))


def _version1_style_name(st: dict) -> str:
    """A version 1 style block's style: its image if it had one, else its sensor model."""
    sensor = st.get("sensor", NO_STYLE)
    if sensor not in SENSOR_NAMES:
        raise ValueError(f"unknown sensor {sensor!r}; valid: {', '.join(SENSOR_NAMES)}")
    image = st.get("image")
    if image is not None and not isinstance(image, str):
        raise ValueError("'style.image' must be a path or null")
    return image or sensor


def save_scene(path: str | Path, scene: Scene) -> None:
    """Write a scene file atomically and durably (fsynced: it is the user's work)."""
    atomic_write_json(path, scene_to_dict(scene))


def load_scene(path: str | Path) -> Scene:
    """Read and validate a scene file; any problem is a one-line SceneFileError naming it."""
    data = read_json_file(path, SceneFileError)
    try:
        return scene_from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        raise SceneFileError(f"{path}: {e}") from None


# -- autosave ---------------------------------------------------------------------------------

def data_home() -> Path:
    """Per-user folder for the app's own files: $HANDDEPTH_HOME, else XDG's data home."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "handdepth"


def autosave_path() -> Path:
    return data_home() / AUTOSAVE_NAME


def load_autosave() -> tuple[Scene | None, str | None]:
    """The autosaved scene, or (None, why not) — never an exception: a bad autosave must not
    stop the app. An unreadable one (corrupt, or from a newer build) is renamed aside, next to
    any earlier one, so that the next autosave destroys neither."""
    path = autosave_path()
    if not path.exists():
        return None, None
    try:
        return load_scene(path), None
    except SceneFileError as e:
        aside = _set_aside(path)
        where = f"; moved to {aside.name}" if aside is not None else ""
        log.warning("ignoring autosave: %s", e)
        return None, f"Autosave ignored ({str(e).split(': ', 1)[-1]}){where}"


def _set_aside(path: Path) -> Path | None:
    """Rename `path` to the first free `NAME.unreadable[.N]`; None when it cannot be moved."""
    for n in range(1, MAX_SET_ASIDE + 1):
        aside = path.with_name(path.name + CORRUPT_SUFFIX + (f".{n}" if n > 1 else ""))
        if aside.exists():
            continue
        try:
            os.rename(path, aside)
            return aside
        except OSError:
            return None
    return None


def write_autosave(scene: Scene) -> Path:
    path = autosave_path()
    save_scene(path, scene)
    return path


def same_pose(a: HandPose, b: HandPose) -> bool:
    return (a.handedness == b.handedness and a.shape == b.shape
            and np.array_equal(a.angles, b.angles) and np.array_equal(a.rotation, b.rotation)
            and np.array_equal(a.translation, b.translation))
