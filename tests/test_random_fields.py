"""engine.sim.random_fields: each cheap draw has the distribution the sensor models assume.

The fields are no longer the numbers numpy's normal draws gave (tests/test_sensor_golden.py
pins the new bits); what must hold is pinned here: mean 0, std 1, Gaussian tails and kurtosis,
the correlation a Gaussian blur of sigma gives (exp(-d^2 / (4 sigma^2)) at lag d), independent
channels, and for the fields drawn on a coarser grid a std that does not depend on the position
between grid points.
"""
from __future__ import annotations

import numpy as np
import pytest

from engine.sim import random_fields
from engine.sim.random_fields import COARSE_SIGMA_PX, blob_normal, blob_uniform, standard_normal


def gaussian_moments(x: np.ndarray) -> tuple[float, float, float]:
    x = x.astype(np.float64)
    z = (x - x.mean()) / x.std()
    return float(x.mean()), float(x.std()), float((z ** 4).mean())


def test_standard_normal_is_unit_gaussian_with_its_tails():
    x = standard_normal(np.random.default_rng(1), (1001, 999))  # an odd count: pairs and one more
    assert x.dtype == np.float32 and x.shape == (1001, 999)
    mean, std, kurtosis = gaussian_moments(x)
    assert abs(mean) < 0.005 and std == pytest.approx(1.0, abs=0.005)
    assert kurtosis == pytest.approx(3.0, abs=0.03)
    a = np.abs(x)
    assert (a > 1).mean() == pytest.approx(0.3173, abs=0.003)
    assert (a > 2).mean() == pytest.approx(0.0455, abs=0.001)
    assert (a > 3).mean() == pytest.approx(0.0027, abs=0.0003)
    # the two halves of each Box-Muller pair are independent
    flat = x.ravel()
    half = (flat.size + 1) // 2
    assert abs(np.corrcoef(flat[:half - 1], flat[half:])[0, 1]) < 0.005


def test_standard_normal_follows_the_seed():
    a = standard_normal(np.random.default_rng(7), (30, 40))
    assert np.array_equal(a, standard_normal(np.random.default_rng(7), (30, 40)))
    assert not np.array_equal(a, standard_normal(np.random.default_rng(8), (30, 40)))


@pytest.mark.parametrize("sigma_px", [1.0, 1.24, 1.9, 2.0, 3.0, 3.7, 4.0, 6.0, 7.43])
def test_blob_fields_are_unit_gaussian_and_correlated_over_sigma(sigma_px: float) -> None:
    """Narrow fields blur normals, wide ones uniform bytes, the widest come from a coarser grid;
    all must be what the models assume."""
    rng = np.random.default_rng(3)
    fields = [blob_normal(rng, (600, 600), sigma_px)[20:-20, 20:-20] for _ in range(4)]
    assert all(f.dtype == np.float32 for f in fields)
    inner = np.stack(fields).astype(np.float64)
    mean, std, kurtosis = gaussian_moments(inner)
    assert abs(mean) < 0.04 * np.sqrt(sigma_px)
    assert std == pytest.approx(1.0, abs=0.04)
    assert kurtosis == pytest.approx(3.0, abs=0.1)  # uniform white noise would be 1.8
    z = (inner - inner.mean()) / inner.std()
    lag = int(round(sigma_px * 2))
    expected = np.exp(-lag ** 2 / (4 * sigma_px ** 2))
    assert (z[:, :, lag:] * z[:, :, :-lag]).mean() == pytest.approx(expected, abs=0.04)
    assert (z[:, lag:] * z[:, :-lag]).mean() == pytest.approx(expected, abs=0.04)


@pytest.mark.parametrize("sigma_px", [4.0, 7.43])
def test_coarse_fields_have_the_same_std_between_grid_points(sigma_px: float) -> None:
    factor = int(sigma_px // COARSE_SIGMA_PX)
    assert factor >= random_fields.COARSE_MIN_FACTOR  # this case takes the coarse path
    rng = np.random.default_rng(11)
    f = np.stack([blob_normal(rng, (600, 600), sigma_px)[30:-30, 30:-30] for _ in range(6)]).astype(np.float64)
    stds = [np.sqrt((f[:, i::factor, j::factor] ** 2).mean()) for i in range(factor) for j in range(factor)]
    assert max(stds) - min(stds) < 0.04 and all(s == pytest.approx(1.0, abs=0.04) for s in stds)


@pytest.mark.parametrize("sigma_px", [1.0, 2.0, 7.43])
def test_blob_fields_take_odd_shapes_and_follow_the_seed(sigma_px: float) -> None:
    a = blob_normal(np.random.default_rng(5), (37, 53), sigma_px)
    assert a.shape == (37, 53) and a.dtype == np.float32 and np.isfinite(a).all()
    assert np.array_equal(a, blob_normal(np.random.default_rng(5), (37, 53), sigma_px))
    tiny = blob_normal(np.random.default_rng(5), (1, 2), sigma_px)
    assert tiny.shape == (1, 2) and np.isfinite(tiny).all()


@pytest.mark.parametrize("sigma_px", [2.0, 7.43])
def test_two_channel_blob_fields_are_independent(sigma_px: float) -> None:
    field = blob_normal(np.random.default_rng(4), (400, 400, 2), sigma_px)
    assert field.shape == (400, 400, 2)
    dx, dy = np.moveaxis(field, -1, 0)
    assert dx.std() == pytest.approx(1.0, abs=0.1) and dy.std() == pytest.approx(1.0, abs=0.1)
    assert abs(np.corrcoef(dx.ravel(), dy.ravel())[0, 1]) < 0.08


def test_blob_uniform_is_uniform() -> None:
    u = blob_uniform(np.random.default_rng(5), (400, 400), 1.0)
    counts, _ = np.histogram(u, bins=10, range=(0.0, 1.0))
    assert counts.min() > 0.8 * u.size / 10 and counts.max() < 1.2 * u.size / 10
