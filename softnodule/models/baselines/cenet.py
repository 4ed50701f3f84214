"""CE-Net: context encoder network (Gu et al., IEEE TMI 38, 2019), conference Table 1 row "CENet".

Z. Gu et al., "CE-Net: Context Encoder Network for 2D Medical Image Segmentation": a ResNet-34
encoder (ImageNet-pretrained in the paper), a Dense Atrous Convolution (DAC) block (four cascaded
branches of atrous 3x3 convs, rates 1/3/5, with shared weights), a Residual Multi-kernel Pooling
(RMP) block (max-pools of 2, 3, 5, 6, a shared 1x1 conv to one channel each, up-sampled and
concatenated with the input), and a decoder of (1x1, 3x3 transposed, 1x1) blocks added to the
encoder skips, then a transposed conv and two 3x3 convs.

Compact re-implementation (own code). Simplifications:

- ResNet-34 layout (3, 4, 6, 3 basic blocks) from scratch, widths ``w, 2w, 4w, 8w`` (64-512 at
  width 64, as published); no pretrained weights.
- ``depth`` sets the number of stride-2 steps (5 = ResNet-34's stride 32); for smaller depths the
  max-pool, then stage 4, stage 3, stage 2 lose their stride (:func:`stage_strides`), and the
  matching decoder block keeps the size (3x3 conv instead of the transposed conv).
- RMP pooling sizes are clamped to the feature map's size (a 6x6 pool does not fit a 2x2 map).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.baselines.base import (
    LogitSegmenter,
    bn_act,
    resize,
    stage_strides,
)
from softnodule.models.baselines.deeplab import BasicBlock

__all__ = ["CENet", "DACBlock", "RMPBlock"]

RESNET34_BLOCKS = (3, 4, 6, 3)


class DACBlock(nn.Module):
    """Dense atrous convolution: ``x + relu`` of four cascades of shared atrous convs.

    Branches: d1(x); c(d3(x)); c(d3(d1(x))); c(d5(d3(d1(x)))) with ``d_r`` a 3x3 conv of
    dilation ``r`` and ``c`` a 1x1 conv (weights shared across branches, as in CE-Net's code).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.d1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.d3 = nn.Conv2d(channels, channels, 3, padding=3, dilation=3)
        self.d5 = nn.Conv2d(channels, channels, 3, padding=5, dilation=5)
        self.c = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.d1(x)
        b = self.d3(x)
        c = self.d3(a)
        d = self.d5(c)
        return x + F.relu(a) + F.relu(self.c(b)) + F.relu(self.c(c)) + F.relu(self.c(d))


class RMPBlock(nn.Module):
    """Residual multi-kernel pooling: ``cat(up(c(maxpool_k(x))) for k in kernels, x)``.

    Output channels are ``channels + len(kernels)``.
    """

    def __init__(self, channels: int, kernels: tuple[int, ...] = (2, 3, 5, 6)) -> None:
        super().__init__()
        self.kernels = tuple(kernels)
        self.c = nn.Conv2d(channels, 1, 1)
        self.out_channels = channels + len(self.kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        maps = []
        for k in self.kernels:
            k = min(k, *size)
            maps.append(resize(self.c(F.max_pool2d(x, k, stride=k)), size))
        return torch.cat([*maps, x], dim=1)


class _DecoderBlock(nn.Sequential):
    """CE-Net decoder block: 1x1 (C -> C/4), 3x3 transposed stride 2 (or 3x3 conv), 1x1 -> out.

    The bottleneck keeps at least 2 channels: with one, the BN after the 3x3 conv undoes any
    scaling of its input, so the first BN's weight would get no gradient at tiny widths.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        mid = max(in_ch // 4, 2)  # >= 2: a 1-channel BN -> conv -> BN path is scale-invariant
        if stride == 2:
            up: nn.Module = nn.ConvTranspose2d(mid, mid, 3, 2, 1, output_padding=1, bias=False)
        else:
            up = nn.Conv2d(mid, mid, 3, padding=1, bias=False)
        super().__init__(
            bn_act(in_ch, mid, kernel=1),
            up,
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            bn_act(mid, out_ch, kernel=1),
        )


def _stage(in_ch: int, out_ch: int, n: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        BasicBlock(in_ch, out_ch, stride), *[BasicBlock(out_ch, out_ch) for _ in range(n - 1)]
    )


class CENet(LogitSegmenter):
    """Compact CE-Net: ResNet-34-style encoder, DAC, RMP, decoder with additive skips.

    Parameters
    ----------
    width : int
        Channels of the stem and of stage 1 (stages: ``w, 2w, 4w, 8w``).
    depth : int
        Number of stride-2 steps, clamped to [1, 5] (5 = the published stride 32).
    blocks : tuple of int
        Basic blocks per stage (ResNet-34: 3, 4, 6, 3).
    """

    def __init__(
        self, width: int = 16, depth: int = 4, blocks: tuple[int, ...] = RESNET34_BLOCKS
    ) -> None:
        super().__init__()
        if width < 1 or len(blocks) != 4 or min(blocks) < 1:
            raise ValueError(f"need width >= 1 and four stages, got {width}, {blocks}")
        s_stem, s_pool, s2, s3, s4 = stage_strides(max(depth, 1))
        w = width
        ch = (w, 2 * w, 4 * w, 8 * w)
        self.stem = bn_act(1, w, kernel=7, stride=s_stem)
        self.pool = nn.MaxPool2d(3, 2, 1) if s_pool == 2 else nn.Identity()
        self.stages = nn.ModuleList(
            [_stage(w, ch[0], blocks[0], 1)]
            + [_stage(ch[i - 1], ch[i], blocks[i], s) for i, s in zip((1, 2, 3), (s2, s3, s4))]
        )
        self.dac = DACBlock(ch[3])
        self.rmp = RMPBlock(ch[3])
        self.decoders = nn.ModuleList(
            [
                _DecoderBlock(self.rmp.out_channels, ch[2], s4),
                _DecoderBlock(ch[2], ch[1], s3),
                _DecoderBlock(ch[1], ch[0], s2),
                _DecoderBlock(ch[0], ch[0], s_pool),
            ]
        )
        half = max(w // 2, 1)
        if s_stem == 2:
            final_up: nn.Module = nn.ConvTranspose2d(ch[0], half, 4, 2, 1)
        else:
            final_up = nn.Conv2d(ch[0], half, 3, padding=1)
        self.head = nn.Sequential(
            final_up,
            nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(half, 1, 3, padding=1),
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool(self.stem(x))
        skips = []
        for stage in self.stages:
            h = stage(h)
            skips.append(h)
        h = self.rmp(self.dac(h))
        for dec, skip in zip(self.decoders[:3], reversed(skips[:3])):
            h = resize(dec(h), skip.shape[-2:]) + skip
        h = self.decoders[3](h)
        return resize(self.head(h), x.shape[-2:])
