"""G for inference: the trained SkeletonUNet rebuilt for speed, numerically the same function.

Why a separate object rather than `model.eval()`: an eval-mode SkeletonUNet still runs each
BatchNorm as its own pass over the activations, draws the skeleton in torch (5-10 ms for one
pose on a 2-core CPU) and keeps autograd's bookkeeping unless the caller remembers not to. Here,
once, at load:
- every BatchNorm is folded into the convolution before it (w' = w * g / sqrt(v + eps),
  b' = beta - m * g / sqrt(v + eps)): one pass per layer instead of two;
- on the CPU the activations run channels_last (oneDNN's native layout for 3x3 convolutions,
  avoiding its reorders on every layer) and the skeleton is drawn in numpy
  (engine.models.fast_encoding, < 1 ms); on CUDA it stays batched in torch, optionally under
  bf16 autocast;
- calls run under torch.inference_mode (no version counters, no graph);
- on the CPU the silhouette cut runs in numpy + OpenCV (engine.models.fast_cut, bit for bit the
  torch cut's result).
The output equals the reference model's eval-mode output within float32 rounding (a test holds
them within 1e-3 in crop units, 0.06 mm) and goes through the same silhouette cut.

The reference SkeletonUNet stays the trained, exported and tested model; this object is derived
from it and never saved.

Backends (`backend=`): "torch" runs the folded float32 network above, the reference, and is
this class's default (training's development scores, tools). "int8" (CPU only) runs the
convolutional body quantized to int8, calibrated at load (engine.models.int8): about 2x faster on one
thread, agreeing with "torch" to about 0.3 mm on average over the crop (a test bounds it at 1 mm)
but not bit for bit; on the test poses its scores are within the float32 ones' 95 % intervals
(generator_default.md). "bf16" (CUDA only) runs the network under bf16 autocast (the cut in
float32). "auto", what the runtime asks for (device_names.RUNTIME_BACKEND): int8 on the CPU, torch
on a GPU. Where int8 or bf16 is asked for and cannot run (int8 on a GPU, on a torch without the
x86 quantized engine or after a failed calibration; bf16 off CUDA or on a GPU without it) the
generator falls back to "torch" and says why in `fallback`, rather than failing the caller.

On CUDA a call of one pose (the app's frame) replays a CUDA graph of the network and the cut,
captured on its first such call (`_Batch1Graph`): at batch 1 a GPU waits on the CPU launching
G's kernels one by one, and a replay launches them all at once. A capture that fails, or whose
replay differs from the eager result, leaves batch 1 eager and says why in `graph_fallback`.
"""
from __future__ import annotations

import copy
import logging

import numpy as np
import torch
from torch import nn

from engine.data.crop import CROP_SIZE
from engine.models.device_names import BACKEND_CHOICES, GENERATOR_BACKENDS, REFERENCE_BACKEND
from engine.models.fast_cut import cut_silhouette_numpy
from engine.models.fast_encoding import encode_pose_numpy
from engine.models.generator import ENCODING_SIZE, SkeletonUNet, network_output
from engine.models.pose_encoding import VIEW_SIZE, encode_pose

# Crops per network call on the CPU. Larger batches do not pay there: on the 2-core AVX2 machine
# (1 thread, shared) the shipped G cost 57, 49, 45 and 59 ms per crop at batch 1, 4, 8 and 32 -
# past 8 the activations (24 x 64 x 64 floats per crop and layer) fall out of the caches.
CPU_CHUNK = 8
# int8's activations are a quarter of the bytes, so larger chunks still fit: the default G's int8
# body on 1 thread, 64 development poses, 12 rounds interleaved (load ~4.3): 1.69, 1.60, 1.53 and
# 1.79 ms per crop at chunks of 8, 16, 32 and 64.
INT8_CHUNK = 32
# Crop units (1 = 125 mm): how far a graph's replay may lie from the eager call it stands for
# (the same kernels on the same input: in practice equal).
GRAPH_TOLERANCE = 1e-5

log = logging.getLogger(__name__)


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A convolution computing bn(conv(x)) with bn's running statistics (eval mode)."""
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                      conv.dilation, conv.groups, bias=True, device=conv.weight.device)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    with torch.no_grad():
        fused.weight.copy_(conv.weight.detach() * scale[:, None, None, None])
        fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias.detach())
    return fused


def _fold_block(block: nn.Sequential) -> nn.Sequential:
    """conv-BN-ReLU-conv-BN-ReLU (generator._block) -> conv-ReLU-conv-ReLU."""
    layers: list[nn.Module] = []
    mods = list(block)
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d):
            layers.append(fold_batchnorm(m, mods[i + 1]))
            i += 2
        else:
            layers.append(m)
            i += 1
    return nn.Sequential(*layers)


def fold_generator(model: SkeletonUNet) -> SkeletonUNet:
    """A copy of `model` with its BatchNorms folded into the convolutions, in eval mode."""
    folded = copy.deepcopy(model).eval()
    folded.down = nn.ModuleList(_fold_block(b) for b in folded.down)
    folded.up = nn.ModuleList(_fold_block(b) for b in folded.up)
    folded.full = _fold_block(folded.full)
    return folded.requires_grad_(False)


class InferenceGenerator:
    """G(y, view) -> crops for callers that only run it: the runtime, `generate`, `evaluate`.

    `__call__(y (B, 21, 3), view (B, 5) | None) -> (B, 128, 128) float32` numpy, eval-mode
    output (silhouette cut), in chunks of CPU_CHUNK on the CPU and whole on a GPU.
    `silhouette_cut=False` returns the network's raw x_hat instead (`generate --no-cut`), so
    what the network does can be seen apart from what the cut does. `backend`: see the module
    docstring; `self.backend` is the one that runs, `self.fallback` why it is not the one asked
    for (None when it is). `cuda_graphs=False` runs one pose on CUDA eagerly (a reference for
    the graph's replay).
    """

    def __init__(self, model: SkeletonUNet, silhouette_cut: bool = True, backend: str = REFERENCE_BACKEND,
                 cuda_graphs: bool = True) -> None:
        if not isinstance(model, SkeletonUNet):
            raise TypeError(f"an InferenceGenerator needs a SkeletonUNet, got {type(model).__name__}")
        if backend not in BACKEND_CHOICES:
            raise ValueError(f"unknown generator backend {backend!r}; use {', '.join(BACKEND_CHOICES)}")
        self.device = next(model.parameters()).device
        self.config = dict(model.config)
        self.net = fold_generator(model)
        self.cpu = self.device.type == "cpu"
        self.silhouette_cut = bool(silhouette_cut)
        if self.cpu:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.backend, self.fallback, self._int8 = "torch", None, None
        resolved = resolve_backend(backend, self.device)
        if resolved == "int8":
            self._int8, self.fallback = _int8_body(self.net, self.cpu)
        elif resolved == "bf16":
            self.fallback = _bf16_unavailable(self.device)
        if self.fallback is not None:  # said aloud when asked for by name; "auto" only notes it
            log.log(logging.WARNING if backend == resolved else logging.INFO,
                    "%s generator unavailable (%s): running float32", resolved, self.fallback)
        else:
            self.backend = resolved
        self.amp = self.backend == "bf16"
        # batch 1 on CUDA: None until its first call captures the graph, False where it cannot
        self._graph: _Batch1Graph | None | bool = None if cuda_graphs and self.device.type == "cuda" else False
        self.graph_fallback: str | None = None  # why batch 1 runs eagerly on CUDA, when it does

    def encode(self, y: np.ndarray, view: np.ndarray | None, thickness: np.ndarray | None = None) -> torch.Tensor:
        """The network's 64x64 input on this generator's device (numpy on the CPU): the skeleton
        encoding, with the thickness plane for a shape-aware G (SkeletonUNet.condition)."""
        thick = None if thickness is None else torch.from_numpy(np.array(thickness, np.float32).reshape(-1))
        if self.cpu:
            enc = self.net.condition(torch.from_numpy(encode_pose_numpy(y, view, size=ENCODING_SIZE)), thick)
            return enc.contiguous(memory_format=torch.channels_last)
        yt = torch.from_numpy(y).to(self.device, non_blocking=True)
        vt = None if view is None else torch.from_numpy(view).to(self.device, non_blocking=True)
        return self.net.condition(encode_pose(yt, vt, size=ENCODING_SIZE), thick)

    def network(self, encoding: torch.Tensor) -> torch.Tensor:
        """The network's output (B, 1, 128, 128) before the cut, from an encoding made by
        `encode`: x_hat, or for a "mask" model its hard composition (generator.network_output)."""
        if self._int8 is not None:
            return network_output(self._int8(encoding), self.net.output)
        # no cast cache: a CUDA graph must capture the weights' casts, not a cache filled outside it
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp, cache_enabled=False):
            soft = network_output(self.net.body(encoding), self.net.output)  # `encode` conditioned it
        return soft

    def network_and_cut(self, encoding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(raw, after the cut), float32 (B, 1, 128, 128), from an encoding made by `encode`. One
        pose on CUDA replays the batch-1 graph: its tensors are the graph's own, rewritten by the
        next call (copy what must outlive it)."""
        if self._graph is not False and encoding.shape[0] == 1:
            graph = self._graph if self._graph is not None else self._capture(encoding)
            if graph is not None and graph.fits(encoding):
                return graph(encoding)
        return self._network_and_cut(encoding)

    def _network_and_cut(self, encoding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        soft = self.network(encoding).float()
        return soft, self.cut(soft)

    def _capture(self, encoding: torch.Tensor) -> _Batch1Graph | None:
        """The batch-1 graph, captured and checked against the eager result once; None (and
        `graph_fallback` says why) where capture fails or its replay differs."""
        try:
            graph = _Batch1Graph(self._network_and_cut, encoding)
            replayed = [t.clone() for t in graph(encoding)]
            eager = self._network_and_cut(encoding)
            if not all(torch.allclose(r, e, atol=GRAPH_TOLERANCE, rtol=0.0) for r, e in zip(replayed, eager)):
                raise RuntimeError(f"its replay differs from the eager result by more than {GRAPH_TOLERANCE}")
        except Exception as e:  # noqa: BLE001  (any failure leaves batch 1 eager, said once)
            self._graph, self.graph_fallback = False, f"{e.__class__.__name__}: {e}"
            log.warning("CUDA graph for one pose unavailable (%s): running it eagerly", self.graph_fallback)
            return None
        self._graph = graph
        return graph

    @property
    def graphed(self) -> bool:
        """Whether a call of one pose replays a captured CUDA graph (after the first such call)."""
        return isinstance(self._graph, _Batch1Graph)

    def cut(self, soft: torch.Tensor) -> torch.Tensor:
        """The reference model's eval-mode silhouette cut (on the CPU in numpy + OpenCV,
        engine.models.fast_cut: the same result, a tenth of the time)."""
        if not self.cpu:
            return self.net.cut_silhouette(soft.contiguous())
        c = self.net
        cut = cut_silhouette_numpy(soft[:, 0].numpy(), c.edge_window, c.edge_fraction, c.hand_max,
                                   c.depth_window, c.depth_step)
        return torch.from_numpy(cut)[:, None]

    @property
    def chunk(self) -> int | None:
        """Crops per network call on the CPU (a crop's output may depend on its call's batch
        size, so a caller that splits a batch splits it at multiples of this); None on a GPU,
        where a batch runs whole."""
        return (INT8_CHUNK if self._int8 is not None else CPU_CHUNK) if self.cpu else None

    def __call__(self, y: np.ndarray, view: np.ndarray | None = None,
                 thickness: np.ndarray | None = None) -> np.ndarray:
        raw, cut = self.raw_and_cut(y, view, thickness)
        return cut if self.silhouette_cut else raw

    def raw_and_cut(self, y: np.ndarray, view: np.ndarray | None = None,
                    thickness: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(raw x_hat, after the cut), each (B, 128, 128) float32, from one pass of the network.
        `thickness` (B,): the hands' shape.thickness, None for the mean hand (a G without the
        shape input ignores it)."""
        y = np.ascontiguousarray(y, dtype=np.float32).reshape(-1, 21, 3)
        if view is not None:
            view = np.ascontiguousarray(view, dtype=np.float32).reshape(-1, VIEW_SIZE)
        if thickness is not None:
            thickness = np.broadcast_to(np.asarray(thickness, np.float32).reshape(-1), (len(y),))
        chunk = self.chunk or max(len(y), 1)
        raw = np.empty((len(y), CROP_SIZE, CROP_SIZE), np.float32)
        cut = np.empty_like(raw)
        with torch.inference_mode():
            for i in range(0, len(y), chunk):
                vb = None if view is None else view[i:i + chunk]
                tb = None if thickness is None else thickness[i:i + chunk]
                soft, kept = self.network_and_cut(self.encode(y[i:i + chunk], vb, tb))
                raw[i:i + chunk] = soft[:, 0].cpu().numpy()
                cut[i:i + chunk] = kept[:, 0].cpu().numpy()
        return raw, cut


class _Batch1Graph:
    """`run(encoding) -> tensors` for one fixed encoding shape, captured once as a CUDA graph.

    The graph reads its input from, and writes its outputs to, the same memory on every replay:
    `__call__` copies the encoding in and returns those outputs. Warm-up calls on a side stream
    first, as torch.cuda.graphs asks: cuDNN's and the allocator's first-call work is not captured.
    """

    def __init__(self, run, encoding: torch.Tensor, warmup: int = 3) -> None:
        self.input = encoding.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(warmup):
                run(self.input)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.outputs = run(self.input)

    def fits(self, encoding: torch.Tensor) -> bool:
        return encoding.shape == self.input.shape and encoding.dtype == self.input.dtype

    def __call__(self, encoding: torch.Tensor) -> tuple[torch.Tensor, ...]:
        self.input.copy_(encoding)
        self.graph.replay()
        return self.outputs


def resolve_backend(backend: str, device: torch.device) -> str:
    """The backend `backend` names on `device`: "auto" is int8 on the CPU, torch elsewhere."""
    if backend == "auto":
        return "int8" if device.type == "cpu" else "torch"
    return backend


def backends_for(device: torch.device) -> tuple[str, ...]:
    """The backends of GENERATOR_BACKENDS that can run on `device` (int8 still may not: its
    calibration can fail, and the generator then says so)."""
    return tuple(name for name in GENERATOR_BACKENDS
                 if name == "torch" or (name == "int8" and device.type == "cpu")
                 or (name == "bf16" and _bf16_unavailable(device) is None))


def _bf16_unavailable(device: torch.device) -> str | None:
    """Why bf16 autocast cannot run G on `device`, or None where it can."""
    if device.type != "cuda":
        return "bf16 runs on CUDA only"
    if not torch.cuda.is_bf16_supported():
        return f"{torch.cuda.get_device_name(device)} has no bf16"
    return None


def _int8_body(folded: SkeletonUNet, cpu: bool) -> tuple[nn.Module | None, str | None]:
    """(the int8 body, None), or (None, why not) where int8 cannot run."""
    if not cpu:
        return None, "int8 runs on the CPU only"
    from engine.models.int8 import quantize_body

    try:
        return quantize_body(folded), None
    except Exception as e:  # noqa: BLE001 - any failure to quantize leaves the float32 path, said once
        return None, " ".join(f"{e.__class__.__name__}: {e}".split())
