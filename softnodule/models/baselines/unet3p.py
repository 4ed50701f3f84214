"""UNet 3+ (Huang et al., ICASSP 2020), conference Table 1 row "UNet3+".

H. Huang et al., "UNet 3+: A Full-Scale Connected UNet for Medical Image Segmentation". Every
decoder level fuses *all* scales: shallower encoder maps max-pooled down, the same-level encoder
map, and deeper decoder maps (and the bottleneck) bilinearly up-sampled, each through a 3x3 conv
to ``CatChannels`` (64) channels; the ``5 * 64`` concatenation goes through conv3-BN-ReLU.

Compact re-implementation (own code). Simplifications:

- No full-scale deep supervision and no classification-guided module (one output, Dice only).
- Encoder widths follow the repository's U-Net rule ``min(width * 2**i, 8 * width)`` (the paper:
  64-1024); ``CatChannels = width`` (64 at width 64, as published); ``depth`` levels.
- Deeper sources are convolved (3x3 conv to ``CatChannels``) *before* their bilinear up-sampling
  instead of after (the paper's order): both are linear maps of the same receptive field, and
  this runs the conv at the source's resolution, up to ``4**depth`` times cheaper on a CPU.
  ``conv_before_up=False`` restores the published order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.baselines.base import LogitSegmenter, bn_act, resize
from softnodule.models.blocks import PlainBlock

__all__ = ["UNet3Plus"]


class _FullScaleDecoder(nn.Module):
    """One UNet 3+ decoder level ``i``: fuse all ``n`` scales into ``n * cat`` channels.

    Parameters
    ----------
    level : int
        This level's index (0 = full resolution).
    src_channels : list of int
        Channels of the source at each level ``j`` (encoder for ``j <= level`` and the bottleneck,
        decoder output for the levels between).
    cat : int
        Channels each source is mapped to.
    conv_before_up : bool
        Convolve deeper sources before up-sampling them (see the module docstring).
    """

    def __init__(self, level: int, src_channels: list[int], cat: int, conv_before_up: bool) -> None:
        super().__init__()
        self.level = level
        self.conv_before_up = conv_before_up
        self.convs = nn.ModuleList([bn_act(c, cat) for c in src_channels])
        n = len(src_channels)
        self.fuse = bn_act(n * cat, n * cat)

    def forward(self, sources: list[torch.Tensor]) -> torch.Tensor:
        size = sources[self.level].shape[-2:]
        out = []
        for j, (src, conv) in enumerate(zip(sources, self.convs)):
            if j < self.level:  # shallower encoder map: max-pool down, then conv
                f = 2 ** (self.level - j)
                out.append(conv(F.max_pool2d(src, f, f, ceil_mode=True)))
            elif j == self.level:
                out.append(conv(src))
            elif self.conv_before_up:
                out.append(resize(conv(src), size))
            else:
                out.append(conv(resize(src, size)))
        return self.fuse(torch.cat(out, dim=1))


class UNet3Plus(LogitSegmenter):
    """UNet 3+ with full-scale skip connections (no deep supervision, no CGM).

    Parameters
    ----------
    width : int
        Channels of the first encoder level and ``CatChannels``.
    depth : int
        Number of max-pooling steps (clamped to at least 1).
    conv_before_up : bool
        Run the per-source conv at the deeper source's resolution (default) or after up-sampling.
    """

    def __init__(self, width: int = 16, depth: int = 4, conv_before_up: bool = True) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        d = max(depth, 1)
        self.depth = d
        enc = [min(width * 2**i, 8 * width) for i in range(d + 1)]
        up = (d + 1) * width
        self.encoders = nn.ModuleList(
            [PlainBlock(1, enc[0])] + [PlainBlock(enc[i - 1], enc[i]) for i in range(1, d + 1)]
        )
        # decoder level i reads enc[0..i], dec[i+1..d-1], enc[d]
        self.decoders = nn.ModuleList()
        for i in range(d - 1, -1, -1):
            src = enc[: i + 1] + [up] * (d - 1 - i) + [enc[d]]
            self.decoders.append(_FullScaleDecoder(i, src, width, conv_before_up))
        self.out = nn.Conv2d(up, 1, 3, padding=1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        h = x
        for i, block in enumerate(self.encoders):
            h = block(h if i == 0 else F.max_pool2d(h, 2, ceil_mode=True))
            feats.append(h)
        dec: list[torch.Tensor] = []  # decoder outputs, deepest first
        for module in self.decoders:
            i = module.level
            sources = feats[: i + 1] + dec[::-1] + [feats[-1]]
            dec.append(module(sources))
        return resize(self.out(dec[-1]), x.shape[-2:])
