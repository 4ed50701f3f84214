"""Comparison baselines (TNNLS Table I, conference Table 1): registry, interface, training, SR."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from softnodule.losses import dice_loss
from softnodule.models import (
    BASELINE_NAMES,
    MODEL_NAMES,
    TABLE1_BASELINES,
    SegOutput,
    SRGenerator,
    SRSegmenter,
    build_model,
    count_parameters,
    model_spec,
)
from softnodule.models.baselines import build_baseline
from softnodule.models.baselines.base import stage_strides
from softnodule.models.baselines.cfcnn import CentralPooling
from softnodule.models.baselines.medt import GatedAxialAttention
from softnodule.models.baselines.monai_nets import UNetPlusPlus

SMOKE = {"width": 4, "depth": 2, "sr_factor": 2, "feat_channels": 6}
SR_NAMES = ("infnet_sr", "medt_sr")
ABLATION = (
    "unet",
    "dsnet_backbone",
    "dsnet_sr_input",
    "dsnet_edrfm",
    "dsnet_sdrfm",
    "dsnet_drtm",
    "dsnet_soft",
    "dsnet",
    "softgan",
)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Run this module's tiny models on one intra-op thread, then restore the setting.

    They gain nothing from threading, and on the 2-core machine shared with a training job two
    threads thrash (measured: the module took ~150 s instead of ~10 s).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _disc_batch(n: int = 2, side: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy bright discs on a dark background (image in [-1, 1]) and their binary masks."""
    g = torch.Generator().manual_seed(1)
    yy, xx = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    masks = []
    for i in range(n):
        r = side * (0.15 + 0.1 * i)
        masks.append((((yy - side / 2) ** 2 + (xx - side / 2 + i) ** 2) < r**2).float())
    y = torch.stack(masks)[:, None]
    x = (y * 1.2 - 0.6 + 0.2 * torch.randn(y.shape, generator=g)).clamp(-1, 1)
    return x, y


def _pipeline(name: str, **kw: int) -> SRSegmenter:
    seg = build_model(name, **{**SMOKE, **kw})
    teacher = SRGenerator(factor=2, width=8) if seg.needs_sr else None
    return SRSegmenter(seg, teacher)


def test_registry_entries_and_order() -> None:
    assert MODEL_NAMES[:9] == ABLATION
    assert MODEL_NAMES[9 : 9 + len(BASELINE_NAMES)] == BASELINE_NAMES
    assert MODEL_NAMES[9 + len(BASELINE_NAMES) :] == ("casgan", "casgan_no_sr")  # CasGAN models follow
    assert TABLE1_BASELINES == ("unet", *BASELINE_NAMES[:-1])  # SegNet (CasGAN Table 1 only) is not a DSNet row
    assert BASELINE_NAMES[-1] == "segnet"
    for name in BASELINE_NAMES:
        spec = model_spec(name)
        assert spec.stem == "baseline" and spec.paper_row and spec.description, name
        assert not spec.soft_mask_loss and not spec.gan_loss, name
        assert spec.needs_sr == (name in SR_NAMES), name
    assert "Table I" in model_spec("cfcnn").paper_row
    assert "conference Table 1" in model_spec("unet3p").paper_row
    assert "†" in model_spec("medt_sr").paper_row


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_shapes_ranges_and_soft_is_affine_in_prob(name: str) -> None:
    model = build_model(name, **SMOKE)
    assert model.needs_sr == model_spec(name).needs_sr
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    sr = torch.rand(2, 1, 128, 128) * 2 - 1 if model.needs_sr else None
    out = model(x, sr)
    assert isinstance(out, SegOutput)
    assert out.prob.shape == out.soft.shape == (2, 1, 64, 64)
    assert 0 <= out.prob.min() and out.prob.max() <= 1
    torch.testing.assert_close(out.soft, 2 * out.prob - 1)


def _normalised_conv_biases(model: nn.Module, x: torch.Tensor) -> set[int]:
    """ids of conv biases whose output goes straight into a BatchNorm/InstanceNorm.

    Such a bias is removed again by the normalisation, so its gradient is zero analytically
    (only rounding noise remains); MONAI's blocks keep these biases.
    """
    produced: dict[int, nn.Parameter] = {}
    exempt: set[int] = set()
    norms = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm)

    def conv_hook(mod: nn.Module, _i: object, out: torch.Tensor) -> None:
        if mod.bias is not None:
            produced[id(out)] = mod.bias

    def norm_hook(_m: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        if id(inputs[0]) in produced:
            exempt.add(id(produced[id(inputs[0])]))

    handles = []
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d | nn.ConvTranspose2d):
            handles.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, norms):
            handles.append(mod.register_forward_pre_hook(norm_hook))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return exempt


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_dice_gradient_reaches_every_parameter(name: str) -> None:
    model = _pipeline(name).train()
    x, y = _disc_batch()
    exempt = _normalised_conv_biases(model, x)
    dice_loss(model(x).prob, y).backward()
    params = dict(model.segmenter.named_parameters())
    assert params and all(p.requires_grad for p in params.values())
    for n, p in params.items():
        assert p.grad is not None and torch.isfinite(p.grad).all(), n
        if id(p) not in exempt:
            assert p.grad.abs().sum() > 0, n
    if model.teacher is not None:
        assert all(p.grad is None for p in model.teacher.parameters())


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_adam_steps_decrease_dice_loss(name: str) -> None:
    model = _pipeline(name).train()
    opt = torch.optim.Adam(model.trainable_parameters(), lr=3e-3)
    x, y = _disc_batch()
    losses = []
    for _ in range(6):
        loss = dice_loss(model(x).prob, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0], losses


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_deterministic_with_fixed_seed(name: str) -> None:
    x, _ = _disc_batch()
    outs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = _pipeline(name).train()
        outs.append((model.state_dict(), model(x).prob.detach()))
    (sd_a, p_a), (sd_b, p_b) = outs
    assert sd_a.keys() == sd_b.keys()
    assert all(torch.equal(sd_a[k], sd_b[k]) for k in sd_a)
    assert torch.equal(p_a, p_b)


@pytest.mark.parametrize("name", SR_NAMES)
def test_sr_rows_need_a_teacher_and_read_only_its_image(name: str) -> None:
    seg = build_model(name, **SMOKE)
    assert seg.needs_sr and not seg.needs_feats and seg.sr_factor == 2
    with pytest.raises(ValueError, match="needs an SR teacher"):
        SRSegmenter(seg, None)
    with pytest.raises(ValueError, match="teacher factor 4 != segmenter sr_factor 2"):
        SRSegmenter(seg, SRGenerator(factor=4, width=8))
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    with pytest.raises(ValueError, match=r"needs the SR teacher's image.*sr of shape"):
        seg(x)
    with pytest.raises(ValueError, match="sr has shape"):
        seg(x, torch.zeros(2, 1, 32, 32))
    # feat_channels need not match the teacher's width: the features are not read
    model = SRSegmenter(seg, SRGenerator(factor=2, width=8)).eval()
    out = model(x)
    assert out.prob.shape == (2, 1, 32, 32)
    sr, _ = model.teacher.forward_features(x)
    ref = F.avg_pool2d(torch.sigmoid(seg.net.logits(sr)), 2)
    torch.testing.assert_close(out.prob, ref)
    torch.testing.assert_close(out.soft, 2 * ref - 1)


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_runs_at_quick_size_and_at_twice_the_crop(name: str) -> None:
    # quick profile on 64x64; 128x128 crops (the "†" rows then run at 256x256)
    model = build_model(name, width=16, depth=4, sr_factor=2).eval()
    with torch.no_grad():
        for side in (64, 128):
            x = torch.rand(1, 1, side, side) * 2 - 1
            sr = torch.rand(1, 1, 2 * side, 2 * side) * 2 - 1 if model.needs_sr else None
            assert model(x, sr).prob.shape == (1, 1, side, side)


@pytest.mark.parametrize("name", SR_NAMES)
def test_sr_rows_at_x4(name: str) -> None:
    model = build_model(name, width=4, depth=2, sr_factor=4).eval()
    x = torch.rand(1, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        out = model(x, torch.rand(1, 1, 256, 256) * 2 - 1)
    assert out.prob.shape == (1, 1, 64, 64)


def test_parameters_grow_with_width() -> None:
    for name in BASELINE_NAMES:
        small = count_parameters(build_model(name, **SMOKE))
        big = count_parameters(build_model(name, **{**SMOKE, "width": 8}))
        assert big > small, name


def test_unknown_name_lists_the_names() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'cfcnn2'.*unet.*cfcnn.*medt_sr.*unet3p"):
        build_model("cfcnn2")
    with pytest.raises(ValueError, match=r"unknown baseline 'unet'.*cfcnn.*unet3p"):
        build_baseline("unet")


def test_overrides_reach_the_constructor() -> None:
    assert build_model("deeplabv3p", **SMOKE).output_stride == 8
    assert build_model("deeplabv3p", **{**SMOKE, "depth": 4}).output_stride == 16
    assert build_model("deeplabv3p", **SMOKE, output_stride=16).output_stride == 16
    with pytest.raises(ValueError, match="output_stride"):
        build_model("deeplabv3p", **SMOKE, output_stride=4)
    with pytest.raises(TypeError):
        build_model("cfcnn", **SMOKE, detail_texture=False)
    sr = build_model("medt_sr", **SMOKE, patch_grid=2)
    assert sr.net.patch_grid == 2


def test_stage_strides() -> None:
    assert stage_strides(5) == [2, 2, 2, 2, 2]
    assert stage_strides(4) == [2, 1, 2, 2, 2]  # the max-pool goes first
    assert stage_strides(2) == [2, 1, 2, 1, 1]
    assert stage_strides(0) == [1] * 5
    assert stage_strides(9) == [2] * 5


def test_central_pooling_keeps_the_centre_and_pools_the_border() -> None:
    x = torch.zeros(1, 1, 12, 12)
    x[0, 0, 0, 2] = 1.0  # a peak in the outer ring spreads over its 5x5 window there
    x[0, 0, 6, 6] = 1.0  # a peak at the centre stays a single pixel there
    out = CentralPooling()(x)
    assert out.shape == x.shape
    assert out[0, 0, 0, 0] == 1.0 and out[0, 0, 1, 4] == 1.0
    assert out[0, 0, 6, 6] == 1.0 and out[0, 0, 5, 6] == 0.0


def test_unetpp_has_no_unused_supervision_heads() -> None:
    model = UNetPlusPlus(width=4)
    for k in (1, 2, 3):
        assert isinstance(getattr(model.net, f"final_conv_0_{k}"), nn.Identity)
    assert not model.net.deep_supervision


def test_axial_attention_any_length_and_size_checks() -> None:
    attn = GatedAxialAttention(8, "h", max_span=4).eval()
    for h in (3, 8, 20):  # offsets beyond max_span are clipped, so any length works
        assert attn(torch.randn(2, 8, h, 5)).shape == (2, 8, h, 5)
    with pytest.raises(ValueError, match="even channel count"):
        GatedAxialAttention(3, "w")
    with pytest.raises(ValueError, match="multiple of patch_grid"):
        build_model("medt", **SMOKE)(torch.zeros(1, 1, 40, 40))
