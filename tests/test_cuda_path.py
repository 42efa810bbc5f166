"""G's CUDA path: the bf16 backend and the batch-1 CUDA graph.

On the CPU (CI) the tests check what does not need a GPU: bf16 falls back to float32 and says
why, and the graph's routing (one pose replays the graph, a batch does not; a failed or wrong
capture leaves batch 1 eager, said once) with a stand-in for the capture that keeps a CUDA
graph's contract (static input and output memory, rewritten by each replay). The tests marked
`cuda` run the real thing where a GPU is present (scripts/gpu_check.sh)."""
from __future__ import annotations

import copy
import logging

import numpy as np
import pytest
import torch

from app.cli import main
from engine.models import inference
from engine.models.inference import InferenceGenerator, backends_for, resolve_backend
from generator_fixtures import poses, shipped  # noqa: F401  (fixtures)

HALF_CUBE_MM = 125.0
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class _StandInGraph:
    """What _Batch1Graph promises, on the CPU: `run` on a static input, into static outputs."""

    captures = 0

    def __init__(self, run, encoding: torch.Tensor) -> None:
        _StandInGraph.captures += 1
        self.run, self.input = run, encoding.clone()
        self.outputs = tuple(t.clone() for t in run(self.input))
        self.replays = 0

    def fits(self, encoding: torch.Tensor) -> bool:
        return encoding.shape == self.input.shape

    def __call__(self, encoding: torch.Tensor):
        self.input.copy_(encoding)
        for static, new in zip(self.outputs, self.run(self.input)):
            static.copy_(new)
        self.replays += 1
        return self.outputs


def _graph_enabled(model, monkeypatch, graph_class=_StandInGraph) -> InferenceGenerator:
    """A CPU generator whose batch-1 calls take the CUDA path's graph routing."""
    monkeypatch.setattr(inference, "_Batch1Graph", graph_class)
    gen = InferenceGenerator(model)
    gen._graph = None  # as on CUDA before the first call of one pose
    return gen


def test_one_pose_replays_the_graph_and_a_batch_runs_eagerly(shipped, poses, monkeypatch):
    y, view = poses
    reference = InferenceGenerator(shipped, cuda_graphs=False)
    gen = _graph_enabled(shipped, monkeypatch)
    _StandInGraph.captures = 0
    assert not gen.graphed
    singles = [gen.raw_and_cut(y[i:i + 1], view[i:i + 1]) for i in range(3)]
    assert gen.graphed and _StandInGraph.captures == 1 and gen._graph.replays == 4  # 1 check + 3 calls
    for i, (raw, cut) in enumerate(singles):  # each call its own pose, not the graph's last input
        ref_raw, ref_cut = reference.raw_and_cut(y[i:i + 1], view[i:i + 1])
        assert np.array_equal(raw, ref_raw) and np.array_equal(cut, ref_cut)
    assert not np.array_equal(singles[0][0], singles[1][0])
    batch = gen.raw_and_cut(y[:4], view[:4])
    assert gen._graph.replays == 4 and np.array_equal(batch[1], reference.raw_and_cut(y[:4], view[:4])[1])


def test_a_capture_that_fails_leaves_one_pose_eager_and_says_so_once(shipped, poses, monkeypatch, caplog):
    class Failing:
        def __init__(self, run, encoding):
            raise RuntimeError("operation not permitted when stream is capturing")

    y, view = poses
    gen = _graph_enabled(shipped, monkeypatch, Failing)
    with caplog.at_level(logging.WARNING, logger="engine.models.inference"):
        outs = [gen(y[:1], view[:1]) for _ in range(3)]
    assert not gen.graphed and gen.graph_fallback == "RuntimeError: operation not permitted when stream is capturing"
    assert sum("CUDA graph" in r.message for r in caplog.records) == 1  # tried once, said once
    assert np.array_equal(outs[0], InferenceGenerator(shipped, cuda_graphs=False)(y[:1], view[:1]))


def test_a_replay_that_differs_from_the_eager_result_is_not_used(shipped, poses, monkeypatch):
    class Drifting(_StandInGraph):
        def __call__(self, encoding):
            return tuple(t + 1e-3 for t in super().__call__(encoding))

    y, view = poses
    gen = _graph_enabled(shipped, monkeypatch, Drifting)
    out = gen(y[:1], view[:1])
    assert not gen.graphed and "differs from the eager result" in gen.graph_fallback
    assert np.array_equal(out, InferenceGenerator(shipped)(y[:1], view[:1]))


def test_bf16_off_cuda_runs_float32_and_says_why(shipped, poses, caplog):
    assert resolve_backend("bf16", torch.device("cpu")) == "bf16"
    assert "bf16" not in backends_for(torch.device("cpu")) and "int8" in backends_for(torch.device("cpu"))
    with caplog.at_level(logging.WARNING, logger="engine.models.inference"):
        gen = InferenceGenerator(shipped, backend="bf16")
    assert gen.backend == "torch" and not gen.amp and gen.fallback == "bf16 runs on CUDA only"
    assert any("bf16 generator unavailable" in r.message for r in caplog.records)
    y, view = poses
    assert np.array_equal(gen(y[:2], view[:2]), InferenceGenerator(shipped)(y[:2], view[:2]))
    assert not InferenceGenerator(shipped).graphed and InferenceGenerator(shipped)._graph is False  # CPU: no graph


def test_generate_notes_a_bf16_fallback(tmp_path, capsys):
    out = tmp_path / "bf16"
    assert main(["generate", "--preset", "fist", "--device", "cpu", "--backend", "bf16", "--out", str(out)]) == 0
    assert "note: bf16 unavailable (bf16 runs on CUDA only); running torch" in capsys.readouterr().err


@cuda
def test_on_cuda_the_graph_replays_the_eager_result_pose_after_pose(shipped, poses):
    y, view = poses
    model = copy.deepcopy(shipped).to("cuda")  # .to moves a module in place
    gen, eager = InferenceGenerator(model), InferenceGenerator(model, cuda_graphs=False)
    for i in range(len(y)):
        raw, cut = gen.raw_and_cut(y[i:i + 1], view[i:i + 1])
        ref_raw, ref_cut = eager.raw_and_cut(y[i:i + 1], view[i:i + 1])
        assert np.abs(raw - ref_raw).max() <= inference.GRAPH_TOLERANCE
        assert np.abs(cut - ref_cut).max() <= inference.GRAPH_TOLERANCE
    assert gen.graphed, gen.graph_fallback


@cuda
def test_on_cuda_bf16_agrees_with_float32_in_mm(shipped, poses):
    y, view = poses
    model = copy.deepcopy(shipped).to("cuda")  # .to moves a module in place
    gen = InferenceGenerator(model, backend="bf16")
    if gen.fallback is not None:
        pytest.skip(gen.fallback)
    raw, cut = gen.raw_and_cut(y, view)
    raw_ref, cut_ref = InferenceGenerator(model).raw_and_cut(y, view)
    # the int8 backend's stated agreement (tests/test_int8.py)
    assert np.abs(raw - raw_ref).mean() * HALF_CUBE_MM < 1.0
    assert ((cut < 0.98) != (cut_ref < 0.98)).mean() < 0.005
