"""PyTorch models of DSNet / SoftGAN (TNNLS §III-B): backbone, SR teacher, fusion stems, D.

Typical use::

    from softnodule.models import build_model, model_spec, SRGenerator, SRSegmenter
    seg = build_model("dsnet", width=16, depth=4, sr_factor=2, feat_channels=32)
    teacher = SRGenerator(factor=2, width=32)          # frozen, pre-trained SR teacher
    model = SRSegmenter(seg, teacher)
    out = model(x)            # x (B,1,H,W) in [-1,1] -> SegOutput(prob, soft), both (B,1,H,W)
    model_spec("dsnet").soft_mask_loss, model_spec("dsnet").gan_loss   # -> True, True

Modules: `blocks` (CBAM, sampling blocks), `backbone` (U-Net backbone, head, ``SegOutput``),
`fusion` (SR Input / EDRFM / SDRFM / DRTM stems), `srgan` (SR teacher and its discriminator),
`discriminators` (pixel-wise D), `dsnet` (U-Net baseline, ``DSNetSegmenter``), `pipeline`
(``SRSegmenter``), `baselines` (comparison models of TNNLS Table I / conference Table 1:
CF-CNN, DB-ResNet, UNet++, Inf-Net, MedT, DeepLabV3+, Attention U-Net, CE-Net, UNet 3+, SegNet),
`casgan` (CasGAN's pix2pix-like soft-mask segmentor on cat(bilinear, SR) and the cascade-prior
models ``casgan_pp`` / ``cenet_pp``, listed in ``PRIOR_MODEL_NAMES``), `registry` (names, loss recipes
``LOSS_RECIPES``, ``build_model``, ``TABLE1_BASELINES``). LGAN's lung-segmentation generator and its
five WGAN critics live in `lgan` (``build_lgan``), outside this registry: they train with their own loop.
"""

from softnodule.models.backbone import SegmentationHead, SegOutput, UNetBackbone
from softnodule.models.baselines import BASELINE_NAMES, LogitSegmenter, SRImageSegmenter
from softnodule.models.discriminators import PixelDiscriminator
from softnodule.models.dsnet import STEMS, DSNetSegmenter, UNet
from softnodule.models.fusion import DRTM, EDRFM, SDRFM, SelectiveFusion, SRInputStem
from softnodule.models.pipeline import SRSegmenter
from softnodule.models.registry import (
    LOSS_RECIPES,
    MODEL_NAMES,
    PRIOR_MODEL_NAMES,
    TABLE1_BASELINES,
    ModelSpec,
    build_model,
    count_parameters,
    model_spec,
)
from softnodule.models.srgan import SRDiscriminator, SRGenerator

__all__ = [
    "BASELINE_NAMES",
    "LOSS_RECIPES",
    "PRIOR_MODEL_NAMES",
    "DRTM",
    "EDRFM",
    "MODEL_NAMES",
    "SDRFM",
    "STEMS",
    "TABLE1_BASELINES",
    "DSNetSegmenter",
    "LogitSegmenter",
    "ModelSpec",
    "PixelDiscriminator",
    "SRDiscriminator",
    "SRGenerator",
    "SRImageSegmenter",
    "SRInputStem",
    "SRSegmenter",
    "SegOutput",
    "SegmentationHead",
    "SelectiveFusion",
    "UNet",
    "UNetBackbone",
    "build_model",
    "count_parameters",
    "model_spec",
]
