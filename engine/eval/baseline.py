"""Nearest-pose retrieval: the baseline a generator must beat.

The baseline "generates" for pose y the crop-bank image (engine.data.crop_bank) whose pose is
closest to y: what a lookup table of the generator's own training data would give. A generator
that does no better than this has memorised, not learned the mapping, which only shows on poses
it never saw.

Nearest by pose alone ignores the view G is given (engine.models.pose_encoding): the same pose
seen off the optical axis covers other pixels (IoU 0.80 between the two views of one pose). So
`retrieve` with views matches where the joints land in the crop and their depths
(pose_encoding.crop_coordinates), which is pose and view at once, in the crop's own units.
"""
from __future__ import annotations

import numpy as np

from engine.data.crop import CROP_SIZE
from engine.data.crop_bank import CropBank
from engine.models.pose_encoding import crop_coordinates


def nearest_pose(bank_y: np.ndarray, query_y: np.ndarray, block: int = 256) -> np.ndarray:
    """(Q,) index of the bank pose nearest each query pose: mean squared joint distance over
    the query's labelled (finite) joints, so a dataset pose without some joints still matches.
    A query without any labelled joint gets index -1.
    """
    bank = np.asarray(bank_y, dtype=np.float32).reshape(len(bank_y), -1, 3)
    query = np.asarray(query_y, dtype=np.float32).reshape(len(query_y), -1, 3)
    if bank.shape[1] != query.shape[1]:
        raise ValueError(f"bank poses have {bank.shape[1]} joints, queries {query.shape[1]}")
    flat = bank.reshape(len(bank), -1)
    bank_sq = flat * flat
    out = np.full(len(query), -1, dtype=np.int64)
    for lo in range(0, len(query), block):
        q = query[lo:lo + block]
        valid = np.repeat(np.all(np.isfinite(q), axis=-1), 3, axis=-1).reshape(len(q), -1)  # (b, 3J)
        qf = np.where(valid, q.reshape(len(q), -1), 0.0).astype(np.float32)
        w = valid.astype(np.float32)
        # sum over labelled coordinates of (b - q)^2 = w·b² - 2 q·b + |q|², as matrix products.
        d = w @ bank_sq.T - 2.0 * qf @ flat.T + (qf * qf).sum(axis=1, keepdims=True)
        idx = np.argmin(d, axis=1)
        out[lo:lo + block] = np.where(valid.any(axis=1), idx, -1)
    return out


def retrieve(bank: CropBank, query_y: np.ndarray, query_view: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """The baseline's output for poses y: (crops (Q, 128, 128) float32, bank indices (Q,)).

    With `query_view` (Q, 5) the nearest crop by where the joints land in it (view-aware),
    else by pose alone. Queries without any labelled joint get an all-background crop and index -1.
    """
    if query_view is None:
        idx = nearest_pose(bank.y, query_y)
    else:
        idx = nearest_pose(crop_coordinates(bank.y, bank.view), crop_coordinates(query_y, query_view))
    crops = np.ones((len(idx), CROP_SIZE, CROP_SIZE), dtype=np.float32)
    ok = idx >= 0
    crops[ok] = bank.depth[idx[ok]].astype(np.float32)
    return crops, idx
