"""The style-transfer objective L_ST of the design, on VGG-19 features (engine.models.vgg):

    L_ST = w_cont * l_cont + w_sty * l_sty + w_tv * l_tv

  l_cont  content: mean squared difference of the output's and the content's features at one
          layer (Gatys et al., CVPR 2016), averaged over C x H x W as Johnson et al. (ECCV 2016)
          do, so a layer's size does not set its weight;
  l_sty   style: over several layers, the mean squared difference of Gram matrices
          G = F F^T / (C H W) (channel co-activations: texture without its layout);
  l_tv    total variation: the mean absolute difference of vertically and of horizontally
          neighbouring pixels, summed (anisotropic L1), which penalises speckle the Grams ask
          for where the content has none.
All layers and weights live in StyleLossConfig; its defaults are the design's starting point
(content relu4_2 x 2.0, style relu1_1..relu5_1 x 0.15, TV x 0.5), to be tuned from measurements.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from engine.models.vgg import VGG19Features


@dataclass(frozen=True)
class StyleLossConfig:
    """Layers and weights of L_ST (module docstring)."""

    content_layer: str = "relu4_2"
    content_weight: float = 2.0
    style_layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    style_weight: float = 0.15
    tv_weight: float = 0.5

    @property
    def layers(self) -> tuple[str, ...]:
        """Every layer the extractor must return, each once."""
        return tuple(dict.fromkeys((*self.style_layers, self.content_layer)))


class StyleLossTerms(NamedTuple):
    total: torch.Tensor
    content: torch.Tensor
    style: torch.Tensor
    tv: torch.Tensor


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared feature difference at one layer."""
    return F.mse_loss(features, target)


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C) channel co-activations, divided by C * H * W."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def style_loss(features: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor],
               layers: Sequence[str]) -> torch.Tensor:
    """Sum over `layers` of the mean squared Gram difference; a target of batch 1 serves all."""
    total = features[layers[0]].new_zeros(())
    for name in layers:
        gram = gram_matrix(features[name])
        total = total + F.mse_loss(gram, target_grams[name].expand_as(gram))
    return total


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean |vertical step| + mean |horizontal step| of (B, C, H, W) images."""
    dy = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean()
    dx = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean()
    return dy + dx


class StyleTransferLoss:
    """L_ST with one frozen extractor. Encode the style once (`style_grams`), then call per batch."""

    def __init__(self, extractor: VGG19Features, config: StyleLossConfig = StyleLossConfig()) -> None:
        self.extractor = extractor
        self.config = config

    @torch.no_grad()
    def style_grams(self, style: torch.Tensor) -> dict[str, torch.Tensor]:
        """Gram targets of style crops (B, 1, H, W), averaged over the batch to (1, C, C) each."""
        feats = self.extractor(style, self.config.style_layers)
        return {name: gram_matrix(f).mean(0, keepdim=True) for name, f in feats.items()}

    def __call__(self, output: torch.Tensor, content: torch.Tensor,
                 style_grams: Mapping[str, torch.Tensor]) -> StyleLossTerms:
        """The weighted total and its three terms for stylised `output` of `content` crops."""
        cfg = self.config
        feats = self.extractor(output, cfg.layers)
        with torch.no_grad():
            target = self.extractor(content, (cfg.content_layer,))[cfg.content_layer]
        l_cont = content_loss(feats[cfg.content_layer], target)
        l_sty = style_loss(feats, style_grams, cfg.style_layers)
        l_tv = total_variation(output)
        total = cfg.content_weight * l_cont + cfg.style_weight * l_sty + cfg.tv_weight * l_tv
        return StyleLossTerms(total, l_cont, l_sty, l_tv)
