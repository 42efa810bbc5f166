"""2.5D heatmaps read out by soft-argmax: the pose estimator's "integral" head.

Why: a fully connected layer on pool5 has to learn where every joint is from a flattened
4 x 4 map, which it does slowly and coarsely (28.8 mm after 2,400 steps). Per-joint heatmaps on a
16 x 16 map keep the image's geometry, and reading them out as an expectation (soft-argmax)
instead of an argmax is differentiable and sub-cell accurate, so the joints themselves can be the
loss (integral regression: Sun et al., ECCV 2018; the depth as a heatmap-weighted per-joint depth
map, as in 2.5D heatmaps: Iqbal et al., ECCV 2018).

Input: relu4_4 (C4 x 16 x 16) and relu5_4 (C5 x 8 x 8) of the VGG-19 trunk. relu5_4 is upsampled
and concatenated, so block 5 is trained too (its average is the KID embedding, and the style
stage's feature losses read it). With `c3` > 0 (PoseNet's heatmap=32) a refinement reads the
fused 16 x 16 features upsampled beside relu3_4 (C3 x 32 x 32) and adds its correction to the
16 x 16 maps repeated to 32 x 32 (why: a finer grid where the fingertips are, the weakest joints,
at 8 px per cell instead of 16; the correction starts at zero, and a repeated map has the same
soft-argmax, so a 16 x 16 head's weights start a 32 x 32 run exactly where they were).
Output: pose y (B, J, 3) in cube half-sides.
  x, y = expectation of the heatmap's cell centres, in the crop's normalised image coordinates
         (column -> x, row -> y, [-1, 1] across the crop);
  z    = the same heatmap's expectation of a per-joint depth map (cube half-sides from the centre).
The crop is a perspective view, so a joint's x differs slightly from where it appears
(x = u * z_joint / z_centre, a few mm); the loss is on the joints, so the heatmap learns the shift.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def cell_centres(size: int) -> torch.Tensor:
    """(size,) centres of `size` equal cells across [-1, 1]."""
    return (torch.arange(size, dtype=torch.float32) + 0.5) * (2.0 / size) - 1.0


def soft_argmax(logits: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """(B, J, H, W) heatmap logits and per-joint depth maps -> (B, J, 3) expected (x, y, z)."""
    b, j, h, w = logits.shape
    p = torch.softmax(logits.reshape(b, j, h * w), dim=-1).reshape(b, j, h, w)
    xs = cell_centres(w).to(logits)
    ys = cell_centres(h).to(logits)
    x = (p.sum(dim=2) * xs).sum(dim=-1)
    y = (p.sum(dim=3) * ys).sum(dim=-1)
    z = (p * depth).sum(dim=(2, 3))
    return torch.stack([x, y, z], dim=-1)


class IntegralHead(nn.Module):
    """relu4_4 + upsampled relu5_4 -> one 3x3 conv -> per-joint heatmap and depth map -> joints;
    with `c3` > 0, refined to 32 x 32 on relu3_4 (the module docstring says how)."""

    def __init__(self, c4: int, c5: int, hidden: int, num_joints: int, conv: type[nn.Conv2d],
                 c3: int = 0) -> None:
        super().__init__()
        self.num_joints = num_joints
        # `conv` is nn.Conv2d or the trunk's ConvBN (batch norm for training, folded for export).
        self.fuse = conv(c4 + c5, hidden, kernel_size=3, padding=1)
        self.out = nn.Conv2d(hidden, 2 * num_joints, kernel_size=1)
        self.refine = conv(hidden + c3, hidden // 2, kernel_size=3, padding=1) if c3 else None
        self.refine_out = nn.Conv2d(hidden // 2, 2 * num_joints, kernel_size=1) if c3 else None

    def zero_refinement(self) -> None:
        """Start the 32 x 32 correction at zero: the head then reads what its 16 x 16 maps say."""
        if self.refine_out is not None:
            nn.init.zeros_(self.refine_out.weight)
            nn.init.zeros_(self.refine_out.bias)

    def forward(self, relu4_4: torch.Tensor, relu5_4: torch.Tensor,
                relu3_4: torch.Tensor | None = None) -> torch.Tensor:
        up = F.interpolate(relu5_4, size=relu4_4.shape[-2:], mode="nearest")
        h = torch.relu(self.fuse(torch.cat([relu4_4, up], dim=1)))
        o = self.out(h)
        if self.refine is not None:
            if relu3_4 is None:
                raise ValueError("the 32 x 32 integral head needs relu3_4")
            size = relu3_4.shape[-2:]
            g = torch.relu(self.refine(torch.cat([relu3_4, F.interpolate(h, size=size, mode="nearest")], dim=1)))
            o = F.interpolate(o, size=size, mode="nearest") + self.refine_out(g)
        return soft_argmax(o[:, : self.num_joints], o[:, self.num_joints:])
