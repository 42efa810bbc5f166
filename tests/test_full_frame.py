"""Full-frame metrics (engine.eval.full_frame): the window IoU scores G's pixels alone."""
from __future__ import annotations

import numpy as np

from engine.camera import KINECT_V1
from engine.data.crop import transform_at
from engine.data.paste import front_face_mm
from engine.eval.full_frame import FRAME_METRICS, frame_scores


def test_the_window_iou_leaves_out_what_lies_nearer_than_the_cube():
    """There the paste shows the simulator's render (engine.data.paste), so a difference there is
    not G's: the whole-frame IoU counts it, the window IoU does not."""
    t = transform_at(np.array([0.0, 0.0, 600.0]), KINECT_V1)
    reference = np.zeros((KINECT_V1.height, KINECT_V1.width), np.float32)
    middle = (slice(t.v0 + t.size_px // 2 - 30, t.v0 + t.size_px // 2 + 30),
              slice(t.u0 + t.size_px // 2 - 30, t.u0 + t.size_px // 2 + 30))
    reference[middle] = 600.0
    near = (slice(middle[0].start, middle[0].start + 20), middle[1])
    reference[near] = front_face_mm(t) - 40.0
    frame = reference.copy()
    frame[near] = 0.0  # a frame that lost what lies nearer than the cube
    scores = dict(zip(FRAME_METRICS, frame_scores(frame, reference, t)))
    assert scores["window_iou"] == 1.0
    assert abs(scores["iou"] - 2 / 3) < 1e-6
    frame[near] = reference[near]
    frame[middle[0].stop - 20:middle[0].stop, middle[1]] = 0.0  # the same loss within the cube's depth
    scores = dict(zip(FRAME_METRICS, frame_scores(frame, reference, t)))
    assert abs(scores["window_iou"] - 20 / 40) < 1e-6  # of the 40 rows within its depth, 20 kept
