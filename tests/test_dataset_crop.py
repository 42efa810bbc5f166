"""Training and evaluation on a real dataset give G the same completed skeleton (engine.data.dataset_crop)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.crop_cache import dataset_crops
from engine.data.dataset_crop import crop_dataset_sample
from engine.data.readers.base import Sample
from engine.data.readers.sim import SimConfig, draw
from engine.eval.evaluate import dataset_source
from engine.sim.render import render_hand

# NYU's 14-point labels leave these 7 MediaPipe joints out (thumb IP, the fingers' DIPs, ...).
MISSING = [2, 3, 6, 10, 14, 18, 19]


def partial_samples(count: int) -> list[Sample]:
    """Simulator frames labelled like a real dataset: a third of the joints unlabelled (NaN)."""
    out = []
    for i in range(count):
        d = draw(SimConfig(seed=21), i)
        joints = d.hand.joints().astype(np.float32)
        mask = np.ones(len(joints), bool)
        mask[MISSING] = False
        out.append(Sample(depth=render_hand(joints, d.camera, d.hand.shape.thickness).depth,
                          joints=np.where(mask[:, None], joints, np.nan).astype(np.float32),
                          joint_mask=mask, camera=d.camera, source=f"test:{i}"))
    return out


@pytest.fixture(scope="module")
def samples():
    return partial_samples(3)


def test_the_same_sample_gives_g_identical_completed_joints_in_training_and_evaluation(samples):
    training = dataset_crops(samples, len(samples), "test")
    batch = next(dataset_source(samples, len(samples)).batches)
    np.testing.assert_array_equal(training.y, batch.y_input)  # G's input: one completion
    np.testing.assert_array_equal(training.depth, batch.reference.astype(np.float16))  # one crop
    assert np.isfinite(training.y).all()  # every bone drawn, none left out
    labelled = np.ones(21, bool)
    labelled[MISSING] = False
    np.testing.assert_array_equal(batch.y[:, labelled], batch.y_input[:, labelled])  # labels kept
    assert np.isnan(batch.y[:, MISSING]).all()  # and the metrics still use the labels alone


def test_the_estimator_trains_on_the_labels_alone(samples):
    labels = dataset_crops(samples, len(samples), "test", completed=False)
    assert np.isnan(labels.y[:, MISSING]).all()
    np.testing.assert_array_equal(labels.y, np.stack([crop_dataset_sample(s).y for s in samples]))


def test_a_sample_without_labelled_joints_is_refused_in_one_line(samples):
    s = samples[0]
    empty = Sample(depth=s.depth, joints=np.full_like(s.joints, np.nan), joint_mask=np.zeros(21, bool),
                   camera=s.camera, source="test:none")
    with pytest.raises(ValueError, match="labelled"):
        crop_dataset_sample(empty)
    with pytest.raises(ValueError, match="test: no usable samples"):
        dataset_crops([empty], 1, "test")
