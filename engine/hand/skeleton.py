"""The 21-joint skeleton in MediaPipe/FreiHAND order, its bones and the part labels.

Defined once here; widgets receive these as plain data from app/.
"""
from __future__ import annotations

NUM_JOINTS = 21

JOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "little_mcp", "little_pip", "little_dip", "little_tip",
)

FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "little")

# Joint indices of each finger chain, from its base to its tip.
FINGER_JOINTS: dict[str, tuple[int, int, int, int]] = {
    "thumb": (1, 2, 3, 4),
    "index": (5, 6, 7, 8),
    "middle": (9, 10, 11, 12),
    "ring": (13, 14, 15, 16),
    "little": (17, 18, 19, 20),
}

FINGERTIPS: tuple[int, ...] = (4, 8, 12, 16, 20)

# Parent of each joint (wrist is the root).
PARENTS: tuple[int, ...] = (
    -1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19,
)

# Bones as (parent, child) joint pairs: the kinematic tree.
BONES: tuple[tuple[int, int], ...] = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)

# Part labels of the simulator's label map and the segmentation task.
PART_LABELS: tuple[str, ...] = (
    "background", "palm", "thumb", "index", "middle", "ring", "little", "forearm",
)
PART_INDEX: dict[str, int] = {name: i for i, name in enumerate(PART_LABELS)}


def finger_of_joint(joint: int) -> str | None:
    """Name of the finger a joint belongs to, or None for the wrist."""
    for finger, chain in FINGER_JOINTS.items():
        if joint in chain:
            return finger
    return None
