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

Supervised heads (issue 15: not the design's; each weight 0 by default, which is the design's
objective exactly). G's silhouette logit m and depth d (engine.models.generator) are otherwise
trained only through x_hat = sigmoid(m) d + (1 - sigmoid(m)), whose L2 optimum is the expected
depth: m never has to become a mask and x_hat blurs where the outline is uncertain. So:
- mask term: per-pixel binary cross-entropy of m against the true silhouette (x < the paste's
  background threshold, as every metric counts hand), mean over pixels and batch; its optimum is
  sigmoid(m) = P(hand), so m > 0 is the more-likely-than-not silhouette;
- depth term: per-pixel L1 of d against x inside the true silhouette, mean over those pixels
  (the median depth, not an average across a depth step), in crop units.
Both are per-pixel means, like pix2pix's L1 x 100, so their weights set them against the
adversarial term rather than against the Frobenius sum. Optional separation weights (issue 15;
0 by default, which leaves both terms exactly as above): --gap-weight W multiplies the BCE of
background pixels in the gaps between fingers by 1 + W, --step-weight S the L1 of hand pixels at
depth steps by 1 + S (engine.separation_weights); the normalisers stay the pixel counts.

The style terms (VGG content, Gram style, total variation, L_ST) are in engine/style/losses.py.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.separation_weights import gap_map, step_map, true_silhouette

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
                   l2_weight: float = DEFAULT_L2_WEIGHT,
                   adv_weight: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(L_G, adversarial term, L2 term) with L_G = adv_weight * adversarial + l2_weight * L2
    (adv_weight 1: the design's; 0: the L2-only ablation)."""
    adv = generator_adversarial(fake_logits)
    l2 = l2_frobenius(target, generated)
    return adv_weight * adv + l2_weight * l2, adv, l2


def mask_bce(logit: torch.Tensor, target: torch.Tensor, gap_weight: float = 0.0) -> torch.Tensor:
    """Binary cross-entropy of silhouette logits against the target's silhouette, mean over pixels;
    with gap_weight W, background pixels in gaps between fingers count 1 + W times."""
    if gap_weight == 0:
        return F.binary_cross_entropy_with_logits(logit.float(), true_silhouette(target))
    weight = 1.0 + gap_weight * gap_map(target)
    return F.binary_cross_entropy_with_logits(logit.float(), true_silhouette(target), weight=weight)


def depth_l1(depth: torch.Tensor, target: torch.Tensor, step_weight: float = 0.0) -> torch.Tensor:
    """|d - x| averaged over the target's hand pixels (0 when a batch has none); with step_weight
    S, pixels at depth steps count 1 + S times (the divisor stays the hand pixel count)."""
    inside = true_silhouette(target)
    weight = inside if step_weight == 0 else inside + step_weight * step_map(target)
    return ((depth.float() - target.float()).abs() * weight).sum() / inside.sum().clamp(min=1.0)


def head_loss(logit: torch.Tensor, depth: torch.Tensor, target: torch.Tensor, mask_weight: float,
              depth_weight: float, gap_weight: float = 0.0,
              step_weight: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mask_weight * mask term + depth_weight * depth term, mask term, depth term)."""
    bce, l1 = mask_bce(logit, target, gap_weight), depth_l1(depth, target, step_weight)
    return mask_weight * bce + depth_weight * l1, bce, l1
