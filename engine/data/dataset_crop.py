"""One dataset sample as the generator sees it, the same for training and evaluation.

Real datasets label a subset of the 21 joints (NYU 14 of them: no DIPs, no thumb tip...; ICVL no
wrist). The generator draws every bone of its input pose, so a partial skeleton is a different
input from the whole hands it learned on. Until issue 15 the two paths disagreed: training
(engine.data.crop_cache) gave G the partial skeleton while evaluation (engine.eval.evaluate)
completed it with the fitted hand model, so a model trained on NYU was scored on inputs it had
never seen. Both now call `crop_dataset_sample`:
- the crop is placed around the labelled joints alone (engine.data.crop.hand_centre), so the
  fitted joints never move the window a label did not ask for;
- `y` keeps the labels only (NaN where the dataset has none): what metrics compare against;
- `y_input` is G's input: labels unchanged, missing joints from the hand model fitted to them
  (engine.hand.fit.complete_joints), when at least MIN_JOINTS are labelled (fewer cannot place a
  hand; the partial skeleton is kept then).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data.crop import CropTransform, crop_depth, make_transform, normalise_joints
from engine.data.readers.base import Sample
from engine.hand.fit import MIN_JOINTS, complete_joints


@dataclass(frozen=True, eq=False)
class DatasetCrop:
    """depth (128, 128) crop; y (21, 3) labels, NaN where missing; y_input (21, 3) G's input."""

    depth: np.ndarray
    y: np.ndarray
    y_input: np.ndarray
    transform: CropTransform


def crop_dataset_sample(sample: Sample) -> DatasetCrop:
    """A sample's crop, its labelled pose and the completed pose G is given (see the module
    docstring). Raises ValueError when its joints give no crop (none labelled, behind the camera)."""
    joints = np.where(np.asarray(sample.joint_mask, bool)[:, None], np.asarray(sample.joints, np.float64), np.nan)
    transform = make_transform(joints, sample.camera)
    labelled = np.isfinite(joints).all(axis=1)
    whole = complete_joints(joints, labelled) if labelled.sum() >= MIN_JOINTS else joints
    return DatasetCrop(depth=crop_depth(sample.depth, transform), y=normalise_joints(joints, transform),
                       y_input=normalise_joints(whole, transform), transform=transform)
