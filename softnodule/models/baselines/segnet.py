"""SegNet (Badrinarayanan, Kendall, Cipolla, IEEE TPAMI 39, 2017), CasGAN Table 1 row "Segnet [3]".

An encoder-decoder without skip concatenation: each encoder stage is a few conv3x3-BN-ReLU layers then
2x2 max-pooling that REMEMBERS the arg-max indices; the decoder up-samples with max-unpooling at those
indices (sparse maps, no learned up-sampling) and densifies them with conv3x3-BN-ReLU layers; a final 3x3
convolution gives the logit. Trained with Dice only, like every baseline.

Compact re-implementation (own code). Simplifications:

- two convolutions per stage (VGG-16's encoder has 2, 2, 3, 3, 3) and ``depth`` stages (5 in SegNet);
  widths ``w, 2w, 4w, 8w, 8w`` (64-512 at width 64, as published);
- no ImageNet-pretrained VGG-16 encoder (none can be downloaded here);
- one logit + sigmoid instead of a K-class softmax (binary task).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.baselines.base import LogitSegmenter, bn_act

__all__ = ["SegNet"]


def _convs(in_ch: int, out_ch: int, n: int) -> nn.Sequential:
    """``n`` conv3x3-BN-ReLU layers, the first mapping ``in_ch`` -> ``out_ch``."""
    return nn.Sequential(*[bn_act(in_ch if i == 0 else out_ch, out_ch) for i in range(n)])


class SegNet(LogitSegmenter):
    """Compact SegNet: pooling indices carried from each encoder stage to its decoder stage.

    Parameters
    ----------
    width : int
        Channels of the first stage (64 in SegNet); stage ``i`` has ``min(w * 2**i, 8w)``.
    depth : int
        Number of pooling stages (>= 1); H and W must be multiples of ``2**depth``.
    convs : int
        conv3x3-BN-ReLU layers per encoder and decoder stage.
    """

    def __init__(self, width: int = 16, depth: int = 4, convs: int = 2) -> None:
        super().__init__()
        if width < 1 or depth < 1 or convs < 1:
            raise ValueError(f"need width, depth, convs >= 1, got {width}, {depth}, {convs}")
        self.depth = depth
        ch = [min(width * 2**i, width * 8) for i in range(depth)]
        self.enc = nn.ModuleList([_convs(1 if i == 0 else ch[i - 1], ch[i], convs) for i in range(depth)])
        # decoder stage i (deepest first): densify at ch[i], the last layer maps to the next stage's width
        self.dec = nn.ModuleList()
        for i in range(depth - 1, -1, -1):
            out = ch[i - 1] if i > 0 else ch[0]
            layers = [bn_act(ch[i], ch[i]) for _ in range(convs - 1)] + [bn_act(ch[i], out)]
            self.dec.append(nn.Sequential(*layers))
        self.classifier = nn.Conv2d(ch[0], 1, 3, padding=1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = 2**self.depth
        if h % m or w % m:
            raise ValueError(f"SegNet input {h}x{w} must be a multiple of 2**depth = {m}")
        memory = []
        for stage in self.enc:
            x = stage(x)
            size = x.shape[-2:]
            x, idx = F.max_pool2d(x, 2, 2, return_indices=True)
            memory.append((idx, size))
        for stage in self.dec:
            idx, size = memory.pop()
            x = stage(F.max_unpool2d(x, idx, 2, 2, output_size=size))
        return self.classifier(x)
