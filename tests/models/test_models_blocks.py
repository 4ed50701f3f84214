"""Blocks and backbone: shapes, hand-computed parameter counts, small-channel guards."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from softnodule.models import (
    SegmentationHead,
    SegOutput,
    UNetBackbone,
    count_parameters,
)
from softnodule.models.blocks import (
    CBAM,
    CBAMBlock,
    ChannelGate,
    DownSample,
    PlainBlock,
    SpatialGate,
    UpSample,
)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _x(c: int = 4, h: int = 32, w: int = 32) -> torch.Tensor:
    return torch.randn(2, c, h, w)


def test_channel_gate_small_channels() -> None:
    gate = ChannelGate(4, reduction=16)  # channels < reduction: hidden guarded to 1
    assert gate.hidden == 1
    x = _x(4)
    y = gate(x)
    assert y.shape == x.shape
    # the gate only rescales channels by a factor in (0, 1)
    ratio = y / x
    assert torch.all((ratio > 0) & (ratio < 1))
    assert count_parameters(gate) == (4 * 1 + 1) + (1 * 4 + 4)
    assert ChannelGate(64, 16).hidden == 4


def test_spatial_gate_and_cbam_shapes_and_counts() -> None:
    x = _x(8)
    assert SpatialGate()(x).shape == x.shape
    assert count_parameters(SpatialGate()) == 2 * 7 * 7 + 2  # conv (no bias) + BN(1)
    assert CBAM(8)(x).shape == x.shape
    assert count_parameters(CBAM(8)) == 25 + 100


def _cbam_block_count(cin: int, cout: int, reduction: int = 16) -> int:
    hidden = max(cout // reduction, 1)
    body = 9 * cin * cout + 2 * cout + 9 * cout * cout + 2 * cout
    cbam = (cout * hidden + hidden + hidden * cout + cout) + (2 * 49 + 2)
    shortcut = 0 if cin == cout else cin * cout + 2 * cout
    return body + cbam + shortcut


def test_cbam_block_parameter_count_by_hand() -> None:
    # CBAMBlock(4, 8) by hand: convs 288 + 576, 2 BNs 32, channel MLP (8->1->8) 25,
    # spatial conv+BN 100, 1x1 shortcut + BN 48  => 1069.
    assert count_parameters(CBAMBlock(4, 8)) == 1069
    assert count_parameters(CBAMBlock(8, 8)) == 1309  # identity shortcut
    for cin, cout in [(4, 8), (8, 8), (32, 32), (64, 32)]:
        assert count_parameters(CBAMBlock(cin, cout)) == _cbam_block_count(cin, cout)


def test_cbam_block_shortcut_kinds_and_shapes() -> None:
    assert isinstance(CBAMBlock(8, 8).shortcut, nn.Identity)
    assert not isinstance(CBAMBlock(4, 8).shortcut, nn.Identity)
    y = CBAMBlock(4, 8)(_x(4))
    assert y.shape == (2, 8, 32, 32)
    assert torch.all(y >= 0)  # final ReLU


def test_plain_and_sampling_blocks() -> None:
    x = _x(4)
    assert PlainBlock(4, 6)(x).shape == (2, 6, 32, 32)
    assert count_parameters(PlainBlock(4, 6)) == 9 * 4 * 6 + 12 + 9 * 6 * 6 + 12
    assert DownSample(4, 8)(x).shape == (2, 8, 16, 16)
    assert UpSample(4, 8)(x).shape == (2, 8, 64, 64)
    assert count_parameters(DownSample(4, 8)) == 16 * 4 * 8 + 16
    assert count_parameters(UpSample(4, 8)) == 16 * 4 * 8 + 16


@pytest.mark.parametrize(
    "block,down,up",
    [("cbam", "conv4", "convT4"), ("plain", "maxpool", "convT2"), ("cbam", "maxpool", "convT2")],
)
@pytest.mark.parametrize("hw", [(32, 32), (48, 16)])
def test_backbone_shapes(block: str, down: str, up: str, hw: tuple[int, int]) -> None:
    net = UNetBackbone(3, 4, 3, block=block, down=down, up=up)
    assert net.out_channels == 4
    y = net(torch.randn(2, 3, *hw))
    assert y.shape == (2, 4, *hw)


def test_backbone_width_cap_and_bad_input() -> None:
    net = UNetBackbone(1, 2, 5)
    # widths 2, 4, 8, 16, 16, 16: capped at 8 * width
    assert [m[0].out_channels for m in net.downs] == [4, 8, 16, 16, 16]
    with pytest.raises(ValueError, match="multiple of 2\\*\\*depth"):
        UNetBackbone(1, 4, 3)(torch.randn(1, 1, 36, 36))
    with pytest.raises(ValueError, match="block"):
        UNetBackbone(1, 4, 2, block="resnet")


def test_segmentation_head_ranges() -> None:
    head = SegmentationHead(4)
    out = head(_x(4) * 10)
    assert isinstance(out, SegOutput)
    assert out.prob.shape == out.soft.shape == (2, 1, 32, 32)
    assert out.prob.min() >= 0 and out.prob.max() <= 1
    assert out.soft.min() >= -1 and out.soft.max() <= 1
    # two separate convs: the soft map is not a function of the prob map
    assert not torch.allclose(out.soft, 2 * out.prob - 1)
    assert count_parameters(head) == 2 * (9 * 4 + 1)
