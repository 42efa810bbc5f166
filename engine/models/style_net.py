"""The real-time style stage (issue 13, way 3): a feed-forward network for ANY style image.

In the spirit of AdaIN (Huang & Belongie, ICCV 2017) and FAST-style arbitrary transfer: a style
is encoded once into a code, and the code modulates a small per-frame network (FiLM: per-channel
scale and shift, Perez et al., AAAI 2018, of which AdaIN is the special case with the style's
own feature statistics as scale and shift). Unlike image-to-image transfer, depth must stay
metric and the hand must keep its shape, so the network never writes depth: per pixel it
returns
  hole_logit  the log-odds that the sensor reports no data there, and
  noise_mm    the standard deviation (mm, at most NOISE_MAX_MM) of the sensor's depth error,
and the caller (engine.style.learned) draws the holes and a high-passed noise from a seeded
generator: the same seed gives the same frame, and no output can move the hand.

Two parts:
  encoder  style crop (1, 128, 128, engine.style.style_crop) -> strided convs -> mean pool,
           concatenated with the style's explicit statistics (STAT_FEATURES) -> MLP -> code.
           Runs once per style (prepare).
  stage    content crop (1, 128, 128) and its depth-edge maps (stage_inputs) -> one conv at
           full resolution (edges are 1-2 px
           features), then FiLM-modulated convs at 64x64 where most of the work is done
           (a quarter of the pixels), projected to the full-resolution width, upsampled (nearest:
           no checkerboard from a transposed conv, Odena et al., Distill 2016), added to the
           full-resolution features, and a 3x3 conv gives the two per-pixel maps. Small channel counts keep it near a
           millisecond on one CPU thread (`python main.py bench`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.data.crop import PASTE_BACKGROUND_MIN
from engine.models.checkpoint import register
from engine.style.style_crop import STAT_FEATURES

NOISE_MAX_MM = 8.0  # beyond every sensor model's axial noise at hand range (1-5 mm)
# The prior hole rate at initialisation (sigmoid(-3) ~ 5 %): holes are rare but must get gradient.
HOLE_LOGIT_INIT = -3.0


STAGE_INPUTS = 4  # the crop, its depth range over 3x3 and 5x5, and the hand mask


def stage_inputs(x: torch.Tensor) -> torch.Tensor:
    """The crop with where its depth edges are: the local depth range (max - min) over 3x3 and
    5x5 windows, and the hand (not background). Why: sensors drop pixels by their distance to
    a depth edge (outline, hole or step between fingers); a first version given the crop alone
    learned that only as a blur (predicted hole rate 0.25 where realsense drops 0.6 within
    1.5 px of an edge, 0.08 where it drops none beyond 3 px)."""
    hi3, lo3 = window_max3(x), -window_max3(-x)
    r3 = hi3 - lo3
    r5 = window_max3(hi3) + window_max3(-lo3)  # a 3x3 max of a 3x3 max is the 5x5 max
    return torch.cat([x, r3, r5, (x < PASTE_BACKGROUND_MIN).to(x.dtype)], dim=1)


def window_max3(x: torch.Tensor) -> torch.Tensor:
    """max_pool2d(x, 3, stride 1, padding 1), as shifted maxima: for one channel at 128x128
    torch's stride-1 max-pool costs ~0.2 ms a call on the CPU, this ~0.03 ms."""
    p = F.pad(x, (1, 1, 1, 1), value=float("-inf"))
    h = torch.maximum(torch.maximum(p[..., :, :-2], p[..., :, 1:-1]), p[..., :, 2:])
    return torch.maximum(torch.maximum(h[..., :-2, :], h[..., 1:-1, :]), h[..., 2:, :])


class _FiLMConv(nn.Module):
    """3x3 conv, then per-channel scale and shift from the style code, then ReLU."""

    def __init__(self, c_in: int, c_out: int, code: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)
        self.film = nn.Linear(code, 2 * c_out)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)  # starts as an unmodulated conv (scale 1, shift 0)

    def modulation(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(1 + scale, shift), each (B, C, 1, 1): fixed per style, so computed once per style."""
        scale, shift = self.film(code).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        return 1.0 + scale, shift

    def forward(self, x: torch.Tensor, mod: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return F.relu(self.conv(x) * mod[0] + mod[1])


@register("style_stage")
class StyleStage(nn.Module):
    """Style encoder + FiLM stage (module docstring). Config: widths and the code size."""

    def __init__(self, width: int = 16, full_width: int = 8, code: int = 32, encoder_width: int = 16) -> None:
        super().__init__()
        self.config = {"width": width, "full_width": full_width, "code": code, "encoder_width": encoder_width}
        e = encoder_width
        self.encoder = nn.Sequential(
            nn.Conv2d(1, e, 3, stride=2, padding=1), nn.ReLU(inplace=True),  # 64
            nn.Conv2d(e, 2 * e, 3, stride=2, padding=1), nn.ReLU(inplace=True),  # 32
            nn.Conv2d(2 * e, 2 * e, 3, stride=2, padding=1), nn.ReLU(inplace=True),  # 16
            nn.Conv2d(2 * e, 4 * e, 3, stride=2, padding=1), nn.ReLU(inplace=True),  # 8
        )
        self.code_mlp = nn.Sequential(nn.Linear(4 * e + STAT_FEATURES, 64), nn.ReLU(inplace=True),
                                      nn.Linear(64, code))
        self.full = nn.Conv2d(STAGE_INPUTS, full_width, 3, padding=1)
        self.down = _FiLMConv(full_width, width, code, stride=2)
        self.mid1 = _FiLMConv(width, width, code)
        self.mid2 = _FiLMConv(width, width, code)
        self.fuse = nn.Conv2d(width, full_width, 1)  # at 64x64, before upsampling: 4x cheaper
        self.head = nn.Conv2d(full_width, 2, 3, padding=1)
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([HOLE_LOGIT_INIT, -2.0]))

    def encode(self, style: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        """Style code (B, code) of style crops (B, 1, 128, 128) and their statistics (B, STAT_FEATURES)."""
        pooled = self.encoder(style).mean(dim=(2, 3))
        return self.code_mlp(torch.cat([pooled, stats], dim=1))

    def modulations(self, code: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The FiLM layers' scales and shifts for style codes (B, code); a live style keeps them."""
        return [layer.modulation(code) for layer in (self.down, self.mid1, self.mid2)]

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(hole_logit, noise_mm), each (B, 1, H, W), of content crops (B, 1, H, W) with even H, W."""
        return self.run(x, self.modulations(code))

    def run(self, x: torch.Tensor, mods: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        """forward() with the modulations already computed (`modulations`)."""
        full = F.relu(self.full(stage_inputs(x)))
        h = self.down(full, mods[0])
        h = self.mid2(self.mid1(h, mods[1]), mods[2])
        h = F.interpolate(self.fuse(h), scale_factor=2.0, mode="nearest")
        out = self.head(F.relu(h + full))
        return out[:, :1], NOISE_MAX_MM * torch.sigmoid(out[:, 1:])
