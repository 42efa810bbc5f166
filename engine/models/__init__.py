"""Networks (generator, discriminator, pose estimator) and their self-describing checkpoints.

The shipped weights' paths live here, free of torch, so the command line can name them in its
help without importing the networks.
"""
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[2] / "resources" / "models"
# The shipped generator, used by `generate`, `evaluate` and the app when no --model is given.
DEFAULT_GENERATOR_PATH = MODELS_DIR / "generator_default.safetensors"
# The previous default (design objective, soft output + calibrated cut): distillation's teacher and
# the reference the new default was measured against (its card: generator_soft.md).
SOFT_GENERATOR_PATH = MODELS_DIR / "generator_soft.safetensors"
# The shipped pose estimator (the project's own depth network).
DEFAULT_ESTIMATOR_PATH = MODELS_DIR / "pose_estimator.safetensors"
# The depth VGG-19 of the style losses: the first pose estimator's trunk, kept when the estimator
# was retrained so the feature losses (and what was trained with them) stay as they were.
DEFAULT_DEPTH_VGG_PATH = MODELS_DIR / "depth_vgg.safetensors"
# Channel widths of the pose estimator's five VGG-19 blocks (torchvision's: 64, 128, 256, 512, 512).
DEFAULT_ESTIMATOR_WIDTHS: tuple[int, ...] = (8, 16, 32, 64, 128)
# The pose estimator's heads (engine.models.pose_net.PoseNet's `head`).
ESTIMATOR_HEADS: tuple[str, ...] = ("fc", "integral")
# The shipped real-time style stage (engine.models.style_net; its card: style_stage.md).
DEFAULT_STYLE_STAGE_PATH = MODELS_DIR / "style_stage.safetensors"
