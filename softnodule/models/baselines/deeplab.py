"""DeepLabV3+ (Chen et al., ECCV 2018), conference Table 1 row "DeeplabV3+".

L.-C. Chen et al., "Encoder-Decoder with Atrous Separable Convolution for Semantic Image
Segmentation": a dilated backbone (output stride 16 or 8), Atrous Spatial Pyramid Pooling (1x1
conv, three 3x3 atrous convs, image pooling), and a decoder that fuses the ASPP output,
up-sampled x4, with 48-channel projected low-level (stride-4) features through two 3x3 convs.

Compact re-implementation (own code, no pretrained weights). Simplifications:

- Backbone: a small residual encoder from scratch (stride-2 stem, then four stages of one ResNet
  basic block each, widths ``w, w, 2w, 4w, 8w``) instead of ImageNet ResNet-101 / Xception;
  the last stage(s) use dilation instead of stride to reach the output stride. Plain (not
  depthwise-separable) convolutions.
- Output stride 16 when ``depth >= 4``, else 8 (override with ``output_stride``). The ASPP rates
  (6, 12, 18 at output stride 16 for 513-pixel crops) are scaled to the 4x4-16x16 maps of these
  crops: (1, 2, 3) at output stride 16, doubled at 8, as the paper doubles them.
- Image-pooling branch without BN (a 1x1 map with batch size 1 cannot be batch-normalised);
  ASPP width ``4 * width`` (256 at width 64, as published); low-level projection
  ``max(3 * width // 4, 1)`` channels (48 at width 64); no dropout.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.baselines.base import LogitSegmenter, bn_act, conv_bn, resize

__all__ = ["ASPP", "BasicBlock", "DeepLabV3Plus"]


class BasicBlock(nn.Module):
    """ResNet basic block with stride/dilation and a 1x1 projection shortcut when needed."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *bn_act(in_ch, out_ch, stride=stride, dilation=dilation),
            *conv_bn(out_ch, out_ch, dilation=dilation),
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and in_ch == out_ch
            else conv_bn(in_ch, out_ch, kernel=1, stride=stride)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class ASPP(nn.Module):
    """Atrous Spatial Pyramid Pooling: 1x1, three atrous 3x3, image pooling; concat; 1x1.

    Parameters
    ----------
    in_ch, out_ch : int
        Input channels and the width of every branch and of the output.
    rates : tuple of int
        Dilations of the three 3x3 branches.
    """

    def __init__(self, in_ch: int, out_ch: int, rates: tuple[int, int, int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [bn_act(in_ch, out_ch, kernel=1)] + [bn_act(in_ch, out_ch, dilation=r) for r in rates]
        )
        self.pool = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1), nn.ReLU(inplace=True))
        self.project = bn_act(out_ch * (len(rates) + 2), out_ch, kernel=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [b(x) for b in self.branches]
        pooled = self.pool(x.mean(dim=(2, 3), keepdim=True))
        feats.append(pooled.expand(-1, -1, *x.shape[-2:]))
        return self.project(torch.cat(feats, dim=1))


class DeepLabV3Plus(LogitSegmenter):
    """Compact DeepLabV3+ (residual encoder, ASPP, decoder with a stride-4 skip).

    Parameters
    ----------
    width : int
        Channels of the stem; stages use ``w, 2w, 4w, 8w``; ASPP/decoder use ``4w``.
    depth : int
        Selects the output stride when ``output_stride`` is None: 16 if ``depth >= 4`` else 8.
    output_stride : {8, 16} or None
        Encoder output stride.
    """

    def __init__(self, width: int = 16, depth: int = 4, output_stride: int | None = None) -> None:
        super().__init__()
        os_ = output_stride if output_stride is not None else (16 if depth >= 4 else 8)
        if os_ not in (8, 16):
            raise ValueError(f"output_stride must be 8 or 16, got {os_}")
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        self.output_stride = os_
        w = width
        # strides/dilations of stages 3 and 4 (stem and stage 1 bring the stride to 4, stage 2 to 8)
        s3, d3, d4 = (2, 1, 2) if os_ == 16 else (1, 2, 4)
        self.stem = bn_act(1, w, stride=2)
        self.layer1 = BasicBlock(w, w, stride=2)  # stride 4: low-level features
        self.layer2 = BasicBlock(w, 2 * w, stride=2)
        self.layer3 = BasicBlock(2 * w, 4 * w, stride=s3, dilation=d3)
        self.layer4 = BasicBlock(4 * w, 8 * w, dilation=d4)
        scale = 16 // os_
        rates = (1 * scale, 2 * scale, 3 * scale)
        self.aspp = ASPP(8 * w, 4 * w, rates)  # type: ignore[arg-type]
        low = max(3 * w // 4, 1)
        self.low_proj = bn_act(w, low, kernel=1)
        self.decoder = nn.Sequential(bn_act(4 * w + low, 4 * w), bn_act(4 * w, 4 * w))
        self.classifier = nn.Conv2d(4 * w, 1, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        low = self.layer1(self.stem(x))
        deep = self.aspp(self.layer4(self.layer3(self.layer2(low))))
        fused = torch.cat([resize(deep, low.shape[-2:]), self.low_proj(low)], dim=1)
        return resize(self.classifier(self.decoder(fused)), x.shape[-2:])
