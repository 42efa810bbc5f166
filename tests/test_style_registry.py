"""The style seam: the bank, `--style` resolution, the sensor and image styles, `styles`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from engine.camera import DEFAULT_CAMERA
from engine.hand.controls import set_hand_distance
from engine.hand.presets import load_preset
from engine.io_utils import write_depth_png16
from engine.sim.render import render_hand
from engine.sim.sensors import SENSOR_NAMES, apply_sensor, blend_with_clean
from engine.style.base import Style
from engine.style.image import StyleImageError, read_depth_image
from engine.style import registry
from engine.style.matched import MatchedImageStyle
from engine.style.registry import STYLE_DIR, load_bank, resolve_style, style_names
from engine.style.sensor import SensorStyle

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clean():
    hand = set_hand_distance(load_preset("open_palm").hand, 600.0)
    return render_hand(hand.joints(), DEFAULT_CAMERA).depth


def test_bank_has_eight_styles_with_thumbnails_sources_and_licences():
    bank = load_bank()
    assert len(bank) >= 8
    assert {e.sensor for e in bank if e.kind == "sensor"} == set(SENSOR_NAMES)
    assert sum(e.kind == "image" for e in bank) >= 4
    for entry in bank:
        thumb = cv2.imread(str(entry.thumbnail))
        assert thumb is not None and thumb.shape[0] > 16, entry.name
        assert entry.source and entry.licence
        if entry.kind == "image":
            assert entry.licence_file is not None and entry.licence_file.is_file()
            depth = read_depth_image(entry.image, entry.depth_scale_mm).depth
            assert 300 < np.percentile(depth[depth > 0], 1) < 1000, entry.name
    files = [p for p in STYLE_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 400_000  # crops, not full frames


def test_sensor_style_wraps_the_sensor_models(clean):
    style = resolve_style("kinect_v1")
    assert isinstance(style, SensorStyle) and style.name == "kinect_v1"
    np.testing.assert_array_equal(style.apply(clean, DEFAULT_CAMERA, 3, 0.0), clean)
    full = style.apply(clean, DEFAULT_CAMERA, 3, 1.0)
    np.testing.assert_array_equal(full, apply_sensor(clean, DEFAULT_CAMERA, "kinect_v1", 3))
    half = style.apply(clean, DEFAULT_CAMERA, 3, 0.5)
    np.testing.assert_array_equal(half, blend_with_clean(clean, full, 0.5, 3))
    assert not np.array_equal(half, full)
    with pytest.raises(ValueError, match="strength"):
        style.apply(clean, DEFAULT_CAMERA, 3, 1.5)


def test_without_the_stage_weights_an_image_path_is_matched_once(tmp_path, clean, monkeypatch):
    monkeypatch.setattr(registry, "STYLE_STAGE_PATH", tmp_path / "absent.safetensors")
    write_depth_png16(tmp_path / "mine.png", apply_sensor(clean, DEFAULT_CAMERA, "tof", 1))
    style = resolve_style(str(tmp_path / "mine.png"))
    assert isinstance(style, MatchedImageStyle) and not style.prepared
    out = style.apply(clean, DEFAULT_CAMERA, 0, 1.0)
    assert style.prepared and style.matched.sensor == "tof"
    assert "guessed" in style.summary and "tof" in style.summary
    np.testing.assert_array_equal(out, apply_sensor(clean, DEFAULT_CAMERA, "tof", 0))


def test_bank_image_styles_resolve_with_their_own_scale(clean):
    style = resolve_style("sr305_palm_a").prepare()
    assert style.image.scale_source == "given" and style.image.scale_mm == 0.125
    assert style.apply(clean, DEFAULT_CAMERA, 0, 1.0).shape == clean.shape


def test_prepare_runs_once():
    class Counting(Style):
        calls = 0

        def _prepare(self):
            Counting.calls += 1

        def _apply(self, depth, camera, seed, strength):
            return depth + strength

    style = Counting("c", "C", "counts")
    style.prepare()
    style.apply(np.ones((4, 4), np.float32), DEFAULT_CAMERA, 0, 1.0)
    assert Counting.calls == 1


def test_bad_style_values_give_one_line(tmp_path):
    with pytest.raises(ValueError, match="unknown style 'kinect_v9'.*kinect_v1") as err:
        resolve_style("kinect_v9")
    assert "\n" not in str(err.value)
    with pytest.raises(StyleImageError, match="no such file"):
        resolve_style(str(tmp_path / "missing.png"))
    (tmp_path / "notes.png").write_text("text")
    with pytest.raises(StyleImageError, match="not an image"):
        resolve_style(str(tmp_path / "notes.png"))
    with pytest.raises(ValueError, match="scale applies to image files"):
        resolve_style("tof", scale=0.125)


@pytest.mark.parametrize("index,message", [
    ("{", "not valid JSON"),
    ('{"version": 2, "styles": []}', "expected"),
    ('{"version": 1, "styles": [{"name": "x"}]}', "lacks"),
    ('{"version": 1, "styles": [{"name": "x", "kind": "sensor", "sensor": "lidar", "title": "t",'
     ' "description": "d", "thumbnail": "t.png", "source": "s", "licence": "l"}]}', "lidar"),
])
def test_a_malformed_index_gives_one_line(tmp_path, index, message):
    (tmp_path / "index.json").write_text(index)
    with pytest.raises(ValueError, match=message) as err:
        load_bank(tmp_path / "index.json")
    assert "\n" not in str(err.value) and "index.json" in str(err.value)


def test_styles_command_lists_names_sources_and_licences(capsys):
    assert main(["styles", "--names"]) == 0
    assert capsys.readouterr().out.split() == style_names()
    assert main(["styles"]) == 0
    out = capsys.readouterr().out
    assert "MIT, Copyright (c) 2021 Ladislav Ondris" in out and "CC BY 4.0" in out
    assert "LICENSE-sr305.txt" in out


def test_styles_command_imports_neither_qt_nor_torch():
    code = ("import sys\nfrom app.cli import main\nrc = main(['styles'])\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6', 'vispy', 'pyqtgraph', 'torch')]\nprint('RC', rc, 'BAD', bad)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "RC 0 BAD []" in r.stdout, r.stderr

