"""generate_batch's frames: G's crop pasted on the simulator's render of the same hand, drawn
with that hand's thickness (a dataset's random hands vary it), not a default hand's."""
from __future__ import annotations

import numpy as np
import pytest

from engine.camera import KINECT_V1
from engine.data.crop import denormalise_joints
from engine.data.paste import paste_crop
from engine.data.readers.sim import SimConfig, crop_sample
from engine.models.generator import load_generator
from engine.models.inference import InferenceGenerator
from engine.runtime_batch import generate_batch
from engine.sim.render import render_hand


@pytest.fixture(scope="module")
def generator():
    return InferenceGenerator(load_generator()[0])


@pytest.fixture(scope="module")
def joints():
    samples = [crop_sample(SimConfig(seed=29), i) for i in range(3)]
    return np.stack([np.asarray(denormalise_joints(s.y, s.transform), np.float64) for s in samples])


def test_frames_paste_on_the_render_of_each_hands_thickness(generator, joints):
    thick = [0.9, 1.0, 1.1]
    batch = generate_batch(generator, joints, KINECT_V1, frames=True, thicknesses=thick)
    default = generate_batch(generator, joints, KINECT_V1, frames=True)
    for frame, crop, t, j, k, plain in zip(batch.depth, batch.crops, batch.transforms, joints, thick,
                                           default.depth, strict=True):
        expected = paste_crop(crop, t, surround=render_hand(j, KINECT_V1, k).depth)
        np.testing.assert_array_equal(frame, expected)
        assert (not np.array_equal(frame, plain)) == (k != 1.0)


def test_thicknesses_must_match_the_poses(generator, joints):
    with pytest.raises(ValueError, match="3 poses but 2 thicknesses"):
        generate_batch(generator, joints, KINECT_V1, thicknesses=[1.0, 1.1])
