"""The project's own depth network: a pose estimator whose trunk is a width-reduced VGG-19.

Input: a normalised crop (B, 1, 128, 128) in [-1, 1], background +1 (engine.data.crop).
Output: pose y (B, 21, 3) in cube half-sides, the crop convention's normalised joints.

Why VGG-19's layout: the style stage needs a depth-trained feature network with the layer
structure of Gatys et al.'s loss network (16 3x3 convs in 5 blocks, ReLU after each, max-pool
between blocks). `features` is an nn.Sequential with torchvision's exact indices
(features.0 = conv1_1, features.1 = relu1_1, features.4 = pool1, ..., features.34 = conv5_4,
features.36 = pool5), so parameter names are `features.0.weight` ... `features.34.bias` and code
written for torchvision.models.vgg19().features (layer indices such as relu4_2 = 22) applies.
Only the widths differ: torchvision uses (64, 128, 256, 512, 512) on RGB; a CPU-trainable depth
network uses one channel in and, by default, 1/8 of those widths (1/4 in block 5).

`embed(x)` is the network's feature vector for KID: relu5_4 averaged over the image (the same
place as Inception-v3's pool3 features used by FID/KID: the last conv block, globally pooled).
It is not called `features` because that name is the conv trunk's, as in torchvision.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from engine.data.crop import CROP_SIZE
from engine.hand.skeleton import NUM_JOINTS
from engine.models import DEFAULT_ESTIMATOR_WIDTHS as DEFAULT_WIDTHS
from engine.models import ESTIMATOR_HEADS
from engine.models.checkpoint import register
from engine.models.integral_head import IntegralHead

ARCHITECTURE = "pose_net_vgg19"


# torchvision's VGG-19 ("E") block depths. Widths are torchvision's (64, 128, 256, 512, 512) / 8,
# except block 5 at / 4, so the KID embedding has 128 dims (+10 % training time on the CPU).
VGG19_BLOCK_CONVS: tuple[int, ...] = (2, 2, 4, 4, 4)

# Named VGG-19 activations (torchvision indices into `features`), for feature losses.
VGG19_LAYERS: dict[str, int] = {}
_i = 0
for _b, _n in enumerate(VGG19_BLOCK_CONVS, start=1):
    for _c in range(1, _n + 1):
        VGG19_LAYERS[f"conv{_b}_{_c}"] = _i
        VGG19_LAYERS[f"relu{_b}_{_c}"] = _i + 1
        _i += 2
    VGG19_LAYERS[f"pool{_b}"] = _i
    _i += 1
del _i, _b, _n, _c

# Spatial size of pool5's output for a 128 px crop (five 2x poolings), which the head flattens.
POOL5_SIZE = CROP_SIZE // 2 ** len(VGG19_BLOCK_CONVS)

# The heads: "fc" flattens pool5 into a fully connected regressor; "integral" reads per-joint
# heatmaps from relu4_4 + relu5_4 by soft-argmax (engine.models.integral_head).
HEADS = ESTIMATOR_HEADS
# The integral head's inputs: `features` is run in two parts so one pass yields both.
_RELU3_4, _RELU4_4, _RELU5_4 = VGG19_LAYERS["relu3_4"], VGG19_LAYERS["relu4_4"], VGG19_LAYERS["relu5_4"]
# The integral head's heatmap sides: 16 (relu4_4's grid) or 32 (refined on relu3_4's).
HEATMAP_SIZES: tuple[int, ...] = (16, 32)


class ConvBN(nn.Conv2d):
    """A 3x3 convolution followed by batch norm, as one module named like the plain conv.

    Training uses it (batch norm lets 16 plain convs train several times faster; Ioffe &
    Szegedy, ICML 2015); `fold_batch_norm` turns it back into an nn.Conv2d with the same output
    in eval mode, so a shipped network is plain VGG-19 with torchvision's parameter names.
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int = 3, padding: int = 1) -> None:
        if (kernel_size, padding) != (3, 1):
            raise ValueError("ConvBN is a 3x3 convolution with padding 1")
        super().__init__(c_in, c_out, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(super().forward(x))

    def folded(self) -> nn.Conv2d:
        """The plain conv equal to this one with the batch norm's running statistics."""
        scale = self.bn.weight / torch.sqrt(self.bn.running_var + self.bn.eps)
        conv = nn.Conv2d(self.in_channels, self.out_channels, kernel_size=3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(self.weight * scale[:, None, None, None])
            conv.bias.copy_((self.bias - self.bn.running_mean) * scale + self.bn.bias)
        return conv


@register(ARCHITECTURE)
class PoseNet(nn.Module):
    """VGG-19-layout trunk + a head giving the 21 normalised joints.

    head "fc" flattens pool5 (C x 4 x 4) rather than averaging it: where a feature fires is
    what a pose regressor needs (DeepPrior, Oberweger et al. 2015, also regresses from a
    flattened map); `hidden` is its fully connected width. head "integral" reads 2.5D heatmaps
    by soft-argmax (engine.models.integral_head; `hidden` is its conv width; `heatmap` its
    grid, 16 or 32; files saved before `heatmap` existed are 16). The trunk, its
    names and `embed` are the same for both. `batch_norm=True` is the training form (see
    ConvBN); checkpoints that ship are folded (`fold_batch_norm`) to the plain form.
    """

    def __init__(self, widths: list[int] | tuple[int, ...] = DEFAULT_WIDTHS, in_channels: int = 1,
                 hidden: int = 256, num_joints: int = NUM_JOINTS, batch_norm: bool = False,
                 head: str = "fc", heatmap: int = 16) -> None:
        super().__init__()
        if len(widths) != len(VGG19_BLOCK_CONVS):
            raise ValueError(f"VGG-19 has {len(VGG19_BLOCK_CONVS)} blocks; got {len(widths)} widths")
        if head not in HEADS:
            raise ValueError(f"unknown pose head {head!r}; expected one of {', '.join(HEADS)}")
        if heatmap not in HEATMAP_SIZES or (heatmap != 16 and head != "integral"):
            raise ValueError(f"heatmap {heatmap}: the integral head's grid is 16 or 32 (the fc head has none)")
        self.widths = tuple(int(w) for w in widths)
        self.num_joints = num_joints
        self.head = head
        self.config = {"widths": list(self.widths), "in_channels": in_channels, "hidden": hidden,
                       "num_joints": num_joints, "batch_norm": batch_norm, "head": head}
        if heatmap != 16:  # so a 16 x 16 estimator's config stays what it was
            self.config["heatmap"] = heatmap
        layers: list[nn.Module] = []
        c = in_channels
        for width, n_convs in zip(self.widths, VGG19_BLOCK_CONVS):
            for _ in range(n_convs):
                conv = ConvBN(c, width) if batch_norm else nn.Conv2d(c, width, kernel_size=3, padding=1)
                layers += [conv, nn.ReLU(inplace=True)]
                c = width
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.features = nn.Sequential(*layers)
        if head == "fc":
            self.avgpool = nn.AdaptiveAvgPool2d((POOL5_SIZE, POOL5_SIZE))
            self.classifier = nn.Sequential(
                nn.Linear(c * POOL5_SIZE * POOL5_SIZE, hidden), nn.ReLU(inplace=True),
                nn.Linear(hidden, num_joints * 3))
        else:
            self.integral = IntegralHead(self.widths[3], self.widths[4], hidden, num_joints,
                                         ConvBN if batch_norm else nn.Conv2d,
                                         c3=self.widths[2] if heatmap == 32 else 0)
        self._init_weights()

    @property
    def feature_dim(self) -> int:
        return self.widths[-1]

    def _init_weights(self) -> None:
        # He init keeps activations' variance through 16 ReLU convs (He et al., ICCV 2015).
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        # A near-zero last layer starts every head at the mean pose (fc) or flat heatmaps (integral).
        last = self.classifier[-1] if self.head == "fc" else self.integral.out
        nn.init.normal_(last.weight, std=1e-3)
        if self.head == "integral":
            self.integral.zero_refinement()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 128, 128) crops → (B, 21, 3) pose y."""
        return self.features_and_pose(x)[1]

    def features_and_pose(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both outputs of one pass: (B, feature_dim) embedding and (B, 21, 3) pose."""
        if self.head == "integral":
            relu3_4 = self.features[: _RELU3_4 + 1](x)
            relu4_4 = self.features[_RELU3_4 + 1: _RELU4_4 + 1](relu3_4)
            relu5_4 = self.features[_RELU4_4 + 1: _RELU5_4 + 1](relu4_4)
            return relu5_4.mean(dim=(2, 3)), self.integral(relu4_4, relu5_4, relu3_4)
        relu5_4 = self.features[:-1](x)
        h = self.avgpool(self.features[-1](relu5_4))
        pose = self.classifier(torch.flatten(h, 1)).view(-1, self.num_joints, 3)
        return relu5_4.mean(dim=(2, 3)), pose

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, feature_dim) embedding for KID: relu5_4 averaged over the image."""
        return self.features[:-1](x).mean(dim=(2, 3))

    def activations(self, x: torch.Tensor, layers: list[int | str]) -> dict[int | str, torch.Tensor]:
        """Activations after the given `features` indices or VGG-19 names (e.g. 'relu2_1')."""
        wanted = {k: VGG19_LAYERS[k] if isinstance(k, str) else int(k) for k in layers}
        unknown = [k for k, i in wanted.items() if not 0 <= i < len(self.features)]
        if unknown:
            raise ValueError(f"no such VGG-19 layer: {unknown[0]!r}")
        out: dict[int | str, torch.Tensor] = {}
        last = max(wanted.values())
        h = x
        for i, layer in enumerate(self.features[: last + 1]):
            # In-place ReLUs would overwrite a conv output we keep; clone what is returned.
            h = layer(h)
            for k, j in wanted.items():
                if j == i:
                    out[k] = h.clone() if i < last else h
        return out



def fold_batch_norm(model: PoseNet) -> PoseNet:
    """The plain (batch_norm=False) network computing what `model` computes in eval mode."""
    if not model.config["batch_norm"]:
        return model
    plain = copy.deepcopy(model)
    for name, layer in list(plain.named_modules()):
        if isinstance(layer, ConvBN):
            parent, _, child = name.rpartition(".")
            setattr(plain.get_submodule(parent), child, layer.folded())
    plain.config = {**model.config, "batch_norm": False}
    return plain.train(model.training)
