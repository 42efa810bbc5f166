"""The speed peer of the real-time style stage: AdaIN (Huang & Belongie, "Arbitrary Style
Transfer in Real-time with Adaptive Instance Normalization", ICCV 2017).

Its published form: a VGG-19 encoder up to relu4_1 (torchvision widths 64-128-256-512), AdaIN
(the content features renormalised to the style features' per-channel mean and std), and a
decoder mirroring the encoder (nearest upsampling where the encoder pools, reflection-padded
3x3 convs). `python main.py bench` times it at 128x128 with random weights beside the stage
(engine.models.style_net), the style's features encoded once as the stage's code is: only the
per-frame cost is compared. It is never trained or shipped; speed does not depend on weights.
"""
from __future__ import annotations

import torch
from torch import nn

from engine.models.vgg import IMAGENET_WIDTHS

# (block width, convs) of VGG-19 up to relu4_1: 2 + 2 + 4 + 1 convs.
ENCODER_BLOCKS = ((IMAGENET_WIDTHS[0], 2), (IMAGENET_WIDTHS[1], 2), (IMAGENET_WIDTHS[2], 4), (IMAGENET_WIDTHS[3], 1))
ADAIN_EPS = 1e-5


def adain(content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor) -> torch.Tensor:
    """Content features with the style's per-channel mean and std (Huang & Belongie, eq. 8)."""
    mean = content.mean(dim=(2, 3), keepdim=True)
    std = content.std(dim=(2, 3), keepdim=True) + ADAIN_EPS
    return (content - mean) / std * style_std + style_mean


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3), nn.ReLU(inplace=True))


class AdaINPeer(nn.Module):
    """VGG-19 encoder to relu4_1, AdaIN, mirrored decoder (module docstring)."""

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        enc: list[nn.Module] = []
        c = in_channels
        for i, (width, n) in enumerate(ENCODER_BLOCKS):
            if i:
                enc.append(nn.MaxPool2d(2))
            for _ in range(n):
                enc.append(_conv(c, width))
                c = width
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = []
        for i, (width, n) in enumerate(reversed(ENCODER_BLOCKS[:-1])):
            # The mirror: relu4_1 -> block 3 (4 convs) -> block 2 -> block 1, upsampling between.
            dec.append(_conv(c, width))
            dec.append(nn.Upsample(scale_factor=2, mode="nearest"))
            for _ in range(n - 1):
                dec.append(_conv(width, width))
            c = width
        dec += [nn.ReflectionPad2d(1), nn.Conv2d(c, in_channels, 3)]
        self.decoder = nn.Sequential(*dec)

    def encode_style(self, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The style's relu4_1 per-channel mean and std: computed once per style."""
        f = self.encoder(style)
        return f.mean(dim=(2, 3), keepdim=True), f.std(dim=(2, 3), keepdim=True) + ADAIN_EPS

    def forward(self, content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor) -> torch.Tensor:
        return self.decoder(adain(self.encoder(content), style_mean, style_std))
