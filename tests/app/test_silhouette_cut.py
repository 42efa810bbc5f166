"""View > Silhouette cut: the app's frames follow the same switch as `generate --no-cut`."""
from __future__ import annotations

import numpy as np

from app import scene as scene_io
from engine.data.crop import CROP_SIZE

EVENT_TIMEOUT_MS = 20000


def install_switch_aware_generator(c) -> list[bool]:
    """A stand-in G (no torch): a large disk with its cut, a small one raw; records each call's switch."""
    r = np.hypot(*np.mgrid[-1:1:CROP_SIZE * 1j, -1:1:CROP_SIZE * 1j])
    calls: list[bool] = []

    def generate(y, transform, silhouette_cut=True, thickness=1.0):
        calls.append(silhouette_cut)
        return np.where(r < (0.5 if silhouette_cut else 0.3), -0.2, 1.0).astype(np.float32)

    c.runtime.generator = generate
    c.generator_available = True
    c.generatorChanged.emit(True)
    return calls


def shown_generator_pixels(c) -> int:
    source, depth = c.shown_depth(c.shown_frame)
    assert source == "generator"
    return int((depth > 0).sum())


def test_the_menu_switch_sets_the_view_state_and_the_runtime_honours_it(window, qtbot):
    c = window.controller
    assert window.cut_action.isCheckable() and window.cut_action.isChecked() and c.view.silhouette_cut
    calls = install_switch_aware_generator(c)
    c.set_source("generator")
    c.request_frame()
    qtbot.waitUntil(lambda: c.frames.frame_is_current and c.shown_frame.request.use_generator,
                    timeout=EVENT_TIMEOUT_MS)
    with_cut = shown_generator_pixels(c)
    assert calls[-1] is True

    window.cut_action.trigger()  # the user unticks it
    assert c.view.silhouette_cut is False and not window.cut_action.isChecked()
    assert not c.history.can_undo  # a view setting, not an edit
    qtbot.waitUntil(lambda: c.frames.frame_is_current and not c.shown_frame.request.silhouette_cut,
                    timeout=EVENT_TIMEOUT_MS)
    assert calls[-1] is False and shown_generator_pixels(c) < with_cut  # the raw output is shown

    c.set_view(silhouette_cut=True)  # e.g. a scene opened with it on: the action mirrors it
    assert window.cut_action.isChecked()
    qtbot.waitUntil(lambda: c.frames.frame_is_current and c.shown_frame.request.silhouette_cut,
                    timeout=EVENT_TIMEOUT_MS)
    assert shown_generator_pixels(c) == with_cut


def test_the_switch_is_saved_with_the_scene_and_a_file_without_it_keeps_the_cut(window):
    c = window.controller
    c.set_silhouette_cut(False)
    saved = scene_io.scene_to_dict(c.scene)
    assert saved["view"]["silhouette_cut"] is False
    assert scene_io.scene_from_dict(saved).view.silhouette_cut is False
    del saved["view"]["silhouette_cut"]  # written before the switch existed
    assert scene_io.scene_from_dict(saved).view.silhouette_cut is True


def test_ab_frames_ask_the_worker_for_the_styled_simulator(window, qtbot):
    """A/B shows the simulator beside G: the request asks the runtime's worker to style it, so
    the GUI thread that draws the panels never does (one style is milliseconds)."""
    c = window.controller
    install_switch_aware_generator(c)
    assert c.frame_request().with_simulator is False
    c.set_compare(True)
    assert c.frame_request().with_simulator is True
    c.request_frame()
    qtbot.waitUntil(lambda: c.frames.frame_is_current and c.shown_frame.request.with_simulator,
                    timeout=EVENT_TIMEOUT_MS)
    assert c.shown_frame.simulated.made  # made before it reached the GUI thread
