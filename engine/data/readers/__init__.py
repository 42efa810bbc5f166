"""Dataset readers: each yields `Sample`s (depth mm, 21 joints mm in our order, mask, camera).

`open_dataset(spec)` turns the command line's dataset spec into a reader:
    DIR, own:DIR   our own sample layout (engine.export; engine.data.readers.own)
    nyu:PATH       NYU folder with joint_data.mat, or a 14-joint label .txt
    icvl:PATH      ICVL label file, or a folder with labels.txt
    msra:PATH      MSRA15 gesture folder, or any folder above gesture folders
    hands17:PATH   HANDS 2017 annotation file, or a folder with Training_Annotation.txt
    sim[:SEED]     the simulator's random hands (engine.data.readers.sim), clean renders
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from engine.data.readers.base import DatasetError, DatasetReader, Sample
from engine.data.readers.hands17 import Hands17Reader
from engine.data.readers.icvl import IcvlReader
from engine.data.readers.msra import MsraReader
from engine.data.readers.nyu import Nyu14Reader, NyuReader
from engine.data.readers.own import OwnReader
from engine.data.readers.sim import SimConfig, SimReader

__all__ = [
    "DatasetError",
    "DatasetReader",
    "Hands17Reader",
    "IcvlReader",
    "MsraReader",
    "Nyu14Reader",
    "NyuReader",
    "OwnReader",
    "Sample",
    "SimReader",
    "open_dataset",
]


def _open_nyu(path: str) -> DatasetReader:
    return Nyu14Reader(path) if path.lower().endswith(".txt") else NyuReader(path)


READERS: dict[str, Callable[[str], DatasetReader]] = {
    "own": OwnReader,
    "nyu": _open_nyu,
    "icvl": IcvlReader,
    "msra": MsraReader,
    "hands17": Hands17Reader,
}

# "name:" at the start of a spec; one letter is left alone so "C:\data" stays a path.
_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9_]+):(.*)$", re.DOTALL)


def _open_sim(spec: str, count: int) -> DatasetReader:
    seed = spec.partition(":")[2]
    if seed and not seed.isdigit():
        raise ValueError(f"dataset spec {spec!r}: the simulator takes sim or sim:SEED (an integer)")
    return SimReader(SimConfig(seed=int(seed or 0)), count=count)


# What each spec expects on disk, named in every error about a dataset path.
LAYOUTS: dict[str, str] = {
    "own": "STEM_pose.json + STEM_depth.png ... samples in DIR or its shard folders",
    "nyu": "a folder with joint_data.mat and depth_1_0000001.png ..., or a 14-joint label .txt",
    "icvl": "a label file (or a folder with labels.txt) and its PNGs in Depth/ beside it",
    "msra": "P<subject>/<gesture>/ folders with joint.txt and 000000_depth.bin ...",
    "hands17": "Training_Annotation.txt (or its folder) with the PNGs in images/ beside it",
}


def open_dataset(spec: str, sim_count: int = 1000) -> DatasetReader:
    """Reader for a CLI dataset spec: DIR (our format) or PREFIX:PATH; see the module docstring.

    `sim_count` is how many frames a `sim` spec yields (the simulator itself is endless). A
    missing, empty or wrongly laid out dataset raises a one-line DatasetError that names the
    layout the spec expects; the first sample is read here, so that happens before any work.
    """
    if spec == "sim" or spec.startswith("sim:"):
        return _open_sim(spec, sim_count)
    match = _PREFIX.match(spec)
    if match is None or Path(spec).exists():
        kind, path, opener = "own", spec, OwnReader
    else:
        kind, path = match.group(1).lower(), match.group(2)
        if kind not in READERS:
            valid = ", ".join(f"{name}:PATH" for name in READERS)
            raise ValueError(f"unknown dataset prefix {kind!r} in {spec!r}; use DIR or {valid}")
        if not path:
            raise ValueError(f"dataset spec {spec!r} has no path after '{kind}:'")
        opener = READERS[kind]
    expected = f"{'DIR' if kind == 'own' else kind + ':PATH'} expects {LAYOUTS[kind]}"
    try:
        reader = opener(path)
        if len(reader) == 0:
            raise DatasetError(path, "no samples")
        next(iter(reader))
    except DatasetError as e:
        raise DatasetError(e.location, f"{e.problem}; {expected}") from None
    return reader
