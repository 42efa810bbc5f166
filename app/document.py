"""The document: the scene the user edits and its undo history, Qt-free.

Every change to the scene goes through here, so there is one writer and one history. Undo
covers the whole document content: pose, camera, style (name, strength) and the noise seed.
It does not cover the view state (crop, compare, source, levels, colormap, orbit): those change
how the document is looked at, not what it is, as in napari where the camera is not undone.

Listeners get the set of what changed (CHANGE_KINDS) after each change, so the Qt controller
can turn them into signals and a view never has to diff scenes itself.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from app.history import EditHistory
from app.scene import Scene, StyleChoice, same_pose
from engine.camera import Camera
from engine.hand.model import HandPose

POSE, CAMERA, STYLE, SEED, VIEW, HISTORY, REPLACED = (
    "pose", "camera", "style", "seed", "view", "history", "replaced")
CHANGE_KINDS = frozenset({POSE, CAMERA, STYLE, SEED, VIEW, HISTORY, REPLACED})

Listener = Callable[[frozenset[str]], None]


def view_change(field_name: str) -> str:
    """The change kind of one ViewState field ("view.crop"), sent alongside VIEW so a listener
    can tell a crop toggle (redraw) from a source change (a new frame)."""
    return f"{VIEW}.{field_name}"


def content_changes(a: Scene, b: Scene) -> frozenset[str]:
    """What differs between two scenes' undoable content (not the view, not the provenance)."""
    kinds = set()
    if not same_pose(a.hand, b.hand):
        kinds.add(POSE)
    if a.camera != b.camera or a.camera_preset != b.camera_preset:
        kinds.add(CAMERA)
    if a.style != b.style:
        kinds.add(STYLE)
    if a.seed != b.seed:
        kinds.add(SEED)
    return frozenset(kinds)


class SceneDocument:
    """The scene, its history, and who to tell when either changes."""

    def __init__(self, scene: Scene) -> None:
        self._scene = scene
        self.history: EditHistory[Scene] = EditHistory(lambda a, b: not content_changes(a, b))
        self._listeners: list[Listener] = []
        self._drag_start: Scene | None = None

    # -- observing ------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(kinds)` after every change; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self, kinds: frozenset[str]) -> None:
        if kinds:
            for listener in list(self._listeners):
                listener(kinds)

    @property
    def scene(self) -> Scene:
        return self._scene

    @property
    def hand(self) -> HandPose:
        return self._scene.hand

    # -- undoable edits -------------------------------------------------------------------------
    def edit(self, label: str, merge_key: object | None = None, **changes) -> bool:
        """Replace fields of the scene as one undo step (merged with the last one of the same
        key); False when nothing changed."""
        before = self._scene
        after = replace(before, **changes)
        kinds = content_changes(before, after)
        if not kinds:
            return False
        self._scene = after
        if self._drag_start is None:
            self.history.record(before, after, label, merge_key)
            kinds |= {HISTORY}
        self._notify(kinds)
        return True

    def set_pose(self, hand: HandPose, label: str, merge_key: object | None = None,
                 name: str | None = None) -> bool:
        """A pose edit; `name` is the preset it came from (any other edit ends the preset, so
        an exported pose is never still called "victory")."""
        return self.edit(label, merge_key, hand=hand, name=name)

    def set_camera(self, camera: Camera, preset: str) -> bool:
        return self.edit("Camera", "camera", camera=camera, camera_preset=preset)

    def set_style(self, style: StyleChoice, label: str, merge_key: object | None = None) -> bool:
        return self.edit(label, merge_key, style=style)

    def set_seed(self, seed: int) -> bool:
        return self.edit("New noise seed", seed=seed)

    # -- a drag: many changes, one undo step ----------------------------------------------------
    def begin_drag(self) -> None:
        self._drag_start = self._scene

    @property
    def dragging(self) -> bool:
        return self._drag_start is not None

    def end_drag(self, label: str) -> None:
        """The drag is over: the whole of it becomes one undo step."""
        start, self._drag_start = self._drag_start, None
        if start is not None and content_changes(start, self._scene):
            self.history.record(start, self._scene, label)
            self._notify(frozenset({HISTORY}))

    # -- history --------------------------------------------------------------------------------
    def undo(self) -> bool:
        return self._restore(self.history.undo())

    def redo(self) -> bool:
        return self._restore(self.history.redo())

    def _restore(self, snapshot: Scene | None) -> bool:
        if snapshot is None:
            return False
        before = self._scene
        self._scene = replace(snapshot, view=before.view)  # the view is not part of the history
        self._notify(content_changes(before, self._scene) | {HISTORY})
        return True

    # -- not undoable ---------------------------------------------------------------------------
    def set_view(self, **changes) -> bool:
        """Change how the scene is looked at (ViewState fields); no undo step. Listeners get
        VIEW and one view_change(field) per field that changed."""
        before = self._scene.view
        view = replace(before, **changes)
        changed = {view_change(k) for k in changes if getattr(view, k) != getattr(before, k)}
        if not changed:
            return False
        self._scene = replace(self._scene, view=view)
        self._notify(frozenset({VIEW, *changed}))
        return True

    def set_name(self, name: str | None) -> None:
        """The preset the pose started from: provenance, not an edit."""
        self._scene = replace(self._scene, name=name)

    def replace_scene(self, scene: Scene) -> None:
        """Start over from `scene` (opened or restored): the history is cleared."""
        self._drag_start = None
        self._scene = scene
        self.history.clear()
        self._notify(CHANGE_KINDS)

