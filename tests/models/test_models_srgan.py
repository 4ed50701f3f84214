"""SR teacher (SRGAN G and D) and the pixel-wise discriminator."""

from __future__ import annotations

import pytest
import torch

from softnodule.models import (
    PixelDiscriminator,
    SRDiscriminator,
    SRGenerator,
    count_parameters,
)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_srgenerator_paper_size_parameter_count() -> None:
    # Measured: 713,481 parameters at width 64, 5 residual blocks, x4 (REFERENCE: ~0.71 M).
    n = count_parameters(SRGenerator(factor=4, width=64, n_blocks=5))
    assert 600_000 <= n <= 800_000
    assert n == 713_481
    assert count_parameters(SRGenerator(2, 64, 5)) == n - (9 * 64 * 4 * 64 + 4 * 64 + 1)


@pytest.mark.parametrize("factor", [2, 4])
def test_srgenerator_shapes_and_features(factor: int) -> None:
    g = SRGenerator(factor=factor, width=8, n_blocks=2)
    assert g.feat_channels == 8 and g.factor == factor
    lr = torch.rand(2, 1, 16, 16) * 2 - 1
    sr, feats = g.forward_features(lr)
    assert sr.shape == (2, 1, 16 * factor, 16 * factor)
    assert feats.shape == (2, 8, 16 * factor, 16 * factor)
    assert sr.min() >= -1 and sr.max() <= 1
    assert torch.equal(g(lr), sr)


@pytest.mark.parametrize("factor", [0, 1, 3, 6])
def test_srgenerator_rejects_bad_factor(factor: int) -> None:
    with pytest.raises(ValueError, match="power of two"):
        SRGenerator(factor=factor, width=4, n_blocks=1)


@pytest.mark.parametrize("size", [32, 64, 256])
def test_srdiscriminator_one_logit_per_image(size: int) -> None:
    d = SRDiscriminator(width=4)
    assert d(torch.randn(2, 1, size, size)).shape == (2, 1)


def test_srdiscriminator_widths() -> None:
    d = SRDiscriminator(width=4, n_layers=7)
    convs = [m for m in d.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 4, 8, 8, 16, 16, 32, 32]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert count_parameters(SRDiscriminator(8)) > count_parameters(SRDiscriminator(4))


def _pixel_d_count(in_ch: int, w: int) -> int:
    return in_ch * w + w + 2 * w * w + 2 * (2 * w) + 2 * w


def test_pixel_discriminator_count_formula() -> None:
    assert count_parameters(PixelDiscriminator(2, 64)) == _pixel_d_count(2, 64) == 8_768
    assert count_parameters(PixelDiscriminator(2, 8)) == _pixel_d_count(2, 8)
    counts = [count_parameters(PixelDiscriminator(2, w)) for w in (8, 16, 32, 64)]
    assert counts == sorted(counts) and len(set(counts)) == 4


def test_pixel_discriminator_pixelwise_logits() -> None:
    d = PixelDiscriminator(2, 8).eval()
    x = torch.cat([torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32)], dim=1) * 2 - 1
    y = d(x)
    assert y.shape == (2, 1, 32, 32)
    # 1x1 convolutions only: changing one pixel changes only that pixel's logit (in eval mode)
    x2 = x.clone()
    x2[:, :, 5, 7] += 1
    diff = (d(x2) - y).abs()[:, 0]
    assert diff[:, 5, 7].min() > 0
    diff[:, 5, 7] = 0
    assert diff.max() == 0


def test_residual_generator_adds_detail_to_bicubic():
    import torch.nn.functional as F

    torch.manual_seed(0)
    gen = SRGenerator(factor=2, width=8, n_blocks=1, residual=True).eval()
    lr = torch.rand(2, 1, 8, 8) * 2 - 1
    with torch.no_grad():
        gen.tail.weight.zero_()
        sr, feats = gen.forward_features(lr)
    bicubic = F.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False).clamp(-1, 1)
    assert torch.allclose(sr, bicubic) and feats.shape == (2, 8, 16, 16)
    plain = SRGenerator(factor=2, width=8, n_blocks=1)
    assert not plain.residual and sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in gen.parameters())
