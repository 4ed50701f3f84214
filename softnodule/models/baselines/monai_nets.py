"""UNet++ and Attention U-Net from MONAI, sized by ``width``/``depth`` (Table I / conf. Table 1).

- UNet++ (Zhou et al., DLMIA 2018, "UNet++: A Nested U-Net Architecture for Medical Image
  Segmentation"): MONAI ``BasicUNetPlusPlus(spatial_dims=2)``.
- Attention U-Net (Oktay et al., MIDL 2018, "Attention U-Net: Learning Where to Look for the
  Pancreas"): MONAI ``AttentionUnet(spatial_dims=2)``.

Both are trained from scratch with Dice on one sigmoid output. Channels follow the repository's
U-Net rule ``min(width * 2**i, 8 * width)`` so that the U-Net, UNet++ and Attention U-Net rows
differ in architecture, not in channel budget. Simplifications / choices:

- UNet++: MONAI's network has a fixed 4 down-sampling steps (5 levels), so ``depth`` is ignored
  (clamped to 4; inputs should be multiples of 16). Deep supervision is off, and the three
  unused 1x1 heads of the intermediate nodes X(0,1..3) are replaced by identities so that every
  parameter is trained. MONAI's defaults stay (instance norm, LeakyReLU 0.1, transposed-conv
  up-sampling); the last-level width ``features[5]`` is ``width``.
- Attention U-Net: ``depth`` stride-2 levels (at least 1), MONAI's BN/ReLU conv blocks and
  additive attention gates on every skip.
"""

from __future__ import annotations

import torch
from monai.networks.nets import AttentionUnet, BasicUNetPlusPlus
from torch import nn

from softnodule.models.baselines.base import LogitSegmenter

__all__ = ["AttentionUNet", "UNetPlusPlus", "unet_channels"]


def unet_channels(width: int, levels: int) -> tuple[int, ...]:
    """``min(width * 2**i, 8 * width)`` for ``i < levels`` (the repository's U-Net rule)."""
    if width < 1 or levels < 1:
        raise ValueError(f"need width >= 1 and levels >= 1, got {width}, {levels}")
    return tuple(min(width * 2**i, 8 * width) for i in range(levels))


class UNetPlusPlus(LogitSegmenter):
    """MONAI ``BasicUNetPlusPlus`` (2-D, 1 -> 1 channel, no deep supervision).

    Parameters
    ----------
    width : int
        Channels of the first level (``features = unet_channels(width, 5) + (width,)``).
    depth : int
        Ignored: MONAI's UNet++ always has 4 down-sampling steps.
    """

    fixed_depth = 4

    def __init__(self, width: int = 16, depth: int = 4) -> None:
        super().__init__()
        features = (*unet_channels(width, self.fixed_depth + 1), width)
        self.net = BasicUNetPlusPlus(
            spatial_dims=2, in_channels=1, out_channels=1, features=features, deep_supervision=False
        )
        for k in (1, 2, 3):  # deep-supervision heads: computed by MONAI's forward but unused
            setattr(self.net, f"final_conv_0_{k}", nn.Identity())

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[0]


class AttentionUNet(LogitSegmenter):
    """MONAI ``AttentionUnet`` (2-D, 1 -> 1 channel) with ``depth`` stride-2 levels.

    Parameters
    ----------
    width : int
        Channels of the first level.
    depth : int
        Number of down-sampling steps (clamped to at least 1).
    """

    def __init__(self, width: int = 16, depth: int = 4) -> None:
        super().__init__()
        d = max(depth, 1)
        self.net = AttentionUnet(
            spatial_dims=2,
            in_channels=1,
            out_channels=1,
            channels=unet_channels(width, d + 1),
            strides=(2,) * d,
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
