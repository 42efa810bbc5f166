"""Training objectives. The GAN terms follow the design exactly:

    L_G = -sum_i log D(G(y_i), y_i) + lambda * ||x_i - G(y_i)||_F^2        (lambda = 1)
    L_D = -sum_i [log D(x_i, y_i) + log(1 - D(G(y_i), y_i))]               (D maximises the bracket)

Normalisation (stated once, used by every caller):
- D outputs patch logits; D(x, y) = sigmoid(logit) and log D is averaged over the patches, so each
  image contributes one log-probability, as in the design's per-sample sum.
- ||x_i - G(y_i)||_F^2 is the literal squared Frobenius norm of the 128x128 difference: a *sum*
  over the 16,384 pixels, in crop units (1 unit = 125 mm). Both terms are then *averaged* over the
  batch instead of summed, which scales L_G as a whole and leaves their ratio as designed.
  With lambda = 1 the L2 term dominates (a 5 % per-pixel error already costs about 41, the
  adversarial term is about 0.7): the reconstruction leads, the adversarial term sharpens, and
  training is stable. A per-pixel mean would instead make the two comparable.
- log D is computed from logits with log-sigmoid (binary cross-entropy with logits), which is
  exact and never takes log(0).

The style terms (VGG content, Gram style, total variation, L_ST) are in engine/style/losses.py.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

DEFAULT_L2_WEIGHT = 1.0  # lambda of the design


def generator_adversarial(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(G(y)): mean over the batch of the patch-averaged -log sigmoid(logit)."""
    return -F.logsigmoid(fake_logits.float()).flatten(1).mean(1).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-[log D(x, y) + log(1 - D(G(y), y))], patch-averaged, mean over the batch."""
    real = -F.logsigmoid(real_logits.float()).flatten(1).mean(1)
    fake = -F.logsigmoid(-fake_logits.float()).flatten(1).mean(1)  # log(1 - sigmoid(l)) = logsigmoid(-l)
    return (real + fake).mean()


def l2_frobenius(target: torch.Tensor, generated: torch.Tensor) -> torch.Tensor:
    """||x - G(y)||_F^2 per image (sum over pixels), mean over the batch."""
    diff = (target.float() - generated.float()).flatten(1)
    return (diff * diff).sum(1).mean()


def generator_loss(fake_logits: torch.Tensor, target: torch.Tensor, generated: torch.Tensor,
                   l2_weight: float = DEFAULT_L2_WEIGHT) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(L_G, adversarial term, L2 term) with L_G = adversarial + l2_weight * L2."""
    adv = generator_adversarial(fake_logits)
    l2 = l2_frobenius(target, generated)
    return adv + l2_weight * l2, adv, l2
