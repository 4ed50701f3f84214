"""Pixel-wise conditional discriminator for the Soft Mask GAN loss (DSNet Fig. 7, Eq. 18).

pix2pix "pixel" discriminator (1x1 convolutions only): every pixel of ``cat(image, soft mask)``
is judged on its own, giving the pixel-level adversarial loss the paper asks for.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PixelDiscriminator"]


class PixelDiscriminator(nn.Module):
    """``1x1 conv w + LReLU(0.2) -> 1x1 conv 2w (no bias) + BN + LReLU -> 1x1 conv 1`` (no bias).

    Returns logits (B, 1, H, W); no sigmoid, the GAN loss (BCE-with-logits or LSGAN) decides.
    Parameter count: ``in_ch*w + w + 2*w*w + 4*w + 2*w`` (8,768 for in_ch=2, w=64), biases as in
    pix2pix's ``PixelDiscriminator`` with BatchNorm.

    Parameters
    ----------
    in_ch : int
        Input channels: 2 for ``cat(image, soft mask)``, both in [-1, 1].
    width : int
        Channels of the first 1x1 conv (64 in pix2pix).
    """

    def __init__(self, in_ch: int = 2, width: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_ch, width, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * width, 1, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
