"""The controller: wires the document, the style session, the frame scheduler and the files
to the Qt views. It owns no state of its own beyond that wiring.

    SceneDocument (app.document)      the scene and its undo history; the only writer
    StyleSession (app.style_session)  the style bank, prepared off the GUI thread
    FrameScheduler (app.frame_scheduler)  latest-wins frames from the runtime to the GUI
    engine.generator_loading          the generator, its device and thread policy
    engine.frame_process              generator frames computed in a child process
    app.sample_export / app.scene     Ctrl+E and scene files

Widgets report what the user did; app.pose_edits turns a pose gesture into a document edit
through engine functions (IK, controls, sampler); the document says what changed, and the controller
turns that into signals, a frame request and an autosave.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6 import QtCore

from app import document as doc
from app import scene as scene_io
from app.document import SceneDocument
from app.frame_scheduler import FrameScheduler
from app.history import EditHistory
from app.long_tasks import LongTasks
from app.pose_edits import PoseEdits
from app.sample_export import export_sample, exported_name
from app.scene import DEPTH_SOURCES, Scene, ViewState
from app.style_bank import NO_STYLE, StyleEntry, style_title
from app.style_session import StyleSession
from engine.camera import Camera
from engine.frame_process import FrameProcess
from engine.generator_loading import CANCELLED_MESSAGE, load_generator_in_background
from engine.hand.model import HandPose, forward_kinematics
from engine.runtime import DepthRuntime, FrameRequest, FrameResult, compute_frame

log = logging.getLogger(__name__)

AUTOSAVE_DELAY_MS = 1500  # after the last change; also on exit
GENERATOR_JOIN_TIMEOUT_S = 30.0  # loading the shipped generator takes 1-3 s


class StudioController(QtCore.QObject):
    """Wires the document, styles, frames and files together (see the module docstring)."""

    poseChanged = QtCore.Signal(object)  # HandPose
    frameReady = QtCore.Signal(object)  # FrameResult, on the GUI thread, never older than the last
    cameraChanged = QtCore.Signal(object)  # Camera
    styleChanged = QtCore.Signal(str, float)  # style name (picker's), strength
    styleReady = QtCore.Signal(str)  # the chosen style is prepared: its picture can be shown
    stylesChanged = QtCore.Signal()  # the bank gained an entry
    historyChanged = QtCore.Signal()
    generatorChanged = QtCore.Signal(bool)
    sourceChanged = QtCore.Signal(str)  # the depth source shown now (see `source`)
    viewChanged = QtCore.Signal(object)  # ViewState: crop, compare, source, levels, colormap, orbit
    statusMessage = QtCore.Signal(str)
    sceneReplaced = QtCore.Signal()  # a scene was opened or restored: views re-read everything
    _generatorLoaded = QtCore.Signal(object, str, str)  # loader thread -> GUI thread

    def __init__(self, scene: Scene | None = None, *, autosave: bool = True,
                 load_generator: bool = True, frames_in_process: bool = True,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.runtime = DepthRuntime()
        # Generator frames computed in a process of their own once it has loaded its generator
        # (engine.frame_process: no wait for this thread's GIL); until then, and without it, on
        # the runtime's thread.
        self._frames_in_process = frames_in_process
        self.generator_available = False
        self.device = "CPU"
        self._rng = np.random.default_rng()  # noise seeds
        self._closed = False
        self.tasks = LongTasks(self)  # the long actions running now, each cancellable
        self.styles = StyleSession(self.set_style, lambda: self.document.scene.style.name,
                                   self.tasks, self)
        self.styles.entriesChanged.connect(self.stylesChanged)
        self.styles.ready.connect(self.styleReady)
        self.styles.message.connect(self.statusMessage)
        scene = scene or scene_io.default_scene()
        self.document = SceneDocument(replace(scene, style=self.styles.restore(scene.style)))
        self.document.subscribe(self._on_document_changed)
        self.pose_edits = PoseEdits(self.document)
        self.frames = FrameScheduler(self.runtime, self.frame_request, self)
        self.frames.frameReady.connect(self.frameReady)
        self.frames.frameFailed.connect(lambda m: self.statusMessage.emit(f"Frame failed: {m}"))
        self.frames.rangeWarningChanged.connect(self._on_range_warning)
        self._range_warning = ""

        self._generatorLoaded.connect(self._on_generator_loaded, QtCore.Qt.ConnectionType.QueuedConnection)
        self._autosave_timer = QtCore.QTimer(self, singleShot=True, interval=AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_enabled = autosave
        self._generator_thread: threading.Thread | None = None
        self._generator_cancel = threading.Event()
        if load_generator:
            self._generator_thread = load_generator_in_background(self._generatorLoaded.emit,
                                                                  self._generator_cancel)
            self.tasks.begin("generator", "Loading the generator", self._cancel_generator)

    # -- state ----------------------------------------------------------------------------------
    @property
    def scene(self) -> Scene:
        return self.document.scene

    @property
    def view(self) -> ViewState:
        return self.document.scene.view

    @property
    def history(self) -> EditHistory[Scene]:
        return self.document.history

    @property
    def hand(self) -> HandPose:
        return self.document.hand

    @property
    def joints(self) -> np.ndarray:
        return forward_kinematics(self.hand)

    @property
    def shown_frame(self) -> FrameResult | None:
        return self.frames.shown_frame

    @property
    def compare(self) -> bool:
        return self.view.compare and self.generator_available

    @property
    def source(self) -> str:
        """The depth the single view shows and Ctrl+E exports: the chosen source, the simulator
        while the generator loads or when there is none."""
        chosen = self.view.source
        return "generator" if chosen == "generator" and self.generator_available else "simulator"

    def shown_depth(self, frame: FrameResult) -> tuple[str, np.ndarray]:
        """(source, depth mm) of `frame` for the single view and export: the current source's,
        the simulator's when the frame was computed without the generator."""
        if self.source == "generator" and frame.generated is not None:
            return "generator", frame.depth
        return "simulator", frame.simulator

    # -- document -> signals --------------------------------------------------------------------
    def _on_document_changed(self, kinds: frozenset[str]) -> None:
        if doc.REPLACED in kinds:
            self.sceneReplaced.emit()
        if doc.CAMERA in kinds:
            self.cameraChanged.emit(self.scene.camera)
        if doc.STYLE in kinds:
            self.styleChanged.emit(self.style_name, self.scene.style.strength)
            entry = self.style_entry
            if entry is not None:
                self.styles.prepare(entry)
        if doc.REPLACED in kinds or doc.VIEW in kinds:
            self.sourceChanged.emit(self.source)
            self.viewChanged.emit(self.view)
        if doc.POSE in kinds:
            self.poseChanged.emit(self.hand)
        if doc.HISTORY in kinds:
            self.historyChanged.emit()
        content = kinds & {doc.POSE, doc.CAMERA, doc.STYLE, doc.SEED, doc.REPLACED}
        if content or kinds & {doc.view_change(k) for k in ("compare", "source", "silhouette_cut")}:
            self.request_frame()
        if kinds != {doc.HISTORY}:
            self._schedule_autosave()

    # -- pose edits (app.pose_edits) and history -----------------------------------------------
    def begin_drag(self) -> None:
        self.document.begin_drag()

    def end_drag(self, label: str) -> None:
        """The drag is over: the whole of it becomes one undo step."""
        self.document.end_drag(label)

    @property
    def dragging(self) -> bool:
        return self.document.dragging

    def undo(self) -> None:
        self.document.undo()

    def redo(self) -> None:
        self.document.redo()

    # -- camera, style, seed --------------------------------------------------------------------
    def set_camera(self, camera: Camera, preset: str | None = None) -> None:
        self.document.set_camera(camera, preset or scene_io.camera_preset_name(camera))

    def style_entries(self) -> list[StyleEntry]:
        """The bank, then the user's images (the picker's own "None" stands for NO_STYLE)."""
        return self.styles.entries()

    def add_style_image(self, path: str | Path, scale_mm: float | None = None) -> None:
        """Add any depth PNG to the bank and choose it (prepared off the GUI thread)."""
        self.styles.add_image(path, scale_mm)

    def set_style(self, name: str) -> None:
        """Choose a style of the bank by name ("" or NO_STYLE: none); it is prepared off the
        GUI thread (the runtime waits for it, the GUI never does). One undo step."""
        name = name or NO_STYLE
        entry = self.styles.entry(name)
        if entry is None and name != NO_STYLE:
            raise KeyError(name)
        scale = entry.scale_mm if entry is not None else None
        choice = replace(self.scene.style, name=name, scale_mm=scale)
        title = entry.title if entry is not None else "none"
        self.document.set_style(choice, f"Style {title}")

    @property
    def style_name(self) -> str:
        """The picker's name for the current style ("" for none)."""
        name = self.scene.style.name
        return "" if name == NO_STYLE else name

    @property
    def style_entry(self) -> StyleEntry | None:
        return self.styles.entry(self.scene.style.name)

    def style_title(self) -> str:
        return style_title(self.style_entry, self.scene.style.strength)

    def set_strength(self, strength: float) -> None:
        strength = float(np.clip(strength, 0.0, 1.0))
        self.document.set_style(replace(self.scene.style, strength=strength), "Style strength",
                                merge_key="strength")

    def new_seed(self) -> int:
        """Draw new sensor noise (the seed otherwise holds still so the picture does not shimmer)."""
        seed = int(self._rng.integers(0, 2 ** 31 - 1))
        self.document.set_seed(seed)
        self.statusMessage.emit(f"New noise seed {seed}")
        return seed

    # -- view state (no undo) -------------------------------------------------------------------
    def set_view(self, **changes) -> None:
        """Change the view state (ViewState fields); views mirror it through `viewChanged`."""
        self.document.set_view(**changes)

    def set_compare(self, enabled: bool) -> None:
        """A/B mode: simulator | generator | generator + style (needs the generator)."""
        self.set_view(compare=bool(enabled))

    def set_source(self, source: str) -> None:
        """Show the generator's depth (+ style) or the simulator's; a view setting, no undo step."""
        if source not in DEPTH_SOURCES:
            raise ValueError(f"unknown depth source {source!r}; valid: {', '.join(DEPTH_SOURCES)}")
        self.set_view(source=source)

    def set_silhouette_cut(self, enabled: bool) -> None:
        """The generator's depth with its silhouette cut (on) or the network's raw output (off),
        the switch `generate --no-cut` is; a view setting, no undo step."""
        self.set_view(silhouette_cut=bool(enabled))

    # -- frames ---------------------------------------------------------------------------------
    def _use_generator(self) -> bool:
        return self.compare or self.source == "generator"

    def frame_request(self) -> FrameRequest:
        s = self.scene
        entry = self.style_entry
        return FrameRequest(joints=forward_kinematics(s.hand), camera=s.camera,
                            thickness=s.hand.shape.thickness,
                            style=entry.style if entry is not None else None, seed=s.seed,
                            use_generator=self._use_generator(), strength=s.style.strength,
                            silhouette_cut=s.view.silhouette_cut, with_simulator=self.compare)

    def request_frame(self) -> None:
        """Ask for a frame of the current scene (never blocks; latest wins)."""
        if not self._closed:
            self.frames.request()

    def frame_drawn(self, request_id: int) -> None:
        self.frames.frame_drawn(request_id)

    def wait_for_frame(self, timeout_s: float = 10.0) -> bool:
        """True when the current scene's frame is on screen (tests, screenshot)."""
        return self.frames.wait(timeout_s)

    def _on_range_warning(self, warning: str) -> None:
        """Say a range warning once; take it back when the hand is in range again."""
        if warning:
            self.statusMessage.emit(f"{warning}. Change Camera > Distance.")
        elif self._range_warning:
            self.statusMessage.emit("The hand is within the sensor's range again")
        self._range_warning = warning

    # -- generator ------------------------------------------------------------------------------
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

    def wait_for_frame_process(self, timeout_s: float = 60.0) -> bool:
        """Wait (without events) until generator frames are computed in the frame process;
        False when there is none or it could not start (frames are then computed here)."""
        process = self.runtime.process
        return process is not None and bool(process.wait_ready(timeout_s)) and self.runtime.computes_in_process

    def _cancel_generator(self) -> None:
        """Stop loading the generator (it stops between its steps): the app stays on the
        simulator; whatever the loader still returns is dropped."""
        self._generator_cancel.set()
        self.statusMessage.emit(CANCELLED_MESSAGE)

    def _on_generator_loaded(self, generator, device: str, message: str) -> None:
        self.tasks.end("generator")
        if self._closed or self._generator_cancel.is_set():
            return
        self.runtime.generator = generator
        if generator is not None and self._frames_in_process:
            self.runtime.use_process(FrameProcess())
        self.device = device
        self.generator_available = generator is not None
        self.statusMessage.emit(message)
        self.generatorChanged.emit(self.generator_available)
        self.sourceChanged.emit(self.source)
        if self._use_generator():
            self.request_frame()

    # -- files ----------------------------------------------------------------------------------
    def save_scene(self, path: str | Path) -> None:
        scene_io.save_scene(path, self.scene)
        self.statusMessage.emit(f"Saved scene {Path(path).name}")

    def open_scene(self, path: str | Path) -> None:
        """Load a scene file (SceneFileError, one line, when it cannot be read)."""
        self.replace_scene(scene_io.load_scene(path))
        self.statusMessage.emit(f"Opened scene {Path(path).name}")

    def replace_scene(self, scene: Scene) -> None:
        """Start over from `scene`: the history is cleared, views re-read everything."""
        self.document.replace_scene(replace(scene, style=self.styles.restore(scene.style)))

    def autosave(self) -> None:
        if not self._autosave_enabled:
            return
        try:
            scene_io.write_autosave(self.scene)
        except OSError as e:
            self.statusMessage.emit(f"Autosave failed: {e}")

    def _schedule_autosave(self) -> None:
        if self._autosave_enabled and not self._closed:
            self._autosave_timer.start()

    def export_current(self, folder: str | Path) -> dict[str, Path]:
        """Write the current sample into `folder` under the next free name: the current
        source's depth (`shown_depth`), from the frame on screen when it shows the current
        scene, else rendered now."""
        frame = self.shown_frame
        if not self.frames.frame_is_current or self.dragging:
            frame = compute_frame(self.frame_request(), self.runtime.generator)
        source, _ = self.shown_depth(frame)
        paths = export_sample(folder, self.scene, frame, source)
        self.statusMessage.emit(f"Exported {exported_name(paths)} to {Path(folder)}")
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
        self.frames.shutdown()
        self.styles.shutdown()
        self.runtime.shutdown()
        # A loader still inside torch when the interpreter exits makes the C++ runtime abort
        # ("terminate called without an active exception"): let it finish first.
        if self._generator_thread is not None:
            self._generator_thread.join(GENERATOR_JOIN_TIMEOUT_S)
