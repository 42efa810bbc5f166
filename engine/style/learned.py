"""Any depth image as a style, through the learned real-time stage (engine.models.style_net).

prepare (once per style): decode the style image (engine.style.image, the one loader), frame
its hand as a style crop (engine.style.style_crop), encode it into the stage's code (and its
FiLM modulations), and calibrate (calibrate): the stage was supervised on simulated sensors, so
a frozen set of calibration crops from the simulator, styled exactly as apply() styles a frame,
sets the style's levels (engine.style.compose.Calibration) so that they reach the style crop's
statistics, as AdaIN matches a style's statistics, on the outputs that carry them:
  holes   a log-odds shift in the band along the outline and one inside it, for the style
          crop's edge_hole_ratio and its interior hole ratio (the stage alone dropped twice the
          NYU frame's edge holes). Always the image's: the user asks for that image's look,
          and the stage's own guess is what fails on a sensor it was not trained on (trained
          without the SR305 frames it dropped .25 of the hand against their .03; matched, .02).
          One image's ratios are one pose at one distance measured on its own outline, so a
          single sensor render as the style (`evaluate --learned`) gets that render's rates, not
          the sensor's average over poses (Kinect v1: render .08, average .29, which counts
          hands nearer than its range as all holes);
  hf      one level (_leveled) for the style crop's hf_energy: the noise gain (up for a noisier
          sensor than any simulated one, such as the NYU Kinect frame; down for a quieter one),
          or, for a style quieter than the clean render itself (the SR305's firmware smooths
          depth), no noise and an edge-preserving smoothing (engine.style.compose.smooth).
Holes are set first: they change which pixels hf_energy sees.
apply (per frame): find the hand (the measured pixels), crop it by the crop convention
(engine.data.crop), run the stage at 128x128, carry its maps back to the frame's pixels, draw
holes and noise from the seed (engine.style.compose), blend with the clean depth by strength.
apply_batch does the same for many frames with one stage call per style_inference.BATCH crops
(the dataset command's and the bench's batches; a short batch is padded, so a frame's bytes do
not depend on its batch-mates), each frame still drawn from its own seed. Both run
the stage with the style folded in (engine.models.style_inference, made at prepare): the
reference network's maps within float32 rounding (tests/test_style_inference.py holds a styled
frame within 1e-3 mm of the reference path's, with the same holes).

The weights are loaded once per file and shared by every style (a live app must not reload
them per style or per frame).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.camera import Camera
from engine.data.crop import CROP_SIZE, PASTE_BACKGROUND_MIN, CropTransform, crop_camera, crop_depth, transform_at
from engine.data.readers.sim import SimConfig, crop_sample
from engine.models import DEFAULT_STYLE_STAGE_PATH
from engine.models.checkpoint import load_model
from engine.models.style_inference import StyleStageForStyle
from engine.models.style_net import StyleStage
from engine.sim.random_fields import LOGISTIC_PROBIT
from engine.sim.sensor_match import read_style_image
from engine.sim.sensors import blend_with_clean
from engine.style.base import Style
from engine.style.compose import Calibration, compose, draw, hand_box, outline_band
from engine.style.image import StyleImage
from engine.style.stats import edge_band, hf_energy
from engine.style.style_crop import HALF_CUBE_MM, StyleCrop, style_crop

# Calibration crops: simulator poses from a stream no training or evaluation uses.
CALIBRATION_SEED = 3_000_017
CALIBRATION_COUNT = 48
# Noise levels searched (_leveled): -1 is the clean depth fully smoothed and no noise, 0 neither,
# g > 0 the stage's noise at gain g. hf_energy measures noise on one surface (engine.style.stats),
# so a style quieter than the stage's learned average is matched by turning the noise down, and
# one quieter than the clean render by smoothing; above 4 the noise would approach the residual bound.
LEVEL_RANGE = (-1.0, 4.0)
# Hole log-odds shifts searched: +-8 takes a pixel's hole probability from 0.5 to 0.0003 or 0.9997.
BIAS_RANGE = (-8.0, 8.0)
SEARCH_STEPS = 12

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
    """The frozen calibration crops (mm, with their crop cameras), rendered once per process."""

    _lock = threading.Lock()
    _crops: list[tuple[np.ndarray, Camera]] | None = None

    @classmethod
    def get(cls) -> list[tuple[np.ndarray, Camera]]:
        with cls._lock:
            if cls._crops is None:
                cfg = SimConfig(seed=CALIBRATION_SEED)
                crops = []
                for i in range(CALIBRATION_COUNT):
                    s = crop_sample(cfg, i)
                    crops.append((crop_to_mm(s.clean, float(s.transform.centre[2])), crop_camera(s.transform)))
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


def calibrate(stage: StyleStageForStyle, style: StyleCrop) -> Calibration:
    """The levels that give the calibration crops the style crop's statistics (module docstring):
    first the hole log-odds, in the outline band and inside it; then the noise level for its
    hf_energy. Every search draws with fixed seeds, so it is deterministic. `stage`: the style's
    folded stage, the one apply() runs (a third of the reference network's cost)."""
    crops, placed, fields = _calibration_inputs(stage)
    masks = [mm > 0 for mm, _ in crops]
    cal = Calibration(0.0)  # holes are searched without noise: a seed's holes do not depend on it (draw)
    # Inside first: the interior (the hand less stats.edge_band) never takes the edge shift, while
    # the edge band's pixels along the crop's border take the interior one (compose's outline band
    # leaves the border out), so the edge is searched last, with the interior shift in place.
    # The mean hole_ratio over the interiors, then edge_hole_ratio (over each hand's edge_band),
    # of the styled crops, counted without composing them (_HoleRates).
    interior_rates = _HoleRates(crops, placed, fields, [m & ~edge_band(m) for m in masks])
    inside = _bisect(lambda b: interior_rates.mean(replace(cal, interior_bias=b)), *BIAS_RANGE,
                     style.interior_hole_ratio)
    cal = replace(cal, interior_bias=inside)
    edge_rates = _HoleRates(crops, placed, fields, [edge_band(m) for m in masks])
    edge = _bisect(lambda b: edge_rates.mean(replace(cal, edge_bias=b)), *BIAS_RANGE, style.stats.edge_hole_ratio)
    base = replace(cal, edge_bias=edge)
    level = _bisect(lambda t: _mean_of(hf_energy, _styled_crops(crops, placed, fields, _leveled(base, t)), masks),
                    *LEVEL_RANGE, style.stats.hf_energy)
    return _leveled(base, level)


_Placed = tuple[slice, slice, np.ndarray, np.ndarray]  # a crop window's rows, columns and maps there


def _calibration_inputs(stage: StyleStageForStyle) -> tuple[list[tuple[np.ndarray, Camera]], list[_Placed],
                                                             list[tuple[np.ndarray | None, np.ndarray]]]:
    """(calibration crops, the stage's maps as apply() carries them to each crop's pixels (its
    hand window), so the search sees what a frame will get; each crop's fields (crop i drawn
    from seed i))."""
    crops = _CalibrationCrops.get()
    windows = [_hand_window(mm, camera) for mm, camera in crops]
    norm = np.stack([crop_depth(mm, w) for (mm, _), w in zip(crops, windows)])
    logits, noises = stage.maps(norm)
    placed = [_window_maps(mm.shape, w, logit, noise)
              for (mm, _), w, logit, noise in zip(crops, windows, logits, noises)]
    fields = [draw(mm[rows, cols], i) for i, ((mm, _), (rows, cols, _, _)) in enumerate(zip(crops, placed))]
    return crops, placed, fields


def _styled_crops(crops: list[tuple[np.ndarray, Camera]], placed: list[_Placed],
                  fields: list[tuple[np.ndarray | None, np.ndarray]], cal: Calibration) -> list[np.ndarray]:
    """The calibration crops styled as apply() styles a frame, with `cal`."""
    outs = []
    for i, ((mm, _), (rows, cols, logit, noise)) in enumerate(zip(crops, placed)):
        out = mm.copy()
        out[rows, cols] = compose(mm[rows, cols], logit, noise, cal, i, fields[i])
        outs.append(out)
    return outs


def _mean_of(stat: Callable[[np.ndarray, np.ndarray], float], outs: list[np.ndarray], regions: list[np.ndarray]
             ) -> float:
    """A statistic's mean over the crops whose region is not empty."""
    return float(np.mean([stat(out, m) for out, m in zip(outs, regions) if m.any()]))


class _HoleRates:
    """The mean over the calibration crops of the share of a region's pixels (one region a
    crop; a crop with an empty one is left out, as _mean_of leaves it) that compose
    makes holes, for hole log-odds shifts alone (no noise, no smoothing: the hole searches).
    Bit for bit hole_ratio(styled crop, region), edge_hole_ratio's too (its region, the edge
    band, is empty only for an empty hand), without composing: a region's pixels outside the
    crop's hand window keep their depth, and inside it compose's own comparison (LOGISTIC_PROBIT
    z against the clipped, shifted log-odds) is made on the region's pixels alone. Why: the two
    searches composed the 48 crops 28 times, a third of a style's preparation."""

    def __init__(self, crops: list[tuple[np.ndarray, Camera]], placed: list[_Placed],
                 fields: list[tuple[np.ndarray | None, np.ndarray]], regions: list[np.ndarray]) -> None:
        self._parts = []
        for (mm, _), (rows, cols, logit, _), (_, z), region in zip(crops, placed, fields, regions):
            if not region.any():
                continue
            valid = mm[rows, cols] > 0
            box = hand_box(valid)  # compose's: every measured pixel of the window lies in it
            inside = region[rows, cols][box]
            self._parts.append((np.float32(LOGISTIC_PROBIT) * z[inside], logit[box][inside],
                                outline_band(valid[box])[inside], np.count_nonzero(region)))

    def mean(self, cal: Calibration) -> float:
        rates = []
        for scaled_z, logit, outline, count in self._parts:
            if cal.edge_bias or cal.interior_bias:
                logit = logit + np.where(outline, np.float32(cal.edge_bias), np.float32(cal.interior_bias))
            rates.append(np.count_nonzero(scaled_z < np.clip(logit, -30.0, 30.0)) / count)
        return float(np.mean(rates))


def _leveled(cal: Calibration, level: float) -> Calibration:
    """One noise level on one axis: below 0 the clean depth smoothed by -level (no noise), above
    0 the noise at gain `level` (no smoothing); hf_energy increases along it."""
    return replace(cal, noise_gain=max(level, 0.0), smoothing=max(-level, 0.0))


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
        self.calibration = calibrate(self._stage, self.crop)

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
        holes = f"holes matched to the image's (edge {s.edge_hole_ratio:.3f}, all {s.hole_ratio:.3f})"
        level = f"noise gain {c.noise_gain:.2f}" if c.smoothing == 0.0 else f"smoothing {c.smoothing:.2f}, no noise"
        return (f"{self.title}: {self.assumption}; learned stage, {holes}; hf {s.hf_energy:.2f} mm^2 "
                f"by {level}")

    def _apply(self, depth: np.ndarray, camera: Camera, seed: int | None, strength: float) -> np.ndarray:
        assert self._stage is not None  # prepare() ran
        window = _hand_window(depth, camera)
        maps = None if window is None else self._stage.maps_of_one(crop_depth(depth, window), self._noise)
        return self._styled(depth, window, maps, seed, strength)

    def _apply_batch(self, depths: list[np.ndarray], cameras: list[Camera], seeds: list[int | None],
                     strength: float) -> list[np.ndarray]:
        """Every hand cropped, the stage run on them style_inference.BATCH at a time, then each
        composed with its own seed."""
        assert self._stage is not None  # prepare() ran
        windows = [_hand_window(d, c) for d, c in zip(depths, cameras)]
        todo = [i for i, w in enumerate(windows) if w is not None]
        maps: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        if todo:
            logits, noises = self._stage.maps(np.stack([crop_depth(depths[i], windows[i]) for i in todo]),
                                              self._noise)
            maps.update((i, (logit, None if noises is None else noises[k]))
                        for k, (i, logit) in enumerate(zip(todo, logits)))
        return [self._styled(depth, window, maps.get(i), seed, strength)
                for i, (depth, window, seed) in enumerate(zip(depths, windows, seeds))]

    @property
    def _noise(self) -> bool:
        """Whether apply reads the stage's noise map (not for a style calibrated without noise)."""
        return self.calibration.noise_gain > 0.0

    def _styled(self, depth: np.ndarray, window: CropTransform | None,
                maps: tuple[np.ndarray, np.ndarray | None] | None, seed: int | None, strength: float) -> np.ndarray:
        """One frame from its hand window and the stage's maps there (a copy when it holds no
        hand), blended with the clean depth by `strength`."""
        if window is None:
            return depth.copy()
        styled = self._compose_window(depth, window, *maps, seed)
        # at full strength the blend is a copy of `styled`, a new array already
        return styled if strength == 1.0 else blend_with_clean(depth, styled, strength, seed)

    def _compose_window(self, depth: np.ndarray, transform: CropTransform, logit: np.ndarray,
                        noise: np.ndarray | None, seed: int | None) -> np.ndarray:
        """The styled frame: the stage's maps (128x128) carried to the frame's pixels in the
        hand's box inside the crop window (crop convention step 7; compose.hand_box: outside it
        compose leaves no data as it is) and drawn there."""
        rows, cols = _window(depth.shape, transform)
        styled = depth.copy()
        box = hand_box(depth[rows, cols] > 0)
        if box is None:
            return styled
        rows = slice(rows.start + box[0].start, rows.start + box[0].stop)
        cols = slice(cols.start + box[1].start, cols.start + box[1].stop)
        styled[rows, cols] = compose(depth[rows, cols], *_carried(transform, rows, cols, logit, noise),
                                     self.calibration, seed)
        return styled


def _window(shape: tuple[int, int], transform: CropTransform) -> tuple[slice, slice]:
    """The crop window's rows and columns inside an image of `shape`."""
    h, w = shape
    return (slice(max(transform.v0, 0), min(transform.v0 + transform.size_px, h)),
            slice(max(transform.u0, 0), min(transform.u0 + transform.size_px, w)))


def _carried(transform: CropTransform, rows: slice, cols: slice, logit: np.ndarray, noise: np.ndarray | None
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """The stage's maps (128x128) carried to frame pixels `rows` x `cols` of the crop window
    (crop convention step 7: nearest crop pixel); a noise map of None stays None."""
    k = transform.scale
    ju = np.clip(((np.arange(cols.start, cols.stop) - transform.u0 + 0.5) / k).astype(np.int64), 0, CROP_SIZE - 1)
    jv = np.clip(((np.arange(rows.start, rows.stop) - transform.v0 + 0.5) / k).astype(np.int64), 0, CROP_SIZE - 1)
    # rows, then columns: the same pixels as logit[jv[:, None], ju[None, :]], 4x faster
    return logit.take(jv, 0).take(ju, 1), None if noise is None else noise.take(jv, 0).take(ju, 1)


def _window_maps(shape: tuple[int, int], transform: CropTransform, logit: np.ndarray, noise: np.ndarray
                 ) -> tuple[slice, slice, np.ndarray, np.ndarray]:
    """The crop window's rows and columns inside an image of `shape`, and the stage's maps
    carried to those pixels."""
    rows, cols = _window(shape, transform)
    return (rows, cols, *_carried(transform, rows, cols, logit, noise))


def _hand_window(depth: np.ndarray, camera: Camera) -> CropTransform | None:
    """The crop convention's window around the measured pixels (their mean, at their median
    depth); None when nothing is measured. The mean is taken from per-column and per-row counts
    inside the pixels' bounding box, exact integer sums as np.nonzero's indices' mean, without
    their arrays, and the median from the box's pixels (the frame's, in the same order)."""
    valid = depth > 0
    x, y, w, h = cv2.boundingRect(valid.view(np.uint8))
    if w == 0:
        return None
    valid, depth = valid[y:y + h, x:x + w], depth[y:y + h, x:x + w]
    count = np.count_nonzero(valid)
    u = float(np.count_nonzero(valid, axis=0) @ np.arange(x, x + w)) / count
    v = float(np.count_nonzero(valid, axis=1) @ np.arange(y, y + h)) / count
    centre = camera.backproject(u, v, float(np.median(depth[valid])))
    return transform_at(centre, camera)
