"""Options of `train gan`: one field each, from which the CLI's flags, the defaults and the
resume rule are derived (engine.train.options). Free of torch so the command line's help is quick.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.sim.sensors import SENSOR_NAMES
from engine.train.options import defaults, mutable, option, yes_no

_DEVICES = ("auto", "cpu", "cuda")
_FULL_STAGES = ("upsample", "shuffle")  # engine.models.generator.FULL_STAGES
_OUTPUTS = ("soft", "mask")  # engine.models.generator.OUTPUT_MODES (this module must not import torch)
_REFINE_STAGES = ("full", "features")  # engine.models.generator.REFINE_STAGES


@dataclass(frozen=True)
class GanOptions:
    """The options of a GAN run (its options.json, key for key)."""

    data: str = option("sim", "sim, DIR, nyu:PATH, icvl:PATH, msra:PATH or hands17:PATH")
    sensors: tuple[str, ...] = option(
        ("none",), "sim only: comma-separated sensor models of the training targets, from "
        f"{', '.join(SENSOR_NAMES)} (none: the clean render)")
    cameras: tuple[str, ...] = option(("kinect_v1",), "sim only: comma-separated camera presets")
    seed: int = option(0, "seed of the simulator stream and (without --order-seed) of the shuffling")
    order_seed: int | None = option(
        None, "seed of the order the training crops are drawn in (default: --seed). A continuation "
        "(--init) on its parent's cache repeats the parent's order unless given another one, and a run "
        "shorter than an epoch then never sees the crops at the end of that order", parse=int)
    steps: int = option(3000, "total training steps", mutable=True)
    batch_size: int = option(32, "samples per step per process")
    lr_g: float = option(1e-3, "generator Adam learning rate, cosine-decayed")
    lr_d: float = option(2e-4, "discriminator Adam learning rate, cosine-decayed")
    l2_weight: float = option(1.0, "lambda of the L2 term")
    adv_weight: float = option(1.0, "weight of G's adversarial term -log D (1: the design's; 0: L2 and heads "
                               "only, an ablation; not with --style)")
    mask_weight: float = option(0.0, "weight of the per-pixel BCE of G's silhouette logit against the true "
                                "silhouette (engine.losses; 0: the design's objective)")
    depth_weight: float = option(0.0, "weight of the per-pixel L1 of G's depth head inside the true "
                                 "silhouette (engine.losses; 0: the design's objective)")
    gap_weight: float = option(0.0, "extra BCE weight W (1 + W) on background pixels in the gaps between fingers, "
                               "inside a closing of the true silhouette (engine.separation_weights; 0: off)")
    step_weight: float = option(0.0, "extra L1 weight S (1 + S) on hand pixels at depth steps > 10 mm, where a "
                                "finger lies over the palm (engine.separation_weights; 0: off)")
    part_weight: float = option(0.0, "weight of the cross-entropy of the part labels of G's depth head (each true "
                                "hand pixel's nearest capsule) against the target's (engine.part_loss; 0: off)")
    cache_size: int = option(24000, "training crops made once into RUN_DIR/cache")
    eval_count: int = option(200, "held-out crops evaluated at each checkpoint")
    g_base: int = option(24, "generator base channels")
    g_levels: int = option(4, "generator U-Net levels")
    g_full: int = option(16, "generator full-resolution channels")
    g_full_stage: str = option("upsample", "how G reaches 128x128: upsample (a full-resolution stage) or "
                               "shuffle (a 64x64 stage and a sub-pixel head, cheaper); engine.models.generator",
                               choices=_FULL_STAGES)
    g_output: str = option("soft", "what G outputs in eval mode: soft (x_hat as trained) or mask (depth "
                           "head where the silhouette logit > 0); engine.models.generator",
                           choices=_OUTPUTS)
    g_shape_input: bool = option(False, "whether G is told each hand's thickness (shape.thickness, which the "
                                 "simulator's radii follow and the joints do not show): true or false; "
                                 "engine.models.generator", parse=yes_no)
    g_refine: int = option(0, "hidden channels of G's output stage, a correction to its head's output "
                           "(0: none; where it reads: --g-refine-stage); engine.models.generator")
    g_refine_stage: str = option("full", "where the --g-refine stage reads: full (the output maps and the "
                                 "encoding at 128x128, float32 in the int8 runtime) or features (a second head "
                                 "over the last stage's features, cheap); engine.models.generator",
                                 choices=_REFINE_STAGES)
    g_refine_lr: float | None = option(None, "the --g-refine stage's own Adam learning rate, cosine-decayed with "
                                       "--lr-g's (default: --lr-g; a stage added to a trained G learns from zero "
                                       "while the body is only fine-tuned)", parse=float)
    d_base: int = option(16, "discriminator base channels")
    checkpoint_every: int = option(250, "steps between checkpoints + evaluations", mutable=True)
    preview_every: int = option(250, "steps between preview images", mutable=True)
    log_every: int = option(10, "steps between log rows", mutable=True)
    device: str = option("auto", "auto: CUDA when available", mutable=True, choices=_DEVICES)
    threads: int = option(0, "CPU threads for torch (0: torch's choice)", mutable=True)
    # Styled runs (engine.train.style_objective): L_ST in place of the L2 term when `style` is set.
    # The weights are the design's start, engine.style.losses.StyleLossConfig's defaults
    # (tests/test_train_style.py checks they agree; that module imports torch, this one must not).
    style: str | None = option(
        None, "the design's styled variant: G minimises -log D(G(y), y) + L_ST(G(y); content x, style "
        "image) instead of the L2 term; a style-bank image name or a depth PNG path (fixed for a run)", parse=str)
    style_scale: float | None = option(None, "mm per stored unit of a --style PNG (default: sidecar or guessed)",
                                       parse=float)
    style_camera: str | None = option(
        None, "camera preset the style image is cropped through (default: the run's first camera)", parse=str)
    w_content: float = option(2.0, "L_ST content weight, relu4_2")
    w_style: float = option(0.15, "L_ST Gram style weight, relu1_1..relu5_1")
    w_tv: float = option(0.5, "L_ST total-variation weight")
    init: str | None = option(None, "a generator .safetensors that a new run's G starts from (same --g-* sizes; "
                              "one without the shape input starts a --g-shape-input G as itself, the "
                              "thickness plane's weights zero, and one without the --g-refine stage starts "
                              "with the stage as the identity)", parse=str)


DEFAULTS: dict[str, object] = defaults(GanOptions)  # the options.json a new run starts from
MUTABLE = mutable(GanOptions)
