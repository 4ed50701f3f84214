"""LGAN generator and critics: shapes at 224 and a small size, and the WGAN loss pieces."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from softnodule.models.lgan import (CRITIC_STRUCTURES, LGAN_STRUCTURES, BasicCritic, LGANGenerator, build_critic,
                                    build_lgan)
from softnodule.train.lgan import clip_weights, critic_loss, critic_score, generator_loss, gradient_penalty


@pytest.mark.parametrize("size", [224, 32])
def test_generator_shapes(size):
    torch.manual_seed(0)
    gen = LGANGenerator(width=2, depth=4 if size == 224 else 2)
    x = torch.randn(2, 1, size, size)
    p = gen(x)
    assert p.shape == (2, 1, size, size) and (p >= 0).all() and (p <= 1).all()
    assert torch.allclose(torch.sigmoid(gen.logits(x)), p)
    assert any(isinstance(m, nn.ConvTranspose2d) for m in gen.modules())  # deconvolution up-sampling
    assert any(isinstance(m, nn.LeakyReLU) for m in gen.modules())
    with pytest.raises(ValueError, match="divisible"):
        gen(torch.randn(1, 1, size + 2, size + 2))


@pytest.mark.parametrize("size", [224, 36])
@pytest.mark.parametrize("structure", CRITIC_STRUCTURES)
def test_every_critic_scores_a_batch(structure, size):
    torch.manual_seed(0)
    critic = build_critic(structure, width=4, input_size=size)
    x, m, y = torch.randn(3, 1, size, size), torch.rand(3, 1, size, size), torch.ones(3, 1, size, size)
    out = critic_score(structure, critic, m, x, y)
    assert out.shape == (3,) and torch.isfinite(out).all()


def test_paper_layout_of_the_basic_critic():
    critic = BasicCritic(1, width=64, input_size=224)
    convs = [m for m in critic.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.stride[0], c.kernel_size[0]) for c in convs] == [(64, 2, 3), (64, 2, 3), (128, 2, 3),
                                                                                 (256, 2, 3)]
    assert critic.head.fc1.in_features == 256 * 14 * 14 and critic.head.fc1.out_features == 1024
    assert sum(isinstance(m, nn.BatchNorm2d) for m in critic.modules()) == 4
    assert build_critic("early_fusion", width=64).features[0][0].in_channels == 2


def test_build_lgan_all_structures():
    for s in LGAN_STRUCTURES:
        gen, critic = build_lgan(s, width=2, gen_width=2, gen_depth=2, input_size=32)
        assert isinstance(gen, LGANGenerator) and (critic is None) == (s == "unet")
    with pytest.raises(ValueError, match="unknown LGAN structure"):
        build_lgan("patchgan")
    with pytest.raises(ValueError, match="normalisation"):
        build_critic("basic", norm="spectral")


def test_product_input_is_mask_times_ct():
    seen = []

    def spy(inp):
        seen.append(inp)
        return inp.flatten(1).sum(1)

    x = torch.full((1, 1, 4, 4), 0.5)  # CT in [-1, 1] -> 0.75 in [0, 1]
    m = torch.zeros(1, 1, 4, 4)
    m[..., :2, :] = 1.0
    critic_score("product", spy, m, x, m)
    assert torch.allclose(seen[0], m * 0.75)  # outside the mask: exactly 0


def test_critic_loss_falls_when_the_critic_separates_real_from_fake():
    torch.manual_seed(0)
    critic = build_critic("basic", width=4, input_size=32, norm="layer")
    real = (torch.rand(8, 1, 32, 32) > 0.5).float()
    fake = torch.full((8, 1, 32, 32), 0.5) + 0.05 * torch.randn(8, 1, 32, 32)
    opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
    with torch.no_grad():
        first = float(critic_loss(critic(real), critic(fake)))
    for _ in range(25):
        loss = critic_loss(critic(real), critic(fake)) + 10.0 * gradient_penalty(critic, real, fake)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        last = float(critic_loss(critic(real), critic(fake)))
        same = float(critic_loss(critic(real), critic(real)))
    assert last < first - 0.1 and last < 0.0  # the critic scores real above fake
    assert same == pytest.approx(0.0, abs=1e-6)


def test_gradient_penalty_nonnegative_and_zero_for_a_linear_unit_critic():
    torch.manual_seed(0)
    real, fake = torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8)
    w = torch.randn(1, 1, 8, 8)
    unit = w / w.norm()

    def linear(m, scale=1.0):
        return (m * unit * scale).flatten(1).sum(1)  # gradient norm = scale everywhere

    assert float(gradient_penalty(linear, real, fake)) == pytest.approx(0.0, abs=1e-10)
    assert float(gradient_penalty(lambda m: linear(m, 3.0), real, fake)) == pytest.approx(4.0, rel=1e-5)
    critic = build_critic("basic", width=4, input_size=8)
    assert float(gradient_penalty(critic, real, fake).detach()) >= 0.0


def test_clipping_keeps_weights_in_range():
    torch.manual_seed(0)
    critic = build_critic("regression", width=4, input_size=16)
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(100.0)
    clip_weights(critic, 0.01)
    assert all(p.abs().max() <= 0.01 for p in critic.parameters())
    assert any((p.abs() == 0.01).any() for p in critic.parameters())


def test_generator_loss_is_bce_minus_mean_critic_score():
    logits = torch.tensor([[[[2.0, -1.0]]]])
    truth = torch.tensor([[[[1.0, 0.0]]]])
    bce = torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits), truth)
    only, parts = generator_loss(logits, truth, None)
    assert float(only) == pytest.approx(float(bce), rel=1e-6) and set(parts) == {"bce"}
    total, parts = generator_loss(logits, truth, torch.tensor([0.5, 1.5]), adv_weight=2.0)
    assert float(total) == pytest.approx(float(bce) - 2.0, rel=1e-6) and parts["g_adv"] == pytest.approx(-1.0)
