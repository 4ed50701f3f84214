"""SRGAN generator and discriminator (Ledig et al. 2017), the DSNet super-resolution teacher.

DSNet (TNNLS §III-B 3) trains an SRGAN self-supervised on CT slices down-sampled x4 and freezes
it; its SR image feeds the context branch and the output of its last up-sampling block (the
"last block of the SR model decoder") feeds the DRTM detail branch. Images are in [-1, 1], so the
generator ends in tanh.
"""

from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

__all__ = ["SRDiscriminator", "SRGenerator"]


class _ResidualBlock(nn.Module):
    """``conv3-BN-PReLU-conv3-BN + x`` (SRGAN residual block)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.PReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _UpsampleBlock(nn.Sequential):
    """``conv3 (width -> 4 width) -> PixelShuffle(2) -> PReLU``: doubles H, W."""

    def __init__(self, width: int) -> None:
        super().__init__(nn.Conv2d(width, 4 * width, 3, padding=1), nn.PixelShuffle(2), nn.PReLU())


class SRGenerator(nn.Module):
    """SRGAN generator: (B, 1, H, W) in [-1, 1] -> (B, 1, factor*H, factor*W) in [-1, 1].

    9x9 conv + PReLU; ``n_blocks`` residual blocks; conv3 + BN + long skip; ``log2(factor)``
    PixelShuffle x2 blocks; 9x9 conv to one channel + tanh. Paper size (width 64, 5 blocks,
    x4) has 713,481 parameters (REFERENCE §3: ~0.71 M).

    Parameters
    ----------
    factor : int
        Up-scaling factor, a power of two >= 2.
    width : int
        Feature channels (also ``feat_channels``, the channels of ``forward_features``' feats).
    n_blocks : int
        Number of residual blocks.
    residual : bool
        False (SRGAN as published): ``sr = tanh(tail(feats))``. True: the network predicts the detail
        on top of bicubic up-sampling, ``sr = clamp(bicubic(lr) + tail(feats), -1, 1)`` (VDSR-style
        global residual, tail initialised small). Departure used by the CPU profiles: with a few
        thousand iterations the plain generator stays far below bicubic (measured: 29.6 vs 38.7 dB
        after 6 epochs of the quick profile), the residual one starts at bicubic.
    """

    def __init__(self, factor: int = 4, width: int = 64, n_blocks: int = 5, residual: bool = False) -> None:
        super().__init__()
        if factor < 2 or factor & (factor - 1):
            raise ValueError(f"factor must be a power of two >= 2, got {factor}")
        self.factor = factor
        self.feat_channels = width
        # inference: one shared PReLU slope per layer (nn.PReLU()), as in common SRGAN ports.
        self.head = nn.Sequential(nn.Conv2d(1, width, 9, padding=4), nn.PReLU())
        self.blocks = nn.Sequential(*[_ResidualBlock(width) for _ in range(n_blocks)])
        self.trunk_tail = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width)
        )
        self.upsample = nn.Sequential(
            *[_UpsampleBlock(width) for _ in range(int(math.log2(factor)))]
        )
        self.tail = nn.Conv2d(width, 1, 9, padding=4)
        self.residual = bool(residual)
        if self.residual:
            with torch.no_grad():
                self.tail.weight.mul_(0.1)
                self.tail.bias.zero_()

    def forward_features(self, lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(sr, feats)``: SR image (B,1,fH,fW), last up-sampling block (B,width,fH,fW)."""
        h = self.head(lr)
        h = h + self.trunk_tail(self.blocks(h))  # long skip
        feats = self.upsample(h)
        if self.residual:
            base = F.interpolate(lr, scale_factor=self.factor, mode="bicubic", align_corners=False)
            return (base + self.tail(feats)).clamp(-1.0, 1.0), feats
        return torch.tanh(self.tail(feats)), feats

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return self.forward_features(lr)[0]


class SRDiscriminator(nn.Module):
    """SRGAN discriminator: one real/fake logit per image (B, 1); works for 32..256 inputs.

    conv3 + LeakyReLU(0.2), then ``n_layers`` conv3-BN-LeakyReLU blocks with stride 2 on every
    other one (1st, 3rd, ...) and the width doubling on every other one (2nd, 4th, ...) up to
    ``8 * width``; ``AdaptiveAvgPool2d(1)`` -> 1x1 conv (C -> 2C) -> LeakyReLU -> 1x1 conv -> 1.

    Parameters
    ----------
    width : int
        Channels of the first convolution (64 in SRGAN).
    n_layers : int
        Number of conv-BN-LeakyReLU blocks after the first conv (7 in SRGAN).
    """

    def __init__(self, width: int = 64, n_layers: int = 7) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(1, width, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        ch = width
        for k in range(1, n_layers + 1):
            out = min(width * 2 ** (k // 2), 8 * width)
            stride = 2 if k % 2 else 1
            layers += [
                nn.Conv2d(ch, out, 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            ch = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(ch, 2 * ch, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * ch, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)).flatten(1)
