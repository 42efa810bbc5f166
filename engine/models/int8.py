"""G's convolutional body in int8 on the CPU: post-training static quantization, calibrated at load.

Why: the shipped G is 1.04 GFLOP per crop and its float32 convolutions already run near this
class of CPU's float32 matmul peak (profiled: 82-95 GFLOP/s per layer on 1 thread), so float32
cannot reach a 10 ms pose-to-crop on one thread; int8 multiply-adds are 2-4x denser per
instruction (AVX2's vpmaddubsw, VNNI's vpdpbusd). Measured on the shared 2-core EPYC, 1 thread,
one crop: the body 12.9 ms float32 (channels_last) -> 5.2 ms int8 at load 1.7; G with its cut,
interleaved at load 6-7.5, 35-38 ms -> 15-20 ms (model card).

How: torch.ao's FX graph mode quantization with the "x86" backend's default configuration
(per-channel symmetric int8 weights; uint8 activations observed by histogram, with the reduced
7-bit range that keeps AVX2's 16-bit intermediate sums from saturating, so the same model is
exact on machines without VNNI). The body (SkeletonUNet.body, BatchNorm already folded) is
quantized whole: convolutions fused with their ReLU, max-pool, nearest/bilinear upsampling and
the skip concatenations run on quantized tensors. The 1x1 head (16 -> 2 channels, 0.3 ms) stays
float32: its outputs are the silhouette logit and the depth before tanh, where a 7-bit step
is millimetres (measured against float32 on 100 poses of another stream: foreground error 0.9 mm
with a float32 head, 1.3 mm without). So does a "shuffle" model's pixel shuffle after it: FX
quantizes pixel_shuffle by default, which put the head's float output back on one 7-bit scale
spanning the logit's range (tens of units), and moved the default G's hand depth by 5.0 mm on
average against float32 (100 development poses; 0.9 mm with the shuffle in float32). The output composition (sigmoid, tanh) and the silhouette
cut are the reference's float32 code. A G's output-resolution stage (`refine`) stays float32 as a
whole for the same reason: it adds a correction to those maps, and it reads the float input. Its
"features" form reads the last stage's int8 features, so its 3x3 convolution is int8 like theirs,
while its 1x1 convolution and its sum with the head's output stay float32, as the head does.
ONNX Runtime was measured too (float32 13.3 ms, int8 QOperator 5.8 ms, QDQ 6.5 ms, worse batch
throughput) and did not pay for a dependency.

Calibration: CALIBRATION_POSES poses of the simulator's calibration stream (engine.seeds:
training seed 0 + CALIBRATION_SEED_OFFSET, the stream that already set G's silhouette cut; never
the development or test poses), encoded as inference encodes them. Their observers set every
activation's scale once, deterministically, so two loads give the same int8 model.
Quantized weights are derived at load, never saved: the float32 checkpoint stays the one model.
torch 2.13 marks torch.ao's quantization and quantized tensors deprecated (moving to torchao);
torch is pinned, and should a later one drop them, quantizing fails and InferenceGenerator falls
back to float32 with the reason.
"""
from __future__ import annotations

import copy
import operator
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.data.crop import make_transform, normalise_joints
from engine.data.readers.sim import SimConfig, draw
from engine.models.fast_encoding import encode_pose_numpy
from engine.models.generator import ENCODING_SIZE, FeatureRefine, OutputRefine, SkeletonUNet
from engine.models.pose_encoding import crop_view
from engine.seeds import CALIBRATION_SEED_OFFSET, DEFAULT_TRAINING_SEED

QUANT_ENGINE = "x86"
CALIBRATION_SEED = DEFAULT_TRAINING_SEED + CALIBRATION_SEED_OFFSET
CALIBRATION_POSES = 16  # measured: fewer poses, tighter histograms, less error than 64 or 256
CALIBRATION_BATCH = 16
ACTIVATION_QMAX = 127  # the x86 configuration's reduced activation range (see the module docstring)


class _Body(nn.Module):
    """SkeletonUNet.body as a module's forward, the entry FX traces."""

    def __init__(self, net: SkeletonUNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, encoding: torch.Tensor) -> torch.Tensor:
        return self.net.body(encoding)


def int8_unavailable() -> str | None:
    """Why the int8 body cannot run here (one line), or None when it can."""
    engines = torch.backends.quantized.supported_engines
    if QUANT_ENGINE not in engines:
        return f"this torch build has no '{QUANT_ENGINE}' quantized engine (it has {', '.join(engines) or 'none'})"
    return None


def calibration_inputs(net: SkeletonUNet, count: int = CALIBRATION_POSES, seed: int = CALIBRATION_SEED) -> torch.Tensor:
    """(count, C, 64, 64) inputs of `net`'s body for the calibration stream's poses, as inference
    makes them (the skeleton encoding, conditioned on the hand's thickness for a shape-aware G)."""
    y, view, thickness = stream_poses(seed, 0, count)
    return net.condition(torch.from_numpy(encode_pose_numpy(y, view, size=ENCODING_SIZE)), torch.from_numpy(thickness))


def stream_poses(seed: int, start: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y (count, 21, 3), view (count, 5), thickness (count,)) float32 of samples start.. of the
    simulator stream `seed`, as inference draws them (no render: a pose, its camera and its
    hand's thickness are all G sees)."""
    config = SimConfig(seed=seed)
    ys, views, thickness = [], [], []
    for i in range(start, start + count):
        d = draw(config, i)
        joints = d.hand.joints()
        transform = make_transform(joints, d.camera)
        ys.append(normalise_joints(joints, transform))
        views.append(crop_view(transform))
        thickness.append(d.hand.shape.thickness)
    return (np.stack(ys).astype(np.float32), np.stack(views).astype(np.float32),
            np.asarray(thickness, np.float32))


def quantize_body(folded: SkeletonUNet, encodings: torch.Tensor | None = None) -> nn.Module:
    """An int8 module computing `folded.body` (BatchNorm folded, eval mode, on the CPU):
    encoding (B, C, 64, 64) float32 -> head output (B, 2, 128, 128) float32. Raises RuntimeError
    with the reason when int8 is unavailable here."""
    reason = int8_unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    if encodings is None:
        encodings = calibration_inputs(folded)
    torch.backends.quantized.engine = QUANT_ENGINE  # process-wide; the only quantized model here
    body = _Body(copy.deepcopy(folded).cpu().float().eval())
    with warnings.catch_warnings():  # torch.ao's notice that the API is moving to torchao
        warnings.simplefilter("ignore")
        float_stage = "net.refine.conv2" if isinstance(folded.refine, FeatureRefine) else "net.refine"
        qconfig = (get_default_qconfig_mapping(QUANT_ENGINE).set_module_name("net.head", None)  # see the docstring
                   .set_module_name(float_stage, None)
                   .set_object_type(operator.add, None).set_object_type(torch.add, None)  # head + stage
                   .set_object_type(torch.pixel_shuffle, None).set_object_type(F.pixel_shuffle, None))
        prepared = prepare_fx(body, qconfig, example_inputs=(encodings[:1],))
        with torch.inference_mode():
            for i in range(0, len(encodings), CALIBRATION_BATCH):
                prepared(encodings[i:i + CALIBRATION_BATCH])
        quantized = convert_fx(prepared)
    _union_cats(quantized)
    return quantized.eval()


def union_cat(tensors: list[torch.Tensor], dim: int) -> torch.Tensor:
    """torch.cat of quantized tensors into the union of their ranges.

    FX shares one observer between a concatenation and its inputs, so the skip concatenations'
    inputs already agree; the full-resolution stage's does not (upsampled features, 0..8, beside
    the graph input's upsampled encoding, which goes negative), and a plain quantized torch.cat
    requantizes everything to its first input's range, clipping the encoding's negatives to 0.
    Here the output scale covers every input's range, with the same 7-bit ceiling (0..127) the
    activations use.
    """
    if not tensors[0].is_quantized:  # inside a float32 module (the output stage)
        return torch.cat(tensors, dim)
    qparams = [(t.q_scale(), t.q_zero_point()) for t in tensors]
    if all(qp == qparams[0] for qp in qparams):
        return torch.cat(tensors, dim)
    return torch.ops.quantized.cat(tensors, dim, *_union_qparams(qparams))


def _union_cats(module: torch.fx.GraphModule) -> None:
    """Every torch.cat of the converted graph -> union_cat (see there)."""
    for node in module.graph.nodes:
        if node.op == "call_function" and node.target is torch.cat:
            node.target = union_cat
    module.recompile()


# ------------------------------------------------------------------ the runtime, simulated in float

def runtime_qparams(quantized: torch.fx.GraphModule) -> dict[str, tuple[float, int]]:
    """The activation (scale, zero point) of every quantized convolution of a body made by
    `quantize_body`, by module name, and of its input ("input"): what `simulate_body` needs."""
    out = {name: (float(m.scale), int(m.zero_point)) for name, m in quantized.named_modules()
           if name.startswith("net.") and hasattr(m, "scale") and hasattr(m, "zero_point")}
    for node in quantized.graph.nodes:
        if node.op == "call_function" and node.target is torch.quantize_per_tensor:
            scale, zero_point = (getattr(quantized, a.target) for a in node.args[1:3])
            out["input"] = (float(scale), int(zero_point))
            break
    return out


def simulate_body(folded: SkeletonUNet, qparams: dict[str, tuple[float, int]],
                  encoding: torch.Tensor) -> torch.Tensor:
    """`quantize_body(folded)(encoding)` computed in float32 with fake quantization, so that it
    is differentiable (straight-through rounding) and the weights can learn to suit int8
    (engine.train.quant_aware). Every rounding the runtime does is done here, with its scales
    (`qparams`, from `runtime_qparams`): the input's, each convolution's output (after its ReLU;
    max-pool and nearest upsampling keep their input's), the concatenations' union ranges
    (`union_cat`) and the weights' per-channel symmetric int8; the output stage as the runtime
    runs it (the "features" form's 3x3 convolution in int8, the rest float32). The result differs from the
    runtime's only where fbgemm's integer arithmetic rounds otherwise (measured on 128 training-stream
    poses, for the default G's teacher: logit 0.006 apart on average, against 0.10 between int8 and
    float32)."""
    def act(x: torch.Tensor, qp: tuple[float, int]) -> torch.Tensor:
        return torch.fake_quantize_per_tensor_affine(x, qp[0], qp[1], 0, 255)

    def block(layers: nn.Sequential, prefix: str, x: torch.Tensor) -> tuple[torch.Tensor, tuple[float, int]]:
        for index in (0, 2):  # the folded block: conv, ReLU, conv, ReLU
            conv, name = layers[index], f"{prefix}.{index}"
            x = act(F.relu(F.conv2d(x, _weight_int8(conv.weight), conv.bias, padding=conv.padding)), qparams[name])
        return x, qparams[name]

    def cat(parts: list[tuple[torch.Tensor, tuple[float, int]]]) -> torch.Tensor:
        return act(torch.cat([p for p, _ in parts], 1), _union_qparams([qp for _, qp in parts]))

    q_in = qparams["input"]
    h, q_h = act(encoding, q_in), q_in
    skips = []
    for i, layers in enumerate(folded.down):
        h, q_h = block(layers, f"net.down.{i}", F.max_pool2d(h, 2) if i else h)
        skips.append((h, q_h))
    for i, (layers, skip) in enumerate(zip(folded.up, reversed(skips[:-1]))):
        h, q_h = block(layers, f"net.up.{i}", cat([(F.interpolate(h, scale_factor=2.0, mode="nearest"), q_h), skip]))

    def heads(features: torch.Tensor) -> torch.Tensor:  # the float32 head, plus the "features" stage
        out = folded.head(features)
        stage = folded.refine
        if not isinstance(stage, FeatureRefine):
            return out
        hidden = F.relu(F.conv2d(features, _weight_int8(stage.conv1.weight), stage.conv1.bias, padding=1))
        return out + stage.conv2(act(hidden, qparams["net.refine.conv1"]))

    encoded = act(encoding, q_in)
    if folded.full_stage == "shuffle":
        h, _ = block(folded.full, "net.full", cat([(h, q_h), (encoded, q_in)]))
        out = F.pixel_shuffle(heads(h), 2)
    else:
        wide = act(F.interpolate(encoded, scale_factor=2.0, mode="bilinear", align_corners=False), q_in)
        h, _ = block(folded.full, "net.full", cat([(F.interpolate(h, scale_factor=2.0, mode="nearest"), q_h), (wide, q_in)]))
        out = heads(h)
    if isinstance(folded.refine, OutputRefine):
        return folded.refine(out, encoding)  # float32 in the runtime, fed the float input
    return out


def _weight_int8(weight: torch.Tensor) -> torch.Tensor:
    """Per-channel symmetric int8 fake quantization, as the x86 configuration's weight observer."""
    scale = (weight.detach().abs().amax((1, 2, 3)) / 127.5).clamp(min=1e-12)
    return torch.fake_quantize_per_channel_affine(weight, scale, torch.zeros_like(scale, dtype=torch.int32), 0, -128, 127)


def _union_qparams(qparams: list[tuple[float, int]]) -> tuple[float, int]:
    """The (scale, zero point) covering every input's range (`union_cat`), on the activations' 7-bit ceiling."""
    if all(qp == qparams[0] for qp in qparams):
        return qparams[0]
    lo = min(-z * s for s, z in qparams)
    hi = max((ACTIVATION_QMAX - z) * s for s, z in qparams)
    scale = (hi - lo) / ACTIVATION_QMAX
    return scale, int(round(-lo / scale))
