"""DSNet input stages at super-resolution (SR) resolution: how the SR teacher's output enters.

Every stage takes ``(x_up, sr, feats)`` at SR resolution (fH, fW) and returns
(B, out_ch, fH, fW) for the backbone:

- ``x_up``  (B, 1, fH, fW): the low-resolution crop, bilinearly up-sampled;
- ``sr``    (B, 1, fH, fW): the SR teacher's image in [-1, 1];
- ``feats`` (B, feat_ch, fH, fW): the teacher's last up-sampling block ("last block of the SR
  model decoder").

Stages, one per ablation row: ``SRInputStem`` (TNNLS Table III "+ SR Input"), ``EDRFM`` and
``SDRFM`` (conference Table 3), ``DRTM`` (TNNLS §III-B 3, Eqs. 9-14; its two switches are the
Table V rows).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.blocks import conv_bn_relu

__all__ = ["DRTM", "EDRFM", "SDRFM", "SRInputStem", "SelectiveFusion"]


class _VectorBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d over (B, d) vectors that tolerates a training batch of one.

    A GAP vector has one value per channel and image, so plain BatchNorm raises for B = 1 in
    training mode; then the running statistics are used (and not updated) instead of crashing on
    e.g. the odd last batch of an epoch.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] == 1:
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
            )
        return super().forward(x)


class SelectiveFusion(nn.Module):
    """Channel-wise selective fusion of two branches (TNNLS Eqs. 11-14, SK-Net style).

    ``v = GAP(cat(F_d, F_c))`` (2C) -> FC (2C -> d) + BN + ReLU -> two FC heads (d -> C) giving
    ``v_c, v_d`` -> softmax across the two branches per channel -> ``a * F_c + b * F_d``.

    Parameters
    ----------
    channels : int
        C, the channels of each branch.
    hidden : int or None
        d, the bottleneck size; None means C (paper Eq. 12: "the FC layer reduces v_z to
        R^{1xC}"; SK-Net's max(C/16, 32) would exceed C for narrow nets).
    """

    def __init__(self, channels: int, hidden: int | None = None) -> None:
        super().__init__()
        d = channels if hidden is None else hidden
        # inference (SK-Net): the reducing FC is followed by BN + ReLU; the paper only says "FC".
        self.squeeze = nn.Sequential(
            nn.Linear(2 * channels, d, bias=False), _VectorBatchNorm(d), nn.ReLU(inplace=True)
        )
        self.head_c = nn.Linear(d, channels)
        self.head_d = nn.Linear(d, channels)

    def weights(self, f_c: torch.Tensor, f_d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the per-channel attention ``(a, b)``, each (B, C, 1, 1), with ``a + b = 1``."""
        v = torch.cat([f_d, f_c], dim=1).mean(dim=(2, 3))  # GAP == AdaptiveAvgPool2d(1)
        z = self.squeeze(v)
        logits = torch.stack([self.head_c(z), self.head_d(z)], dim=0)
        a, b = torch.softmax(logits, dim=0)
        return a[:, :, None, None], b[:, :, None, None]

    def forward(self, f_c: torch.Tensor, f_d: torch.Tensor) -> torch.Tensor:
        a, b = self.weights(f_c, f_d)
        return a * f_c + b * f_d


class SRInputStem(nn.Module):
    """Table III "+ SR Input": a 3x3 conv (+ BN + ReLU) over the SR image alone.

    Parameters
    ----------
    out_ch : int
        Output channels (the backbone width).
    """

    needs_feats = False

    def __init__(self, out_ch: int) -> None:
        super().__init__()
        # inference: BN + ReLU after the conv, like every other stage, so only the input differs.
        self.conv = conv_bn_relu(1, out_ch)

    def forward(
        self, x_up: torch.Tensor, sr: torch.Tensor, feats: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.conv(sr)


class EDRFM(nn.Module):
    """Efficient Detailed Representation Fusion Module (conference version, Fig. 4a).

    One 3x3 conv (+ BN + ReLU) over ``cat(x_up, sr, feats)``.

    Parameters
    ----------
    feat_ch : int
        Channels of the SR teacher's features.
    out_ch : int
        Output channels.
    """

    needs_feats = True

    def __init__(self, feat_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = conv_bn_relu(2 + feat_ch, out_ch)

    def forward(self, x_up: torch.Tensor, sr: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([x_up, sr, feats], dim=1))


class SDRFM(nn.Module):
    """Selective Detailed Representation Fusion Module (conference version, Fig. 4b).

    Context branch: 3x3 conv over ``cat(x_up, sr)``; detail branch: 3x3 conv over ``feats`` (no
    high-frequency term); the two are merged by :class:`SelectiveFusion`.

    Parameters
    ----------
    feat_ch : int
        Channels of the SR teacher's features.
    out_ch : int
        Output channels.
    fusion_hidden : int or None
        Bottleneck of the selective fusion (None: ``out_ch``).
    """

    needs_feats = True

    def __init__(self, feat_ch: int, out_ch: int, fusion_hidden: int | None = None) -> None:
        super().__init__()
        self.context = conv_bn_relu(2, out_ch)
        self.detail = conv_bn_relu(feat_ch, out_ch)
        # inference: the conference figure sums the branches before GAP; we use the TNNLS concat.
        self.fusion = SelectiveFusion(out_ch, fusion_hidden)

    def forward(self, x_up: torch.Tensor, sr: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.fusion(self.context(torch.cat([x_up, sr], dim=1)), self.detail(feats))


class DRTM(nn.Module):
    """Detailed Representation Transfer Module (TNNLS Fig. 5, Eqs. 9-14).

    Context: ``F_c = conv3-BN-ReLU(cat(x_up, sr))``. Detail: ``F_h = sigmoid(C_h(F) - C_l(F))``
    with ``C_h`` a 1x1 conv and ``C_l`` a 3x3 conv with dilation 2 (both feat_ch -> feat_ch),
    ``F_d = proj(F * F_h)`` where ``proj`` is 1x1 conv + BN + ReLU to ``out_ch``. Output:
    channel-selective fusion ``a * F_c + b * F_d``.

    Parameters
    ----------
    feat_ch : int
        Channels of the SR teacher's features F.
    out_ch : int
        Output channels C.
    detail_texture : bool
        Table V "DTM": when False, ``C_h``/``C_l`` do not exist and ``F_d = proj(F)``.
    selective_fusion : bool
        Table V "CSF": when False, the output is the plain sum ``F_c + F_d``.
    fusion_hidden : int or None
        Bottleneck of the selective fusion (None: ``out_ch``).
    """

    needs_feats = True

    def __init__(
        self,
        feat_ch: int,
        out_ch: int,
        detail_texture: bool = True,
        selective_fusion: bool = True,
        fusion_hidden: int | None = None,
    ) -> None:
        super().__init__()
        self.detail_texture = detail_texture
        self.selective_fusion = selective_fusion
        self.context_conv = conv_bn_relu(2, out_ch)
        if detail_texture:
            self.c_h: nn.Conv2d | None = nn.Conv2d(feat_ch, feat_ch, 1)
            self.c_l: nn.Conv2d | None = nn.Conv2d(feat_ch, feat_ch, 3, padding=2, dilation=2)
        else:
            self.c_h = None
            self.c_l = None
        # The paper's F_d keeps F's channels (64 = C there); the 1x1 projection lets feat_ch != C.
        self.proj = conv_bn_relu(feat_ch, out_ch, kernel=1)
        self.fusion = SelectiveFusion(out_ch, fusion_hidden) if selective_fusion else None

    def context(self, x_up: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
        """Context branch ``F_c`` (B, out_ch, fH, fW)."""
        return self.context_conv(torch.cat([x_up, sr], dim=1))

    def high_frequency(self, feats: torch.Tensor) -> torch.Tensor:
        """Eq. 9, ``F_h = sigmoid(C_h(F) - C_l(F))``; requires ``detail_texture=True``."""
        if self.c_h is None or self.c_l is None:
            raise RuntimeError("high_frequency() needs detail_texture=True")
        return torch.sigmoid(self.c_h(feats) - self.c_l(feats))

    def detail(self, feats: torch.Tensor) -> torch.Tensor:
        """Detail branch ``F_d`` (B, out_ch, fH, fW): projected ``F * F_h`` (or ``F``)."""
        if self.detail_texture:
            feats = feats * self.high_frequency(feats)  # Eq. 10
        return self.proj(feats)

    def fuse(self, f_c: torch.Tensor, f_d: torch.Tensor) -> torch.Tensor:
        """Eq. 14 with selective fusion, else the plain sum ``F_c + F_d``."""
        if self.fusion is None:
            return f_c + f_d
        return self.fusion(f_c, f_d)

    def forward(self, x_up: torch.Tensor, sr: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return self.fuse(self.context(x_up, sr), self.detail(feats))
