"""Evaluation: metrics (IoU, depth MAE, pose error, KID), the nearest-pose baseline, and the
orchestration behind `python main.py evaluate`.

Evaluated poses: `evaluate` draws the simulator stream engine.seeds.TEST_SEED by default, the
split kept for the final table (engine.seeds says which seed is for what).
"""

# Training images in the nearest-pose baseline's bank: rendered once (about a minute on one CPU
# core, 650 MB as float16) and cached; more only narrows the nearest-pose distance slowly.
DEFAULT_BANK_SIZE = 20_000
