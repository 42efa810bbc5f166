"""tools/hard_poses_figure: layout of the before/after figure, and its error map is zero where G
equals the simulator."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.eval.metrics import hand_mask
from engine.models import DEFAULT_GENERATOR_PATH, SOFT_GENERATOR_PATH
from engine.models.generator import load_generator
from engine.models.inference import InferenceGenerator
from tools import hard_poses_figure as hp

PANEL = 32


@pytest.fixture(scope="module")
def cases() -> list[hp.Case]:
    return [hp.preset_case("fist"), hp.dev_case(0)]


def test_figure_layout_and_numbers(cases):
    before = InferenceGenerator(load_generator(SOFT_GENERATOR_PATH)[0])
    after = InferenceGenerator(load_generator(DEFAULT_GENERATOR_PATH)[0])
    image, numbers = hp.figure(cases, before, after, panel_px=PANEL)
    width = len(hp.COLUMNS) * (PANEL + 2)
    rows = len(cases) * (hp.HEADER_PX + PANEL)
    assert image.dtype == np.uint8 and image.shape[1:] == (width, 3)
    assert image.shape[0] > hp.HEADER_PX + rows  # titles, rows, legend
    assert [n["pose"] for n in numbers] == ["fist", "dev #0"]
    for n in numbers:
        assert set(n["finger_iou"]) == set(n["full_mae_mm"]) == {"before_raw", "before_cut", "after"}
        assert all(0.0 <= v <= 1.0 for v in n["finger_iou"].values())
        assert all(v >= 0.0 for v in n["full_mae_mm"].values())


def test_error_map_is_zero_where_g_equals_the_simulator(cases):
    case = cases[0]
    generated = case.clean.copy()
    generated[:, :64] = 1.0  # G misses the left half's hand pixels: error there, none on the right
    err, union = hp.error_map_mm(generated, case.clean)
    assert np.array_equal(union, hand_mask(case.clean)[0])
    assert (err[:, 64:] == 0).all()
    assert (err[:, :64][union[:, :64]] > 0).all()

    row, numbers = hp.row_image(case, case.clean, case.clean, case.clean, panel_px=128)
    assert numbers["full_mae_mm"] == {"before_raw": 0.0, "before_cut": 0.0, "after": 0.0}
    # not 1: G's pixels are labelled by the nearest bone, the render's by the mesh (as in `evaluate`)
    assert len(set(numbers["finger_iou"].values())) == 1 and numbers["finger_iou"]["after"] > 0.9
    zero = cv2.applyColorMap(np.zeros((1, 1), np.uint8), cv2.COLORMAP_INFERNO)[0, 0]
    for col in (3, 5):  # the error panels
        panel = row[hp.HEADER_PX:, col * 130:col * 130 + 128]
        assert (panel[hand_mask(case.clean)[0]] == zero).all()
