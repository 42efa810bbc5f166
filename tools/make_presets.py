"""Regenerate resources/poses/*.json from the angle table below (run: python -m tools.make_presets).

The JSON files are what the app and CLI load; this table is where a person edits a preset.
Angles in degrees per finger: (base flexion, base abduction, middle flexion, tip flexion);
global rotation as an axis-angle vector in degrees about the camera axes.
"""
from __future__ import annotations

import numpy as np

from engine.camera import DEFAULT_CAMERA
from engine.hand.ik import move_joint
from engine.hand.limits import ANGLE_NAMES
from engine.hand.model import HandPose
from engine.hand.pose_io import PoseRecord, save_pose
from engine.hand.presets import PRESET_DIR

STRAIGHT = (0, 0, 0, 0)
CURLED = (85, 0, 95, 55)
THUMB_TUCKED = (35, 5, 40, 30)
THUMB_OUT = (-10, 45, 0, 0)
RELAX = {"thumb": (10, 15, 10, 10), "index": (12, 2, 18, 8), "middle": (15, 0, 22, 10),
         "ring": (18, -2, 25, 12), "little": (20, -5, 28, 14)}

PRESETS: dict[str, dict] = {
    "relaxed": RELAX,
    "open_palm": {"thumb": (0, 35, 0, 0), "index": (0, 8, 0, 0), "middle": (0, 0, 0, 0),
                  "ring": (0, -6, 0, 0), "little": (0, -14, 0, 0)},
    "spread": {"thumb": (-10, 55, -5, -10), "index": (0, 18, 0, 0), "middle": (0, 2, 0, 0),
               "ring": (0, -12, 0, 0), "little": (0, -28, 0, 0)},
    "fist": {"thumb": THUMB_TUCKED, "index": CURLED, "middle": CURLED, "ring": CURLED, "little": CURLED},
    "point": {"thumb": THUMB_TUCKED, "index": STRAIGHT, "middle": CURLED, "ring": CURLED, "little": CURLED},
    "pinch": {"thumb": (30, 35, 15, 15), "index": (45, 5, 45, 25), "middle": (20, 0, 25, 10),
              "ring": (22, -3, 28, 12), "little": (25, -6, 30, 14), "touch": (4, 8)},
    "ok": {"thumb": (30, 35, 15, 15), "index": (45, 5, 45, 25), "middle": (0, 2, 0, 0),
           "ring": (0, -8, 0, 0), "little": (0, -18, 0, 0), "touch": (4, 8)},
    "victory": {"thumb": THUMB_TUCKED, "index": (0, 14, 0, 0), "middle": (0, -8, 0, 0),
                "ring": CURLED, "little": CURLED},
    "thumbs_up": {"thumb": THUMB_OUT, "index": CURLED, "middle": CURLED, "ring": CURLED,
                  "little": CURLED, "rotation_deg": (0, 0, -90)},
    "grasp": {"thumb": (25, 40, 15, 10), "index": (45, 0, 45, 20), "middle": (50, 0, 45, 20),
              "ring": (52, 0, 45, 20), "little": (55, -2, 45, 20)},
    "three": {"thumb": THUMB_TUCKED, "index": (0, 10, 0, 0), "middle": STRAIGHT,
              "ring": (0, -8, 0, 0), "little": CURLED},
    "four": {"thumb": (40, 0, 35, 30), "index": (0, 8, 0, 0), "middle": STRAIGHT,
             "ring": (0, -6, 0, 0), "little": (0, -14, 0, 0)},
    "rock": {"thumb": THUMB_TUCKED, "index": (0, 5, 0, 0), "middle": CURLED, "ring": CURLED,
             "little": (0, -12, 0, 0)},
    "call_me": {"thumb": THUMB_OUT, "index": CURLED, "middle": CURLED, "ring": CURLED,
                "little": (0, -20, 0, 0)},
    "gun": {"thumb": (-10, 40, 0, 0), "index": (0, 5, 0, 0), "middle": CURLED, "ring": CURLED,
            "little": CURLED, "rotation_deg": (0, 0, -80)},
    "claw": {"thumb": (20, 40, 30, 40), "index": (10, 10, 70, 60), "middle": (10, 0, 70, 60),
             "ring": (10, -8, 70, 60), "little": (10, -16, 70, 60)},
    "hook": {"thumb": (0, 30, 0, 0), "index": (0, 0, 95, 70), "middle": (0, 0, 95, 70),
             "ring": (0, 0, 95, 70), "little": (0, 0, 95, 70)},
    "cup": {"thumb": (20, 30, 10, 10), "index": (25, 3, 20, 10), "middle": (25, 0, 20, 10),
            "ring": (25, -3, 20, 10), "little": (28, -6, 20, 10)},
    "tripod": {"thumb": (35, 30, 20, 20), "index": (45, 0, 40, 20), "middle": (40, -8, 45, 20),
               "ring": CURLED, "little": CURLED, "touch": (4, 8)},
    "thumb_in": {"thumb": (50, 0, 50, 40), "index": STRAIGHT, "middle": STRAIGHT,
                 "ring": STRAIGHT, "little": STRAIGHT},
    "flat_side": {**{f: (0, 0, 0, 0) for f in ("index", "middle", "ring", "little")},
                  "thumb": (0, 10, 0, 0), "rotation_deg": (0, 70, 0)},
    "back_of_hand": {**RELAX, "rotation_deg": (0, 180, 0)},
    "wave": {"thumb": (0, 35, 0, 0), "index": (0, 8, 0, 0), "middle": (0, 0, 0, 0),
             "ring": (0, -6, 0, 0), "little": (0, -14, 0, 0), "rotation_deg": (0, 0, 20)},
    "pointing_at_camera": {"thumb": THUMB_TUCKED, "index": STRAIGHT, "middle": CURLED,
                           "ring": CURLED, "little": CURLED, "rotation_deg": (-60, 0, 0)},
}

# Wrist 700 mm in front of the camera: every preset's whole hand (fingertips, rotated palms and
# the forearm stub included) then spans about 590-800 mm, inside every shipped sensor's working
# range (Kinect v1 from 400 mm, ToF from 500 mm, RealSense to 1500 mm: engine.sim.sensors) and
# the generator's training range (300-1000 mm, engine.hand.sampler.PoseRanges);
# tests/test_presets.py renders all of them through every sensor.
WRIST_MM = (0.0, 70.0, 700.0)
# Fingertip joints sit at the pad's surface end; touching pads leave about this gap between them.
CONTACT_GAP_MM = 6.0


def preset_pose(spec: dict) -> HandPose:
    angles = np.deg2rad([v for f in ("thumb", "index", "middle", "ring", "little") for v in spec[f]])
    assert len(angles) == len(ANGLE_NAMES)
    rot = np.deg2rad(np.array(spec.get("rotation_deg", (0.0, 0.0, 0.0)), dtype=float))
    hand = HandPose(angles=angles, rotation=rot, translation=np.array(WRIST_MM))
    if "touch" in spec:  # close the gap by inverse kinematics, within the joint limits
        mover, anchor = spec["touch"]
        j = hand.joints()
        gap = j[mover] - j[anchor]
        hand = move_joint(hand, mover, j[anchor] + gap / np.linalg.norm(gap) * CONTACT_GAP_MM)
    return hand


def main() -> None:
    for name, spec in PRESETS.items():
        hand = preset_pose(spec)
        hand = hand.with_angles(hand.angles)
        save_pose(PRESET_DIR / f"{name}.json", PoseRecord.from_hand(hand, DEFAULT_CAMERA, name=name))


if __name__ == "__main__":
    main()
