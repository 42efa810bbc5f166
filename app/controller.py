"""The app's state and its only writer: scene, pose history, depth requests, styles, export.

Widgets report what the user did; the controller changes the scene through engine functions
(IK, controls, sampler, export), records undo steps, submits a frame to the latest-wins runtime
and tells the views through signals. Frames come back on the runtime's worker thread; they are
handed to the GUI thread through a one-slot mailbox and a queued signal, so a slow GUI never
builds a backlog: it always picks up the newest frame, and a frame older than the one on
screen is dropped.

At most one frame is in flight: while one renders (and, when a view paces the controller, until
the view has drawn it: `frame_drawn`), edits only mark the scene stale, and the newest scene is
submitted the moment that frame is done (and no sooner than MIN_FRAME_INTERVAL_MS after the
previous submit). The frame on screen is therefore never more than one runtime frame behind the
pose, and the worker renders no frame that would be thrown away: on a small CPU every frame it
renders needlessly is time taken from the GUI thread (the GIL) and from the software OpenGL
that draws the views.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6 import QtCore

from app import scene as scene_io
from app.generator_loading import load_default_generator
from app.scene import DEPTH_SOURCES, PoseHistory, Scene, ViewState, same_pose
from app.style_bank import NO_STYLE, StyleEntry, style_title
from app.style_session import StyleSession
from engine.camera import Camera
from engine.export import write_sample
from engine.sample_frames import sample_of_frame, style_provenance
from engine.hand import controls
from engine.hand.ik import move_joint, rotate_hand
from engine.hand.model import HandPose, forward_kinematics
from engine.hand.presets import load_preset
from engine.hand.sampler import PoseRanges, mirror_pose, sample_pose
from engine.runtime import DepthRuntime, FrameFailure, FrameRequest, FrameResult, compute_frame

log = logging.getLogger(__name__)

AUTOSAVE_DELAY_MS = 1500  # after the last change; also on exit
MIN_FRAME_INTERVAL_MS = 33  # a 30 fps ceiling: more than the depth view shows during a drag
# A frame that has not come back after this long is lost (the runtime logged why): resubmit.
LOST_FRAME_MS = 3000
GENERATOR_JOIN_TIMEOUT_S = 30.0  # loading the shipped generator takes 1-3 s
FPS_WINDOW_S = 1.0
# Random poses keep the hand where it is and facing the camera roughly (a back-facing random
# orientation is rarely what someone posing a hand wants from one click).
RANDOM_MAX_ROTATION_DEG = 50.0


class StudioController(QtCore.QObject):
    """Owns the scene; every edit goes through here (see the module docstring)."""

    poseChanged = QtCore.Signal(object)  # HandPose
    frameReady = QtCore.Signal(object)  # FrameResult, on the GUI thread, never older than the last
    cameraChanged = QtCore.Signal(object)  # Camera
    styleChanged = QtCore.Signal(str, float)  # style name (picker's), strength
    styleReady = QtCore.Signal(str)  # the chosen style is prepared: its picture can be shown
    stylesChanged = QtCore.Signal()  # the bank gained an entry
    historyChanged = QtCore.Signal()
    generatorChanged = QtCore.Signal(bool)
    sourceChanged = QtCore.Signal(str)  # the depth source shown now (see `source`)
    statusMessage = QtCore.Signal(str)
    sceneReplaced = QtCore.Signal()  # a scene was opened or restored: views re-read everything
    _frameArrived = QtCore.Signal()  # worker thread -> GUI thread
    _frameFailed = QtCore.Signal(object)  # FrameFailure, worker thread -> GUI thread
    _generatorLoaded = QtCore.Signal(str)  # loader thread -> GUI thread

    def __init__(self, scene: Scene | None = None, *, autosave: bool = True,
                 load_generator: bool = True, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._scene = scene or scene_io.default_scene()
        self.history = PoseHistory()
        self.runtime = DepthRuntime()
        self.generator_available = False
        self.device = "CPU"
        self._compare = self._scene.view.compare
        self._source = self._scene.view.source  # the user's choice; `source` is what is shown
        self._mail_lock = threading.Lock()
        self._mail: FrameResult | None = None
        self._shown: FrameResult | None = None
        self.last_request_id = 0
        self._in_flight = 0  # id of the request being rendered, 0 when none
        self._frame_error: str | None = None  # the failure last posted; cleared by a good frame
        self._range_warning: str | None = None  # the style's range warning last posted
        self._stale = False  # the scene changed since the last submit
        self._last_submit = -1e9
        self._frame_times: deque[float] = deque()
        self._drag_start: HandPose | None = None
        self._rng = np.random.default_rng()
        self.styles = StyleSession(self.set_style, lambda: self._scene.style.name, self)
        self.styles.entriesChanged.connect(self.stylesChanged)
        self.styles.ready.connect(self.styleReady)
        self.styles.message.connect(self.statusMessage)
        self.view_provider: Callable[[], ViewState] | None = None
        # True when a view calls frame_drawn() after drawing each frame (the main window does).
        self.paced_by_view = False
        self._closed = False

        queued = QtCore.Qt.ConnectionType.QueuedConnection
        self._frameArrived.connect(self._on_frame_arrived, queued)
        self._frameFailed.connect(self._on_frame_failed, queued)
        self._generatorLoaded.connect(self._on_generator_loaded, queued)
        self._submit_timer = QtCore.QTimer(self, singleShot=True)
        self._submit_timer.timeout.connect(self._submit_if_stale)
        self._lost_timer = QtCore.QTimer(self, singleShot=True, interval=LOST_FRAME_MS)
        self._lost_timer.timeout.connect(self._on_frame_lost)
        self._autosave_timer = QtCore.QTimer(self, singleShot=True, interval=AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_enabled = autosave
        self._scene = replace(self._scene, style=self.styles.restore(self._scene.style))
        self._generator_thread: threading.Thread | None = None
        if load_generator:
            self._generator_thread = threading.Thread(target=self._load_generator, daemon=True,
                                                      name="generator-load")
            self._generator_thread.start()

    # -- state ----------------------------------------------------------------------------------
    @property
    def scene(self) -> Scene:
        return self._scene

    @property
    def hand(self) -> HandPose:
        return self._scene.hand

    @property
    def joints(self) -> np.ndarray:
        return forward_kinematics(self._scene.hand)

    @property
    def shown_frame(self) -> FrameResult | None:
        return self._shown

    @property
    def compare(self) -> bool:
        return self._compare and self.generator_available

    @property
    def source(self) -> str:
        """The depth the single view shows and Ctrl+E exports: the chosen source, the simulator
        while the generator loads or when there is none."""
        return "generator" if self._source == "generator" and self.generator_available else "simulator"

    def shown_depth(self, frame: FrameResult) -> tuple[str, np.ndarray]:
        """(source, depth mm) of `frame` for the single view and export: the current source's,
        the simulator's when the frame was computed without the generator."""
        if self.source == "generator" and frame.generated is not None:
            return "generator", frame.depth
        return "simulator", frame.simulator

    def fps(self) -> float:
        """Frames delivered to the screen per second over the last FPS_WINDOW_S."""
        now = time.perf_counter()
        while self._frame_times and now - self._frame_times[0] > FPS_WINDOW_S:
            self._frame_times.popleft()
        return len(self._frame_times) / FPS_WINDOW_S

    # -- pose edits -----------------------------------------------------------------------------
    def set_pose(self, hand: HandPose, label: str, merge_key: object | None = None) -> None:
        """Make `hand` the pose: one undo step (merged with the last one of the same key)."""
        before = self._scene.hand
        if same_pose(before, hand):
            return
        self.history.record(before, hand, label, merge_key)
        self._apply_pose(hand)
        self.historyChanged.emit()

    def _apply_pose(self, hand: HandPose) -> None:
        # Any edit ends the preset: an exported pose must not still be called "victory".
        self._scene = replace(self._scene, hand=hand, name=None)
        self.poseChanged.emit(hand)
        self.request_frame()
        self._schedule_autosave()

    def begin_drag(self) -> None:
        self._drag_start = self._scene.hand

    def drag_joint(self, joint: int, target: np.ndarray) -> None:
        """One mouse move of a joint drag: IK from the current pose, no undo step yet."""
        if self._drag_start is None:
            self.begin_drag()
        self._apply_pose(move_joint(self._scene.hand, joint, target))

    def rotate_by(self, rotvec: np.ndarray) -> None:
        """One mouse move of a hand rotation (axis-angle, camera frame), about the hand centre."""
        if self._drag_start is None:
            self.begin_drag()
        self._apply_pose(rotate_hand(self._scene.hand, rotvec))

    def end_drag(self, label: str) -> None:
        """The drag is over: the whole of it becomes one undo step."""
        start, self._drag_start = self._drag_start, None
        if start is not None and not same_pose(start, self._scene.hand):
            self.history.record(start, self._scene.hand, label)
            self.historyChanged.emit()

    @property
    def dragging(self) -> bool:
        return self._drag_start is not None

    def apply_preset(self, name: str) -> None:
        """Take a preset's fingers and orientation, keeping the hand where it is."""
        record = load_preset(name)
        hand = replace(record.hand, handedness=self.hand.handedness) if record.hand else None
        if hand is None:
            return
        self.set_pose(self._keep_centre(hand), f"Preset {name}")
        self._scene = replace(self._scene, name=name)  # after the edit, which clears it

    def random_pose(self) -> None:
        ranges = PoseRanges(max_rotation_deg=RANDOM_MAX_ROTATION_DEG, size=(1.0, 1.0),
                            finger_scale=(1.0, 1.0), thickness=(1.0, 1.0))
        sampled = sample_pose(self._rng, ranges, handedness=self.hand.handedness)
        hand = replace(sampled, shape=self.hand.shape)
        self.set_pose(self._keep_centre(hand), "Random pose")

    def mirror(self) -> None:
        self.set_pose(mirror_pose(self.hand), "Mirror")

    def set_handedness(self, side: str) -> None:
        if side != self.hand.handedness:
            self.set_pose(replace(self.hand, handedness=side), f"{side.capitalize()} hand")

    def set_curl(self, finger: str, curl: float) -> None:
        self.set_pose(controls.set_finger_curl(self.hand, finger, curl), f"Curl {finger}",
                      merge_key=("curl", finger))

    def set_spread(self, finger: str, spread: float) -> None:
        self.set_pose(controls.set_finger_spread(self.hand, finger, spread), f"Spread {finger}",
                      merge_key=("spread", finger))

    def set_rotation(self, x_deg: float, y_deg: float, z_deg: float) -> None:
        self.set_pose(controls.set_global_rotation_deg(self.hand, (x_deg, y_deg, z_deg)),
                      "Rotate hand", merge_key="rotation")

    def set_distance(self, distance_mm: float) -> None:
        self.set_pose(controls.set_hand_distance(self.hand, distance_mm), "Distance",
                      merge_key="distance")

    def reset_finger(self, finger: str) -> None:
        self.set_pose(controls.reset_finger(self.hand, finger), f"Reset {finger}")

    def reset_hand(self) -> None:
        self.set_pose(controls.reset_hand(self.hand), "Reset hand")

    def undo(self) -> None:
        hand = self.history.undo()
        if hand is not None:
            self._apply_pose(hand)
            self.historyChanged.emit()

    def redo(self) -> None:
        hand = self.history.redo()
        if hand is not None:
            self._apply_pose(hand)
            self.historyChanged.emit()

    def _keep_centre(self, hand: HandPose) -> HandPose:
        """`hand` moved so its centre (middle MCP) sits where the current hand's is."""
        centre_now = forward_kinematics(self.hand)[9]
        return replace(hand, translation=hand.translation + centre_now - forward_kinematics(hand)[9])

    # -- camera, style, seed --------------------------------------------------------------------
    def set_camera(self, camera: Camera, preset: str | None = None) -> None:
        if camera == self._scene.camera:
            return
        self._scene = replace(self._scene, camera=camera,
                              camera_preset=preset or scene_io.camera_preset_name(camera))
        self.cameraChanged.emit(camera)
        self.request_frame()
        self._schedule_autosave()

    def style_entries(self) -> list[StyleEntry]:
        """The bank, then the user's images (the picker's own "None" stands for NO_STYLE)."""
        return self.styles.entries()

    def add_style_image(self, path: str | Path, scale_mm: float | None = None) -> None:
        """Add any depth PNG to the bank and choose it (prepared off the GUI thread)."""
        self.styles.add_image(path, scale_mm)

    def set_style(self, name: str) -> None:
        """Choose a style of the bank by name ("" or NO_STYLE: none); it is prepared off the
        GUI thread (the runtime waits for it, the GUI never does)."""
        name = name or NO_STYLE
        entry = self.styles.entry(name)
        if entry is None and name != NO_STYLE:
            raise KeyError(name)
        scale = entry.scale_mm if entry is not None else None
        self._scene = replace(self._scene, style=replace(self._scene.style, name=name, scale_mm=scale))
        self.styleChanged.emit(self.style_name, self._scene.style.strength)
        self.request_frame()
        self._schedule_autosave()
        if entry is not None:
            self.styles.prepare(entry)

    @property
    def style_name(self) -> str:
        """The picker's name for the current style ("" for none)."""
        name = self._scene.style.name
        return "" if name == NO_STYLE else name

    @property
    def style_entry(self) -> StyleEntry | None:
        return self.styles.entry(self._scene.style.name)

    def style_title(self) -> str:
        return style_title(self.style_entry, self._scene.style.strength)

    def set_strength(self, strength: float) -> None:
        strength = float(np.clip(strength, 0.0, 1.0))
        self._scene = replace(self._scene, style=replace(self._scene.style, strength=strength))
        self.styleChanged.emit(self.style_name, strength)
        self.request_frame()
        self._schedule_autosave()

    def new_seed(self) -> int:
        """Draw new sensor noise (the seed otherwise holds still so the picture does not shimmer)."""
        seed = int(self._rng.integers(0, 2 ** 31 - 1))
        self._scene = replace(self._scene, seed=seed)
        self.request_frame()
        self._schedule_autosave()
        self.statusMessage.emit(f"New noise seed {seed}")
        return seed

    def set_compare(self, enabled: bool) -> None:
        """A/B mode: simulator | generator | generator + style (needs the generator)."""
        self._compare = bool(enabled)
        self.request_frame()

    def set_source(self, source: str) -> None:
        """Show the generator's depth (+ style) or the simulator's; a view setting, no undo step."""
        if source not in DEPTH_SOURCES:
            raise ValueError(f"unknown depth source {source!r}; valid: {', '.join(DEPTH_SOURCES)}")
        if source == self._source:
            return
        self._source = source
        self.sourceChanged.emit(self.source)
        self.request_frame()
        self._schedule_autosave()

    # -- frames ---------------------------------------------------------------------------------
    def frame_request(self) -> FrameRequest:
        s = self._scene
        entry = self.style_entry
        return FrameRequest(joints=forward_kinematics(s.hand), camera=s.camera,
                            thickness=s.hand.shape.thickness,
                            style=entry.style if entry is not None else None, seed=s.seed,
                            use_generator=self.compare or self.source == "generator",
                            strength=s.style.strength)

    def request_frame(self) -> None:
        """Ask for a frame of the current scene (never blocks; see the module docstring)."""
        if self._closed:
            return
        self._stale = True
        self._submit_if_stale()

    def _submit_if_stale(self) -> None:
        if not self._stale or self._in_flight or self._submit_timer.isActive() or self._closed:
            return
        wait_ms = MIN_FRAME_INTERVAL_MS - (time.perf_counter() - self._last_submit) * 1e3
        if wait_ms > 0:
            self._submit_timer.start(int(np.ceil(wait_ms)))
            return
        self._stale = False
        self._last_submit = time.perf_counter()
        self.last_request_id = self._in_flight = self.runtime.submit(
            self.frame_request(), self._on_frame_from_worker, self._frameFailed.emit)
        self._lost_timer.start()

    def _on_frame_lost(self) -> None:
        """Safety net: the runtime answers every request it renders, so this means a hang."""
        if self._in_flight and not self._closed:
            log.warning("frame %d did not come back: %s", self._in_flight, self.runtime.last_error)
            self._report_frame_error(self.runtime.last_error or "timed out")
            self._in_flight = 0
            self._submit_if_stale()

    @QtCore.Slot(object)
    def _on_frame_failed(self, failure: FrameFailure) -> None:
        """The request in flight produced no frame: say why (once), and go on with the next."""
        if self._closed:
            return
        self._report_frame_error(failure.message)
        if self._in_flight and failure.request_id >= self._in_flight:
            self._in_flight = 0
            self._lost_timer.stop()
            self._submit_if_stale()

    def _report_frame_error(self, message: str) -> None:
        """One status line per distinct failure: a drag over a broken model must not flood it."""
        if message != self._frame_error:
            self._frame_error = message
            self.statusMessage.emit(f"Frame failed: {message}")

    @property
    def settled(self) -> bool:
        """Nothing is waiting to be submitted or rendered: the runtime has answered the scene."""
        return not self._stale and not self._in_flight

    @property
    def frame_is_current(self) -> bool:
        """True when the frame on screen shows the scene as it is now."""
        return (not self._stale and not self._in_flight and self._shown is not None
                and self._shown.request_id == self.last_request_id)

    def _on_frame_from_worker(self, result: FrameResult) -> None:
        """Runtime worker thread: leave the frame in the mailbox, wake the GUI once."""
        with self._mail_lock:
            wake = self._mail is None
            self._mail = result
        if wake:
            self._frameArrived.emit()

    @QtCore.Slot()
    def _on_frame_arrived(self) -> None:
        with self._mail_lock:
            result, self._mail = self._mail, None
        if result is None or self._closed:
            return
        if self._shown is not None and result.request_id <= self._shown.request_id:
            return
        if not self.paced_by_view:
            self.frame_drawn(result.request_id)
        self._frame_error = None
        if result.range_warning != self._range_warning:  # said once, not once per frame
            self._range_warning = result.range_warning
            if result.range_warning:
                self.statusMessage.emit(f"{result.range_warning}. Change Camera > Distance.")
        self._shown = result
        self._frame_times.append(time.perf_counter())
        self.frameReady.emit(result)

    def frame_drawn(self, request_id: int) -> None:
        """A view has drawn frame `request_id`: the next scene may go to the runtime."""
        if request_id >= self._in_flight:
            self._in_flight = 0
            self._lost_timer.stop()
            self._submit_if_stale()

    def wait_for_frame(self, timeout_s: float = 10.0) -> bool:
        """Process events until the runtime has answered the current scene; True when its frame
        is on screen, False at once when it failed (tests, screenshot)."""
        deadline = time.monotonic() + timeout_s
        app = QtCore.QCoreApplication.instance()
        while not (self.frame_is_current or self.settled) and time.monotonic() < deadline:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        return self.frame_is_current

    def wait_for_generator(self, timeout_s: float = 30.0) -> bool:
        """Process events until the generator's loading has finished; True if one is available."""
        deadline = time.monotonic() + timeout_s
        app = QtCore.QCoreApplication.instance()
        thread = self._generator_thread
        while thread is not None and thread.is_alive() and time.monotonic() < deadline:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)
        app.processEvents()  # deliver the loader's queued signal
        return self.generator_available

    # -- generator ------------------------------------------------------------------------------
    def _load_generator(self) -> None:
        generator, device, message = load_default_generator()
        if self._closed:
            return
        self.runtime.generator = generator
        self.device = device
        self.generator_available = generator is not None
        self._generatorLoaded.emit(message)

    def _on_generator_loaded(self, message: str) -> None:
        if self._closed:
            return
        self.statusMessage.emit(message)
        self.generatorChanged.emit(self.generator_available)
        self.sourceChanged.emit(self.source)
        if self.compare or self.source == "generator":
            self.request_frame()

    # -- files ----------------------------------------------------------------------------------
    def _current_scene(self) -> Scene:
        """The scene with the views' state (colormap, levels, 3D view) folded in."""
        if self.view_provider is not None:
            self._scene = replace(self._scene, view=self.view_provider())
        return replace(self._scene, view=replace(self._scene.view, compare=self._compare,
                                                 source=self._source))

    def save_scene(self, path: str | Path) -> None:
        scene_io.save_scene(path, self._current_scene())
        self.statusMessage.emit(f"Saved scene {Path(path).name}")

    def open_scene(self, path: str | Path) -> None:
        """Load a scene file (SceneFileError, one line, when it cannot be read)."""
        self.replace_scene(scene_io.load_scene(path))
        self.statusMessage.emit(f"Opened scene {Path(path).name}")

    def replace_scene(self, scene: Scene) -> None:
        """Start over from `scene`: the history is cleared, views re-read everything."""
        self._compare = scene.view.compare
        self._source = scene.view.source
        self.history.clear()
        self._scene = replace(scene, style=self.styles.restore(scene.style))
        self.sceneReplaced.emit()
        self.cameraChanged.emit(self._scene.camera)
        self.styleChanged.emit(self.style_name, self._scene.style.strength)
        self.sourceChanged.emit(self.source)
        self.poseChanged.emit(self._scene.hand)
        self.historyChanged.emit()
        self.request_frame()

    def autosave(self) -> None:
        if not self._autosave_enabled:
            return
        try:
            scene_io.write_autosave(self._current_scene())
        except OSError as e:
            self.statusMessage.emit(f"Autosave failed: {e}")

    def _schedule_autosave(self) -> None:
        if self._autosave_enabled and not self._closed:
            self._autosave_timer.start()

    def export_current(self, folder: str | Path) -> dict[str, Path]:
        """Write the current sample (engine.export) into `folder` under the next free name: the
        current source's depth (`shown_depth`), from the frame on screen when it shows the
        current scene, else rendered now."""
        frame = self._shown
        if not self.frame_is_current or self.dragging:
            frame = compute_frame(self.frame_request(), self.runtime.generator)
        source, _ = self.shown_depth(frame)
        style = self._scene.style
        provenance = {**style_provenance(style.name, style.scale_mm, frame.request.style, style.strength),
                      "seed": self._scene.seed}
        content = sample_of_frame(frame, self._scene.pose_record(), source, provenance)
        paths = write_sample(folder, content)
        self.statusMessage.emit(f"Exported {paths['depth'].name.rsplit('_', 1)[0]} to {Path(folder)}")
        return paths

    # -- teardown -------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def shutdown(self) -> None:
        """Autosave, then stop the runtime (before the QApplication goes away)."""
        if self._closed:
            return
        self._autosave_timer.stop()
        self.autosave()
        self._closed = True
        for timer in (self._submit_timer, self._lost_timer):
            timer.stop()
        self.styles.shutdown()
        self.runtime.shutdown()
        # A loader still inside torch when the interpreter exits makes the C++ runtime abort
        # ("terminate called without an active exception"): let it finish first.
        if self._generator_thread is not None:
            self._generator_thread.join(GENERATOR_JOIN_TIMEOUT_S)
