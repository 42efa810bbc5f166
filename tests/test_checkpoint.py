"""Checkpoints rebuild their model from the file alone and refuse anything else clearly."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from engine.models.checkpoint import ARCHITECTURE_MODULES, CheckpointError, load_model, register, save_checkpoint

ROOT = Path(__file__).resolve().parents[1]


@register("test_tiny")
class Tiny(nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.layer = nn.Linear(3, width)


def test_round_trip_rebuilds_from_the_file_alone(tmp_path):
    model = Tiny(width=6)
    save_checkpoint(tmp_path / "m.safetensors", model, {"width": 6}, {"steps": 12})
    loaded, config, info = load_model(tmp_path / "m.safetensors")
    assert config == {"width": 6} and info == {"steps": 12} and not loaded.training
    assert torch.equal(loaded.layer.weight, model.layer.weight)


@pytest.mark.parametrize("content, message", [(b"not a checkpoint at all", "not a safetensors"),
                                              (None, "no such file")])
def test_bad_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "w.safetensors"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as err:
        load_model(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_shipped_architectures_load_without_importing_their_module_first():
    code = ("from engine.models.checkpoint import load_model\n"
            "m, config, info = load_model('resources/models/pose_estimator.safetensors')\n"
            "print(type(m).__name__)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "PoseNet", r.stderr
    assert set(ARCHITECTURE_MODULES) >= {"skeleton_unet", "pose_net_vgg19"}
