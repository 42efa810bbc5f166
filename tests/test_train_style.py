"""`train gan --style`: the design's styled objective (-log D + L_ST), its records, its refusals."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app.cli import main
from engine.data.readers.sim import SimConfig
from engine.models.checkpoint import read_checkpoint, save_checkpoint
from engine.models.generator import SkeletonUNet
from engine.models.vgg import load_pose_trunk
from engine.style.losses import StyleLossConfig, content_loss, gram_matrix, style_loss, total_variation
from engine.style.stats import reference_mask
from engine.data.crop_cache import sim_crops
from engine.train.gan_options import DEFAULTS
from engine.train.style_objective import StyleObjective, hand_crops, load_style_target, loss_config

STYLE = "sr305_palm_a"  # a real SR305 crop of the bank
TINY = ["--g-base", "4", "--g-levels", "2", "--g-full", "4", "--d-base", "4", "--batch-size", "2",
        "--cache-size", "4", "--eval-count", "2", "--checkpoint-every", "2", "--preview-every", "2",
        "--log-every", "1", "--threads", "1", "--no-progress"]


def train(out: Path, *extra: str) -> int:
    return main(["train", "gan", "--out", str(out), *TINY, *extra])


def test_option_defaults_are_the_design_weights():
    cfg = StyleLossConfig()
    assert (DEFAULTS["w_content"], DEFAULTS["w_style"], DEFAULTS["w_tv"]) == \
        (cfg.content_weight, cfg.style_weight, cfg.tv_weight)


def test_style_crops_are_centred_on_the_hand_in_the_crop_convention():
    target = load_style_target({**DEFAULTS, "style": STYLE, "style_camera": "realsense_sr300"})
    assert target.crops.shape == (5, 128, 128) and target.crops.dtype == np.float32
    for crop in target.crops:
        hand = crop < 0.98
        # a palm at 250 mm cube scale fills a good part of the crop, and its middle is near the centre
        assert 0.1 < hand.mean() < 0.6
        rows, cols = np.flatnonzero(hand.any(1)), np.flatnonzero(hand.any(0))
        assert abs((rows[0] + rows[-1]) / 2 - 63.5) < 16 and abs((cols[0] + cols[-1]) / 2 - 63.5) < 16
        # the visible surface sits just in front of the cube centre, as in simulator crops
        assert -0.3 < float(np.median(crop[hand])) < 0.1
    assert not np.array_equal(target.crops[0], target.crops[1])  # the jitter moves the window
    assert reference_mask(target.image.depth).any()


def test_objective_is_adversarial_plus_weighted_style_terms():
    options = {**DEFAULTS, "style": STYLE, "w_content": 1.5, "w_style": 40.0, "w_tv": 0.25}
    target = load_style_target(options)
    trunk = load_pose_trunk()
    objective = StyleObjective(target, loss_config(options), torch.device("cpu"), extractor=trunk)
    crops = sim_crops(SimConfig(seed=11), 0, 3, clean=True)
    x = torch.from_numpy(np.asarray(crops.depth, np.float32))[:, None]
    torch.manual_seed(0)
    fake = (x + 0.2 * torch.randn_like(x)).clamp(-1, 1)
    logits = torch.randn(3, 1, 8, 8)
    total, terms = objective(logits, x, fake)

    cfg = StyleLossConfig()
    grams = {k: gram_matrix(f).mean(0, keepdim=True)
             for k, f in trunk(torch.from_numpy(target.crops)[:, None], cfg.style_layers).items()}
    feats = trunk(fake, cfg.layers)
    l_cont = content_loss(feats["relu4_2"], trunk(x, ("relu4_2",))["relu4_2"])
    l_sty = style_loss(feats, grams, cfg.style_layers)
    l_tv = total_variation(fake)
    adv = -F.logsigmoid(logits).flatten(1).mean(1).mean()
    expected = adv + 1.5 * l_cont + 40.0 * l_sty + 0.25 * l_tv
    assert float(l_sty) > 0 and float(l_cont) > 0
    assert torch.allclose(total, expected, rtol=1e-5, atol=1e-7)
    for name, value in (("loss_g_content", l_cont), ("loss_g_style", l_sty), ("loss_g_tv", l_tv), ("loss_g_adv", adv)):
        assert torch.allclose(terms[name], value, rtol=1e-5, atol=1e-9), name
    assert torch.allclose(terms["loss_g_l2"], ((x - fake) ** 2).flatten(1).sum(1).mean())


def test_objective_gradient_reaches_the_generated_crop():
    target = load_style_target({**DEFAULTS, "style": STYLE})
    objective = StyleObjective(target, StyleLossConfig(), torch.device("cpu"))
    crops = sim_crops(SimConfig(seed=12), 0, 2, clean=True)
    x = torch.from_numpy(np.asarray(crops.depth, np.float32))[:, None]
    fake = (0.9 * x).requires_grad_(True)
    total, _ = objective(torch.zeros(2, 1, 8, 8), x, fake)
    total.backward()
    assert fake.grad is not None and float(fake.grad.abs().sum()) > 0


def test_a_tiny_styled_run_records_the_style_and_weights(tmp_path):
    run = tmp_path / "run"
    assert train(run, "--steps", "2", "--style", STYLE, "--w-style", "3.0", "--w-tv", "0.1") == 0
    _, arch, _, info = read_checkpoint(run / "generator.safetensors")
    assert arch == "skeleton_unet"
    objective = info["objective"]
    assert objective["style"] == STYLE and "no L2 term" in objective["generator"]
    assert objective["weights"] == {"content": 2.0, "style": 3.0, "tv": 0.1}
    assert objective["content_layer"] == "relu4_2" and objective["style_layers"][0] == "relu1_1"
    saved = json.loads((run / "options.json").read_text())
    assert saved["style"] == STYLE and saved["w_style"] == 3.0
    header = (run / "log.csv").read_text().splitlines()[0].split(",")
    assert {"loss_g_content", "loss_g_style", "loss_g_tv", "loss_g_l2"} <= set(header)
    first = json.loads((run / "log.jsonl").read_text().splitlines()[0])
    assert first["style_target"]["style"] == STYLE and first["style_target"]["crops"] == 5
    # resuming keeps the style without repeating it
    assert train(run, "--steps", "3") == 0
    _, _, _, info = read_checkpoint(run / "generator.safetensors")
    assert info["step"] == 3 and info["objective"]["style"] == STYLE


def test_a_run_without_style_keeps_the_l2_objective(tmp_path):
    run = tmp_path / "run"
    assert train(run, "--steps", "1") == 0
    _, _, _, info = read_checkpoint(run / "generator.safetensors")
    assert info["objective"]["l2_weight"] == 1.0 and "style" not in info["objective"]
    assert "loss_g_style" not in (run / "log.csv").read_text().splitlines()[0]


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_a_colour_photo_as_style_is_one_line_and_writes_nothing(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    cv2.imwrite(str(photo), rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    out = tmp_path / "run"
    assert train(out, "--steps", "1", "--style", str(photo)) == 2
    line = one_error_line(capsys)
    assert str(photo) in line and "colour" in line
    assert not out.exists()


@pytest.mark.parametrize("style, words", [("missing.png", "no such file"), ("kinect_v1", "sensor model")])
def test_an_unusable_style_is_one_line_and_writes_nothing(tmp_path, capsys, style, words):
    value = str(tmp_path / style) if style.endswith(".png") else style
    out = tmp_path / "run"
    assert train(out, "--steps", "1", "--style", value) == 2
    line = one_error_line(capsys)
    assert words in line and value in line
    assert not out.exists()


def test_resume_with_another_style_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    assert train(run, "--steps", "1", "--style", STYLE) == 0
    capsys.readouterr()
    before = (run / "train_state.pt").read_bytes()
    assert train(run, "--steps", "2", "--style", "sr305_palm_b") == 2
    line = one_error_line(capsys)
    assert "--style sr305_palm_b" in line and STYLE in line
    assert (run / "train_state.pt").read_bytes() == before


def test_init_starts_g_from_a_generator_file(tmp_path, capsys):
    torch.manual_seed(5)
    g = SkeletonUNet(base=4, levels=2, full_res=4)
    save_checkpoint(tmp_path / "g.safetensors", g, g.config, {"step": 0})
    run = tmp_path / "run"
    # lr 0: G's weights stay where --init put them (batch-norm statistics still move)
    assert train(run, "--steps", "1", "--lr-g", "0", "--init", str(tmp_path / "g.safetensors")) == 0
    weights, _, _, info = read_checkpoint(run / "generator.safetensors")
    assert info["init"] == str(tmp_path / "g.safetensors")
    start = g.state_dict()
    convs = [k for k in start if k.endswith(".weight") and start[k].ndim == 4]
    assert convs and all(torch.equal(weights[k], start[k]) for k in convs)
    wrong = SkeletonUNet(base=8, levels=2, full_res=4)
    save_checkpoint(tmp_path / "wide.safetensors", wrong, wrong.config, {})
    assert train(tmp_path / "run2", "--steps", "1", "--init", str(tmp_path / "wide.safetensors")) == 2
    assert "base 8 differs" in one_error_line(capsys) and not (tmp_path / "run2").exists()


def test_hand_crops_refuse_an_image_without_a_hand():
    from engine.camera import KINECT_V1
    with pytest.raises(ValueError, match="no hand"):
        hand_crops(np.zeros((100, 100), np.float32), KINECT_V1)
