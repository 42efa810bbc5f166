"""G(y): a hand pose to a 128x128 depth crop (engine.data.crop's convention), and its default weights.

Architecture (`SkeletonUNet`): the pose is drawn as a skeleton image (engine.models.pose_encoding)
at 64x64 and decoded by a small U-Net (Ronneberger et al., MICCAI 2015), whose skip connections
hand the bones' exact positions to the layers that draw the silhouette. A plain MLP-to-image
decoder has to learn the projection of 21 points through fully connected weights first, which
takes far longer to train; the skeleton image gives it for free. The encoding is drawn at 64x64
because drawing 25 segments' falloff at 128x128 costs more than the network itself on a CPU;
a last full-resolution stage (upsample + two convolutions, fed the upsampled encoding as well)
brings the output to 128x128. Upsampling is nearest-neighbour + 3x3 convolution rather than a
transposed convolution, which avoids checkerboard artefacts (Odena et al., Distill 2016, as in
pytorch/examples fast_neural_style). `full_stage="shuffle"` is the cheaper alternative for the
real-time path (issue 14): that last stage (fed the encoding as well) runs at 64x64 and its 1x1
head gives each of the 2x2 output pixels under a feature pixel its own two maps, rearranged by
pixel shuffle (sub-pixel convolution, Shi et al., CVPR 2016). Profiled on one thread, the
full-resolution stage was ~29 % of the shipped G and, in narrow nets, most of it: its 3x3
convolution with 8 output channels at 128x128 ran at a fifth of the core's peak.

`refine` (hidden channels; 0 = none) adds a small residual stage after either; in its first
form (`refine_stage="full"`), two 3x3 convolutions at 128x128 over the two output maps and the
encoding (bilinear to 128x128), whose result is added to the maps; the cheap form is below.
Why: a "shuffle" G has no layer at the output resolution, each 2x2 block of output pixels comes
from one 64x64 feature vector by a 1x1 head, and the pixels it puts on the wrong side of the
outline are almost all one pixel off it (92-93 %, R1 on the development seed). The stage sees
its neighbours across block borders and where the bones fall at the finer spacing. Its last
convolution starts at zero, so a G given the stage by `train gan --init` starts as exactly the
file's G. Measured before building it (a planning probe, not shipped): trained
alone on the frozen default G's outputs for 1,500 steps, a 16-channel stage took the
held-out full-crop MAE from 8.31 to 8.26 mm and foreground from 3.94 to 3.90 mm. Its cost: it
runs in float32 at 128x128 (52 M multiply-adds at 16 channels, against the body's ~205 M in
int8), and a 16-channel stage made the int8 runtime's G about 45 % slower per crop (quiet machine,
one thread: 5.0-7.3 -> 7.8-10.7 ms p50), which is why no shipped G has that form (docs/measurements.md).
`refine_stage="features"` is the cheap form: a second head beside the 1x1 one, a 3x3 convolution
over the last stage's features (at 64x64 in a "shuffle" G, so it sees the neighbouring 2x2
blocks), a ReLU and a 1x1 convolution, added to the head's output before the pixel shuffle. Its
first convolution reads features the int8 runtime already holds in int8 and is quantized like
the body's; only the 1x1 convolution and the sum stay float32, as the head does (the maps'
7-bit step would be millimetres). Its cost in the int8 runtime (one thread, one crop,
interleaved rounds of 64, median of the rounds' ratios): +4 % for an untrained 16-channel one
beside a training run, +8 % for the shipped one on the quiet machine (16 rounds; 4.9-8.0 ->
5.7-8.0 ms p50), where the "full" form took +45 %. The shipped G has this form.

Output. Two maps: a silhouette logit m and a foreground depth d = tanh(.), composed as
x_hat = sigmoid(m) * d + (1 - sigmoid(m)) * (+1), the background being +1 by the crop convention.
Training applies the design's objective to this x_hat (`.train()` mode returns it). What the
network outputs in eval mode (its "raw" output in `evaluate`) is the config's `output`:
- "soft" (every checkpoint without the key, the original G): x_hat itself;
- "mask": d where m > 0, else the background, a hard composition with no tuned number. It needs
  m trained as a silhouette classifier and d as the depth under it, which the design's objective
  does not do (below); `train gan --mask-weight --depth-weight` adds those terms (engine.losses).

Eval mode (`.eval()`, what `generate`, the app and evaluation use) applies the silhouette cut to
that output (`cut_silhouette`; for a "mask" model calibration may pick the identity). For x_hat:
an L2-trained image is the expected depth, so where the hand's outline is uncertain it blends
hand depth with the background into "flying pixels" at depths where no surface exists, which a
crisp silhouette must not have. A pixel is kept as hand only where the hand more likely covers it
than not, judged against the nearest hand surface (the local minimum); kept pixels keep x_hat,
except that a pixel blended across a depth step takes the front surface's depth. The cut's
numbers are in the config, calibrated on simulator crops from a seed used neither for training
nor for evaluation (engine.train.calibration.calibrate_silhouette_cut). On the original G's 1,000
held-out poses the cut takes IoU from 0.84 to 0.94 and foreground MAE from 11.6 to 7.4 mm, but
mostly by dropping uncertain pixels: the full-crop MAE, which charges dropped pixels too, is
13.8 mm with and without it (300 test poses, model card).

Measured alternatives under the design's objective alone: cutting where m > 0 (m did not become
a clean mask, since with d free to reach +1 the objective does not need it: sigmoid(m) was ~0.65
inside the hand and ~0.27 outside after 400 steps, and the IoU was 0.84 against 0.90 for the cut;
hence the supervised heads of a "mask" model); outputting d inside the cut (65 mm too near, d
compensates sigmoid(m) < 1); and a straight-through hard mask in training (L2 barely punishes
false hand pixels whose depth is near +1, so the silhouette bled into the background: IoU 0.50 at
step 200 against 0.81).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.data.crop import BACKGROUND, CROP_SIZE
from engine.hand.sampler import MEAN_THICKNESS, THICKNESS_RANGE
from engine.models import DEFAULT_GENERATOR_PATH
from engine.models.checkpoint import CheckpointError, load_model, register
from engine.models.pose_encoding import ENCODING_CHANNELS, encode_pose

ENCODING_SIZE = CROP_SIZE // 2  # the skeleton is drawn at 64x64, see the module docstring
OUTPUT_MODES = ("soft", "mask")  # what the network outputs in eval mode, see the module docstring
FULL_STAGES = ("upsample", "shuffle")  # how the 64x64 U-Net reaches 128x128, see the module docstring
REFINE_STAGES = ("full", "features")  # where the output-resolution stage reads, see the module docstring


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class OutputRefine(nn.Module):
    """The residual output-resolution stage (`SkeletonUNet(refine=...)`, see the module
    docstring): maps (B, 2, 128, 128) + encoding (B, C, 64, 64) -> maps + a learnt correction.
    One module, so that the int8 runtime can keep all of it in float32 by name."""

    def __init__(self, c_in: int, hidden: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, 2, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # starts as the identity: see the module docstring
        nn.init.zeros_(self.conv2.bias)

    def forward(self, maps: torch.Tensor, encoding: torch.Tensor) -> torch.Tensor:
        wide = F.interpolate(encoding, scale_factor=2.0, mode="bilinear", align_corners=False)
        return maps + self.conv2(F.relu(self.conv1(torch.cat([maps, wide], dim=1))))


class FeatureRefine(nn.Module):
    """The output stage's cheap form (`SkeletonUNet(refine=..., refine_stage="features")`, see the
    module docstring): the last stage's features (B, C, H, W) -> a correction to the head's
    output (B, c_out, H, W). Its last convolution starts at zero, as OutputRefine's."""

    def __init__(self, c_in: int, hidden: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, c_out, 1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.conv1(features)))


@register("skeleton_unet")
class SkeletonUNet(nn.Module):
    """U-Net over the 64x64 skeleton image with a final 128x128 stage; see the module docstring.

    Config (the constructor's keywords, stored in checkpoints): base channels, number of levels
    (resolutions 64, 32, ... halving per level), channels of the full-resolution stage, and the
    eval-mode silhouette cut (`cut_silhouette`): its window, edge fraction and hand maximum; the
    eval-mode `output` ("soft" or "mask") and how the last stage reaches 128x128 (`full_stage`:
    "upsample" or "shuffle"), both absent from the config at their original values; and whether G
    is told the hand's thickness (`shape_input`, absent when not: see `condition`); the hidden
    channels of the output-resolution stage (`refine`, absent when 0: see the module docstring)
    and its form (`refine_stage`, absent when "full").
    """

    def __init__(self, base: int = 24, levels: int = 4, full_res: int = 16, max_channels: int = 192,
                 edge_window: int = 9, edge_fraction: float = 0.5, hand_max: float = 0.8,
                 depth_window: int = 1, depth_step: float = 0.0, output: str = "soft",
                 full_stage: str = "upsample", shape_input: bool = False, refine: int = 0,
                 refine_stage: str = "full") -> None:
        super().__init__()
        if output not in OUTPUT_MODES:
            raise ValueError(f"unknown generator output {output!r}; use {', '.join(OUTPUT_MODES)}")
        if full_stage not in FULL_STAGES:
            raise ValueError(f"unknown generator full stage {full_stage!r}; use {', '.join(FULL_STAGES)}")
        self.output, self.full_stage = output, full_stage
        self.config = {"base": base, "levels": levels, "full_res": full_res, "max_channels": max_channels}
        # Checkpoints of the original kind keep their config exactly as it always was.
        if output != "soft":
            self.config["output"] = output
        if full_stage != "upsample":
            self.config["full_stage"] = full_stage
        self.shape_input = bool(shape_input)
        if self.shape_input:
            self.config["shape_input"] = True
        if int(refine) < 0:
            raise ValueError(f"generator refine channels must not be negative, got {refine}")
        if refine_stage not in REFINE_STAGES:
            raise ValueError(f"unknown generator refine stage {refine_stage!r}; use {', '.join(REFINE_STAGES)}")
        if refine:
            self.config["refine"] = int(refine)
            if refine_stage != "full":
                self.config["refine_stage"] = refine_stage
        self.set_silhouette_cut(edge_window, edge_fraction, hand_max, depth_window, depth_step)
        widths = [min(base * 2 ** i, max_channels) for i in range(levels)]
        self.down = nn.ModuleList()
        c_in = input_channels(self.shape_input)
        for w in widths:
            self.down.append(_block(c_in, w))
            c_in = w
        self.up = nn.ModuleList()
        for w_skip in reversed(widths[:-1]):
            self.up.append(_block(c_in + w_skip, w_skip))
            c_in = w_skip
        self.full = _block(c_in + input_channels(self.shape_input), full_res)
        # "shuffle": the last stage runs at 64x64 and its 1x1 head gives each of the 2x2 output
        # pixels under a feature pixel its own two maps (sub-pixel convolution).
        self.head = nn.Conv2d(full_res, 2 if full_stage == "upsample" else 2 * 4, 1)
        self.refine: OutputRefine | FeatureRefine | None = None
        if refine and refine_stage == "features":
            self.refine = FeatureRefine(full_res, int(refine), self.head.out_channels)
        elif refine:
            self.refine = OutputRefine(2 + input_channels(self.shape_input), int(refine))

    def forward(self, y: torch.Tensor, view: torch.Tensor | None = None,
                encoding: torch.Tensor | None = None, heads: bool = False,
                thickness: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Poses y (B, 21, 3), views (B, 5) or None → crops (B, 1, 128, 128) in [-1, 1].

        `encoding` (B, C, 64, 64) is `encode_pose(y, view, size=ENCODING_SIZE)` when the caller
        already has it (training shares it with the discriminator). `thickness` (B,): the hands'
        shape.thickness, which a shape-aware G draws (`condition`). Training mode returns x_hat;
        with `heads`, (x_hat, silhouette logit m, depth d), what the supervised-head terms need
        (one call, so DistributedDataParallel sees every output). Eval mode returns the
        network's output (`network_output`) after the silhouette cut.
        """
        if encoding is None:
            encoding = encode_pose(y, view, size=ENCODING_SIZE)
        out = self.body(self.condition(encoding, thickness))
        if heads:
            x_hat, logit = compose_output(out)
            return x_hat, logit, torch.tanh(out[:, 1:].float())
        if self.training:
            return compose_output(out)[0]
        return self.cut_silhouette(network_output(out, self.output))

    def forward_parts(self, y: torch.Tensor, view: torch.Tensor | None = None,
                      encoding: torch.Tensor | None = None, thickness: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the network's output before the eval-mode cut, silhouette logit m), both
        (B, 1, 128, 128). The output is x_hat for a "soft" model (as trained), the hard
        composition for a "mask" model (`network_output`)."""
        if encoding is None:
            encoding = encode_pose(y, view, size=ENCODING_SIZE)
        out = self.body(self.condition(encoding, thickness))
        return network_output(out, self.output), out[:, :1].float()

    def condition(self, encoding: torch.Tensor, thickness: torch.Tensor | None = None) -> torch.Tensor:
        """The body's input from a skeleton encoding (B, ENCODING_CHANNELS, H, W).

        Why a shape input: the simulator scales every radius of the hand by its shape.thickness
        (sampled 0.9-1.1) and no joint moves, so a G that sees the joints alone can only draw
        the mean hand: on 300 development poses the mean hand's own render scores silhouette IoU
        0.968 against the true one, a ceiling below issue 15's 0.96-with-the-cut target plus
        G's own error. A shape-aware G gets the thickness as one constant plane, (t - mean) /
        half-range; hands without one (None: a real dataset's, a caller that has no shape) get
        the mean. A G without the input returns the encoding unchanged and ignores `thickness`.
        """
        if not self.shape_input:
            return encoding
        n, _, h, w = encoding.shape
        if thickness is None:
            t = torch.full((n,), MEAN_THICKNESS, device=encoding.device)
        else:
            t = torch.as_tensor(thickness, device=encoding.device).reshape(n).float()
        half = 0.5 * (THICKNESS_RANGE[1] - THICKNESS_RANGE[0])
        plane = ((t - MEAN_THICKNESS) / half).to(encoding.dtype)[:, None, None, None].expand(n, 1, h, w)
        return torch.cat([encoding, plane], dim=1)

    def body(self, encoding: torch.Tensor) -> torch.Tensor:
        """The convolutional part: encoding (B, C, 64, 64) -> head output (B, 2, 128, 128), the
        silhouette logit and the depth before tanh. Apart from `compose_output` so that an
        inference backend (engine.models.int8) can replace exactly this part."""
        h, skips = encoding, []
        for i, block in enumerate(self.down):
            if i:
                h = F.max_pool2d(h, 2)
            h = block(h)
            skips.append(h)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            h = block(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), skip], dim=1))
        if self.full_stage == "shuffle":
            out = F.pixel_shuffle(self.heads(self.full(torch.cat([h, encoding], dim=1))), 2)
        else:
            h = torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"),
                           F.interpolate(encoding, scale_factor=2.0, mode="bilinear", align_corners=False)], dim=1)
            out = self.heads(self.full(h))
        return self.refine(out, encoding) if isinstance(self.refine, OutputRefine) else out

    def heads(self, features: torch.Tensor) -> torch.Tensor:
        """The 1x1 head's output, plus the "features" stage's correction when G has one."""
        out = self.head(features)
        return out + self.refine(features) if isinstance(self.refine, FeatureRefine) else out

    def set_silhouette_cut(self, edge_window: int, edge_fraction: float, hand_max: float,
                           depth_window: int = 1, depth_step: float = 0.0) -> None:
        """Change the eval-mode cut (calibration); the config follows, so checkpoints keep it."""
        if int(edge_window) % 2 == 0 or int(depth_window) % 2 == 0:
            raise ValueError("silhouette cut windows must be odd")
        self.edge_window, self.edge_fraction = int(edge_window), float(edge_fraction)
        self.hand_max, self.depth_window, self.depth_step = float(hand_max), int(depth_window), float(depth_step)
        self.config.update(edge_window=self.edge_window, edge_fraction=self.edge_fraction, hand_max=self.hand_max,
                           depth_window=self.depth_window, depth_step=self.depth_step)

    def cut_silhouette(self, x: torch.Tensor) -> torch.Tensor:
        """Eval-mode silhouette of crops x (B, 1, H, W): edge and haze pixels become background.

        Under the L2 term a pixel the hand covers with probability p, at depth t, is predicted
        as p * t + (1 - p) * (+1). The nearest hand surface t is estimated by the minimum of x
        over an edge_window square around the pixel; the pixel stays hand when p > 1 -
        edge_fraction, i.e. x < t + edge_fraction * (1 - t), and only where that minimum is below
        hand_max (else it is background haze, far from any confident hand pixel).

        Kept pixels more than depth_step (crop units) behind the nearest depth in their
        depth_window square take that nearest depth (window 1: unchanged), so a pixel blended
        across a depth step (a finger over the palm, the silhouette's rim) shows the front
        surface, as a sensor pixel would, instead of a depth between the two; smooth slopes,
        which differ less than depth_step across the window, are left alone.
        """
        local = local_minimum(x, self.edge_window)
        keep = (x < local + self.edge_fraction * (BACKGROUND - local)) & (local < self.hand_max)
        depth = x
        if self.depth_window > 1:
            near = local_minimum(x, self.depth_window)
            depth = torch.where(x - near > self.depth_step, near, x)
        return torch.where(keep, depth, torch.full_like(x, BACKGROUND))


def input_channels(shape_input: bool) -> int:
    """Channels of the body's input: the skeleton encoding's, plus the thickness plane."""
    return ENCODING_CHANNELS + (1 if shape_input else 0)


def network_output(out: torch.Tensor, output: str = "soft") -> torch.Tensor:
    """The network's own output (B, 1, 128, 128) from the head output, by the model's `output`
    mode: "soft" x_hat as trained (`compose_output`), or "mask": d where the silhouette logit
    m > 0 (sigmoid(m) > 1/2, the hand more likely than not), else the background. The mask
    needs no tuned number: m is trained as a per-pixel classifier of the true silhouette."""
    if output == "mask":
        logit, depth = out[:, :1].float(), torch.tanh(out[:, 1:].float())
        return torch.where(logit > 0, depth, torch.full_like(depth, BACKGROUND))
    return compose_output(out)[0]


def compose_output(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_hat, logit m) from the head output (B, 2, 128, 128): x_hat = sigmoid(m) * tanh(d) +
    (1 - sigmoid(m)) * background, in float32 whatever the body ran in."""
    logit, depth = out[:, :1].float(), torch.tanh(out[:, 1:].float())
    mask = torch.sigmoid(logit)
    return mask * depth + (1.0 - mask) * BACKGROUND, logit


def local_minimum(x: torch.Tensor, window: int) -> torch.Tensor:
    """Minimum of x (B, 1, H, W) over a window x window square around each pixel (odd window),
    as two 1D passes."""
    k = int(window)
    m = F.max_pool2d(-x, (k, 1), stride=1, padding=(k // 2, 0))
    return -F.max_pool2d(m, (1, k), stride=1, padding=(0, k // 2))


@torch.no_grad()
def generate_crops(model: nn.Module, y: np.ndarray, view: np.ndarray | None = None,
                   batch_size: int = 64, silhouette_cut: bool = True,
                   thickness: np.ndarray | None = None) -> np.ndarray:
    """Crops (N, 128, 128) float32 for poses y (N, 21, 3), views (N, 5) (see crop_view) and the
    hands' thicknesses (N,) or None (the mean hand; a G without the shape input ignores them).

    Runs the model in eval mode (hardened silhouette) on its own device, in batches. `model`
    may be an InferenceGenerator already built with its backend (engine.models.inference). A
    SkeletonUNet runs as its InferenceGenerator (BatchNorm folded, numpy encoding on the CPU:
    the same output within float32 rounding, faster); the fold is redone per call, so a model
    still being trained is never seen with stale weights. `silhouette_cut=False`: a SkeletonUNet's
    raw x_hat, without the eval-mode cut.
    """
    from engine.models.inference import InferenceGenerator  # it builds on this module

    y = np.asarray(y, dtype=np.float32).reshape(-1, 21, 3)
    views = None if view is None else np.asarray(view, dtype=np.float32).reshape(-1, 5)
    thick = None if thickness is None else np.asarray(thickness, dtype=np.float32).reshape(-1)
    if isinstance(model, InferenceGenerator):  # already built (its backend chosen) by the caller
        raw, cut = model.raw_and_cut(y, views, thick)
        return cut if silhouette_cut else raw
    model.eval()
    device = next(model.parameters()).device
    fast = InferenceGenerator(model, silhouette_cut=silhouette_cut) if isinstance(model, SkeletonUNet) else None
    out = []
    for i in range(0, len(y), batch_size):
        vb = None if views is None else views[i:i + batch_size]
        if fast is not None:
            out.append(fast(y[i:i + batch_size], vb, None if thick is None else thick[i:i + batch_size]))
            continue
        yb = torch.from_numpy(y[i:i + batch_size]).to(device)
        out.append(model(yb, None if vb is None else torch.from_numpy(vb).to(device))[:, 0].float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, CROP_SIZE, CROP_SIZE), np.float32)


@torch.no_grad()
def generate_raw_and_cut(model: nn.Module, y: np.ndarray, view: np.ndarray | None = None,
                         batch_size: int = 64, thickness: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray | None]:
    """(raw network output, output after the eval-mode silhouette cut), each (N, 128, 128), from
    one pass. A model without a cut (not a SkeletonUNet) gives its eval-mode output and None.
    `model` may be an InferenceGenerator already built with its backend; `thickness` as for
    generate_crops."""
    from engine.models.inference import InferenceGenerator  # it builds on this module

    if isinstance(model, InferenceGenerator):
        fast = model
    elif not isinstance(model, SkeletonUNet):
        return generate_crops(model, y, view, batch_size), None
    else:
        fast = InferenceGenerator(model.eval())
    y = np.asarray(y, dtype=np.float32).reshape(-1, 21, 3)
    views = None if view is None else np.asarray(view, dtype=np.float32).reshape(-1, 5)
    return fast.raw_and_cut(y, views, thickness)


def load_generator(path: str | Path = DEFAULT_GENERATOR_PATH,
                   device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """A trained generator rebuilt from its file alone: (model in eval mode, info metadata)."""
    model, _, info = load_model(path, map_location=device)
    if not isinstance(model, SkeletonUNet):
        raise CheckpointError(f"{path}: a {model.architecture} checkpoint, not a generator")
    return model, info


def generate_depth(model: nn.Module, joints: np.ndarray, camera, thickness: float = 1.0) -> np.ndarray:
    """A full depth frame (float32 mm, 0 = no data) of a hand's joints (21, 3) mm seen by `camera`.

    Crops by the crop convention around the joints, runs G (hardened silhouette) and pastes the
    crop back into the camera's frame: engine.runtime_batch.generate_batch for one pose.
    `thickness` is the hand's shape.thickness, which a shape-aware G draws the hand at; without it,
    G draws the mean hand.
    """
    from engine.models.inference import InferenceGenerator  # both build on this module
    from engine.runtime_batch import generate_batch

    return generate_batch(InferenceGenerator(model), np.asarray(joints)[None], camera,
                          thicknesses=thickness).depth[0]
