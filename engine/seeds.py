"""Which simulator stream is for what: training, development, calibration and the final test.

Sample i of a sim stream depends only on (seed, i) (engine.data.readers.sim), so a seed names a
set of poses. Why four: the poses that pick a checkpoint or tune the silhouette cut are looked
at many times, and a number measured on them is optimistic; the final table must come from
poses nothing was chosen on. Until issue 15 the development crops (training seed + 1,000,003)
were the first 200 of the evaluation's 1,000 "held-out" poses (seed 1,000,003), so the table was
scored partly on the poses that had chosen the model.

- training: the run's own seed (0 by default), samples 0, 1, 2, ...
- development: training seed + DEVELOPMENT_SEED_OFFSET; the trainers' held-out crops, which
  pick the best checkpoint (engine.data.crop_cache)
- calibration: training seed + CALIBRATION_SEED_OFFSET; the crops that set G's silhouette cut
  (engine.train.calibration)
- test: TEST_SEED, used only by `python main.py evaluate` for the final table; no trainer may
  train, select or calibrate on it.
The style stage keeps seeds of its own (engine.style.learned.CALIBRATION_SEED 3,000,017; the
evaluation's SENSOR_STYLE_SEED 5,000,011), apart from all of these for training seed 0.
"""
from __future__ import annotations

DEFAULT_TRAINING_SEED = 0
DEVELOPMENT_SEED_OFFSET = 1_000_003
CALIBRATION_SEED_OFFSET = 2_000_003
TEST_SEED = 9_000_011


def split_of(seed: int, training_seed: int = DEFAULT_TRAINING_SEED) -> str:
    """Which split the sim stream `seed` is for a generator trained on `training_seed`."""
    if seed == TEST_SEED:
        return "test"
    if seed == training_seed:
        return "training"
    if seed == training_seed + DEVELOPMENT_SEED_OFFSET:
        return "development"
    if seed == training_seed + CALIBRATION_SEED_OFFSET:
        return "calibration"
    return "other"


def check_not_test_seed(seed: int, use: str) -> None:
    """Refuse a stream that would make the test poses seen: one line naming the use."""
    for offset, name in ((0, "training"), (DEVELOPMENT_SEED_OFFSET, "development"),
                         (CALIBRATION_SEED_OFFSET, "calibration")):
        if seed + offset == TEST_SEED:
            raise ValueError(f"seed {seed} for {use} puts its {name} stream on the test seed {TEST_SEED}; pick another")
