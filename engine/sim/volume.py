"""The volumetric hand: a sphere-mesh built from the 21 joints.

Fingers, thumb and forearm are tapered capsules; the palm is a slab (flat faces offset from a
triangle fan over the wrist and knuckles, with rounded capsule rims), in the spirit of the
sphere-meshes of Tkach, Pauly & Tagliasacchi, "Sphere-Meshes for Real-Time Hand Modeling and
Tracking", SIGGRAPH Asia 2016. Built from joints alone, so any 21-joint label (a dataset's, an
imported pose) renders without fitting the kinematic model first.

Capsules are sampled as spheres. Spheres of radius r a step s apart leave a ripple of about
s^2 / (8 r) between them, so the step is chosen per capsule to keep it under RIPPLE_MM.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.hand.anatomy import (
    FINGER_RADII_MM,
    FOREARM_LENGTH,
    FOREARM_OFFSET,
    FOREARM_RADII,
    HAND_LENGTH_MM,
    NOMINAL_WRIST_TO_MCP_MM,
    PALM_RADIUS_MM,
    PALM_WRIST_CORNER,
)
from engine.hand.skeleton import FINGER_JOINTS, FINGERS, PART_INDEX

RIPPLE_MM = 0.4  # largest dip of a capsule's surface between two of its spheres


@dataclass(frozen=True)
class HandVolume:
    """Render primitives: spheres and flat slab faces (triangles offset by a radius)."""

    centres: np.ndarray  # (N, 3) mm
    radii: np.ndarray  # (N,) mm
    labels: np.ndarray  # (N,) uint8 part labels
    triangles: np.ndarray  # (T, 3, 3) mm, the palm fan before offsetting
    triangle_radius: float  # mm, the slab's half thickness
    triangle_label: int


def _capsule_spheres(a: np.ndarray, b: np.ndarray, ra: np.ndarray | float,
                     rb: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spheres along capsules a[i] -> b[i] (radius ra[i] -> rb[i]), close enough that the outline
    dips by at most RIPPLE_MM: centres, radii and each sphere's capsule index, capsule by capsule.

    Why all capsules in one pass: a hand has ~25, and a Python call per capsule cost more than
    the rest of its volume. The arithmetic is np.linspace's, element for element (the renders
    are pinned bit for bit)."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    ra, rb = np.broadcast_to(ra, len(a)), np.broadcast_to(rb, len(a))
    d = b - a
    length = np.sqrt((d[:, None, :] @ d[:, :, None])[:, 0, 0])  # np.linalg.norm's bits, per row
    step = np.sqrt(8.0 * np.minimum(ra, rb) * RIPPLE_MM)
    n = np.maximum(2, np.ceil(length / step).astype(np.int64) + 1)
    owner = np.repeat(np.arange(len(a)), n)
    ends = np.cumsum(n)
    t = (np.arange(ends[-1]) - np.repeat(ends - n, n)) * (1.0 / (n - 1))[owner]
    t[ends - 1] = 1.0  # linspace's endpoint is exact
    return a[owner] + t[:, None] * d[owner], ra[owner] + t * (rb - ra)[owner], owner


def hand_axes(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit radial (wrist-to-thumb side) and distal axes of the palm from its joints."""
    distal = joints[9] - joints[0]
    distal /= max(np.linalg.norm(distal), 1e-9)
    radial = joints[5] - joints[17]
    radial -= (radial @ distal) * distal
    radial /= max(np.linalg.norm(radial), 1e-9)
    return radial, distal


def hand_scale(joints: np.ndarray) -> float:
    """Size of a hand relative to the nominal hand (engine.hand.anatomy), from its wrist-to-knuckle lengths."""
    mcps = joints[[5, 9, 13, 17]]
    return float(np.mean(np.linalg.norm(mcps - joints[0], axis=1)) / NOMINAL_WRIST_TO_MCP_MM)


def build_hand_volume(joints: np.ndarray, thickness: float = 1.0) -> HandVolume:
    """Sphere-mesh of a hand given its 21 joints (mm). `thickness` scales every radius."""
    j = np.asarray(joints, dtype=np.float64)
    scale = hand_scale(j)
    k = scale * thickness
    hl = HAND_LENGTH_MM * scale
    radial, distal = hand_axes(j)

    capsules = []  # (a, b, ra, rb, label), sampled together below

    for finger in FINGERS:
        chain = FINGER_JOINTS[finger]
        label = PART_INDEX[finger]
        for bone, (ra, rb) in enumerate(FINGER_RADII_MM[finger]):
            a, b = j[chain[bone]], j[chain[bone + 1]]
            ra, rb = ra * k, rb * k
            if bone == 2:  # the tip joint is the fingertip's surface: pull the last sphere in
                d = b - a
                n = np.linalg.norm(d)
                if n > rb:
                    b = b - d / n * rb
            capsules.append((a, b, ra, rb, label))

    palm = PART_INDEX["palm"]
    pr = PALM_RADIUS_MM * k
    wrist_radial = j[0] + hl * (PALM_WRIST_CORNER[0] * radial + PALM_WRIST_CORNER[1] * distal)
    wrist_ulnar = j[0] + hl * (-PALM_WRIST_CORNER[0] * radial + PALM_WRIST_CORNER[1] * distal)
    rim = [wrist_radial, j[5], j[9], j[13], j[17], wrist_ulnar]
    centre = np.mean(rim, axis=0)
    triangles = []
    for i in range(len(rim)):
        a, b = rim[i], rim[(i + 1) % len(rim)]
        capsules.append((a, b, pr, pr, palm))
        triangles.append((centre, a, b))
    # Thenar web between the thumb's metacarpal and the index knuckle.
    capsules.append((j[1], j[5], 10.0 * k, 9.0 * k, palm))

    forearm = PART_INDEX["forearm"]
    back = -distal * FOREARM_LENGTH * hl
    for side in (-1.0, 1.0):
        start = j[0] + side * FOREARM_OFFSET * hl * radial
        capsules.append((start, start + back, FOREARM_RADII[0] * hl * thickness,
                         FOREARM_RADII[1] * hl * thickness, forearm))

    a, b, ra, rb, labels = (np.array(x) for x in zip(*capsules))
    centres, radii, owner = _capsule_spheres(a, b, ra, rb)
    return HandVolume(
        centres=centres, radii=radii, labels=labels.astype(np.uint8)[owner],
        triangles=np.array(triangles, dtype=np.float64), triangle_radius=pr, triangle_label=palm,
    )
