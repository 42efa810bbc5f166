"""Pose gestures as document edits, Qt-free: each turns what the user did (a joint drag, a
slider, a preset, a button) into one `SceneDocument.set_pose` through the engine's IK, controls
and sampler. Sliders merge into one undo step per control (merge keys); a drag is one step from
`begin_drag` to `end_drag` (the document's)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.document import SceneDocument
from engine.hand import controls
from engine.hand.ik import move_joint, rotate_hand
from engine.hand.model import HandPose, forward_kinematics
from engine.hand.presets import load_preset
from engine.hand.sampler import PoseRanges, mirror_pose, sample_pose

# Random poses keep the hand where it is and facing the camera roughly (a back-facing random
# orientation is rarely what someone posing a hand wants from one click).
RANDOM_MAX_ROTATION_DEG = 50.0
CENTRE_JOINT = 9  # middle MCP: the point a new pose keeps in place


class PoseEdits:
    """The pose edits a user can make, each one document edit with an undo label."""

    def __init__(self, document: SceneDocument, rng: np.random.Generator | None = None) -> None:
        self._document = document
        self._rng = rng or np.random.default_rng()

    @property
    def hand(self) -> HandPose:
        return self._document.hand

    def set_pose(self, hand: HandPose, label: str, merge_key: object | None = None) -> None:
        """Make `hand` the pose: one undo step (merged with the last one of the same key)."""
        self._document.set_pose(hand, label, merge_key)

    def drag_joint(self, joint: int, target: np.ndarray) -> None:
        """One mouse move of a joint drag: IK from the current pose, no undo step yet."""
        if not self._document.dragging:
            self._document.begin_drag()
        self._document.set_pose(move_joint(self.hand, joint, target), "Drag")

    def rotate_by(self, rotvec: np.ndarray) -> None:
        """One mouse move of a hand rotation (axis-angle, camera frame), about the hand centre."""
        if not self._document.dragging:
            self._document.begin_drag()
        self._document.set_pose(rotate_hand(self.hand, rotvec), "Rotate hand")

    def apply_preset(self, name: str) -> None:
        """Take a preset's fingers and orientation, keeping the hand where it is."""
        record = load_preset(name)
        if record.hand is None:
            return
        hand = replace(record.hand, handedness=self.hand.handedness)
        self._document.set_pose(self._keep_centre(hand), f"Preset {name}", name=name)

    def random_pose(self) -> None:
        ranges = PoseRanges(max_rotation_deg=RANDOM_MAX_ROTATION_DEG, size=(1.0, 1.0),
                            finger_scale=(1.0, 1.0), thickness=(1.0, 1.0))
        sampled = sample_pose(self._rng, ranges, handedness=self.hand.handedness)
        hand = replace(sampled, shape=self.hand.shape)
        self.set_pose(self._keep_centre(hand), "Random pose")

    def mirror(self) -> None:
        self.set_pose(mirror_pose(self.hand), "Mirror")

    def set_thickness(self, thickness: float) -> None:
        """The hand's shape.thickness: the simulator's radii follow it, and a shape-aware G."""
        shape = replace(self.hand.shape, thickness=float(thickness))
        self.set_pose(replace(self.hand, shape=shape), "Thickness", merge_key=("thickness",))

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

    def _keep_centre(self, hand: HandPose) -> HandPose:
        """`hand` moved so its centre (middle MCP) sits where the current hand's is."""
        centre_now = forward_kinematics(self.hand)[CENTRE_JOINT]
        offset = centre_now - forward_kinematics(hand)[CENTRE_JOINT]
        return replace(hand, translation=hand.translation + offset)
