"""Any depth image as a style, through the learned real-time stage (engine.models.style_net).

prepare (once per style): decode the style image (engine.style.image, the one loader), frame
its hand as a style crop (engine.style.style_crop), encode it into the stage's code (and its
FiLM modulations), and calibrate the noise: the stage's hole probabilities are used as trained
(their BCE makes them calibrated for every simulated style, and real styles were pulled to
their own hole rates), while its noise was only supervised on simulated sensors, so a few
frozen calibration crops from the simulator set the noise gain so that the styled crops reach
the style crop's hf_energy (up for a noisier sensor than any simulated one, such as the NYU
Kinect frame; down for a quiet one, such as the SR305). This is AdaIN's idea (match the style's statistics) on the output that carries it.
Tried and dropped: calibrating the hole rates to the style image's own ratios as well: one
image's ratios depend on its pose and on its eroded outline (there is no clean hand to measure
against), and on held-out poses that made every simulated sensor's holes worse.
apply (per frame): find the hand (the measured pixels), crop it by the crop convention
(engine.data.crop), run the stage at 128x128, carry its maps back to the frame's pixels, draw
holes and noise from the seed (engine.style.compose), blend with the clean depth by strength.
apply_batch does the same for many frames with one stage call per STAGE_BATCH crops (the
dataset command's and the bench's batches), each frame still drawn from its own seed. Both run
the stage with the style folded in (engine.models.style_inference, made at prepare): the
reference network's maps within float32 rounding (tests/test_style_inference.py holds a styled
frame within 1e-3 mm of the reference path's, with the same holes).

The weights are loaded once per file and shared by every style (a live app must not reload
them per style or per frame).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from engine.camera import Camera
from engine.data.crop import CROP_SIZE, PASTE_BACKGROUND_MIN, CropTransform, crop_depth, transform_at
from engine.data.readers.sim import SimConfig, crop_sample
from engine.models import DEFAULT_STYLE_STAGE_PATH
from engine.models.checkpoint import load_model
from engine.models.style_inference import StyleStageForStyle
from engine.models.style_net import StyleStage
from engine.sim.sensor_match import read_style_image
from engine.sim.sensors import blend_with_clean
from engine.style.base import Style
from engine.style.compose import Calibration, compose
from engine.style.image import StyleImage
from engine.style.stats import hf_energy
from engine.style.style_crop import HALF_CUBE_MM, StyleCrop, style_crop

# Calibration crops: simulator poses from a stream no training or evaluation uses.
CALIBRATION_SEED = 3_000_017
CALIBRATION_COUNT = 8
# Noise gains searched. hf_energy measures noise on one surface (engine.style.stats), so a style
# quieter than the stage's learned average is matched by turning the noise down, to 0 at most;
# above 4 the noise would approach the residual bound.
GAIN_RANGE = (0.0, 4.0)
SEARCH_STEPS = 16
# Crops per stage call in apply_batch. Measured on the shared 2-core EPYC, 1 thread, load ~7: the
# stage cost 11-13 ms a crop one at a time, 9-11 at 4 or 16 a call, 21-24 at 64 (the activations
# of 64 crops fall out of the caches).
STAGE_BATCH = 16

_models: dict[Path, StyleStage] = {}
_models_lock = threading.Lock()


def load_stage(path: str | Path = DEFAULT_STYLE_STAGE_PATH) -> StyleStage:
    """The style stage of a checkpoint, loaded once per file for the process."""
    key = Path(path).resolve()
    with _models_lock:
        if key not in _models:
            model, _, _ = load_model(key)
            if not isinstance(model, StyleStage):
                raise ValueError(f"{path}: not a style stage (architecture {model.architecture})")
            _models[key] = model
        return _models[key]


class _CalibrationCrops:
    """The frozen calibration crops (mm, with their hand masks), rendered once per process."""

    _lock = threading.Lock()
    _crops: list[tuple[np.ndarray, np.ndarray]] | None = None

    @classmethod
    def get(cls) -> list[tuple[np.ndarray, np.ndarray]]:
        with cls._lock:
            if cls._crops is None:
                cfg = SimConfig(seed=CALIBRATION_SEED)
                crops = []
                for i in range(CALIBRATION_COUNT):
                    s = crop_sample(cfg, i)
                    crops.append((crop_to_mm(s.clean, float(s.transform.centre[2])), s.clean))
                cls._crops = crops
            return cls._crops


def crop_to_mm(crop: np.ndarray, centre_mm: float) -> np.ndarray:
    """A normalised crop back to mm (crop convention step 7), 0 where it is background."""
    return np.where(crop < PASTE_BACKGROUND_MIN, centre_mm + crop * HALF_CUBE_MM, 0.0).astype(np.float32)


@torch.inference_mode()
def stage_maps(model: StyleStage, crops: np.ndarray, code: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(hole_logit, noise_mm) of normalised crops (N, 128, 128), as float32 arrays (N, 128, 128),
    for a style code (1, code), by the reference network. A prepared style's apply runs the same
    maps through engine.models.style_inference (equal within float32 rounding, faster)."""
    x = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))[:, None]
    mods = [(a.expand(len(x), -1, -1, -1), b.expand(len(x), -1, -1, -1)) for a, b in model.modulations(code)]
    logit, noise = model.run(x, mods)
    return logit[:, 0].numpy(), noise[:, 0].numpy()


def _bisect(f: Callable[[float], float], lo: float, hi: float, target: float) -> float:
    """x in [lo, hi] with f(x) ~ target for an increasing f (the nearer end when out of reach)."""
    if f(lo) >= target:
        return lo
    if f(hi) <= target:
        return hi
    for _ in range(SEARCH_STEPS):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
    return 0.5 * (lo + hi)


def calibrate(model: StyleStage, code: torch.Tensor, style: StyleCrop) -> Calibration:
    """The noise gain that gives the calibration crops the style crop's hf_energy, searched in
    GAIN_RANGE (noise drawn with fixed seeds: a deterministic search). See the module docstring
    for why only the noise is calibrated."""
    crops = _CalibrationCrops.get()
    logits, noises = stage_maps(model, np.stack([c for _, c in crops]), code)

    def hf(gain: float) -> float:
        cal = Calibration(gain)
        return float(np.mean([hf_energy(compose(mm, logit, noise, cal, i), mm > 0)
                              for i, ((mm, _), logit, noise) in enumerate(zip(crops, logits, noises))]))

    return Calibration(_bisect(hf, *GAIN_RANGE, style.stats.hf_energy))


class LearnedStyle(Style):
    """A depth image (a file, or an array in mm) styled by the learned stage."""

    def __init__(self, image: str | Path | np.ndarray, scale_mm: float | None = None,
                 name: str | None = None, title: str | None = None, description: str | None = None,
                 weights: str | Path = DEFAULT_STYLE_STAGE_PATH) -> None:
        self.path = None if isinstance(image, np.ndarray) else Path(image)
        label = self.path.name if self.path is not None else "an image"
        super().__init__(name or (self.path.stem if self.path is not None else "image"),
                         title or label, description or f"the look of {label}, learned stage")
        self._array = image if isinstance(image, np.ndarray) else None
        self.scale_mm = scale_mm
        self.weights = Path(weights)
        self.image: StyleImage | None = None  # the decoded file (None for an array)
        self.crop: StyleCrop | None = None
        self.code: torch.Tensor | None = None
        self.calibration = Calibration()
        self._model: StyleStage | None = None
        self._stage: StyleStageForStyle | None = None  # the stage with this style folded in

    def _prepare(self) -> None:
        if self._array is not None:
            depth = np.asarray(self._array, dtype=np.float32)
        else:
            self.image = read_style_image(self.path, self.scale_mm)
            depth = self.image.depth
        try:
            self.crop = style_crop(depth)
        except ValueError as e:
            raise ValueError(f"{self.path or 'style image'}: {e}") from None
        self._model = load_stage(self.weights)
        with torch.inference_mode():
            self.code = self._model.encode(torch.from_numpy(self.crop.norm)[None, None],
                                           torch.from_numpy(self.crop.features())[None])
        self._stage = StyleStageForStyle(self._model, self.code)
        self.calibration = calibrate(self._model, self.code, self.crop)

    @property
    def assumption(self) -> str | None:
        if self._array is not None:
            return "depth in mm (given as an array)"
        return super().assumption

    @property
    def summary(self) -> str:
        """One line for the user: what the loader assumed and the style's levels."""
        if self.crop is None:
            return f"{self.title}: not prepared"
        c, s = self.calibration, self.crop.stats
        return (f"{self.title}: {self.assumption}; learned stage, target edge holes "
                f"{s.edge_hole_ratio:.2f}, holes {s.hole_ratio:.2f}, hf {s.hf_energy:.2f} mm^2 "
                f"(noise gain {c.noise_gain:.2f})")

    def _apply(self, depth: np.ndarray, camera: Camera, seed: int | None, strength: float) -> np.ndarray:
        return self._apply_batch([depth], [camera], [seed], strength)[0]

    def _apply_batch(self, depths: list[np.ndarray], cameras: list[Camera], seeds: list[int | None],
                     strength: float) -> list[np.ndarray]:
        """Every hand cropped, the stage run once per STAGE_BATCH crops, then each composed
        with its own seed."""
        assert self._stage is not None  # prepare() ran
        windows = [_hand_window(d, c) for d, c in zip(depths, cameras)]
        todo = [i for i, w in enumerate(windows) if w is not None]
        maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for start in range(0, len(todo), STAGE_BATCH):
            part = todo[start:start + STAGE_BATCH]
            logits, noises = self._stage.maps(np.stack([crop_depth(depths[i], windows[i]) for i in part]))
            maps.update((i, (logit, noise)) for i, logit, noise in zip(part, logits, noises))
        out = []
        for i, (depth, window, seed) in enumerate(zip(depths, windows, seeds)):
            if window is None:
                out.append(depth.copy())
                continue
            styled = self._compose_window(depth, window, *maps[i], seed)
            # at full strength the blend is a copy of `styled`, a new array already
            out.append(styled if strength == 1.0 else blend_with_clean(depth, styled, strength, seed))
        return out

    def _compose_window(self, depth: np.ndarray, transform: CropTransform, logit: np.ndarray, noise: np.ndarray,
                        seed: int | None) -> np.ndarray:
        """The styled frame: the stage's maps (128x128) carried to the frame's pixels inside the
        crop window (crop convention step 7) and drawn there."""
        h, w = depth.shape
        u_lo, u_hi = max(transform.u0, 0), min(transform.u0 + transform.size_px, w)
        v_lo, v_hi = max(transform.v0, 0), min(transform.v0 + transform.size_px, h)
        k = transform.scale
        ju = np.clip(((np.arange(u_lo, u_hi) - transform.u0 + 0.5) / k).astype(np.int64), 0, CROP_SIZE - 1)
        jv = np.clip(((np.arange(v_lo, v_hi) - transform.v0 + 0.5) / k).astype(np.int64), 0, CROP_SIZE - 1)
        window = depth[v_lo:v_hi, u_lo:u_hi]
        styled = depth.copy()
        # rows, then columns: the same pixels as logit[jv[:, None], ju[None, :]], 4x faster
        styled[v_lo:v_hi, u_lo:u_hi] = compose(window, logit.take(jv, 0).take(ju, 1),
                                               noise.take(jv, 0).take(ju, 1), self.calibration, seed)
        return styled


def _hand_window(depth: np.ndarray, camera: Camera) -> CropTransform | None:
    """The crop convention's window around the measured pixels (their mean, at their median
    depth); None when nothing is measured. The mean is taken from per-column and per-row counts,
    exact integer sums as np.nonzero's indices' mean, without their arrays (half the time on a
    640x480 frame)."""
    valid = depth > 0
    count = np.count_nonzero(valid)
    if not count:
        return None
    h, w = depth.shape
    u = float(np.count_nonzero(valid, axis=0) @ np.arange(w)) / count
    v = float(np.count_nonzero(valid, axis=1) @ np.arange(h)) / count
    centre = camera.backproject(u, v, float(np.median(depth[valid])))
    return transform_at(centre, camera)
