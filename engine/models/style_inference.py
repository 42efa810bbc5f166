"""The style stage for one style, rebuilt for inference: StyleStage.run with that style's
modulations, numerically the same function, faster per crop and about twice as fast per crop in
a batch.

Why a separate object (as engine.models.inference is for G): a live style runs the same small
network on every frame, where per-call overheads weigh as much as the arithmetic. Once, when the
style is prepared:
- each FiLM layer's scale and shift are folded into its convolution (w' = w * (1 + s),
  b' = b * (1 + s) + t): one pass per layer instead of three, and no per-call broadcast of the
  modulations over the batch;
- the stage's input maps (the crop's local depth ranges, style_net.stage_inputs) are made by
  OpenCV's dilate/erode in numpy: max and min are exact, so they equal stage_inputs bit for bit
  at a third of its cost;
- a batch runs channels_last (oneDNN's native layout: measured on the 2-core EPYC, 1 thread, the
  stage cost 3.4 ms a crop in NCHW batches of 16 against 1.7 ms channels_last), one crop runs
  NCHW (there channels_last gains nothing);
- a batch always runs as BATCH crops, a short one padded with background: the kernels oneDNN
  picks depend on the batch's shape (a crop's maps in a batch of 8 differed from the same crop's
  in one of 16 by 1e-6), and convolutions never mix crops, so with one shape a crop's maps depend
  on the crop alone, not on its batch-mates or how many there were. A dataset's bytes then stay
  the same whatever its workers or chunks batch together (engine.dataset);
- the upsampled coarse map is added into the full-resolution one in place, each coarse pixel's
  channels to its 2x2 block (`_add_upsampled`; the same bits as F.interpolate and a sum, without
  the interpolated temporary), and the noise map is made only when asked for (a style calibrated
  without noise, such as the SR305's smoothing, never reads it);
- calls run under torch.inference_mode.
The maps equal StyleStage.run's within float32 rounding (a test bounds them); the reference
StyleStage stays the trained, saved and tested model, this object is derived from it per style
and never saved.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.data.crop import BACKGROUND, PASTE_BACKGROUND_MIN
from engine.models.style_net import NOISE_MAX_MM, STAGE_INPUTS, StyleStage

# Crops per stage call in a batch. Measured on the shared 2-core EPYC, 1 thread, load ~7: the
# stage cost 11-13 ms a crop one at a time, 9-11 at 4 or 16 a call, 21-24 at 64 (the activations
# of 64 crops fall out of the caches).
BATCH = 16
_WINDOW3 = np.ones((3, 3), np.uint8)
_Params = tuple[torch.Tensor, torch.Tensor]


def stage_inputs_numpy(crops: np.ndarray) -> np.ndarray:
    """style_net.stage_inputs of normalised crops (N, H, W), as float32 (N, STAGE_INPUTS, H, W):
    the crop, its depth range over 3x3 and 5x5 windows, the hand mask. A 3x3 dilation of a 3x3
    dilation is the 5x5 one, and max5 - min5 is the stage's max5 + max5(-x) exactly."""
    crops = np.ascontiguousarray(crops, dtype=np.float32)
    out = np.empty((len(crops), STAGE_INPUTS, *crops.shape[1:]), np.float32)
    for crop, maps in zip(crops, out):
        hi3 = cv2.dilate(crop, _WINDOW3, borderType=cv2.BORDER_CONSTANT, borderValue=-np.inf)
        lo3 = cv2.erode(crop, _WINDOW3, borderType=cv2.BORDER_CONSTANT, borderValue=np.inf)
        maps[0] = crop
        np.subtract(hi3, lo3, out=maps[1])
        np.subtract(cv2.dilate(hi3, _WINDOW3, borderType=cv2.BORDER_CONSTANT, borderValue=-np.inf),
                    cv2.erode(lo3, _WINDOW3, borderType=cv2.BORDER_CONSTANT, borderValue=np.inf), out=maps[2])
        np.less(crop, PASTE_BACKGROUND_MIN, out=maps[3])
    return out


def _params(conv: nn.Conv2d) -> _Params:
    return conv.weight.detach().clone(), conv.bias.detach().clone()


def _fold_film(conv: nn.Conv2d, modulation: _Params) -> _Params:
    """(weight, bias) of a convolution computing conv(x) * scale + shift for one style."""
    scale, shift = (m.reshape(-1) for m in modulation)
    return conv.weight.detach() * scale[:, None, None, None], conv.bias.detach() * scale + shift


class StyleStageForStyle:
    """StyleStage.run for one style code, per crop or per batch (module docstring)."""

    def __init__(self, model: StyleStage, code: torch.Tensor) -> None:
        if code.shape[0] != 1:
            raise ValueError(f"one style code expected, got a batch of {code.shape[0]}")
        with torch.inference_mode():
            mods = model.modulations(code)
            self._full = _params(model.full)
            self._film = [_fold_film(layer.conv, mod) for layer, mod in zip((model.down, model.mid1, model.mid2), mods)]
            self._fuse = _params(model.fuse)
            self._head = _params(model.head)

    def maps(self, crops: np.ndarray, noise: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """(hole_logit, noise_mm) of normalised crops (N, H, W) with even H, W, as C-contiguous
        float32 arrays (N, H, W): engine.style.learned.stage_maps' result, BATCH crops a call
        (a short batch padded; module docstring), so each crop's maps depend on it alone.
        noise_mm is None when not `noise` (a style calibrated without noise never reads it)."""
        crops = np.asarray(crops, dtype=np.float32)
        parts = []
        for start in range(0, len(crops), BATCH):
            part = crops[start:start + BATCH]
            if len(part) < BATCH:
                part = np.concatenate([part, np.full((BATCH - len(part), *part.shape[1:]), BACKGROUND, np.float32)])
            parts.append(self._run(part, noise))
        logits, noises = zip(*parts)
        return (np.concatenate(logits)[:len(crops)],
                np.concatenate(noises)[:len(crops)] if noise else None)

    def maps_of_one(self, crop: np.ndarray, noise: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """(hole_logit, noise_mm) of one normalised crop (H, W), each (H, W), run alone: a live
        frame's latency (the maps equal `maps`' within float32 rounding); noise_mm None when not
        `noise`."""
        logit, noise_mm = self._run(np.asarray(crop, dtype=np.float32)[None], noise)
        return logit[0], None if noise_mm is None else noise_mm[0]

    @torch.inference_mode()
    def _run(self, crops: np.ndarray, noise: bool) -> tuple[np.ndarray, np.ndarray | None]:
        x = torch.from_numpy(stage_inputs_numpy(crops))
        if len(x) > 1:
            x = x.contiguous(memory_format=torch.channels_last)
        full = F.conv2d(x, *self._full, padding=1).relu_()
        (w0, b0), (w1, b1), (w2, b2) = self._film
        h = F.conv2d(full, w0, b0, stride=2, padding=1).relu_()
        h = F.conv2d(h, w1, b1, padding=1).relu_()
        h = F.conv2d(h, w2, b2, padding=1).relu_()
        h = _add_upsampled(full, F.conv2d(h, *self._fuse))
        out = F.conv2d(h.relu_(), *self._head, padding=1)
        logit = out[:, 0].contiguous().numpy()
        if not noise:
            return logit, None
        return logit, torch.sigmoid(out[:, 1]).mul_(NOISE_MAX_MM).contiguous().numpy()


def _add_upsampled(full: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
    """full + F.interpolate(low, scale_factor=2, mode="nearest"), bit for bit, into `full`.
    A channels_last batch adds each low-resolution pixel's channels (one 4 * C-byte block,
    repeated twice along the row by numpy) to its 2x2 block: the interpolation and its
    full-size temporary cost as much as a convolution."""
    if not (full.is_contiguous(memory_format=torch.channels_last)
            and low.is_contiguous(memory_format=torch.channels_last)):
        return full.add_(F.interpolate(low, scale_factor=2.0, mode="nearest"))
    n, c, h, w = low.shape
    block = np.dtype((np.void, 4 * c))  # one pixel's C float32 channels (NHWC)
    rows = np.repeat(low.permute(0, 2, 3, 1).numpy().view(block)[..., 0], 2, axis=2)  # (n, h, 2w)
    big = full.permute(0, 2, 3, 1).numpy().view()
    big.shape = (n, h, 2, 2 * w * c)  # a view (setting the shape never copies): rows 2i and 2i + 1
    big += rows.view(np.float32).reshape(n, h, 1, 2 * w * c)
    return full
