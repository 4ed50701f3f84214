"""Comparison baselines of TNNLS Table I, the conference paper's Table 1 and CasGAN Table 1 (SegNet),
trained from scratch.

Every baseline has the DSNet call convention ``forward(x, sr=None, sr_feats=None) -> SegOutput``
with one logit map: ``prob = sigmoid(logit)``, ``soft = 2 * prob - 1`` (Dice-only training; the
soft map exists only for the interface). The "†" rows (``infnet_sr``, ``medt_sr``) run the same
network on the frozen SR teacher's image and area-average the result to the input grid
(:class:`SRImageSegmenter`; ``needs_sr = True``, ``needs_feats = False``).

=================  ==========================================  =================================
name               paper row                                   implementation
=================  ==========================================  =================================
``cfcnn``          TNNLS Table I "CF-CNN [11]"                 :mod:`.cfcnn` (own, dense)
``dbresnet``       TNNLS Table I "DB-ResNet [14]"              :mod:`.dbresnet` (own, dense)
``unetpp``         TNNLS Table I "UNet++ [24]"                 MONAI ``BasicUNetPlusPlus``
``infnet``         TNNLS Table I "INFNet [25]"                 :mod:`.infnet` (own, compact)
``infnet_sr``      TNNLS Table I "INFNet†"                     Inf-Net on the SR image
``medt``           TNNLS Table I "MedT [28]"                   :mod:`.medt` (own, compact)
``medt_sr``        TNNLS Table I "MedT†"                       MedT on the SR image
``deeplabv3p``     conference Table 1 "DeeplabV3+"             :mod:`.deeplab` (own, compact)
``attention_unet`` conference Table 1 "Attention UNet"         MONAI ``AttentionUnet``
``cenet``          conference Table 1 "CENet"                  :mod:`.cenet` (own, compact)
``unet3p``         conference Table 1 "UNet3+"                 :mod:`.unet3p` (own)
``segnet``         CasGAN Table 1 "Segnet [3]"                 :mod:`.segnet` (own, compact)
=================  ==========================================  =================================

No pretrained weights are used anywhere (none can be downloaded here); each module's docstring
lists its simplifications. Build them through :func:`softnodule.models.build_model`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from softnodule.models.baselines.base import (
    LogitSegmenter,
    SRImageSegmenter,
    seg_output,
)
from softnodule.models.baselines.cenet import CENet
from softnodule.models.baselines.cfcnn import CFCNN
from softnodule.models.baselines.dbresnet import DBResNet
from softnodule.models.baselines.deeplab import DeepLabV3Plus
from softnodule.models.baselines.infnet import InfNet
from softnodule.models.baselines.medt import MedT
from softnodule.models.baselines.monai_nets import AttentionUNet, UNetPlusPlus
from softnodule.models.baselines.segnet import SegNet
from softnodule.models.baselines.unet3p import UNet3Plus

__all__ = [
    "BASELINE_BUILDERS",
    "BASELINE_NAMES",
    "CFCNN",
    "SR_BASELINES",
    "AttentionUNet",
    "CENet",
    "DBResNet",
    "DeepLabV3Plus",
    "InfNet",
    "LogitSegmenter",
    "MedT",
    "SRImageSegmenter",
    "SegNet",
    "UNet3Plus",
    "UNetPlusPlus",
    "build_baseline",
    "seg_output",
]

#: name -> constructor ``(width=, depth=, **overrides)`` of the network at input resolution
BASELINE_BUILDERS: dict[str, Callable[..., LogitSegmenter]] = {
    "cfcnn": CFCNN,
    "dbresnet": DBResNet,
    "unetpp": UNetPlusPlus,
    "infnet": InfNet,
    "medt": MedT,
    "deeplabv3p": DeepLabV3Plus,
    "attention_unet": AttentionUNet,
    "cenet": CENet,
    "unet3p": UNet3Plus,
    "segnet": SegNet,
}
#: "†" rows: name -> the network run on the SR image
SR_BASELINES: dict[str, str] = {"infnet_sr": "infnet", "medt_sr": "medt"}
#: every baseline name, in the registry's order
BASELINE_NAMES: tuple[str, ...] = (
    "cfcnn",
    "dbresnet",
    "unetpp",
    "infnet",
    "infnet_sr",
    "medt",
    "medt_sr",
    "deeplabv3p",
    "attention_unet",
    "cenet",
    "unet3p",
    "segnet",
)


def build_baseline(
    name: str,
    *,
    width: int = 16,
    depth: int = 4,
    sr_factor: int = 2,
    feat_channels: int = 32,
    **overrides: object,
) -> nn.Module:
    """Build the baseline ``name`` (``feat_channels`` is ignored: no baseline reads SR features).

    Parameters
    ----------
    name : str
        One of :data:`BASELINE_NAMES`.
    width, depth : int
        First-level channels and down-sampling steps (see each model for how it uses them).
    sr_factor : int
        SR factor of the "†" variants (ignored by the others).
    **overrides
        Extra constructor arguments of the network (e.g. ``output_stride=8`` for DeepLabV3+).

    Returns
    -------
    nn.Module
        A :class:`LogitSegmenter`, or an :class:`SRImageSegmenter` wrapping one for ``*_sr``.
    """
    if name in SR_BASELINES:
        net = BASELINE_BUILDERS[SR_BASELINES[name]](width=width, depth=depth, **overrides)
        return SRImageSegmenter(net, sr_factor)
    if name not in BASELINE_BUILDERS:
        raise ValueError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINE_NAMES)}")
    return BASELINE_BUILDERS[name](width=width, depth=depth, **overrides)
