"""The style evidence's pass/fail (engine.eval.style_eval.check) on hand-made results: a gap to
close is judged by the half-way rule, a gap within the measurement's noise by the noise."""
from __future__ import annotations

import pytest

from engine.eval.style_eval import check


def result(styled: dict, unstyled: dict, reference: dict, shift: float = 1.0) -> dict:
    base = {"kid": 0.5, "kid_std": 0.01, "hole_ratio": 0.0, "edge_hole_ratio": 0.0, "hf_energy": 0.5}
    ses = {"hole_ratio_se": 0.001, "edge_hole_ratio_se": 0.001, "hf_energy_se": 0.01}
    return {"styled": {**base, **ses, **styled}, "unstyled": {**base, **ses, **unstyled},
            "style_reference": {"hole_ratio": 0.0, "edge_hole_ratio": 0.0, "hf_energy": 0.5, **ses, **reference},
            "geometry_shift_mm": shift}


def test_a_real_gap_must_be_closed_half_way():
    r = result({"kid": 0.2, "hole_ratio": 0.08}, {"kid": 0.5, "hole_ratio": 0.0}, {"hole_ratio": 0.1})
    assert check(r)["passed"] and check(r)["within_noise"] == []
    r["styled"]["hole_ratio"] = 0.04  # 60 % of the gap left: fails, and no noise excuses it
    out = check(r)
    assert not out["hole_ratio_half_way"] and not out["passed"]


def test_a_gap_within_the_noise_passes_when_styled_is_within_the_noise_of_the_reference():
    # hf: unstyled 0.50, reference 0.45 +- 0.03, styled 0.49: not half way, but 0.04 < 2 x hypot(0.01, 0.03)
    r = result({"kid": 0.2, "hf_energy": 0.49}, {"kid": 0.5}, {"hf_energy": 0.45, "hf_energy_se": 0.03})
    out = check(r)
    assert out["hf_energy_half_way"] and out["within_noise"] == ["hf_energy_half_way"]
    r["style_reference"]["hf_energy_se"] = 0.005  # a precise reference: the same numbers fail
    assert not check(r)["hf_energy_half_way"]


@pytest.mark.parametrize("kids, passes", [
    ((0.2, 0.5), True),  # lowered
    ((0.5, 0.5), False),  # not lowered, and the content differs from the source
    ((-0.019, -0.019), True),  # the identity style on content that already matches: both ~0
    ((0.03, -0.019), False),  # the style made a matching content differ (3 kid_std)
])
def test_kid_must_drop_unless_no_difference_is_found_either_way(kids, passes):
    styled, unstyled = kids
    out = check(result({"kid": styled}, {"kid": unstyled}, {}))
    assert out["kid_lower"] is passes


def test_geometry_bar():
    assert not check(result({"kid": 0.2}, {}, {}, shift=3.5))["geometry_kept"]
