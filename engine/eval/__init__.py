"""Evaluation: metrics (IoU, depth MAE, pose error, KID), the nearest-pose baseline, and the
orchestration behind `python main.py evaluate`.

Held-out poses: evaluation draws the simulator stream with HELD_OUT_SEED, a seed no training
run uses by default (generator and pose estimator train on seed 0), so every evaluated pose is
one the models never saw. Sample i of a stream depends only on (seed, i) (engine.data.readers.sim).
"""

HELD_OUT_SEED = 1_000_003
# Training images in the nearest-pose baseline's bank: rendered once (about a minute on one CPU
# core, 650 MB as float16) and cached; more only narrows the nearest-pose distance slowly.
DEFAULT_BANK_SIZE = 20_000
