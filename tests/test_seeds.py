"""The splits of the simulator's streams are apart: no trainer can land on the test seed."""
from __future__ import annotations

import pytest

from engine.seeds import (
    CALIBRATION_SEED_OFFSET,
    DEFAULT_TRAINING_SEED,
    DEVELOPMENT_SEED_OFFSET,
    TEST_SEED,
    check_not_test_seed,
    split_of,
)


def test_default_splits_are_four_distinct_streams():
    seeds = {DEFAULT_TRAINING_SEED, DEFAULT_TRAINING_SEED + DEVELOPMENT_SEED_OFFSET,
             DEFAULT_TRAINING_SEED + CALIBRATION_SEED_OFFSET, TEST_SEED}
    assert len(seeds) == 4
    assert [split_of(s) for s in sorted(seeds)] == ["training", "development", "calibration", "test"]


@pytest.mark.parametrize("seed", [TEST_SEED, TEST_SEED - DEVELOPMENT_SEED_OFFSET, TEST_SEED - CALIBRATION_SEED_OFFSET])
def test_a_training_seed_whose_streams_reach_the_test_seed_is_refused(seed):
    with pytest.raises(ValueError, match="test seed"):
        check_not_test_seed(seed, "training")


def test_other_seeds_pass():
    check_not_test_seed(DEFAULT_TRAINING_SEED, "training")
    assert split_of(12345) == "other"
