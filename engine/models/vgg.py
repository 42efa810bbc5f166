"""VGG-19 feature extractor for the style losses (content, Gram style): named ReLU activations.

The layout is torchvision's VGG-19 "E" trunk (16 3x3 convs in 5 blocks, ReLU after each, max-pool
between blocks) with its parameter names (`features.0.weight` ... `features.34.bias`), built from
the same constants as the pose estimator (engine.models.pose_net), so both read one state dict.

Default weights: the project's depth VGG (resources/models/depth_vgg.safetensors: the first
shipped pose estimator's trunk, widths 8-16-32-64-128, one channel; its card says why it is kept
apart from today's estimator). Why it and not ImageNet's VGG-19: it was trained on depth
crops in this project's crop convention, so its features respond to what a depth style is made
of (edges, holes, depth steps) rather than to colour and texture of photographs; it ships with
the repository, so nothing is downloaded; and at 1/8 width it runs on a 2-core CPU.
Optional: ImageNet VGG-19 weights from a file the user names (a torchvision state dict, .pth or
.safetensors); the grey crop is then replicated to 3 channels and normalised as ImageNet images.

Input: normalised crops (B, 1, H, W) in [-1, 1], background +1 (engine.data.crop).
"""
from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from engine.models import DEFAULT_DEPTH_VGG_PATH, DEFAULT_ESTIMATOR_WIDTHS
from engine.models.checkpoint import load_model
from engine.models.pose_net import VGG19_BLOCK_CONVS, VGG19_LAYERS, PoseNet, fold_batch_norm

IMAGENET_WIDTHS: tuple[int, ...] = (64, 128, 256, 512, 512)  # torchvision.models.vgg19
# torchvision's ImageNet input normalisation (RGB mean and std of the training images).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Gatys et al.'s layers: style at the first ReLU of each block, content at relu4_2.
DEFAULT_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1")


class VGG19Features(nn.Module):
    """The VGG-19 conv trunk returning the named ReLU activations asked for.

    `imagenet_input=True` maps the grey crop to an ImageNet image first (see module docstring).
    Parameters are frozen: the network measures, it is not trained here.
    """

    def __init__(self, widths: Sequence[int] = DEFAULT_ESTIMATOR_WIDTHS, in_channels: int = 1,
                 imagenet_input: bool = False) -> None:
        super().__init__()
        if len(widths) != len(VGG19_BLOCK_CONVS):
            raise ValueError(f"VGG-19 has {len(VGG19_BLOCK_CONVS)} blocks; got {len(widths)} widths")
        if imagenet_input and in_channels != 3:
            raise ValueError("ImageNet input needs 3 input channels")
        self.widths = tuple(int(w) for w in widths)
        self.in_channels = in_channels
        self.imagenet_input = imagenet_input
        layers: list[nn.Module] = []
        c = in_channels
        for width, n_convs in zip(self.widths, VGG19_BLOCK_CONVS):
            for _ in range(n_convs):
                layers += [nn.Conv2d(c, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                c = width
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor, layers: Sequence[str] = DEFAULT_LAYERS) -> dict[str, torch.Tensor]:
        """{name: activation} for ReLU names such as 'relu4_2'; runs only as deep as needed."""
        bad = [name for name in layers if not name.startswith("relu") or name not in VGG19_LAYERS]
        if bad:
            raise ValueError(f"no such VGG-19 ReLU layer: {bad[0]!r}")
        wanted = {VGG19_LAYERS[name]: name for name in layers}
        h = self._prepare_input(x)
        out: dict[str, torch.Tensor] = {}
        for i, layer in enumerate(self.features[: max(wanted) + 1]):
            # The in-place ReLUs overwrite conv outputs only; the ReLU outputs kept here are
            # read, never written, by the next conv or pool.
            h = layer(h)
            if i in wanted:
                out[wanted[i]] = h
        return out

    def _prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected crops of shape (B, 1, H, W), got {tuple(x.shape)}")
        if not self.imagenet_input:
            return x
        grey = (x + 1.0) * 0.5  # [-1, 1] -> [0, 1], an image's range
        return (grey.expand(-1, 3, -1, -1) - self.mean) / self.std


def load_pose_trunk(path: str | Path = DEFAULT_DEPTH_VGG_PATH) -> VGG19Features:
    """The default extractor: a pose estimator checkpoint's VGG-19 trunk, by default the depth
    VGG's (module docstring)."""
    model, _, _ = load_model(path)
    if not isinstance(model, PoseNet):
        raise ValueError(f"{path}: not a pose estimator, so no VGG-19 trunk")
    model = fold_batch_norm(model)
    trunk = VGG19Features(model.widths, model.config["in_channels"])
    trunk.features.load_state_dict(model.features.state_dict())
    return trunk


def load_imagenet_vgg19(path: str | Path) -> VGG19Features:
    """ImageNet VGG-19 from a torchvision state dict file (.safetensors, or .pth/.pt read with
    weights_only=True); the classifier's weights, if present, are ignored."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(f"{path}: not a file of tensors (torch.load with weights_only refused it)") from None
    except (SafetensorError, RuntimeError, OSError, EOFError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise ValueError(f"{path}: not a readable VGG-19 state dict ({first[:120]})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, found {type(state).__name__}")
    model = VGG19Features(IMAGENET_WIDTHS, in_channels=3, imagenet_input=True)
    expected = model.features.state_dict()
    trunk = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    missing = [f"features.{k}" for k in expected if k not in trunk]
    if missing:
        raise ValueError(f"{path}: not a torchvision VGG-19 state dict (lacks {missing[0]})")
    wrong = [k for k, v in expected.items() if tuple(trunk[k].shape) != tuple(v.shape)]
    if wrong:
        raise ValueError(f"{path}: features.{wrong[0]} has shape {tuple(trunk[wrong[0]].shape)}, "
                         f"VGG-19 needs {tuple(expected[wrong[0]].shape)}")
    model.features.load_state_dict({k: trunk[k].float() for k in expected})
    return model
