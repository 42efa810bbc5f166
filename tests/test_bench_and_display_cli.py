"""`bench` (engine and app) and the window commands on a machine without a display."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "vispy", "pyqtgraph", "shiboken6")
APP_FIGURES = {"frames_per_s", "pose_to_screen_ms_p50", "pose_to_screen_ms_p95", "stall_ms_max",
               "stall_ms_p95", "runtime_frame_ms_p50", "runtime_frame_ms_p95", "runtime_frame_cpu_ms_p50",
               "frames_from_process", "process_frame_ms_p95"}


def run_main(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


def headless_env(tmp_path: Path) -> dict:
    """No display and a PATH without xvfb-run (the interpreter is called by its full path)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PATH"] = str(tmp_path)
    env["HANDDEPTH_HOME"] = str(tmp_path / "home")
    return env


@pytest.mark.parametrize("count", [1, 3, 19])
def test_engine_bench_works_for_small_counts_without_qt(count):
    code = ("import sys, contextlib, io, json\nfrom app.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            f"    rc = main(['bench', '--count', '{count}', '--json'])\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
            "print(json.dumps({'rc': rc, 'out': json.loads(out.getvalue()), 'qt': bad}))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["rc"] == 0 and got["qt"] == []
    hand, sim = got["out"]["hand_model"], got["out"]["simulator"]
    assert {"p50", "p95"} <= set(hand["fit_pose_ms"])  # the keys only: speed is not a test's
    assert hand["fit_error_mm_mean"] < 1.0  # accuracy of the fit, in mm
    assert {"p50", "p95"} <= set(sim["render_640x480_ms"])
    out = got["out"]
    assert set(out["latency_ms"]) == {"encode", "generator", "style", "paste", "pose_to_styled_crop"}
    assert all({"p50", "p95"} <= set(t) for t in out["latency_ms"].values())
    assert out["device"] == "cpu" and out["resolution"] == [128, 128]
    # the rate was measured over every pose, in whole batches (its value is bench's, not a test's)
    batch = out["throughput_batch"]
    assert batch % 16 == 0  # the learned stage's batch shape (engine.models.style_inference.BATCH)
    assert out["throughput_images"] == -(-count // batch) * batch and math.isfinite(out["throughput_img_s"])
    cpu = out["throughput_cpu_ms_per_img"]  # the CPU time beside the rate was recorded (its value is bench's)
    assert math.isfinite(cpu) and cpu > 0
    # G alone was timed over the same whole batches and returned a crop for each (its rate is bench's)
    assert out["generator_throughput_images"] == out["throughput_images"] and "generator_throughput_img_s" in out
    assert 0.42 < out["gflop_per_img"] < 0.44  # the shipped G's convolutions: 0.4315 GFLOP
    assert all(v > 0 for v in out["peak_gflop_s"].values())
    assert out["backend"] == "int8"  # the default ("auto") on a CPU; every backend that runs is timed beside it
    assert set(out["generator_by_backend"]) == {"torch", "int8"}
    assert all({"p50", "p95"} <= set(t) for t in out["generator_by_backend"].values())
    assert out["runtime_style"]["kind"] == "learned" and "realsense" in out["runtime_style"]["style_image"]
    rates = out["dataset"]["samples_per_s"]
    assert set(rates) == {"simulator", "simulator_kinect_v1", "simulator_sr305_palm_a", "generator"}
    assert all(v > 0 for v in rates.values())
    peer = got["out"]["peer"]
    assert set(peer) == {"name", "p50_ms", "ratio"}  # keys only: no speed is asserted
    assert peer["ratio"] == got["out"]["style"]["peer_over_stage_p50"]  # the same run's figure
    style = got["out"]["style"]
    assert {"p50", "p95"}.issubset(style["style_stage_128_ms"])  # keys only
    assert {"p50", "p95"}.issubset(style["adain_peer_128_ms"])
    assert style["peer_over_stage_p50"] > 0 and style["threads"] == 1


def test_engine_bench_text_output_and_count_below_one():
    r = run_main("bench", "--count", "2")
    assert r.returncode == 0, r.stderr
    assert "fit to 21 joints (2 poses)" in r.stdout and "Traceback" not in r.stderr
    assert "pose_to_styled_crop (1 thread, cpu)" in r.stdout and "img/s" in r.stdout
    assert "G backend int8; style stage: learned" in r.stdout and "generator on torch, side by side" in r.stdout
    r = run_main("bench", "--count", "2", "--backend", "int8")
    assert r.returncode == 0 and "G backend int8" in r.stdout
    r = run_main("bench", "--count", "2", "--device", "tpu")
    assert r.returncode == 2 and r.stderr.strip().splitlines() == ["error: unknown device 'tpu'; use auto, cpu, cuda, mps"]
    r = run_main("bench", "--count", "0")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == ["error: --count must be at least 1, got 0"]


@pytest.mark.parametrize("style, frames_in", [(None, "process"), ("tof", "process"), (None, "thread")])
def test_bench_app_json_reports_every_figure_per_source(style, frames_in):
    r = run_main("bench", "app", "--json", "--drag-s", "1", "--frames-in", frames_in,
                 *(["--style", style] if style else []))
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    for source in ("simulator", "generator"):
        figures = result[source]
        assert APP_FIGURES <= set(figures), figures
        assert figures["style"] == (style or "none")  # the drag ran with the style asked for
        # how many frames a 1 s drag shows depends on the machine's speed and load: only that
        # the drag happened and each figure is a number is behaviour
        assert figures["mouse_moves_delivered"] > 0
        assert all(figures[k] is None or figures[k] >= 0 for k in APP_FIGURES), figures
        assert figures["frames_in"] == frames_in
    # generator frames came from the frame process (waited for before the drag) or from the
    # runtime's thread; simulator frames always from the thread
    assert result["generator"]["frames_from_process"] == (1.0 if frames_in == "process" else 0.0)
    assert result["simulator"]["frames_from_process"] == 0.0


@pytest.mark.parametrize("command", [["bench", "app", "--drag-s", "1"], ["screenshot", "--out", "{out}"]])
def test_window_commands_without_a_display_say_so_in_one_line(tmp_path, command):
    out = tmp_path / "shot.png"
    r = run_main(*[a.format(out=out) for a in command], env=headless_env(tmp_path), timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no display:") and "DISPLAY" in lines[0]
    assert "xvfb-run" in lines[0] and not out.exists()


def test_bench_app_refuses_an_unknown_style_in_one_line_before_qt(tmp_path):
    r = run_main("bench", "app", "--style", "no_such_style", env=headless_env(tmp_path), timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "error: unknown style 'no_such_style'; `python main.py styles --names` lists the bank"]


def test_screenshot_decides_before_importing_qt(tmp_path):
    code = ("import sys\nfrom app.cli import main\n"
            f"rc = main(['screenshot', '--out', {str(tmp_path / 'shot.png')!r}])\n"
            f"print(rc, [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}])")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env=headless_env(tmp_path))
    assert r.stdout.strip() == "2 []", r.stderr
