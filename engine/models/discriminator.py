"""D(x, y): a conditional PatchGAN critic of depth crops given the pose.

A PatchGAN (Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks",
CVPR 2017) scores overlapping patches (here 8x8 of them, each seeing about 70 px) instead of the
whole crop, which judges local structure (edges, finger surfaces) with few weights. The pose
enters as the same skeleton image the generator sees, concatenated after the first stride-2
convolution (at 64x64, the encoding's resolution), so D judges whether *this* depth fits *this*
pose, as the conditional objective requires. Spectral normalisation (Miyato et al., ICLR 2018)
keeps D Lipschitz, so its gradients to G stay informative rather than saturating.

The output is logits; D(x, y) in the paper's objective is sigmoid(logits), averaged over patches
by the losses (engine.losses).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from engine.models.checkpoint import register
from engine.models.generator import ENCODING_SIZE
from engine.models.pose_encoding import ENCODING_CHANNELS, encode_pose


def _conv(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=(kernel - 1) // 2 if stride == 1 else 1))


@register("patch_critic")
class PatchCritic(nn.Module):
    """Conditional PatchGAN: (crops (B, 1, 128, 128), poses) → patch logits (B, 1, 8, 8)."""

    def __init__(self, base: int = 16, max_channels: int = 128) -> None:
        super().__init__()
        self.config = {"base": base, "max_channels": max_channels}
        act = nn.LeakyReLU(0.2, inplace=True)
        self.stem = nn.Sequential(_conv(1, base, 4, 2), act)  # 128 -> 64
        w = [min(base * 2 ** i, max_channels) for i in range(1, 4)]
        self.body = nn.Sequential(
            _conv(base + ENCODING_CHANNELS, w[0], 4, 2), act,  # 64 -> 32
            _conv(w[0], w[1], 4, 2), act,  # 32 -> 16
            _conv(w[1], w[2], 4, 2), act,  # 16 -> 8
            _conv(w[2], 1, 3, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor, view: torch.Tensor | None = None,
                encoding: torch.Tensor | None = None) -> torch.Tensor:
        if encoding is None:
            encoding = encode_pose(y, view, size=ENCODING_SIZE)
        return self.body(torch.cat([self.stem(x), encoding.to(x.dtype)], dim=1))
