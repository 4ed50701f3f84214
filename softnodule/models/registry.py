"""Named models: one name per row of the DSNet ablation and of the comparison tables, with recipes.

``build_model(name)`` returns the segmenter only (never the SR teacher); ``model_spec(name)``
says what it reproduces and which losses it trains with (Dice for every model but CasGAN's; Soft Mask
L1 and the pixel-wise GAN loss where the row adds them; ``ModelSpec.loss`` names the recipe).

:data:`MODEL_NAMES` lists the nine DSNet/SoftGAN ablation models first (``unet`` ...
``softgan``), then the eleven comparison baselines of TNNLS Table I and the conference paper's
Table 1 (``stem == "baseline"``, built by :mod:`softnodule.models.baselines`, Dice only).
:data:`TABLE1_BASELINES` gives the comparison rows in the papers' order, starting with ``unet``.
Then CasGAN's models: ``segnet`` (CasGAN Table 1 baseline, Dice only), ``casgan`` (SoftGAN segmentor on
cat(image, SR image)) and ``casgan_no_sr`` (on the image alone), trained with the ``"casgan"`` loss
recipe (MSE + 100 L1 + pixel GAN, no Dice; see :mod:`softnodule.models.casgan`).

:data:`PRIOR_MODEL_NAMES` (``casgan_pp``, ``cenet_pp``) are the cascade's second stages (CasGAN §3.3,
Fig. 5): they read ``x = cat(image, CasGAN prior)`` with TWO channels, so they are kept out of
:data:`MODEL_NAMES` (whose models all read the 1-channel crop) but are built by the same
:func:`build_model`. CasGAN's Table 1/3/4 rows that differ only in the training target (binary mask,
Soft Mask, softened mask) are table variants of ``casgan`` (:mod:`softnodule.experiments.engine.table_runs`).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from softnodule.models.baselines import build_baseline
from softnodule.models.casgan import build_casgan_model
from softnodule.models.dsnet import DSNetSegmenter, UNet

__all__ = [
    "LOSS_RECIPES",
    "MODEL_NAMES",
    "PRIOR_MODEL_NAMES",
    "TABLE1_BASELINES",
    "ModelSpec",
    "build_model",
    "count_parameters",
    "model_spec",
]


@dataclass(frozen=True)
class ModelSpec:
    """What a named model is and how it is trained.

    Attributes
    ----------
    name : str
        Registry name.
    description : str
        One line on the architecture.
    needs_sr : bool
        Whether the model reads the SR teacher's image/features.
    stem : str
        ``DSNetSegmenter`` stem (``"unet"`` for the plain U-Net, ``"baseline"`` for the
        comparison baselines of :mod:`softnodule.models.baselines`, ``"casgan"`` for the models
        of :mod:`softnodule.models.casgan`).
    paper_row : str
        The table row it reproduces.
    soft_mask_loss : bool
        Train with the L1 Soft Mask loss on the tanh output.
    gan_loss : bool
        Train against the pixel-wise discriminator.
    loss : str
        Loss recipe (:data:`LOSS_RECIPES`): ``"dsnet"`` = ``dice Dice + soft L1 + gan GAN`` with the
        terms switched by the two flags above; ``"casgan"`` = ``MSE(soft, target) + soft L1 + gan GAN``
        (no Dice term; the binary head is not supervised).
    in_channels : int
        Channels of the input ``x``: 1 (the crop) or 2 (crop + the cascade's CasGAN prior).
    """

    name: str
    description: str
    needs_sr: bool
    stem: str
    paper_row: str
    soft_mask_loss: bool
    gan_loss: bool
    loss: str = "dsnet"
    in_channels: int = 1


_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="unet",
        description="original U-Net (double conv, max-pool, 2x2 up-conv)",
        needs_sr=False,
        stem="unet",
        paper_row="TNNLS Table III: orig. UNet (baseline, Dice)",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_backbone",
        description="DSNet CBAM backbone at input resolution",
        needs_sr=False,
        stem="none",
        paper_row="TNNLS Table III: our proposed backbone (Dice)",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_sr_input",
        description="backbone on the SR image at SR resolution",
        needs_sr=True,
        stem="sr_input",
        paper_row="TNNLS Table III: + SR Input",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_edrfm",
        description="backbone after EDRFM (one conv over image, SR, SR features)",
        needs_sr=True,
        stem="edrfm",
        paper_row="conference Table 3: + EDRFM",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_sdrfm",
        description="backbone after SDRFM (selective fusion, no high-frequency term)",
        needs_sr=True,
        stem="sdrfm",
        paper_row="conference Table 3: + SDRFM",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_drtm",
        description="backbone after DRTM (detail texture + selective fusion)",
        needs_sr=True,
        stem="drtm",
        paper_row="TNNLS Table III: + DRTM",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet_soft",
        description="DRTM + backbone, Dice + Soft Mask L1",
        needs_sr=True,
        stem="drtm",
        paper_row="TNNLS Table III: + Soft Mask Loss",
        soft_mask_loss=True,
        gan_loss=False,
    ),
    ModelSpec(
        name="dsnet",
        description="full DSNet: DRTM + backbone, Dice + Soft Mask L1 + pixel GAN",
        needs_sr=True,
        stem="drtm",
        paper_row="TNNLS Table III: + GAN Loss (our DSNet)",
        soft_mask_loss=True,
        gan_loss=True,
    ),
    ModelSpec(
        name="softgan",
        description="SoftGAN: backbone without SR, Dice + Soft Mask L1 + pixel GAN",
        needs_sr=False,
        stem="none",
        paper_row="SoftGAN (ICME 2022): backbone + Soft Mask + GAN",
        soft_mask_loss=True,
        gan_loss=True,
    ),
    ModelSpec(
        name="cfcnn",
        description="central focused CNN: two-scale branches + central pooling (dense, 2-D)",
        needs_sr=False,
        stem="baseline",
        paper_row="TNNLS Table I: CF-CNN [11]",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="dbresnet",
        description="dual-branch residual net + central intensity pooling (dense, 2-D)",
        needs_sr=False,
        stem="baseline",
        paper_row="TNNLS Table I: DB-ResNet [14]",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="unetpp",
        description="UNet++ (MONAI BasicUNetPlusPlus, 4 levels, no deep supervision)",
        needs_sr=False,
        stem="baseline",
        paper_row="TNNLS Table I: UNet++ [24]",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="infnet",
        description="compact Inf-Net: Res2Net-style encoder, PPD, reverse attention, edge features",
        needs_sr=False,
        stem="baseline",
        paper_row="TNNLS Table I: INFNet [25]",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="infnet_sr",
        description="compact Inf-Net on the SR image, area-averaged to the input grid",
        needs_sr=True,
        stem="baseline",
        paper_row="TNNLS Table I: INFNet† [25] (SR image as input)",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="medt",
        description="compact MedT: gated axial attention, LoGo global + local patch branches",
        needs_sr=False,
        stem="baseline",
        paper_row="TNNLS Table I: MedT [28]",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="medt_sr",
        description="compact MedT on the SR image, area-averaged to the input grid",
        needs_sr=True,
        stem="baseline",
        paper_row="TNNLS Table I: MedT† [28] (SR image as input)",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="deeplabv3p",
        description="compact DeepLabV3+: residual encoder, ASPP, low-level decoder",
        needs_sr=False,
        stem="baseline",
        paper_row="conference Table 1: DeeplabV3+",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="attention_unet",
        description="Attention U-Net (MONAI AttentionUnet)",
        needs_sr=False,
        stem="baseline",
        paper_row="conference Table 1: Attention UNet",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="cenet",
        description="CE-Net: ResNet-34-style encoder (from scratch), DAC, RMP, decoder",
        needs_sr=False,
        stem="baseline",
        paper_row="conference Table 1: CENet",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="unet3p",
        description="UNet 3+: full-scale skips (no deep supervision, no CGM)",
        needs_sr=False,
        stem="baseline",
        paper_row="conference Table 1: UNet3+",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="segnet",
        description="SegNet: conv-BN-ReLU encoder, max-pool indices reused by max-unpool decoder",
        needs_sr=False,
        stem="baseline",
        paper_row="CasGAN Table 1: Segnet [3]",
        soft_mask_loss=False,
        gan_loss=False,
    ),
    ModelSpec(
        name="casgan",
        description="CasGAN: pix2pix U-Net segmentor (no pooling) on cat(bilinear image, SR image)",
        needs_sr=True,
        stem="casgan",
        paper_row="CasGAN Table 1: CasGAN_soft (full); with a binary target CasGAN_bin",
        soft_mask_loss=True,
        gan_loss=True,
        loss="casgan",
    ),
    ModelSpec(
        name="casgan_no_sr",
        description="CasGAN segmentor on the image alone at input resolution (no SRGAN)",
        needs_sr=False,
        stem="casgan",
        paper_row="CasGAN Table 1: CasGAN_withoutSR",
        soft_mask_loss=True,
        gan_loss=True,
        loss="casgan",
    ),
)
#: the cascade's second stages: x = cat(image, prior) with two channels (CasGAN §3.3, Fig. 5)
_PRIOR_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="casgan_pp",
        description="CasGAN segmentor on cat(image, CasGAN prior) at input resolution (no SR image)",
        needs_sr=False,
        stem="casgan",
        paper_row="CasGAN Tables 3/4: CasGAN++ (binary target, CasGAN soft prior)",
        soft_mask_loss=True,
        gan_loss=True,
        loss="casgan",
        in_channels=2,
    ),
    ModelSpec(
        name="cenet_pp",
        description="CE-Net whose first conv reads cat(image, CasGAN prior)",
        needs_sr=False,
        stem="casgan",
        paper_row="CasGAN Table 4: CE-net++ (CE-net cascade CasGAN soft prior)",
        soft_mask_loss=False,
        gan_loss=False,
        in_channels=2,
    ),
)
_BY_NAME = {s.name: s for s in (*_SPECS, *_PRIOR_SPECS)}
MODEL_NAMES: tuple[str, ...] = tuple(s.name for s in _SPECS)
#: models reading a 2-channel input (image + CasGAN prior); built by `build_model` like the others
PRIOR_MODEL_NAMES: tuple[str, ...] = tuple(s.name for s in _PRIOR_SPECS)
#: loss recipes a `ModelSpec` can name (see `softnodule.train.segmentation.train_step`)
LOSS_RECIPES: tuple[str, ...] = ("dsnet", "casgan")
#: TNNLS Table I rows (UNet, CF-CNN, DB-ResNet, UNet++, INFNet, INFNet†, MedT, MedT†), then the
#: conference Table 1 rows not in it (DeeplabV3+, Attention UNet, CENet, UNet3+)
TABLE1_BASELINES: tuple[str, ...] = (
    "unet",
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
)


def model_spec(name: str) -> ModelSpec:
    """Return the :class:`ModelSpec` of ``name``; ValueError listing every name if unknown."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; choose one of {', '.join((*MODEL_NAMES, *PRIOR_MODEL_NAMES))}"
        ) from None


def build_model(
    name: str,
    *,
    width: int = 16,
    depth: int = 4,
    sr_factor: int = 2,
    feat_channels: int = 32,
    **overrides: object,
) -> nn.Module:
    """Build the segmenter called ``name`` (not its SR teacher).

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES` or :data:`PRIOR_MODEL_NAMES`.
    width, depth : int
        Backbone width and number of down-sampling steps (baselines with a fixed layout ignore
        or clamp ``depth``; see :mod:`softnodule.models.baselines`).
    sr_factor, feat_channels : int
        SR teacher's factor and feature channels (ignored by models without SR; no baseline
        reads the SR features).
    **overrides
        Extra constructor arguments, e.g. ``detail_texture=False``, ``selective_fusion=False``
        (DSNet) or ``output_stride=8`` (DeepLabV3+).

    Returns
    -------
    nn.Module
        ``UNet``, ``DSNetSegmenter``, a baseline of :mod:`softnodule.models.baselines` or a model
        of :mod:`softnodule.models.casgan`; ``forward(x, sr=None, sr_feats=None) -> SegOutput``.
    """
    spec = model_spec(name)
    if spec.stem == "casgan":
        return build_casgan_model(name, width=width, depth=depth, sr_factor=sr_factor, **overrides)
    if spec.stem == "baseline":
        return build_baseline(
            name, width=width, depth=depth, sr_factor=sr_factor, feat_channels=feat_channels,
            **overrides,
        )
    if spec.stem == "unet":
        return UNet(width=width, depth=depth, **overrides)  # type: ignore[arg-type]
    kwargs: dict[str, object] = {
        "width": width,
        "depth": depth,
        "sr_factor": sr_factor,
        "feat_ch": feat_channels,
        "stem": spec.stem,
    }
    kwargs.update(overrides)
    return DSNetSegmenter(**kwargs)  # type: ignore[arg-type]


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters of ``module`` (only those with ``requires_grad`` by default)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
