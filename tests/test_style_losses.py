"""L_ST's terms on small cases computed by hand."""
from __future__ import annotations

import pytest
import torch

from engine.models.vgg import VGG19Features
from engine.style.losses import (
    StyleLossConfig,
    StyleTransferLoss,
    content_loss,
    gram_matrix,
    style_loss,
    total_variation,
)


def test_gram_of_a_two_by_two_map_by_hand():
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])  # (1, 2, 2, 2)
    # <c0, c0> = 1 + 4 + 9 + 16 = 30, <c0, c1> = 2 + 4 = 6, <c1, c1> = 2; / (C H W = 8)
    torch.testing.assert_close(gram_matrix(f), torch.tensor([[[30.0, 6.0], [6.0, 2.0]]]) / 8)


def test_style_loss_sums_layers_of_mean_squared_gram_differences():
    f = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])
    feats = {"a": f, "b": 2 * f}
    zero = {"a": torch.zeros(1, 2, 2), "b": torch.zeros(1, 2, 2)}
    g = torch.tensor([30.0, 6.0, 6.0, 2.0]) / 8
    expected = (g ** 2).mean() + ((4 * g) ** 2).mean()  # 2f has 4x the Gram
    torch.testing.assert_close(style_loss(feats, zero, ["a", "b"]), expected)
    own = {k: gram_matrix(v) for k, v in feats.items()}
    assert style_loss(feats, own, ["a", "b"]).item() == 0.0


def test_content_loss_is_the_mean_squared_difference():
    a, b = torch.zeros(1, 2, 3, 3), torch.full((1, 2, 3, 3), 3.0)
    assert content_loss(a, b).item() == pytest.approx(9.0)


def test_total_variation_of_ramps():
    x = torch.arange(5.0).mul(3.0).expand(1, 1, 4, 5)  # horizontal slope 3
    assert total_variation(x).item() == pytest.approx(3.0)
    y = torch.arange(4.0).mul(2.0).view(1, 1, 4, 1).expand(1, 1, 4, 5)  # vertical slope 2
    assert total_variation(y).item() == pytest.approx(2.0)
    assert total_variation(torch.ones(1, 1, 4, 5)).item() == 0.0


def test_design_defaults():
    cfg = StyleLossConfig()
    assert (cfg.content_layer, cfg.content_weight) == ("relu4_2", 2.0)
    assert cfg.style_layers == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    assert (cfg.style_weight, cfg.tv_weight) == (0.15, 0.5)
    assert cfg.layers == (*cfg.style_layers, "relu4_2")


def test_l_st_weighs_its_terms_and_trains_only_the_output():
    torch.manual_seed(0)
    loss = StyleTransferLoss(VGG19Features(widths=(4, 4, 8, 8, 8)),
                             StyleLossConfig(content_weight=2.0, style_weight=3.0, tv_weight=0.5))
    content = torch.rand(2, 1, 32, 32) * 2 - 1
    style = torch.rand(1, 1, 32, 32) * 2 - 1
    grams = loss.style_grams(style)
    assert all(g.shape[0] == 1 for g in grams.values())

    one = content[:1]  # its own style: the batch-averaged Gram target is its Gram
    same = loss(one, one, loss.style_grams(one))
    assert same.content.item() == 0.0 and same.style.item() == 0.0
    assert same.total.item() == pytest.approx(0.5 * total_variation(one).item())

    output = (content + 0.3 * torch.randn_like(content)).requires_grad_()
    terms = loss(output, content, grams)
    assert terms.content > 0 and terms.style > 0
    torch.testing.assert_close(terms.total, 2.0 * terms.content + 3.0 * terms.style + 0.5 * terms.tv)
    terms.total.backward()
    assert output.grad is not None and output.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.extractor.parameters())
