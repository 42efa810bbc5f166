"""The learned stage's per-style calibration (engine.style.learned.calibrate): hole rates in the
outline band and inside it matched to the style, the trust limit on one image's hole ratio, and
smoothing for a style quieter than the render. The stage's maps are replaced by constant ones,
so what is tested is the calibration, not a network."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.crop import crop_camera
from engine.data.readers.sim import SimConfig, crop_sample
from engine.models.checkpoint import save_checkpoint
from engine.models.style_net import StyleStage
from engine.style import learned
from engine.style.compose import Calibration, compose, outline_band, smooth
from engine.style.learned import LearnedStyle, calibrate, crop_to_mm
from engine.style.stats import edge_band, edge_hole_ratio, hf_energy, hole_ratio, style_stats
from engine.style.style_crop import StyleCrop, normalise_mm

STAGE_LOGIT = -2.5  # a constant stage: 7.6 % hole probability everywhere
STAGE_NOISE_MM = 1.0


@pytest.fixture
def constant_stage(monkeypatch):
    """stage_maps returning STAGE_LOGIT and STAGE_NOISE_MM for every pixel (or `logit`)."""
    def use(logit: float = STAGE_LOGIT) -> None:
        def maps(crops: np.ndarray, noise: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
            return (np.full((len(crops), 128, 128), logit, np.float32),
                    np.full((len(crops), 128, 128), STAGE_NOISE_MM, np.float32) if noise else None)

        class ConstantStage:  # what apply runs (the folded stage), with the same maps
            def __init__(self, model, code) -> None:
                self.maps = maps

            def maps_of_one(self, crop: np.ndarray, noise: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
                logit, noise_mm = maps(crop[None], noise)
                return logit[0], None if noise_mm is None else noise_mm[0]

        monkeypatch.setattr(learned, "stage_maps", lambda model, crops, code: maps(crops))
        monkeypatch.setattr(learned, "StyleStageForStyle", ConstantStage)
    use()
    return use


def held_out(count: int = 12) -> list[tuple[np.ndarray, object]]:
    """Clean crops in mm with their cameras, from a stream the calibration does not use."""
    out = []
    for i in range(count):
        s = crop_sample(SimConfig(seed=77), i)
        out.append((crop_to_mm(s.clean, float(s.transform.centre[2])), crop_camera(s.transform)))
    return out


def punched(edge_rate: float, interior_rate: float, seed: int = 0, hf: float | None = None) -> StyleCrop:
    """A style crop: a clean hand with holes at known rates in its outline band and inside it
    (hf_energy replaced by `hf` when given)."""
    s = crop_sample(SimConfig(seed=31), 0)
    zc = float(s.transform.centre[2])
    depth = crop_to_mm(s.clean, zc)
    mask = depth > 0
    band = edge_band(mask)
    u = np.random.default_rng(seed).random(depth.shape)
    holes = np.where(band, u < edge_rate, u < interior_rate) & mask
    depth = np.where(holes, 0.0, depth).astype(np.float32)
    stats = style_stats(depth, mask)
    if hf is not None:
        stats = type(stats)(stats.hole_ratio, stats.edge_hole_ratio, hf)
    return StyleCrop(normalise_mm(depth, zc), depth, mask, stats)


def styled_stats(style: LearnedStyle, crops) -> tuple[float, float, float]:
    """Mean (edge hole ratio, interior hole ratio, hf_energy) of `style` on `crops`."""
    edge, inside, hf = [], [], []
    for i, (clean, camera) in enumerate(crops):
        out = style.apply(clean, camera, seed=i, strength=1.0)
        mask = clean > 0
        edge.append(edge_hole_ratio(out, mask))
        inside.append(hole_ratio(out, mask & ~edge_band(mask)))
        hf.append(hf_energy(out, mask))
    return float(np.mean(edge)), float(np.mean(inside)), float(np.mean(hf))


def learned_style(tmp_path, crop: StyleCrop, monkeypatch) -> LearnedStyle:
    path = tmp_path / "stage.safetensors"
    model = StyleStage()
    save_checkpoint(path, model, model.config)
    monkeypatch.setattr(learned, "style_crop", lambda depth: crop)
    return LearnedStyle(crop.depth_mm, weights=path).prepare()


def test_hole_rates_are_matched_in_the_outline_band_and_inside(tmp_path, constant_stage, monkeypatch):
    target = punched(edge_rate=0.15, interior_rate=0.03)
    assert target.stats.edge_hole_ratio > 0.12 and target.interior_hole_ratio < 0.045
    style = learned_style(tmp_path, target, monkeypatch)
    assert "holes matched" in style.summary
    edge, inside, _ = styled_stats(style, held_out())
    # Without calibration the constant stage drops 7.6 % everywhere; now each region takes the style's rate.
    assert edge == pytest.approx(target.stats.edge_hole_ratio, rel=0.2)
    assert inside == pytest.approx(target.interior_hole_ratio, rel=0.25)


def test_a_hole_ratio_far_from_the_stages_is_matched_too(tmp_path, constant_stage, monkeypatch):
    """A sensor the stage was not trained on: its guess (27 % holes) is 8x the image's, and the
    image wins (trained without the SR305 frames, the shipped stage's guess was .25 against .03)."""
    constant_stage(-1.0)  # the stage drops 27 %
    target = punched(edge_rate=0.05, interior_rate=0.02)
    style = learned_style(tmp_path, target, monkeypatch)
    edge, inside, _ = styled_stats(style, held_out())
    assert edge == pytest.approx(target.stats.edge_hole_ratio, rel=0.25)
    assert inside == pytest.approx(target.interior_hole_ratio, rel=0.3)


def test_a_style_quieter_than_the_render_is_smoothed_not_noised(tmp_path, constant_stage, monkeypatch):
    crops = held_out()
    clean_hf = float(np.mean([hf_energy(c, c > 0) for c, _ in crops]))
    target = punched(edge_rate=0.0, interior_rate=0.0, hf=0.75 * clean_hf)
    style = learned_style(tmp_path, target, monkeypatch)
    cal = style.calibration
    assert cal.noise_gain == 0.0 and 0.0 < cal.smoothing <= 1.0 and "smoothing" in style.summary
    _, _, hf = styled_stats(style, crops)
    assert hf < 0.9 * clean_hf
    assert hf == pytest.approx(target.stats.hf_energy, rel=0.15)


def test_a_noisier_style_gets_noise_and_no_smoothing(constant_stage):
    target = punched(edge_rate=0.0, interior_rate=0.0, hf=3.0)
    cal = calibrate(learned.StyleStageForStyle(None, None), target)
    assert cal.smoothing == 0.0 and cal.noise_gain > 0.5


def test_smoothing_keeps_depth_steps_and_the_outline():
    depth = np.zeros((40, 40), np.float32)
    depth[5:35, 5:35] = 500.0
    depth[5:35, 20:35] = 540.0  # a finger 40 mm over the palm
    rng = np.random.default_rng(0)
    noisy = np.where(depth > 0, depth + rng.normal(0, 0.5, depth.shape), 0).astype(np.float32)
    out = smooth(noisy, noisy > 0, 1.0)
    assert np.array_equal(out > 0, noisy > 0)
    flat = (depth == 500) & (np.abs(np.arange(40) - 12)[None, :] < 4) & (np.abs(np.arange(40) - 20)[:, None] < 8)
    assert out[flat].std() < 0.5 * noisy[flat].std()
    assert np.abs(out - noisy)[noisy > 0].max() <= 3.0 + 1e-4  # nothing crosses the step


def test_the_outline_band_ignores_the_image_border():
    valid = np.zeros((30, 30), bool)
    valid[:, 10:] = True  # a hand running off the right and top/bottom of the window
    band = outline_band(valid, 3)
    assert band[:, 10:13].all() and not band[:, 13:].any()


def test_biases_act_on_their_own_region_only():
    s = crop_sample(SimConfig(seed=5), 0)
    clean = crop_to_mm(s.clean, float(s.transform.centre[2]))
    logit = np.full(clean.shape, -30.0, np.float32)
    noise = np.zeros(clean.shape, np.float32)
    band = outline_band(clean > 0)
    out = compose(clean, logit, noise, Calibration(0.0, edge_bias=60.0), 0)
    assert np.array_equal(out == 0, (clean == 0) | band)
    out = compose(clean, logit, noise, Calibration(0.0, interior_bias=60.0), 0)
    assert np.array_equal(out > 0, band)
