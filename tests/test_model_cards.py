"""Every shipped network has a model card beside it that names the project command it came from."""
from __future__ import annotations

import pytest

from engine.models import MODELS_DIR

WEIGHTS = sorted(MODELS_DIR.glob("*.safetensors"))


def test_the_shipped_networks_are_there():
    assert {p.name for p in WEIGHTS} >= {"generator_default.safetensors", "pose_estimator.safetensors",
                                         "style_stage.safetensors", "depth_vgg.safetensors"}


@pytest.mark.parametrize("weights", WEIGHTS, ids=lambda p: p.stem)
def test_each_weights_file_has_a_card_with_its_training_command(weights):
    card = weights.with_suffix(".md")
    assert card.is_file(), f"{weights.name} ships without {card.name}"
    assert "python main.py train" in card.read_text(encoding="utf-8"), f"{card.name} names no training command"
