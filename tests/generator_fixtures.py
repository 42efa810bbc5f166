"""Fixtures shared by the tests that compare G's inference paths: the shipped generator and ten
simulator poses with their views (seed 9, a test stream of its own)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.data.readers.sim import SimConfig, crop_sample
from engine.models.generator import load_generator
from engine.models.pose_encoding import crop_view


@pytest.fixture(scope="module")
def shipped():
    return load_generator()[0]


@pytest.fixture(scope="module")
def poses():
    samples = [crop_sample(SimConfig(seed=9), i) for i in range(10)]
    return np.stack([s.y for s in samples]), np.stack([crop_view(s.transform) for s in samples])
