"""`dataset --frames N`: temporally coherent clips, N frames from each pose of a source to the next.

Why interpolate the model's parameters and not the joints: joints interpolated in a straight
line shorten the bones mid-way and cut through the palm on a turn; angles, shape and placement
interpolated give a hand of the model in every frame. Rotation is interpolated along the
shortest arc (slerp on the rotation matrices), everything else linearly.
Frame i is between source poses i // N and i // N + 1 at t = (i % N) / N, so it is still a
function of (seed, i) alone, as engine.dataset_poses requires; the stream keeps the hand of
source pose 0 (keyframes of the other hand are mirrored, else a clip would flip hands).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.hand.model import HandPose, HandShape, matrix_to_rotvec, rotvec_to_matrix
from engine.hand.pose_io import PoseRecord
from engine.hand.sampler import mirror_pose


def interpolate_hands(a: HandPose, b: HandPose, t: float) -> HandPose:
    """The hand a fraction t of the way from a to b (t = 0: a, t = 1: b); same handedness."""
    if a.handedness != b.handedness:
        raise ValueError("cannot interpolate between a right and a left hand")
    ra, rb = rotvec_to_matrix(a.rotation), rotvec_to_matrix(b.rotation)
    rotation = ra @ rotvec_to_matrix(t * matrix_to_rotvec(ra.T @ rb))
    sa, sb = a.shape, b.shape
    shape = HandShape(size=(1 - t) * sa.size + t * sb.size,
                      finger_scales=tuple((1 - t) * np.array(sa.finger_scales) + t * np.array(sb.finger_scales)),
                      thickness=(1 - t) * sa.thickness + t * sb.thickness)
    return HandPose(angles=(1 - t) * a.angles + t * b.angles, shape=shape,
                    rotation=matrix_to_rotvec(rotation),
                    translation=(1 - t) * a.translation + t * b.translation, handedness=a.handedness)


@dataclass(frozen=True)
class KeyframedPoses:
    """A pose source (engine.dataset_poses.PoseSource) played as keyframes, `frames` apart."""

    source: object  # a PoseSource
    frames: int

    @property
    def spec(self) -> str:
        return f"{self.source.spec} --frames {self.frames}"

    def _keyframe(self, seed: int, k: int, handedness: str) -> PoseRecord:
        record = self.source.record(seed, k)
        if record.hand is None:
            raise ValueError(f"--frames needs poses with the model's angles; {self.source.spec!r} "
                             "gives joints alone")
        hand = record.hand if record.hand.handedness == handedness else mirror_pose(record.hand)
        return replace(record, hand=hand)

    def record(self, seed: int, index: int) -> PoseRecord:
        k, step = divmod(index, self.frames)
        first = self._keyframe(seed, k, self.source.record(seed, 0).handedness)
        if step == 0:
            return PoseRecord.from_hand(first.hand, first.camera)
        second = self._keyframe(seed, k + 1, first.hand.handedness)
        hand = interpolate_hands(first.hand, second.hand, step / self.frames)
        return PoseRecord.from_hand(hand, first.camera)
