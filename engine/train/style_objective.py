"""The design's styled generator objective (issue 13, way 1): L_ST in place of the L2 term.

    L_G = -log D(G(y), y) + w_cont * l_cont(G(y), x) + w_sty * l_sty(G(y), S) + w_tv * l_tv(G(y))

x is the pair's crop (the content), S the one style image. The three L_ST terms and their
normalisation are engine.style.losses'; the extractor is the shipped pose estimator's VGG-19
trunk (engine.models.vgg.load_pose_trunk), frozen, and S's Gram targets are encoded ONCE when
the objective is built, never per step.

Why crops of S, and which: the generator draws crops in the crop convention (engine.data.crop),
so S must be seen the same way or its Grams describe another scale and depth offset. The hand
of S is found as the style statistics find it (engine.style.stats.reference_mask); the cube is
centred at its bounding box's middle pixel, at the hand's median measured depth plus
SURFACE_OFFSET_MM (the crop convention centres on the joints, which lie behind the visible
surface), then cropped through a camera preset (a PNG does not carry its intrinsics, so the
style camera is an option; the run's camera by default). A few shifted crops (JITTER_PX) are
averaged into the Gram targets so that one crop's exact framing is not what G must copy.

The design's content term is a feature distance at relu4_2 (1/8 resolution), so nothing pins
G's per-pixel depth: a styled G may drift geometrically. The L2 term is therefore still
computed, without gradient, and logged as a monitor (loss_g_l2), and the evaluation measures
the drift (geometry_shift_mm, IoU).
Free of the GAN trainer's loop: engine.train.gan calls `StyleObjective` in place of the L2 loss.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.camera import CAMERA_PRESETS, Camera
from engine.data.crop import crop_depth, transform_at
from engine.losses import generator_adversarial, l2_frobenius
from engine.models.vgg import VGG19Features, load_pose_trunk
from engine.sim.sensor_match import read_style_image
from engine.style.image import StyleImage
from engine.style.losses import StyleLossConfig, StyleTransferLoss
from engine.style.registry import style_image_source
from engine.style.stats import reference_mask

# Median depth of the visible hand surface in 200 clean simulator crops (seed 5) is -0.077 crop
# units, i.e. 9.6 mm in front of the cube centre: the joints lie inside the hand.
SURFACE_OFFSET_MM = 10.0
# Shifts of the style crop's centre (image px): the centred crop and four 6-px neighbours, about
# a fingertip's width at hand range, so the targets are not tied to one exact framing.
JITTER_PX = ((0, 0), (6, 0), (-6, 0), (0, 6), (0, -6))
STYLE_LOG_COLUMNS = ("loss_g_content", "loss_g_style", "loss_g_tv")


@dataclass(frozen=True)
class StyleTarget:
    """The style image of a run, decoded, and its hand-centred crops (K, 128, 128)."""

    value: str  # what the user gave: a bank name or a path
    path: Path
    image: StyleImage
    camera_name: str
    crops: np.ndarray

    def describe(self) -> dict:
        """What the loader assumed and how S was cropped, for the run's log."""
        return {"style": self.value, "image": str(self.path), "assumed": self.image.assumption,
                "camera": self.camera_name, "crops": len(self.crops),
                "surface_offset_mm": SURFACE_OFFSET_MM, "jitter_px": [list(j) for j in JITTER_PX]}


def style_camera_name(options: dict) -> str:
    """The camera preset the style image is cropped through: --style-camera, else the run's first."""
    return str(options.get("style_camera") or options["cameras"][0])


def loss_config(options: dict) -> StyleLossConfig:
    """StyleLossConfig with the run's weights (layers: the design's, from StyleLossConfig)."""
    return StyleLossConfig(content_weight=float(options["w_content"]), style_weight=float(options["w_style"]),
                           tv_weight=float(options["w_tv"]))


def check_style_options(options: dict) -> None:
    """Weights and the style camera, checked before anything is written (ValueError, one line)."""
    for key in ("w_content", "w_style", "w_tv"):
        value = options[key]
        if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
            raise ValueError(f"--{key.replace('_', '-')} must be a finite number >= 0, got {value}")
    if options.get("style_scale") is not None and not options.get("style"):
        raise ValueError("--style-scale needs --style")
    name = style_camera_name(options)
    if name not in CAMERA_PRESETS:
        raise ValueError(f"--style-camera: unknown camera {name!r}; choose from {', '.join(CAMERA_PRESETS)}")


def hand_crops(depth: np.ndarray, camera: Camera, jitter: tuple[tuple[int, int], ...] = JITTER_PX) -> np.ndarray:
    """Crops (K, 128, 128) of the hand in a depth image (mm), one per centre shift (module docstring)."""
    mask = reference_mask(depth)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    u = 0.5 * (cols[0] + cols[-1])
    v = 0.5 * (rows[0] + rows[-1])
    z = float(np.median(depth[mask & (depth > 0)])) + SURFACE_OFFSET_MM
    crops = []
    for du, dv in jitter:
        centre = camera.backproject(np.array(u + du), np.array(v + dv), np.array(z))
        crops.append(crop_depth(depth, transform_at(np.asarray(centre).reshape(3), camera)))
    return np.stack(crops)


def load_style_target(options: dict) -> StyleTarget:
    """The run's style image (--style: bank name or path; --style-scale), decoded and cropped.

    ValueError (StyleImageError) in one line naming the file for a missing file, a colour photo,
    an image without a hand, or a bank style that is a sensor model rather than an image.
    """
    value = str(options["style"])
    try:
        path, scale = style_image_source(value, options.get("style_scale"))
    except ValueError as e:
        raise ValueError(f"--style {value}: {e}; train gan --style needs a depth image") from None
    image = read_style_image(path, scale)
    name = style_camera_name(options)
    try:
        crops = hand_crops(image.depth, CAMERA_PRESETS[name])
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return StyleTarget(value, path, image, name, crops)


def describe_objective(options: dict) -> dict:
    """The objective of a styled run as a checkpoint's info records it (pure: from the options)."""
    cfg = loss_config(options)
    return {"generator": "-log D(G(y), y) + w_content * l_content + w_style * l_style + w_tv * l_tv (no L2 term)",
            "style": options["style"], "style_scale": options.get("style_scale"),
            "style_camera": style_camera_name(options),
            "weights": {"content": cfg.content_weight, "style": cfg.style_weight, "tv": cfg.tv_weight},
            "content_layer": cfg.content_layer, "style_layers": list(cfg.style_layers),
            "extractor": "depth VGG-19 trunk (resources/models/depth_vgg.safetensors, engine.models.vgg.load_pose_trunk)",
            "content": "the pair's crop x", "losses": "engine.style.losses (StyleTransferLoss)",
            "adversarial": "-log D(G(y), y), patch-averaged, mean over batch"}


class StyleObjective:
    """G's loss of a styled run: adversarial + L_ST, with S's Grams encoded once."""

    def __init__(self, target: StyleTarget, config: StyleLossConfig, device: torch.device,
                 extractor: VGG19Features | None = None) -> None:
        self.loss = StyleTransferLoss((extractor or load_pose_trunk()).to(device), config)
        self.grams = self.loss.style_grams(torch.from_numpy(target.crops)[:, None].to(device))

    def __call__(self, fake_logits: torch.Tensor, target: torch.Tensor,
                 generated: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(L_G, its terms) for D's logits on G(y), the content crops x and G(y)."""
        adv = generator_adversarial(fake_logits)
        terms = self.loss(generated.float().contiguous(), target.float().contiguous(), self.grams)
        with torch.no_grad():
            l2 = l2_frobenius(target, generated)  # a monitor of geometric drift, not optimised
        return adv + terms.total, {"loss_g_adv": adv, "loss_g_l2": l2, "loss_g_content": terms.content,
                                   "loss_g_style": terms.style, "loss_g_tv": terms.tv}
