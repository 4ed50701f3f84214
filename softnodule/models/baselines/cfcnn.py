"""CF-CNN: central focused CNN (Wang et al., Medical Image Analysis 40, 2017), TNNLS Table I row.

S. Wang et al., "Central focused convolutional neural networks: Developing a data-driven model
for lung nodule segmentation". The published network classifies the centre voxel of a patch: two
convolutional branches see the patch at two scales (a 3-D patch and a multi-scale 2-D patch),
each uses "central pooling" (max-pooling whose window is small near the patch centre and large
at its border, so the centre keeps its detail), and fully connected layers merge the branches.

Compact dense re-implementation (own code, 2-D, no pretrained weights). Simplifications:

- Dense instead of patch-wise: the branches are fully convolutional and the fully connected
  layers become 1x1 convolutions, so one pass labels every pixel of the crop.
- The two scales are the crop at full resolution (local branch) and the crop average-pooled by 2
  (context branch, standing in for the larger patch resized to the same size); both 2-D.
- Central pooling is made shape-preserving: stride-1 max-pools of size 1, 3 and 5 blended by
  concentric rings around the crop centre (LNSM/LIDC crops are centred on the nodule).
- No weighted sampling of training patches; trained with Dice like every Table I baseline.
- ``depth`` has no meaning here (no encoder-decoder) and is ignored.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from softnodule.models.baselines.base import LogitSegmenter, conv_bn, resize

__all__ = ["CFCNN", "CentralPooling"]


class CentralPooling(nn.Module):
    """Location-dependent max-pooling: window 1 at the crop centre, growing towards the border.

    The crop is split into ``len(kernels)`` concentric square rings by the Chebyshev distance to
    its centre; ring ``i`` takes the stride-1 max-pool of size ``kernels[i]``. The output keeps
    the input's shape, so the layer can be used in a dense network.

    Parameters
    ----------
    kernels : tuple of int
        Odd pooling sizes from the centre outwards (1 = no pooling).
    """

    def __init__(self, kernels: tuple[int, ...] = (1, 3, 5)) -> None:
        super().__init__()
        if not kernels or any(k < 1 or k % 2 == 0 for k in kernels):
            raise ValueError(f"kernels must be odd sizes >= 1, got {kernels}")
        self.kernels = tuple(kernels)

    def ring_index(self, h: int, w: int, device: torch.device) -> torch.Tensor:
        """(H, W) ring number of every pixel, 0 at the centre."""
        yy = (torch.arange(h, device=device) + 0.5 - h / 2).abs() / (h / 2)
        xx = (torch.arange(w, device=device) + 0.5 - w / 2).abs() / (w / 2)
        r = torch.maximum(yy[:, None], xx[None, :])  # Chebyshev radius in (0, 1]
        n = len(self.kernels)
        return (r * n).floor().clamp(max=n - 1).long()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ring = self.ring_index(x.shape[-2], x.shape[-1], x.device)
        out = torch.zeros_like(x)
        for i, k in enumerate(self.kernels):
            pooled = x if k == 1 else F.max_pool2d(x, k, stride=1, padding=k // 2)
            out = out + pooled * (ring == i).to(x.dtype)
        return out


class _Branch(nn.Sequential):
    """``n`` conv-BN-PReLU layers, central pooling, ``n`` more conv-BN-PReLU layers."""

    def __init__(self, in_ch: int, width: int, n_convs: int) -> None:
        layers: list[nn.Module] = []
        ch = in_ch
        for i in range(2 * n_convs):
            if i == n_convs:
                layers.append(CentralPooling())
            layers += [*conv_bn(ch, width), nn.PReLU(width)]
            ch = width
        super().__init__(*layers)


class CFCNN(LogitSegmenter):
    """Dense two-branch central focused CNN (see the module docstring for the simplifications).

    Parameters
    ----------
    width : int
        Channels of every branch layer.
    depth : int
        Ignored (kept for the common ``build_model`` signature).
    n_convs : int
        Convolutions before and after central pooling in each branch (3 + 3 = the paper's six).
    """

    def __init__(self, width: int = 16, depth: int = 4, n_convs: int = 3) -> None:
        super().__init__()
        if width < 1 or n_convs < 1:
            raise ValueError(f"need width >= 1 and n_convs >= 1, got {width}, {n_convs}")
        self.local = _Branch(1, width, n_convs)
        self.context = _Branch(1, width, n_convs)
        # the fully connected classifier of the patch network, applied at every pixel
        self.classifier = nn.Sequential(
            *conv_bn(2 * width, 2 * width, kernel=1),
            nn.PReLU(2 * width),
            nn.Conv2d(2 * width, 1, 1),
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        local = self.local(x)
        context = resize(self.context(F.avg_pool2d(x, 2, ceil_mode=True)), x.shape[-2:])
        return self.classifier(torch.cat([local, context], dim=1))
