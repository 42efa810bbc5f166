"""`python main.py stylize` and engine.style.optimize: a simulator render styled after a bank image."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from app.commands.stylize import DEFAULT_STEPS
from engine.camera import DEFAULT_CAMERA
from engine.hand.controls import set_hand_distance
from engine.hand.presets import load_preset
from engine.io_utils import write_depth_png16
from engine.sim.render import render_hand
from engine.style.stats import geometry_shift_mm, hole_ratio

ROOT = Path(__file__).resolve().parents[1]
STEPS = 12  # enough for the statistics terms to act; the default is for quality
STYLE = "sr305_palm_b"


@pytest.fixture(scope="module")
def content_png(tmp_path_factory) -> Path:
    # 750 mm away the hand's window is ~120 x 220 px: a fast optimisation
    hand = set_hand_distance(load_preset("open_palm").hand, 750.0)
    path = tmp_path_factory.mktemp("content") / "depth.png"
    write_depth_png16(path, render_hand(hand.joints(), DEFAULT_CAMERA, hand.shape.thickness).depth)
    return path


@pytest.fixture(scope="module")
def styled(content_png, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("styled") / "out"
    assert main(["stylize", "--content", str(content_png), "--style", STYLE, "--out", str(out),
                 "--steps", str(STEPS), "--seed", "1", "--threads", "1"]) == 0
    return out


def read16(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float32)


def test_stylize_writes_depth_preview_and_report(styled):
    depth = cv2.imread(str(styled / "depth.png"), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16 and depth.shape == (DEFAULT_CAMERA.height, DEFAULT_CAMERA.width)
    preview = cv2.imread(str(styled / "preview.png"))
    assert preview is not None and preview.shape[0] == 256 and preview.shape[1] > 3 * 100
    report = json.loads((styled / "stylize.json").read_text())
    assert set(report["statistics"]) == {"unstyled", "styled", "style_reference"}
    assert report["options"]["steps"] == STEPS and report["style_unit"].startswith("uint16, 0.125 mm")
    assert [row["step"] for row in report["losses"]][-1] == STEPS


def test_styled_hand_keeps_its_data_and_geometry(styled, content_png):
    content, out = read16(content_png), read16(styled / "depth.png")
    hand = content > 0
    report = json.loads((styled / "stylize.json").read_text())
    # Data everywhere the content's hand is, except the holes the style asked for ...
    allowed = report["statistics"]["style_reference"]["hole_ratio"] + 0.02
    assert 0 < hole_ratio(out, hand) <= allowed
    # ... nothing outside it ...
    assert not (out[~hand] > 0).any()
    # ... and the hand has not moved (recomputed from the files, after uint16 rounding).
    assert geometry_shift_mm(out, content, hand) <= 3.0
    assert report["geometry_shift_mm"] <= 3.0


def test_statistics_move_towards_the_style_reference(styled):
    stats = json.loads((styled / "stylize.json").read_text())["statistics"]
    before, after, ref = stats["unstyled"], stats["styled"], stats["style_reference"]
    for key in ("hole_ratio", "edge_hole_ratio"):
        assert abs(after[key] - ref[key]) < abs(before[key] - ref[key]), key
    # this style's noise is about the content's own (both ~0.14 mm^2): the styled image must end
    # closer than it started or within a quarter of the reference
    gap = abs(after["hf_energy"] - ref["hf_energy"])
    assert gap < abs(before["hf_energy"] - ref["hf_energy"]) or gap <= 0.25 * ref["hf_energy"]


def test_default_steps_match_the_engine():
    from engine.style.optimize import StylizeConfig
    assert DEFAULT_STEPS == StylizeConfig().steps


def bad_run(tmp_path, capsys, *args):
    out = tmp_path / "out"
    rc = main(["stylize", *args, "--out", str(out), "--steps", "2"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    assert not out.exists()
    return err


def test_missing_content_is_one_line_and_writes_nothing(tmp_path, capsys):
    err = bad_run(tmp_path, capsys, "--content", str(tmp_path / "nope.png"), "--style", STYLE)
    assert "nope.png" in err


def test_corrupt_content_is_one_line_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert "bad.png" in bad_run(tmp_path, capsys, "--content", str(bad), "--style", STYLE)


def test_content_without_a_hand_is_one_line(tmp_path, capsys):
    empty = tmp_path / "empty.png"
    write_depth_png16(empty, np.zeros((120, 160), np.float32))
    assert "no hand" in bad_run(tmp_path, capsys, "--content", str(empty), "--style", STYLE)


def test_colour_photo_style_is_refused(tmp_path, capsys, content_png):
    photo = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    cv2.imwrite(str(photo), rng.integers(0, 256, (80, 80, 3), dtype=np.uint8))
    err = bad_run(tmp_path, capsys, "--content", str(content_png), "--style", str(photo))
    assert "photo.png" in err and "colour" in err


def test_help_imports_neither_torch_nor_qt():
    code = ("import sys, contextlib, io\nfrom app.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['stylize', '--help'])\n    except SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'PySide6', 'vispy', 'pyqtgraph', 'shiboken6', 'tqdm')))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]", r.stderr
