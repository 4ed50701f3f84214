"""Building blocks of the DSNet backbone (TNNLS §III-B, Fig. 4) and of the plain U-Net baseline.

The DSNet basic block is a residual double convolution followed by CBAM attention (Woo et al.,
ECCV 2018): channel attention, then spatial attention. Sampling blocks follow the paper: a 4x4
stride-2 convolution down (no pooling, to keep detail in small low-resolution crops) and a 4x4
stride-2 transposed convolution up. ``PlainBlock`` is the original U-Net double convolution used
by the Table III "orig. UNet" baseline.

All blocks keep the spatial size except ``DownSample`` (halves it) and ``UpSample`` (doubles it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "CBAM",
    "CBAMBlock",
    "ChannelGate",
    "DownSample",
    "PlainBlock",
    "SpatialGate",
    "UpSample",
    "conv_bn_relu",
]


def conv_bn_relu(in_ch: int, out_ch: int, kernel: int = 3, dilation: int = 1) -> nn.Sequential:
    """Return ``Conv2d -> BatchNorm2d -> ReLU`` with "same" padding (conv bias off: BN follows).

    Parameters
    ----------
    in_ch, out_ch : int
        Input and output channels.
    kernel : int
        Odd square kernel size.
    dilation : int
        Dilation of the convolution; padding is ``dilation * (kernel - 1) // 2``.
    """
    pad = dilation * (kernel - 1) // 2
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, padding=pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class ChannelGate(nn.Module):
    """CBAM channel attention: a shared MLP over average- and max-pooled channel vectors.

    ``weights = sigmoid(MLP(avgpool(x)) + MLP(maxpool(x)))``, applied per channel. The hidden size
    is ``max(channels // reduction, 1)`` so that narrow test networks (``channels < reduction``)
    still get a valid MLP (REFERENCE §3: guard the reduction for C < 16).

    Parameters
    ----------
    channels : int
        Number of feature channels.
    reduction : int
        MLP reduction ratio (16 in CBAM).
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.hidden = hidden
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(x.mean(dim=(2, 3)))
        mx = self.mlp(x.amax(dim=(2, 3)))
        gate = torch.sigmoid(avg + mx)[:, :, None, None]
        return x * gate


class SpatialGate(nn.Module):
    """CBAM spatial attention: ``[max, mean]`` over channels -> kxk conv + BN -> sigmoid map.

    Parameters
    ----------
    kernel : int
        Odd kernel size of the 2 -> 1 convolution (7 in CBAM).
    """

    def __init__(self, kernel: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        gate = torch.sigmoid(self.bn(self.conv(pooled)))
        return x * gate


class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel gate, then spatial gate (Woo et al. 2018).

    Parameters
    ----------
    channels : int
        Number of feature channels.
    reduction : int
        Channel-gate MLP reduction ratio.
    kernel : int
        Spatial-gate kernel size.
    """

    def __init__(self, channels: int, reduction: int = 16, kernel: int = 7) -> None:
        super().__init__()
        self.channel = ChannelGate(channels, reduction)
        self.spatial = SpatialGate(kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


class CBAMBlock(nn.Module):
    """DSNet basic block (Fig. 4): ``conv3-BN-ReLU-conv3-BN -> CBAM -> + shortcut -> ReLU``.

    The shortcut is the identity when ``in_ch == out_ch`` and a 1x1 conv + BN projection otherwise
    (ResNet option B), so the block can also change the channel count (decoder after concatenation).

    Parameters
    ----------
    in_ch, out_ch : int
        Input and output channels.
    reduction : int
        CBAM channel-gate reduction ratio.
    """

    def __init__(self, in_ch: int, out_ch: int, reduction: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
        )
        self.cbam = CBAM(out_ch, reduction)
        if in_ch == out_ch:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.cbam(self.body(x)) + self.shortcut(x))


class PlainBlock(nn.Sequential):
    """Original U-Net double convolution: ``(conv3x3 - BN - ReLU) x 2``.

    Parameters
    ----------
    in_ch, out_ch : int
        Input and output channels.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(conv_bn_relu(in_ch, out_ch), conv_bn_relu(out_ch, out_ch))


class DownSample(nn.Sequential):
    """DSNet down-sampling: ``Conv2d(4x4, stride 2, pad 1) -> BN -> LeakyReLU(0.2)``; halves H, W.

    The paper says ReLU; LeakyReLU 0.2 follows the group's pix2pix-style encoders (REFERENCE §3).

    Parameters
    ----------
    in_ch, out_ch : int
        Input and output channels.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.LeakyReLU(0.2, inplace=True),
        )


class UpSample(nn.Sequential):
    """DSNet up-sampling: ``ConvTranspose2d(4x4, stride 2, pad 1) -> BN -> ReLU``; doubles H, W.

    Parameters
    ----------
    in_ch, out_ch : int
        Input and output channels.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(
            nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )
