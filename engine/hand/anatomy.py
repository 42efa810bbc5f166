"""Anatomy of the nominal hand, in one place: its length and the flesh around its bones.

Why here: the kinematic model (engine.hand.model), the pose sampler, the volumetric renderer
(engine.sim.volume), the skeleton encodings and the label maps all size a hand from the same
numbers; kept under engine/hand they need no import from engine/sim, which imports engine/hand.
"""
from __future__ import annotations

# Mean adult hand length (wrist crease to middle fingertip): the ANSUR II average of both sexes
# (Gordon et al., 2014). Segment lengths are fractions of it (engine.hand.model).
HAND_LENGTH_MM = 187.0
# Mean wrist-to-MCP distance of the index..little fingers of the nominal hand (engine.hand.model).
NOMINAL_WRIST_TO_MCP_MM = 80.5

# Capsule radii in mm for a HAND_LENGTH_MM hand, per finger bone (base, middle, tip) as
# (start radius, end radius): finger breadths of 16-20 mm at the proximal phalanx and 13-15 mm
# at the tip (Garrett, "The adult human hand: some anthropometric and biomechanical
# considerations", Human Factors 13(2), 1971).
FINGER_RADII_MM: dict[str, tuple[tuple[float, float], ...]] = {
    "thumb": ((12.0, 11.0), (11.0, 10.0), (10.0, 8.5)),
    "index": ((9.8, 8.8), (8.8, 8.0), (8.0, 7.2)),
    "middle": ((10.0, 9.0), (9.0, 8.2), (8.2, 7.4)),
    "ring": ((9.4, 8.5), (8.5, 7.8), (7.8, 7.0)),
    "little": ((8.5, 7.6), (7.6, 7.0), (7.0, 6.2)),
}
# Half the palm thickness (about 25 mm at the mid-palm, Garrett 1971).
PALM_RADIUS_MM = 12.5
# Palm corners at the wrist, in hand lengths along (radial, distal) from the wrist joint.
PALM_WRIST_CORNER = (0.12, 0.05)
# Forearm stub: two side-by-side capsules (wrist breadth ~55 mm, thickness ~35 mm).
FOREARM_OFFSET = 0.05  # hand lengths either side of the axis
FOREARM_LENGTH = 0.4  # hand lengths back from the wrist
FOREARM_RADII = (0.095, 0.105)  # hand lengths at the wrist and at the cut
