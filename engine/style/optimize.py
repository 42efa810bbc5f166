"""Optimisation-based stylisation of one depth image (issue 13, way 2: slow, highest quality).

The output is optimised directly (Gatys et al., CVPR 2016), starting from the content, to
minimise L_ST (engine.style.losses) on the default pose-trunk features, with the style's Gram
targets taken from the hand of the style image. Depth has to stay metric and the hand has to
keep its shape, which plain Gatys does not promise, so the output is parameterised:

  window     a hand-centred window of the frame at its own resolution (the hand's bounding box
             plus a margin), not a resampled 128 px crop: a sensor's look is 1-2 px noise,
             ragged edges and small holes, which resampling would alias. Depth is mapped as in
             the crop convention (engine.data.crop step 5: (z - z_c) / (CUBE_MM / 2), no data
             and background +1), which is what the trunk was trained on.
  residual   depth = content + high-pass(R tanh(rho)) on the hand's measured pixels: a bounded
             change (R = residual_mm) with its local mean removed (a normalised box filter over
             the hand, the window of geometry_shift_mm), so the style can add noise, steps and
             ripples but cannot move a surface. A geometry term, the squared difference of the
             hole-aware low-passes in mm^2, holds what the high-pass leaves near the outline.
  noise      on this trunk the Gram term barely sees millimetre noise (a 0.5 mm ripple is
             0.004 in crop units), so its amplitude is set explicitly too: a term pulls the
             log of the output's hf_energy (engine.style.stats) to the style image's, and the
             Gram and TV terms shape its texture. R caps it at ~R^2 mm^2, so a style whose
             hf_energy comes from flying pixels (hundreds of mm) is only approached.
  holes      a per-pixel hole logit h; p = sigmoid(h) composites the crop towards background
             (+1), so the VGG features see holes as the trunk saw them in real crops. Gram
             statistics alone rarely open holes (a hole is a large, rare event in a Gram
             average), so how MANY holes is set explicitly from the style's own statistics: a
             term pulls the mean p in the edge band and in the interior to the style image's
             edge and interior hole ratios, while WHERE they open is left to L_ST and TV. At
             the end exactly that many pixels, those of highest p in each region, become 0 mm.
             No pixel is added outside the content's silhouette (flying pixels are not modelled).
Everything here runs on torch tensors on one device; the extractor is passed in, loaded once.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from engine.data.crop import BACKGROUND, CUBE_MM
from engine.models.vgg import VGG19Features
from engine.style.losses import StyleLossConfig, StyleTransferLoss
from engine.style.stats import (
    GEOMETRY_KERNEL_PX, HF_KERNEL_PX, StyleStats, edge_band, geometry_shift_mm, hole_ratio, reference_mask,
    style_stats)

HALF_CUBE_MM = CUBE_MM / 2.0
# A prior hole probability of ~5 % at the start: holes are rare, but the gradient must reach them.
HOLE_LOGIT_INIT = -3.0
HOLE_LOGIT_NOISE = 0.5  # breaks the symmetry between pixels, from the seed
HF_FLOOR_MM2 = 0.01  # hf_energy's log needs a floor; a clean render's is ~0.1 mm^2 (its curvature)


@dataclass(frozen=True)
class StylizeConfig:
    """The optimisation's knobs (module docstring); saved beside the result."""

    steps: int = 300
    lr_depth: float = 0.02  # Adam on rho: per-step change of about lr x R mm
    lr_holes: float = 0.1  # Adam on the hole logits
    residual_mm: float = 12.0  # largest depth change per pixel; real sensor noise is 1-5 mm at hand range
    highpass_px: int = GEOMETRY_KERNEL_PX
    margin_px: int = 8  # window margin around the hand's bounding box
    hole_weight: float = 20.0
    hf_weight: float = 1.0  # per squared log-ratio of hf_energy to the style's
    geometry_weight: float = 0.05  # per mm^2 of low-pass difference
    binarise_weight: float = 0.2  # pushes p to 0 or 1 so the features saw what is written
    log_every: int = 10
    loss: StyleLossConfig = field(default_factory=StyleLossConfig)

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.highpass_px < 3 or self.highpass_px % 2 == 0:
            raise ValueError(f"highpass_px must be an odd number >= 3, got {self.highpass_px}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HandWindow:
    """A hand's pixel window in its frame and the depth the crop convention centres on."""

    rows: slice
    cols: slice
    centre_mm: float

    def to_dict(self) -> dict:
        return {"rows": [self.rows.start, self.rows.stop], "cols": [self.cols.start, self.cols.stop],
                "centre_mm": round(self.centre_mm, 2)}


@dataclass
class StylizeResult:
    """The styled frame and what the evidence needs: statistics, losses, the hole targets."""

    depth: np.ndarray  # float32 mm, the content's frame with the hand window styled
    window: HandWindow
    style_window: HandWindow
    before: StyleStats
    after: StyleStats
    reference: StyleStats
    geometry_shift_mm: float
    hole_targets: dict[str, float]
    losses: list[dict[str, float]]


ProgressFn = Callable[[int, int, dict[str, float]], None]


def hand_window(depth: np.ndarray, mask: np.ndarray, margin_px: int) -> HandWindow:
    """The mask's bounding box grown by `margin_px` (clipped to the frame), centred at the
    median measured depth of the hand."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    h, w = mask.shape
    r = slice(max(int(rows[0]) - margin_px, 0), min(int(rows[-1]) + 1 + margin_px, h))
    c = slice(max(int(cols[0]) - margin_px, 0), min(int(cols[-1]) + 1 + margin_px, w))
    return HandWindow(r, c, float(np.median(depth[mask & (depth > 0)])))


def normalise(depth_mm: torch.Tensor, centre_mm: float) -> torch.Tensor:
    """Crop-convention depth (engine.data.crop step 5) of a mm tensor, no data -> background."""
    d = ((depth_mm - centre_mm) / HALF_CUBE_MM).clamp(-1.0, 1.0)
    background = (depth_mm <= 0) | (depth_mm > centre_mm + HALF_CUBE_MM)
    return torch.where(background, torch.full_like(d, BACKGROUND), d)


def _box_lowpass(x: torch.Tensor, w: torch.Tensor, k: int) -> torch.Tensor:
    """Normalised box convolution of x with weight w (both (1, 1, H, W))."""
    num = F.avg_pool2d(x * w, k, stride=1, padding=k // 2, count_include_pad=True)
    den = F.avg_pool2d(w, k, stride=1, padding=k // 2, count_include_pad=True)
    return num / den.clamp_min(1e-6)


def _top_share(p: np.ndarray, region: np.ndarray, share: float) -> np.ndarray:
    """The `share` of `region`'s pixels with the highest p, as a mask."""
    out = np.zeros_like(region)
    k = int(round(share * region.sum()))
    if k <= 0:
        return out
    idx = np.flatnonzero(region)
    out.flat[idx[np.argsort(-p.flat[idx], kind="stable")[:k]]] = True
    return out


def _to_tensor(a: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None].to(device)


def stylize(content: np.ndarray, style: np.ndarray, extractor: VGG19Features,
            config: StylizeConfig = StylizeConfig(), seed: int = 0,
            on_progress: ProgressFn | None = None) -> StylizeResult:
    """Stylise the hand of `content` (float mm frame, 0 = no data) after the hand of `style`
    (float mm); ValueError (one line) when either holds no hand."""
    content = np.asarray(content, dtype=np.float32)
    style = np.asarray(style, dtype=np.float32)
    try:
        mask_full = reference_mask(content) & (content > 0)
    except ValueError:
        raise ValueError("no hand found in the content image") from None
    smask_full = reference_mask(style)
    win = hand_window(content, mask_full, config.margin_px)
    swin = hand_window(style, smask_full, config.margin_px)
    device = next(extractor.parameters()).device

    c_np = content[win.rows, win.cols]
    mask = mask_full[win.rows, win.cols]
    valid = mask & (c_np > 0)
    band = edge_band(mask) & valid
    interior = valid & ~band
    s_np = style[swin.rows, swin.cols]
    smask = smask_full[swin.rows, swin.cols]
    reference = style_stats(s_np, smask)
    s_interior = smask & ~edge_band(smask)
    # Holes to open, as shares of the content's measured band / interior pixels.
    targets = {"edge": reference.edge_hole_ratio,
               "interior": hole_ratio(s_np, s_interior) if s_interior.any() else reference.hole_ratio}

    loss_fn = StyleTransferLoss(extractor, config.loss)
    grams = loss_fn.style_grams(normalise(_to_tensor(s_np, device), swin.centre_mm))
    c_t = _to_tensor(c_np, device)
    c_norm = normalise(c_t, win.centre_mm)
    m_t = _to_tensor(mask, device)
    v_t = _to_tensor(valid, device)
    band_t, int_t = _to_tensor(band, device), _to_tensor(interior, device)
    k = config.highpass_px
    low_c = _box_lowpass(c_t, v_t, k)

    gen = torch.Generator().manual_seed(seed)
    rho = torch.zeros_like(c_t, requires_grad=True)
    h0 = HOLE_LOGIT_INIT + HOLE_LOGIT_NOISE * torch.randn(c_t.shape, generator=gen)
    logit = h0.to(device).requires_grad_(True)
    optimiser = torch.optim.Adam([{"params": [rho], "lr": config.lr_depth},
                                  {"params": [logit], "lr": config.lr_holes}])
    hf_k = HF_KERNEL_PX
    hf_where = _to_tensor(valid & ~edge_band(mask, hf_k // 2), device)
    hf_target = math.log(reference.hf_energy + HF_FLOOR_MM2)

    def forward() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r = config.residual_mm * torch.tanh(rho) * v_t
        depth = c_t + (r - _box_lowpass(r, v_t, k)) * v_t
        p = torch.sigmoid(logit) * v_t
        return depth, p, (1.0 - p) * normalise(depth, win.centre_mm) + p * BACKGROUND

    losses: list[dict[str, float]] = []
    for step in range(1, config.steps + 1):
        optimiser.zero_grad(set_to_none=True)
        depth, p, out = forward()
        terms = loss_fn(out, c_norm, grams)
        l_hole = ((p * band_t).sum() / band_t.sum().clamp_min(1) - targets["edge"]) ** 2 \
            + ((p * int_t).sum() / int_t.sum().clamp_min(1) - targets["interior"]) ** 2
        keep = v_t * (1.0 - p)
        l_geo = (((_box_lowpass(depth, keep, k) - low_c) ** 2) * v_t).sum() / v_t.sum()
        l_bin = (p * (1.0 - p)).sum() / v_t.sum()
        hf = (((depth - _box_lowpass(depth, v_t, hf_k)) ** 2) * hf_where).sum() / hf_where.sum().clamp_min(1)
        l_hf = (torch.log(hf + HF_FLOOR_MM2) - hf_target) ** 2
        total = terms.total + config.hole_weight * l_hole + config.geometry_weight * l_geo \
            + config.binarise_weight * l_bin + config.hf_weight * l_hf
        if not torch.isfinite(total):
            raise ValueError(f"the optimisation diverged at step {step} (loss {total.item()})")
        total.backward()
        optimiser.step()
        if step % config.log_every == 0 or step == config.steps:
            row = {"step": step, "total": total.item(), "content": terms.content.item(),
                   "style": terms.style.item(), "tv": terms.tv.item(), "hole": l_hole.item(),
                   "hf_mm2": hf.item(), "geometry_mm2": l_geo.item()}
            losses.append({k_: (round(v, 6) if isinstance(v, float) else v) for k_, v in row.items()})
            if on_progress is not None:
                on_progress(step, config.steps, row)

    with torch.no_grad():
        depth, p, _ = forward()
    depth_np = depth[0, 0].cpu().numpy()
    p_np = p[0, 0].cpu().numpy()
    holes = _top_share(p_np, band, targets["edge"]) | _top_share(p_np, interior, targets["interior"])
    styled_win = c_np.copy()
    styled_win[valid] = depth_np[valid]
    styled_win[holes] = 0.0
    out_frame = content.copy()
    out_frame[win.rows, win.cols] = styled_win
    before = style_stats(c_np, mask)
    after = style_stats(styled_win, mask)
    shift = geometry_shift_mm(styled_win, c_np, mask)
    return StylizeResult(out_frame, win, swin, before, after, reference, shift,
                         {k_: round(v, 6) for k_, v in targets.items()}, losses)
