"""The presenter, Qt-free: turns the document into data a widget can draw as it is.

The window asks it what to draw (the hand's joints, bones, colours and volume for the 3D view,
the pose panel's numbers, the depth view's levels) and what a gesture means (a screen-space
rotation as an axis-angle in the camera frame), so none of that engine work hides in a Qt slot
and all of it can be tested without a window.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.hand import controls
from engine.hand.ik import joints_at_limit
from engine.hand.model import HandPose, forward_kinematics, matrix_to_rotvec, rotvec_to_matrix
from engine.hand.skeleton import BONES, FINGERS, JOINT_NAMES, PART_INDEX, finger_of_joint
from engine.sim.preview import PART_COLOURS_BGR
from engine.sim.volume import build_hand_volume

# Depth view levels: a fixed window around the hand centre's depth, so the picture does not jump
# with every frame; an open hand is ~60 mm deep, a fist or fingers towards the camera ~150 mm.
LEVELS_NEAR_MM, LEVELS_FAR_MM = 110.0, 90.0
LEVELS_ROUND_MM = 10.0
# Levels from the hand's own depths: robust percentiles (a few stray pixels must not stretch
# them), padded by a centimetre so the nearest fingertip is not clipped to white, from pixels
# within 250 mm of the hand's median (a hand is under 200 mm deep; flying pixels are not).
HAND_PERCENTILES = (2.0, 98.0)
LEVELS_PAD_MM = 10.0
HAND_WINDOW_MM = 250.0
MIN_HAND_PIXELS = 20
FOREARM_LABEL = PART_INDEX["forearm"]
# Joint colours: each finger in its part-label colour (engine.sim.preview), the wrist in grey.
_PART_RGB = PART_COLOURS_BGR[:, ::-1].astype(np.float64) / 255.0
JOINT_COLORS = np.array([_PART_RGB[1] if finger_of_joint(j) is None
                         else _PART_RGB[2 + FINGERS.index(finger_of_joint(j))]
                         for j in range(len(JOINT_NAMES))])


@dataclass(frozen=True)
class HandDrawing:
    """What the 3D view draws for one pose."""

    joints: np.ndarray  # (21, 3) mm, camera frame
    bones: tuple[tuple[int, int], ...]
    colors: np.ndarray  # (21, 3) RGB 0..1
    at_limit: frozenset[int]  # joints held by a limit: drawn marked
    surface: tuple[np.ndarray, np.ndarray] | None  # sphere centres, radii; None while dragging


@dataclass(frozen=True)
class PosePanelState:
    """The pose panel's sliders for one pose."""

    curls: dict[str, float]
    spreads: dict[str, float]
    rotation: tuple[float, float, float]
    handedness: str
    distance_mm: float
    thickness: float


def hand_drawing(hand: HandPose, with_surface: bool = True) -> HandDrawing:
    """The skeleton, and the translucent volume unless a drag wants the skeleton alone (the
    surface is the canvas's heaviest layer)."""
    joints = forward_kinematics(hand)
    surface = None
    if with_surface:
        volume = build_hand_volume(joints, hand.shape.thickness)
        surface = (volume.centres, volume.radii)
    return HandDrawing(joints, tuple(BONES), JOINT_COLORS, frozenset(joints_at_limit(hand)), surface)


def pose_panel_state(hand: HandPose) -> PosePanelState:
    return PosePanelState(curls={f: controls.finger_curl(hand, f) for f in FINGERS},
                          spreads={f: controls.finger_spread(hand, f) for f in FINGERS},
                          rotation=tuple(controls.global_rotation_deg(hand)),
                          handedness=hand.handedness, distance_mm=controls.hand_distance(hand),
                          thickness=hand.shape.thickness)


def screen_rotation(dx_deg: float, dy_deg: float, right: np.ndarray, down: np.ndarray) -> np.ndarray:
    """A mouse move of dx, dy degrees as an axis-angle in the camera frame: dragging right turns
    the hand about the view's down axis, dragging down about its right axis."""
    turn = (rotvec_to_matrix(math.radians(dy_deg) * np.asarray(right))
            @ rotvec_to_matrix(-math.radians(dx_deg) * np.asarray(down)))
    return matrix_to_rotvec(turn)


def distance_levels(hand: HandPose) -> tuple[float, float]:
    """Depth view levels around the hand's distance, rounded so small moves keep them still."""
    d = controls.hand_distance(hand)
    near = LEVELS_ROUND_MM * round((d - LEVELS_NEAR_MM) / LEVELS_ROUND_MM)
    far = LEVELS_ROUND_MM * round((d + LEVELS_FAR_MM) / LEVELS_ROUND_MM)
    return max(near, 1.0), far


def hand_levels(depth: np.ndarray, labels: np.ndarray, hand: HandPose) -> tuple[float, float]:
    """Depth view levels that serve the hand: the 2nd-98th percentile of the hand's valid
    pixels (part labels of the clean render, the forearm left out), widened a little and
    rounded so a small move keeps them still. Pixels farther than HAND_WINDOW_MM from the
    hand's median (ToF flying pixels at 1,800 mm) are left out; with no hand pixels, the
    levels around the hand's distance (`distance_levels`)."""
    hand_px = (labels > 0) & (labels != FOREARM_LABEL) & (depth > 0)
    values = depth[hand_px]
    if values.size:
        values = values[np.abs(values - np.median(values)) < HAND_WINDOW_MM]
    if values.size < MIN_HAND_PIXELS:
        return distance_levels(hand)
    lo, hi = np.percentile(values, HAND_PERCENTILES)
    near = LEVELS_ROUND_MM * math.floor((lo - LEVELS_PAD_MM) / LEVELS_ROUND_MM)
    far = LEVELS_ROUND_MM * math.ceil((hi + LEVELS_PAD_MM) / LEVELS_ROUND_MM)
    return max(near, 1.0), far
