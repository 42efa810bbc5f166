"""Style statistics (engine.style.stats) on synthetic images whose answers are worked out by hand."""
import numpy as np
import pytest

from engine.style.stats import (
    OUTLIER_MM, edge_band, edge_hole_ratio, geometry_shift_mm, hf_energy, hole_ratio, outlier_ratio,
    reference_mask, style_reference, style_stats)


def square_hand(side: int = 20, size: int = 40, depth_mm: float = 500.0) -> tuple[np.ndarray, np.ndarray]:
    """A flat square 'hand' of side x side px centred in a size x size frame."""
    depth = np.zeros((size, size), np.float32)
    lo = (size - side) // 2
    depth[lo:lo + side, lo:lo + side] = depth_mm
    return depth, depth > 0


def test_hole_ratio_counts_no_data_inside_the_hand_only():
    depth, mask = square_hand()  # 400 hand pixels
    depth[15:20, 15:20] = 0  # 25 holes inside
    depth[0:5, 0:5] = 0  # background is no hand: does not count
    assert hole_ratio(depth, mask) == pytest.approx(25 / 400)


def test_edge_band_is_the_outer_ring_of_the_mask():
    _, mask = square_hand()
    band = edge_band(mask, 3)
    assert band.sum() == 20 * 20 - 14 * 14  # the 20 px square less its 14 px core
    assert not band[20, 20] and band[10, 10] and band[12, 12] and not band[13, 13]


def test_edge_band_of_a_mask_touching_the_border_has_an_outline_there():
    mask = np.zeros((10, 10), bool)
    mask[:, :5] = True
    assert edge_band(mask, 1)[:, 0].all()


def test_edge_hole_ratio_counts_holes_in_the_band_only():
    depth, mask = square_hand()
    depth[10, 10:30] = 0  # the whole top row of the square: 20 of the band's 204 pixels
    depth[20, 20] = 0  # a hole in the core: not in the band
    assert edge_hole_ratio(depth, mask) == pytest.approx(20 / 204)
    assert hole_ratio(depth, mask) == pytest.approx(21 / 400)


def test_hf_energy_of_a_plane_is_zero_and_of_one_spike_is_worked_out():
    depth, mask = square_hand()
    assert hf_energy(depth, mask) == pytest.approx(0.0, abs=1e-9)
    depth[20, 20] += 15.0  # one spike in the core: the 5x5 mean there rises by 0.6 mm
    # Interior = the square less a 2 px band: 16 x 16 = 256 pixels, all of whose windows stay
    # inside the square. At the spike, 15 - 0.6 = 14.4; at its 24 neighbours, 0 - 0.6 = -0.6.
    assert hf_energy(depth, mask) == pytest.approx((14.4 ** 2 + 24 * 0.6 ** 2) / 256)


def test_hf_energy_ignores_a_surface_over_another():
    depth, mask = square_hand()
    depth[:, 20:] -= 40.0  # a finger 40 mm in front of the palm: shape, not noise
    assert hf_energy(depth, mask) == pytest.approx(0.0, abs=1e-9)
    depth[10, 12] += 3.0  # noise on one surface still counts
    assert hf_energy(depth, mask) > 0.0


def test_hf_energy_of_a_noisy_ramp_is_the_noise_variance():
    size = 200
    v, u = np.mgrid[0:size, 0:size]
    ramp = 400.0 + 0.8 * u + 0.3 * v  # a tilted plane: its box mean is itself
    mask = np.ones((size, size), bool)
    assert hf_energy(ramp, mask) == pytest.approx(0.0, abs=1e-6)
    sigma = 2.0
    noisy = ramp + np.random.default_rng(0).normal(0.0, sigma, ramp.shape)
    # E[(x - mean of 25 incl. x)^2] = sigma^2 (1 - 1/25) for independent noise.
    assert hf_energy(noisy, mask) == pytest.approx(sigma ** 2 * (1 - 1 / 25), rel=0.03)


def test_hf_energy_ignores_holes_in_the_low_pass():
    depth, mask = square_hand()
    depth[18:22, 18:22] = 0  # a hole on a flat surface adds no high frequency
    assert hf_energy(depth, mask) == pytest.approx(0.0, abs=1e-9)


def test_geometry_shift_of_a_shifted_plane_is_the_shift_whatever_the_holes():
    content, mask = square_hand()
    styled = content + 2.0 * mask
    assert geometry_shift_mm(styled, content, mask) == pytest.approx(2.0)
    styled[12:18, 12:18] = 0  # holes are skipped, not read as a 500 mm step
    styled[10, :] = 0
    assert geometry_shift_mm(styled, content, mask) == pytest.approx(2.0)
    assert geometry_shift_mm(content, content, mask) == 0.0


def test_geometry_shift_sees_a_half_shifted_hand():
    content, mask = square_hand()
    styled = content.copy()
    styled[:, 20:] += 6.0 * mask[:, 20:]  # right half 6 mm further: mean over the hand ~ 3 mm
    assert 2.5 < geometry_shift_mm(styled, content, mask) < 3.5


def test_flying_pixels_are_outliers_not_a_moved_hand():
    """Time-of-flight pixels mixed with the wall behind sit hundreds of mm off the hand: they are
    counted apart, and the surface under them has not moved."""
    content, mask = square_hand()
    styled = content + 1.0 * mask
    styled[10, 10:30] = 1300.0  # one row of the outline flies 800 mm back: 20 of 400 pixels
    assert outlier_ratio(styled, content, mask) == pytest.approx(20 / 400)
    assert geometry_shift_mm(styled, content, mask) == pytest.approx(1.0)
    styled[10, 10:30] = 500.0 + OUTLIER_MM - 1.0  # within the bound: geometry, and it moves
    assert outlier_ratio(styled, content, mask) == 0.0
    assert geometry_shift_mm(styled, content, mask) > 1.5


def test_geometry_shift_rejects_mismatched_shapes():
    content, mask = square_hand()
    with pytest.raises(ValueError):
        geometry_shift_mm(content[:-1], content, mask)


def test_reference_mask_finds_the_nearest_blob_not_the_background():
    depth = np.full((120, 120), 1500.0, np.float32)  # a wall behind
    depth[30:80, 40:90] = 500.0  # the hand, nearest
    depth[50:53, 60:63] = 0.0  # a small hole in it, closed by the mask
    mask = reference_mask(depth)
    assert mask.sum() == 50 * 50 and mask[51, 61]
    stats = style_reference(depth)
    assert stats == style_stats(depth, mask)
    assert stats.hole_ratio == pytest.approx(9 / 2500)


def test_reference_mask_without_a_hand_is_a_one_line_error():
    with pytest.raises(ValueError, match="no hand"):
        reference_mask(np.zeros((50, 50), np.float32))
