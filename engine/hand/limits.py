"""Anatomical joint-angle limits of the hand model, from published ranges of motion.

Angles are per finger (base flexion, base abduction, middle flexion, tip flexion):
  fingers: MCP flexion, MCP abduction, PIP flexion, DIP flexion;
  thumb:   CMC flexion, CMC abduction, MCP flexion, IP flexion.
Positive flexion curls towards the palm; positive abduction moves towards the thumb side
(radial) for the long fingers and away from the index finger for the thumb. The same numbers
hold for a left hand: the model mirrors the geometry, not the angles.

Sources:
  [AAOS]  American Academy of Orthopaedic Surgeons, "Joint Motion: Method of Measuring and
          Recording", 1965: MCP flexion 90, hyperextension 45; PIP 100; DIP 90, hyperextension 10;
          thumb MCP 50, thumb IP 80 (hyperextension 20), thumb palmar abduction 70.
  [LIN]   Lin, Wu & Huang, "Modeling the constraints of human hand motion", IEEE HUMO 2000:
          MCP abduction -15..15 deg for the long fingers; MCP flexion 0..90; PIP 0..110; DIP 0..90.
  [COBOS] Cobos et al., "Efficient human hand kinematics for manipulation tasks", IROS 2008:
          thumb CMC flexion/extension about -15..55 deg and abduction 0..60 deg; little finger
          abducts further than the others.
"""
from __future__ import annotations

import numpy as np

from engine.hand.skeleton import FINGERS

DOF_NAMES: dict[str, tuple[str, str, str, str]] = {
    "thumb": ("cmc_flex", "cmc_abd", "mcp_flex", "ip_flex"),
    "index": ("mcp_flex", "mcp_abd", "pip_flex", "dip_flex"),
    "middle": ("mcp_flex", "mcp_abd", "pip_flex", "dip_flex"),
    "ring": ("mcp_flex", "mcp_abd", "pip_flex", "dip_flex"),
    "little": ("mcp_flex", "mcp_abd", "pip_flex", "dip_flex"),
}
ANGLE_NAMES: tuple[str, ...] = tuple(f"{f}_{d}" for f in FINGERS for d in DOF_NAMES[f])
NUM_ANGLES = len(ANGLE_NAMES)

# Degrees, (lower, upper) per finger in DOF order.
_LIMITS_DEG: dict[str, tuple[tuple[float, float], ...]] = {
    # [COBOS] CMC; [AAOS] thumb MCP 50 (+10 hyperextension), IP 80 / -20 (we keep -15).
    "thumb": ((-15.0, 55.0), (-10.0, 60.0), (-10.0, 60.0), (-15.0, 80.0)),
    # [AAOS] MCP -45..90 (we allow -30 of the 45 hyperextension), PIP 0..100 ([LIN] 110),
    # DIP -10..90; [LIN] abduction +-15, widened for the index towards the thumb.
    "index": ((-30.0, 90.0), (-15.0, 20.0), (0.0, 110.0), (-10.0, 90.0)),
    "middle": ((-30.0, 90.0), (-15.0, 15.0), (0.0, 110.0), (-10.0, 90.0)),
    "ring": ((-30.0, 90.0), (-15.0, 15.0), (0.0, 110.0), (-10.0, 90.0)),
    # [COBOS] the little finger spreads further (ulnar, negative here).
    "little": ((-30.0, 90.0), (-30.0, 15.0), (0.0, 110.0), (-10.0, 90.0)),
}

LOWER = np.deg2rad(np.array([lo for f in FINGERS for lo, _ in _LIMITS_DEG[f]]))
UPPER = np.deg2rad(np.array([hi for f in FINGERS for _, hi in _LIMITS_DEG[f]]))

# How close (radians) to a limit counts as "at the limit" for display.
AT_LIMIT_TOLERANCE = np.deg2rad(1.0)


def clamp_angles(angles: np.ndarray) -> np.ndarray:
    """Clip angles (radians, (..., 20)) into the anatomical range."""
    return np.clip(angles, LOWER, UPPER)


def within_limits(angles: np.ndarray, tolerance: float = 1e-6) -> bool:
    """True if every angle lies inside its range (radians)."""
    a = np.asarray(angles)
    return bool(np.all(a >= LOWER - tolerance) and np.all(a <= UPPER + tolerance))


def angles_at_limit(angles: np.ndarray) -> np.ndarray:
    """Boolean mask (20,) of angles touching a limit."""
    a = np.asarray(angles)
    return (a <= LOWER + AT_LIMIT_TOLERANCE) | (a >= UPPER - AT_LIMIT_TOLERANCE)
