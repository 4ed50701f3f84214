"""Inf-Net (Fan et al., IEEE TMI 39, 2020), TNNLS Table I rows "INFNet" and "INFNet†".

D.-P. Fan et al., "Inf-Net: Automatic COVID-19 Lung Infection Segmentation from CT Images": a
Res2Net-50 encoder (ImageNet-pretrained); RFB modules on the three high-level features feed a
parallel partial decoder (PPD) that gives a coarse global map; reverse-attention (RA) modules
then refine it from deep to shallow (features weighted by ``1 - sigmoid(map)``, concatenated
with edge-attention features, convs, residual update of the map); an edge-attention branch on
the low-level features is supervised with an edge loss; the RA maps are deeply supervised.

Compact re-implementation (own code). Simplifications:

- Encoder: a small Res2Net-style network from scratch (stem, four stages of one Res2Net
  bottleneck with ``scale = 4`` hierarchical splits, widths ``w, 2w, 4w, 8w``); no ImageNet
  weights. ``depth`` sets the stride-2 steps as in :func:`stage_strides` (5 = Res2Net's 32).
- RFB modules are compact (1x1 branch + three 1x1 -> dilated 3x3 branches, rates 1, 3, 5);
  ``max(width // 2, 2)`` channels (32 at width 64, as in Inf-Net).
- The edge-attention branch is kept (its features enter every RA module), but its edge map and
  edge loss are dropped: it is trained only through the main output. No deep supervision of the
  intermediate maps (one Dice loss on the final map); no semi-supervised pseudo-labelling.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.baselines.base import (
    LogitSegmenter,
    bn_act,
    conv_bn,
    resize,
    stage_strides,
)

__all__ = ["RFB", "InfNet", "PartialDecoder", "Res2NetBlock", "ReverseAttention"]


class Res2NetBlock(nn.Module):
    """Res2Net bottleneck: 1x1 -> ``scale`` hierarchical 3x3 splits -> 1x1, + shortcut.

    With ``stride > 1`` (a stage's first block) the splits are not chained and the last split is
    average-pooled, as in Res2Net's "stage" blocks.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, scale: int = 4) -> None:
        super().__init__()
        split = max(out_ch // (2 * scale), 1)
        self.scale, self.stride, self.split = scale, stride, split
        self.reduce = bn_act(in_ch, split * scale, kernel=1)
        self.convs = nn.ModuleList([bn_act(split, split, stride=stride) for _ in range(scale - 1)])
        self.expand = conv_bn(split * scale, out_ch, kernel=1)
        self.shortcut = (
            nn.Identity()
            if stride == 1 and in_ch == out_ch
            else conv_bn(in_ch, out_ch, kernel=1, stride=stride)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(self.reduce(x), self.split, dim=1)
        outs, prev = [], None
        for part, conv in zip(parts[:-1], self.convs):
            prev = conv(part if prev is None or self.stride > 1 else part + prev)
            outs.append(prev)
        last = parts[-1]
        outs.append(last if self.stride == 1 else F.avg_pool2d(last, 3, self.stride, 1))
        return F.relu(self.expand(torch.cat(outs, dim=1)) + self.shortcut(x))


class RFB(nn.Module):
    """Compact receptive-field block: 1x1 branch + three (1x1 -> 3x3 dilated) branches, residual."""

    def __init__(self, in_ch: int, out_ch: int, rates: tuple[int, ...] = (1, 3, 5)) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [conv_bn(in_ch, out_ch, kernel=1)]
            + [
                nn.Sequential(bn_act(in_ch, out_ch, 1), *conv_bn(out_ch, out_ch, dilation=r))
                for r in rates
            ]
        )
        self.fuse = conv_bn(out_ch * (len(rates) + 1), out_ch)
        self.res = conv_bn(in_ch, out_ch, kernel=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fuse(torch.cat([b(x) for b in self.branches], dim=1)) + self.res(x))


class PartialDecoder(nn.Module):
    """Parallel partial decoder (CPD aggregation): three same-width maps, deepest first -> 1 map."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.up1, self.up2, self.up3 = bn_act(ch, ch), bn_act(ch, ch), bn_act(ch, ch)
        self.up4, self.up5 = bn_act(ch, ch), bn_act(2 * ch, 2 * ch)
        self.cat2, self.cat3 = bn_act(2 * ch, 2 * ch), bn_act(3 * ch, 3 * ch)
        self.out = nn.Sequential(bn_act(3 * ch, 3 * ch), nn.Conv2d(3 * ch, 1, 1))

    def forward(self, deep: torch.Tensor, mid: torch.Tensor, shallow: torch.Tensor) -> torch.Tensor:
        s_mid, s_low = mid.shape[-2:], shallow.shape[-2:]
        x2 = self.up1(resize(deep, s_mid)) * mid
        x3 = self.up2(resize(deep, s_low)) * self.up3(resize(mid, s_low)) * shallow
        x2 = self.cat2(torch.cat([x2, self.up4(resize(deep, s_mid))], dim=1))
        x3 = self.cat3(torch.cat([x3, self.up5(resize(x2, s_low))], dim=1))
        return self.out(x3)


class ReverseAttention(nn.Module):
    """RA module: ``f * (1 - sigmoid(map))`` -> 1x1, cat edge feats -> two 3x3 -> 1x1, residual."""

    def __init__(self, in_ch: int, edge_ch: int, ch: int) -> None:
        super().__init__()
        self.reduce = bn_act(in_ch, ch, kernel=1)
        self.convs = nn.Sequential(bn_act(ch + edge_ch, ch), bn_act(ch, ch), nn.Conv2d(ch, 1, 1))

    def forward(self, feat: torch.Tensor, prev: torch.Tensor, edge: torch.Tensor) -> torch.Tensor:
        prev = resize(prev, feat.shape[-2:])
        weighted = feat * (1.0 - torch.sigmoid(prev))
        h = torch.cat([self.reduce(weighted), resize(edge, feat.shape[-2:])], dim=1)
        return self.convs(h) + prev


class InfNet(LogitSegmenter):
    """Compact Inf-Net: Res2Net-style encoder, edge attention, RFB + PPD, three RA refinements.

    Parameters
    ----------
    width : int
        Stage widths ``w, 2w, 4w, 8w``; edge features ``w``; RFB/RA channels ``max(w // 2, 2)``.
    depth : int
        Number of stride-2 steps, clamped to [1, 5].
    """

    def __init__(self, width: int = 16, depth: int = 4) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        w = width
        s_stem, s_pool, s2, s3, s4 = stage_strides(max(depth, 1))
        self.stem = nn.Sequential(
            bn_act(1, max(w // 2, 1), stride=s_stem), bn_act(max(w // 2, 1), w)
        )
        self.pool = nn.MaxPool2d(3, 2, 1) if s_pool == 2 else nn.Identity()
        ch = (w, 2 * w, 4 * w, 8 * w)
        self.layer1 = Res2NetBlock(w, ch[0])
        self.layer2 = Res2NetBlock(ch[0], ch[1], s2)
        self.layer3 = Res2NetBlock(ch[1], ch[2], s3)
        self.layer4 = Res2NetBlock(ch[2], ch[3], s4)
        self.edge = nn.Sequential(bn_act(ch[0], w, 1), bn_act(w, w), bn_act(w, w))
        c = max(w // 2, 2)
        self.rfb2, self.rfb3, self.rfb4 = RFB(ch[1], c), RFB(ch[2], c), RFB(ch[3], c)
        self.ppd = PartialDecoder(c)
        self.ra4 = ReverseAttention(ch[3], w, c)
        self.ra3 = ReverseAttention(ch[2], w, c)
        self.ra2 = ReverseAttention(ch[1], w, c)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.layer1(self.pool(self.stem(x)))
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        x4 = self.layer4(x3)
        edge = self.edge(x1)
        s = self.ppd(self.rfb4(x4), self.rfb3(x3), self.rfb2(x2))  # global map at x2's size
        s = self.ra4(x4, s, edge)
        s = self.ra3(x3, s, edge)
        s = self.ra2(x2, s, edge)
        return resize(s, x.shape[-2:])
