"""Bad input to every command that reads a file: exit 2, one line naming the file and the
problem, no traceback, nothing written (issue 12, section 4).

Each case builds its bad file in tmp_path and runs the command in-process through app.cli.main
(an escaping exception, i.e. a traceback, fails the test). Cases that need torch share one tiny
generator checkpoint saved once per module.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save

from app.cli import main
from engine.camera import KINECT_V1
from engine.models import DEFAULT_ESTIMATOR_PATH
from engine.models.checkpoint import save_checkpoint
from engine.models.generator import SkeletonUNet

GOOD_JOINTS = json.loads((Path(__file__).resolve().parents[1] / "resources/poses/fist.json").read_text())["joints"]


def pose_file(tmp: Path, change: Callable[[dict], None]) -> Path:
    """A joints + camera pose file with one thing wrong."""
    d = {"joints": [list(j) for j in GOOD_JOINTS], "camera": KINECT_V1.to_dict()}
    change(d)
    path = tmp / "pose.json"
    path.write_text(json.dumps(d))  # json writes NaN / Infinity as JavaScript does
    return path


POSES: dict[str, tuple[Callable[[dict], None], str]] = {
    "nan": (lambda d: d["joints"][3].__setitem__(0, float("nan")), "NaN or infinite"),
    "infinite": (lambda d: d["joints"][7].__setitem__(2, float("inf")), "NaN or infinite"),
    "20 joints": (lambda d: d["joints"].pop(), "shape (21, 3)"),
    "22 joints": (lambda d: d["joints"].append([0, 0, 700]), "shape (21, 3)"),
    "strings": (lambda d: d["joints"][0].__setitem__(1, "seventy"), "must be numbers"),
    "missing camera": (lambda d: d.pop("camera"), "missing key 'camera'"),
    "huge camera": (lambda d: d["camera"].update(width=100000, height=100000), "larger than 4096 px"),
    "zero focal": (lambda d: d["camera"].update(fx=0), "focal lengths must be positive"),
    "negative focal": (lambda d: d["camera"].update(fy=-500), "focal lengths must be positive"),
}


@pytest.fixture(scope="module")
def tiny_generator(tmp_path_factory) -> tuple[dict, dict]:
    torch.manual_seed(0)
    g = SkeletonUNet(base=4, levels=2, full_res=4)
    path = tmp_path_factory.mktemp("g") / "g.safetensors"
    save_checkpoint(path, g, g.config, {"step": 0})
    return {k: v.detach().clone() for k, v in g.state_dict().items()}, dict(g.config)


def raw_checkpoint(path: Path, state: dict, config: dict, arch: str = "skeleton_unet") -> Path:
    path.write_bytes(st_save(state, metadata={"architecture": arch, "config": json.dumps(config), "info": "{}"}))
    return path


def nan_weights(state: dict) -> dict:
    state = dict(state)
    key = next(k for k, v in state.items() if v.is_floating_point())
    state[key] = state[key].clone()
    state[key].view(-1)[0] = float("nan")
    return state


# name -> (make the bad checkpoint in a folder, expected words)
CHECKPOINTS: dict[str, tuple[Callable[[Path, tuple[dict, dict]], Path], str]] = {
    "empty": (lambda d, g: _write(d / "m.safetensors", b""), "not a safetensors checkpoint"),
    "truncated": (lambda d, g: _write(d / "m.safetensors", raw_checkpoint(d / "full", *g).read_bytes()[:900]),
                  "not a safetensors checkpoint"),
    "not safetensors": (lambda d, g: _write(d / "m.pt", b"\x80\x04PK pickle, not safetensors"),
                        "not a safetensors checkpoint"),
    "another architecture": (lambda d, g: DEFAULT_ESTIMATOR_PATH, "not a generator"),
    "unknown config key": (lambda d, g: raw_checkpoint(d / "m.safetensors", g[0], {**g[1], "wings": 2}),
                           "config key 'wings'"),
    "missing config key": (lambda d, g: raw_checkpoint(d / "m.safetensors", g[0],
                                                       {k: v for k, v in g[1].items() if k != "base"}),
                           "weights do not fit"),
    "config not an object": (lambda d, g: raw_checkpoint(d / "m.safetensors", g[0], [1, 2]),
                             "config metadata is not a JSON object"),
    "NaN weights": (lambda d, g: raw_checkpoint(d / "m.safetensors", nan_weights(g[0]), g[1]),
                    "NaN or infinite"),
    "missing file": (lambda d, g: d / "nope.safetensors", "no such file"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _icvl_without_images(d: Path) -> Path:
    folder = _mkdir(d / "icvl")
    (folder / "labels.txt").write_text("201.png " + " ".join(["100"] * 48) + "\n")
    return folder


# name -> (dataset spec built in a folder, expected words)
DATASETS: dict[str, tuple[Callable[[Path], str], str]] = {
    "own missing": (lambda d: str(d / "nope"), "folder not found"),
    "own empty": (lambda d: str(_mkdir(d / "empty")), "STEM_pose.json + STEM_depth.png"),
    "nyu missing": (lambda d: f"nyu:{d / 'nope'}", "joint_data.mat"),
    "nyu empty": (lambda d: f"nyu:{_mkdir(d / 'empty')}", "joint_data.mat"),
    "icvl empty": (lambda d: f"icvl:{_mkdir(d / 'empty')}", "Depth/"),
    "icvl no images": (lambda d: f"icvl:{_icvl_without_images(d)}", "Depth/"),
    "msra empty": (lambda d: f"msra:{_mkdir(d / 'empty')}", "joint.txt"),
    "hands17 empty": (lambda d: f"hands17:{_mkdir(d / 'empty')}", "images/"),
    "wrong layout (nyu given icvl)": (lambda d: f"nyu:{_icvl_without_images(d)}", "joint_data.mat"),
}


def assert_one_line_error(capsys, rc: int, *words: str) -> str:
    captured = capsys.readouterr()
    assert rc == 2, captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("case", list(POSES))
@pytest.mark.parametrize("command", ["render", "generate"])
def test_bad_pose_file(tmp_path, capsys, command, case):
    change, words = POSES[case]
    path = pose_file(tmp_path, change)
    out = tmp_path / "out"
    rc = main([command, "--pose", str(path), "--out", str(out)])
    assert_one_line_error(capsys, rc, str(path), words)
    assert not out.exists()


@pytest.mark.parametrize("case", list(CHECKPOINTS))
def test_bad_checkpoint_for_generate(tmp_path, capsys, tiny_generator, case):
    make, words = CHECKPOINTS[case]
    path = make(tmp_path, tiny_generator)
    out = tmp_path / "out"
    rc = main(["generate", "--preset", "fist", "--model", str(path), "--out", str(out)])
    assert_one_line_error(capsys, rc, str(path), words)
    assert not out.exists()


@pytest.mark.parametrize("case", ["empty", "truncated", "another architecture", "unknown config key", "NaN weights"])
def test_bad_checkpoint_for_evaluate(tmp_path, capsys, tiny_generator, case):
    make, words = CHECKPOINTS[case]
    path = make(tmp_path, tiny_generator)
    cache = tmp_path / "cache"
    rc = main(["evaluate", "--model", str(path), "--data", "sim", "--count", "2", "--cache-dir", str(cache)])
    # evaluate names a wrong architecture by what the model does, not by its file
    assert_one_line_error(capsys, rc, *((str(path), words) if case != "another architecture" else ("generator",)))
    assert not cache.exists()


@pytest.mark.parametrize("case", list(DATASETS))
def test_bad_dataset_for_evaluate(tmp_path, capsys, tiny_generator, case):
    make, words = DATASETS[case]
    spec = make(tmp_path)
    model = raw_checkpoint(tmp_path / "g.safetensors", *tiny_generator)
    cache = tmp_path / "cache"
    rc = main(["evaluate", "--model", str(model), "--data", spec, "--count", "2", "--cache-dir", str(cache)])
    line = assert_one_line_error(capsys, rc, words, "expects")
    assert spec.split(":", 1)[-1] in line  # the path (tmp paths hold no ':')
    assert not cache.exists()


def test_a_generator_whose_output_is_nan_writes_nothing(tmp_path, capsys, tiny_generator):
    # finite weights, NaN output: a BatchNorm whose running variance is negative
    state, config = tiny_generator
    state = dict(state)
    key = next(k for k in state if k.endswith("running_var"))
    state[key] = -torch.ones_like(state[key])
    path = raw_checkpoint(tmp_path / "g.safetensors", state, config)
    out = tmp_path / "out"
    rc = main(["generate", "--preset", "fist", "--model", str(path), "--out", str(out)])
    assert_one_line_error(capsys, rc, str(path), "no hand pixels", "not finite")
    assert not out.exists()
