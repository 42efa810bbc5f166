"""VGG-19 feature extractor: torchvision's names, the pose estimator's trunk, ImageNet files."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from engine.eval.estimator import load_estimator
from engine.models import DEFAULT_DEPTH_VGG_PATH
from engine.models.pose_net import PoseNet
from engine.models.vgg import (
    DEFAULT_LAYERS,
    IMAGENET_MEAN,
    IMAGENET_STD,
    IMAGENET_WIDTHS,
    VGG19Features,
    load_imagenet_vgg19,
    load_pose_trunk,
)

# torchvision.models.vgg19().features: the conv indices of its 16 convolutions.
TORCHVISION_CONVS = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)


def test_parameter_names_are_torchvision_s():
    names = list(VGG19Features().state_dict())
    assert names == [f"features.{i}.{p}" for i in TORCHVISION_CONVS for p in ("weight", "bias")]


def test_named_relu_features_have_vgg_shapes():
    feats = VGG19Features(widths=(4, 8, 8, 16, 16))(torch.zeros(2, 1, 64, 64))
    assert list(feats) == list(DEFAULT_LAYERS)
    assert feats["relu1_1"].shape == (2, 4, 64, 64) and feats["relu3_1"].shape == (2, 8, 16, 16)
    assert feats["relu4_2"].shape == (2, 16, 8, 8) and feats["relu5_1"].shape == (2, 16, 4, 4)
    assert all((f >= 0).all() for f in feats.values())
    with pytest.raises(ValueError, match="conv4_2"):
        VGG19Features()(torch.zeros(1, 1, 32, 32), ["conv4_2"])


def test_default_extractor_is_the_depth_vgg_trunk_not_todays_estimator():
    """The style losses keep the trunk they were trained with (resources/models/depth_vgg.md)."""
    trunk = load_pose_trunk()
    estimator = load_estimator(DEFAULT_DEPTH_VGG_PATH)
    today = load_estimator()
    x = torch.rand(2, 1, 128, 128) * 2 - 1
    with torch.no_grad():
        assert not torch.allclose(today.activations(x, ["relu4_2"])["relu4_2"], trunk(x, ["relu4_2"])["relu4_2"])
    x = torch.rand(2, 1, 128, 128) * 2 - 1
    with torch.no_grad():
        want = estimator.activations(x, ["relu2_1", "relu4_2"])
    got = trunk(x, ["relu2_1", "relu4_2"])
    for name in want:
        torch.testing.assert_close(got[name], want[name])
    assert not any(p.requires_grad for p in trunk.parameters())


def test_a_pose_estimator_trained_with_batch_norm_is_folded(tmp_path):
    from engine.models.checkpoint import save_checkpoint
    model = PoseNet(widths=(2, 2, 4, 4, 4), batch_norm=True).eval()
    save_checkpoint(tmp_path / "bn.safetensors", model, model.config)
    x = torch.rand(1, 1, 128, 128)
    with torch.no_grad():
        want = model.activations(x, ["relu3_1"])["relu3_1"]
    torch.testing.assert_close(load_pose_trunk(tmp_path / "bn.safetensors")(x, ["relu3_1"])["relu3_1"],
                               want, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def imagenet_state():
    torch.manual_seed(0)
    state = {k: v.clone() for k, v in VGG19Features(IMAGENET_WIDTHS, 3).state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(4, 4)  # a full torchvision file has a head too
    return state


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_imagenet_weights_load_from_a_named_file(tmp_path, imagenet_state, suffix):
    path = tmp_path / f"vgg19{suffix}"
    if suffix == ".pth":
        torch.save(imagenet_state, path)
    else:
        save_file(imagenet_state, str(path))
    model = load_imagenet_vgg19(path)
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    reference = VGG19Features(IMAGENET_WIDTHS, 3)
    reference.load_state_dict({k: v for k, v in imagenet_state.items() if k.startswith("features.")})
    grey = ((x + 1) / 2).repeat(1, 3, 1, 1)
    rgb = (grey - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        want = reference.features[:4](rgb)  # relu1_2
    torch.testing.assert_close(model(x, ["relu1_2"])["relu1_2"], want)


def test_bad_imagenet_files_give_one_line(tmp_path):
    cases = {"missing.pth": None, "text.pth": b"not a state dict",
             "narrow.safetensors": VGG19Features().state_dict(),
             "partial.safetensors": {"features.0.weight": torch.zeros(64, 3, 3, 3)}}
    for name, content in cases.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            save_file({k: v.contiguous() for k, v in content.items()}, str(path))
        with pytest.raises(ValueError) as err:
            load_imagenet_vgg19(path)
        assert name in str(err.value) and "\n" not in str(err.value), str(err.value)
