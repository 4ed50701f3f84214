"""DB-ResNet: dual-branch residual network (Cao et al., Applied Soft Computing 86, 2020), Table I.

H. Cao et al., "Dual-branch residual network for lung nodule segmentation". The published
network classifies the centre voxel of a patch with two residual branches that see the nodule
at different views/scales, and adds a *central intensity-pooling* (CIP) layer: pooled raw CT
intensities around the candidate voxel, concatenated with the learned features before the
classifier, because intensity alone separates much of a nodule from lung parenchyma.

Compact dense re-implementation (own code, 2-D, no pretrained weights). Simplifications:

- Dense instead of patch-wise: fully convolutional branches, 1x1 convolutions for the fully
  connected classifier, one pass per crop.
- Single axial view; the two branches are two scales: the crop at full resolution and the crop
  average-pooled by 2 (larger context), each a conv stem plus ``n_blocks`` residual blocks.
- CIP is read as multi-scale *average* intensity around every pixel (stride-1 average pools of
  sizes 1, 3, 7, 15 on the input), a parameter-free feature concatenated before the classifier.
- Trained with Dice like every Table I baseline; ``depth`` is ignored (no encoder-decoder).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.baselines.base import LogitSegmenter, bn_act, conv_bn, resize

__all__ = ["CentralIntensityPooling", "DBResNet", "ResidualBlock"]


class CentralIntensityPooling(nn.Module):
    """Mean intensity of the (k x k) neighbourhood of every pixel, one channel per ``k``.

    Parameters
    ----------
    kernels : tuple of int
        Odd neighbourhood sizes; ``1`` is the pixel's own intensity.
    """

    def __init__(self, kernels: tuple[int, ...] = (1, 3, 7, 15)) -> None:
        super().__init__()
        if not kernels or any(k < 1 or k % 2 == 0 for k in kernels):
            raise ValueError(f"kernels must be odd sizes >= 1, got {kernels}")
        self.kernels = tuple(kernels)

    @property
    def out_channels(self) -> int:
        return len(self.kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [
            x if k == 1 else F.avg_pool2d(x, k, 1, k // 2, count_include_pad=False)
            for k in self.kernels
        ]
        return torch.cat(feats, dim=1)


class ResidualBlock(nn.Module):
    """ResNet basic block ``conv3-BN-ReLU-conv3-BN + x -> ReLU`` (optional dilation)."""

    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *bn_act(channels, channels, dilation=dilation),
            *conv_bn(channels, channels, dilation=dilation),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + x)


class _Branch(nn.Sequential):
    def __init__(self, width: int, n_blocks: int) -> None:
        super().__init__(bn_act(1, width), *[ResidualBlock(width) for _ in range(n_blocks)])


class DBResNet(LogitSegmenter):
    """Dense dual-branch residual network with central intensity pooling.

    Parameters
    ----------
    width : int
        Channels of both branches.
    depth : int
        Ignored (kept for the common ``build_model`` signature).
    n_blocks : int
        Residual blocks per branch.
    """

    def __init__(self, width: int = 16, depth: int = 4, n_blocks: int = 3) -> None:
        super().__init__()
        if width < 1 or n_blocks < 1:
            raise ValueError(f"need width >= 1 and n_blocks >= 1, got {width}, {n_blocks}")
        self.local = _Branch(width, n_blocks)
        self.context = _Branch(width, n_blocks)
        self.cip = CentralIntensityPooling()
        fused = 2 * width + self.cip.out_channels
        self.classifier = nn.Sequential(
            bn_act(fused, 2 * width, kernel=1), nn.Conv2d(2 * width, 1, 1)
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        local = self.local(x)
        context = resize(self.context(F.avg_pool2d(x, 2, ceil_mode=True)), x.shape[-2:])
        return self.classifier(torch.cat([local, context, self.cip(x)], dim=1))
