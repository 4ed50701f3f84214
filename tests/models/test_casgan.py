"""CasGAN's segmentor, the cascade's prior-input models, SegNet, and the "casgan" loss recipe."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from softnodule.losses import CASGAN_MSE_WEIGHT, GANLoss, SegLossWeights, casgan_mse, soft_mask_l1
from softnodule.models import MODEL_NAMES, PixelDiscriminator, SRGenerator, SRSegmenter, build_model, model_spec
from softnodule.models.baselines.segnet import SegNet
from softnodule.models.casgan import SoftGANSegmentor, widen_first_conv
from softnodule.models.registry import LOSS_RECIPES, PRIOR_MODEL_NAMES
from softnodule.train.segmentation import train_step

NEW = ("segnet", "casgan", "casgan_no_sr", "casgan_pp", "cenet_pp")
SMOKE = {"width": 4, "depth": 2, "sr_factor": 2, "feat_channels": 8}
QUICK = {"width": 16, "depth": 4, "sr_factor": 2, "feat_channels": 32}


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    torch.manual_seed(0)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _x(name: str, b: int = 2, side: int = 64) -> torch.Tensor:
    return torch.rand(b, model_spec(name).in_channels, side, side) * 2 - 1


@pytest.mark.parametrize("sizes", [SMOKE, QUICK], ids=["smoke", "quick"])
@pytest.mark.parametrize("name", NEW)
def test_shapes_and_ranges_at_profile_sizes(name: str, sizes: dict) -> None:
    model = build_model(name, **sizes).eval()
    assert bool(getattr(model, "needs_sr", False)) == model_spec(name).needs_sr
    x = _x(name)
    sr = torch.rand(2, 1, 128, 128) * 2 - 1 if model_spec(name).needs_sr else None
    with torch.no_grad():
        out = model(x, sr)
    assert out.prob.shape == out.soft.shape == (2, 1, 64, 64)
    assert 0 <= out.prob.min() and out.prob.max() <= 1 and -1 <= out.soft.min() and out.soft.max() <= 1


def test_casgan_at_x4_runs_at_sr_resolution_and_area_averages() -> None:
    model = build_model("casgan", width=4, depth=2, sr_factor=4).eval()
    x, sr = torch.rand(1, 1, 32, 32) * 2 - 1, torch.rand(1, 1, 128, 128) * 2 - 1
    seen = {}
    model.net.register_forward_pre_hook(lambda m, inp: seen.__setitem__("in", inp[0]))
    with torch.no_grad():
        out = model(x, sr)
        work = model.soft_at_work_resolution(x, sr)
    # input = cat(bilinear x4 of the crop, SR image) at SR resolution
    assert seen["in"].shape == (1, 2, 128, 128)
    torch.testing.assert_close(seen["in"][:, :1], F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False))
    torch.testing.assert_close(seen["in"][:, 1:], sr)
    assert work.shape == (1, 1, 128, 128)
    torch.testing.assert_close(out.soft, F.avg_pool2d(work, 4))
    torch.testing.assert_close(out.prob, (out.soft + 1) / 2)


@pytest.mark.parametrize("f", [1, 2, 4])
def test_sr_segmentor_gets_log2_f_more_steps_and_the_same_bottleneck(f: int) -> None:
    with_sr = build_model("casgan", width=4, depth=3, sr_factor=f).eval()
    no_sr = build_model("casgan_no_sr", width=4, depth=3, sr_factor=f).eval()
    assert len(with_sr.net.downs) == 3 + {1: 0, 2: 1, 4: 2}[f] and len(no_sr.net.downs) == 3
    sizes = {}
    for key, m in (("sr", with_sr), ("no", no_sr)):
        m.net.downs[-1].register_forward_hook(lambda _m, _i, out, key=key: sizes.__setitem__(key, out.shape[-1]))
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        with_sr(x, torch.rand(1, 1, 32 * f, 32 * f) * 2 - 1)
        no_sr(x)
    assert sizes["sr"] == sizes["no"] == 4
    with pytest.raises(ValueError, match="power of two"):
        build_model("casgan", width=4, depth=2, sr_factor=3)


def test_casgan_without_sr_reads_the_crop_at_input_resolution() -> None:
    model = build_model("casgan_no_sr", **SMOKE).eval()
    assert not model.needs_sr and model.sr_factor == 1
    seen = {}
    model.net.register_forward_pre_hook(lambda m, inp: seen.__setitem__("in", inp[0]))
    x = torch.rand(2, 1, 32, 32)
    out = model(x)
    assert seen["in"].shape == (2, 1, 32, 32) and torch.equal(seen["in"], x)
    torch.testing.assert_close(out.prob, (out.soft + 1) / 2)


def test_segmentor_is_pix2pix_without_pooling() -> None:
    net = SoftGANSegmentor(2, width=4, depth=4)
    kinds = {type(m) for m in net.modules()}
    assert not kinds & {nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Upsample}
    convs = [m for m in net.downs.modules() if isinstance(m, nn.Conv2d)]
    ups = [m for m in net.ups.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(convs) == len(ups) == 4
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs + ups)
    acts_enc = [m for m in net.downs.modules() if isinstance(m, nn.LeakyReLU | nn.ReLU)]
    acts_dec = [m for m in net.ups.modules() if isinstance(m, nn.LeakyReLU | nn.ReLU)]
    assert acts_enc and all(isinstance(a, nn.LeakyReLU) and a.negative_slope == 0.2 for a in acts_enc)
    assert acts_dec and all(type(a) is nn.ReLU for a in acts_dec)
    assert isinstance(net.ups[-1][-1], nn.Tanh)
    # innermost encoder conv has no norm (pix2pix); the convs followed by BN carry no bias
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.downs[-1].modules())
    with pytest.raises(ValueError, match="multiple of 2\\*\\*depth = 16"):
        net(torch.zeros(1, 2, 24, 24))


def test_dropout_knob_and_bad_arguments() -> None:
    assert not any(isinstance(m, nn.Dropout) for m in SoftGANSegmentor(2, 4, 4).modules())
    assert sum(isinstance(m, nn.Dropout) for m in SoftGANSegmentor(2, 4, 4, dropout=0.5).modules()) == 3
    with pytest.raises(ValueError, match="dropout"):
        SoftGANSegmentor(2, 4, 4, dropout=1.0)
    with pytest.raises(ValueError, match="depth >= 1"):
        SoftGANSegmentor(2, 4, 0)


def test_casgan_needs_the_sr_image() -> None:
    model = build_model("casgan", **SMOKE)
    x = torch.rand(2, 1, 32, 32)
    with pytest.raises(ValueError, match="needs the SR teacher's image"):
        model(x)
    with pytest.raises(ValueError, match="sr has shape"):
        model(x, torch.rand(2, 1, 32, 32))
    # features are not read, so a teacher of any width fits
    pipe = SRSegmenter(model, SRGenerator(2, 6))
    assert pipe(x).prob.shape == (2, 1, 32, 32)


@pytest.mark.parametrize("name", PRIOR_MODEL_NAMES)
def test_prior_models_read_image_and_prior(name: str) -> None:
    spec = model_spec(name)
    assert spec.in_channels == 2 and name not in MODEL_NAMES and not spec.needs_sr
    model = build_model(name, **SMOKE)
    with pytest.raises(ValueError, match="image \\+ CasGAN prior"):
        model(torch.rand(2, 1, 32, 32))
    x = (torch.rand(2, 2, 32, 32) * 2 - 1).requires_grad_(True)
    out = model.train()(x)
    assert out.prob.shape == (2, 1, 32, 32)
    # the prior channel is read: the output depends on it
    out.prob.sum().backward()
    assert x.grad[:, 1].abs().sum() > 0 and x.grad[:, 0].abs().sum() > 0


def test_widen_first_conv_only_touches_the_first_conv() -> None:
    net = build_model("cenet", **SMOKE)
    before = {k: v.shape for k, v in net.state_dict().items()}
    first = next(k for k, v in before.items() if len(v) == 4)
    widen_first_conv(net, 2)
    after = {k: v.shape for k, v in net.state_dict().items()}
    assert after.keys() == before.keys()
    assert after[first] == (before[first][0], 2, *before[first][2:])
    assert all(after[k] == before[k] for k in before if k != first)
    with pytest.raises(ValueError, match="reads 2 channels, expected 1"):
        widen_first_conv(net, 3)


def test_segnet_upsamples_by_unpooling_at_the_remembered_indices() -> None:
    net = SegNet(width=4, depth=2).eval()
    assert not any(isinstance(m, nn.ConvTranspose2d | nn.Upsample) for m in net.modules())
    seen = {}
    net.dec[-1].register_forward_pre_hook(lambda m, inp: seen.__setitem__("in", inp[0]))
    with torch.no_grad():
        assert net(torch.rand(2, 1, 32, 32) * 2 - 1).prob.shape == (2, 1, 32, 32)
    # a max-unpooled map has at most one non-zero per 2x2 block (the arg-max of the encoder's pooling)
    blocks = (seen["in"] != 0).float().unfold(2, 2, 2).unfold(3, 2, 2).sum((-1, -2))
    assert seen["in"].shape[-1] == 32 and blocks.max() == 1 and blocks.sum() > 0
    with pytest.raises(ValueError, match="multiple of 2\\*\\*depth"):
        net(torch.zeros(1, 1, 30, 30))


def test_loss_recipes_in_the_registry() -> None:
    assert LOSS_RECIPES == ("dsnet", "casgan")
    for name in ("casgan", "casgan_no_sr", "casgan_pp"):
        s = model_spec(name)
        assert s.loss == "casgan" and s.soft_mask_loss and s.gan_loss, name
    for name in ("segnet", "cenet_pp"):
        s = model_spec(name)
        assert s.loss == "dsnet" and not s.soft_mask_loss and not s.gan_loss, name
    assert all(model_spec(n).loss == "dsnet" for n in MODEL_NAMES if not n.startswith("casgan"))


def test_casgan_mse_known_values() -> None:
    pred = torch.zeros(1, 1, 2, 2)
    assert float(casgan_mse(pred, torch.full((1, 1, 2, 2), 0.5))) == 0.0
    assert float(casgan_mse(pred, torch.ones(1, 1, 2, 2))) == 1.0
    assert float(casgan_mse(-torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2))) == 4.0
    with pytest.raises(ValueError, match="same shape"):
        casgan_mse(pred, torch.ones(1, 1, 2, 3))


def test_casgan_step_is_mse_plus_l1_plus_gan_without_dice() -> None:
    seg = build_model("casgan_no_sr", **SMOKE)
    pipe = SRSegmenter(seg).train()
    disc = PixelDiscriminator(2, 8)
    opt = torch.optim.Adam(seg.parameters(), 1e-3)
    opt_d = torch.optim.Adam(disc.parameters(), 1e-3)
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    target = torch.rand(4, 1, 32, 32)
    bin_gt = torch.zeros_like(target)  # not read by the CasGAN recipe
    ref_pipe, ref_disc = copy.deepcopy(pipe), copy.deepcopy(disc)
    w = SegLossWeights()
    parts = train_step(pipe, x, target, bin_gt, opt=opt, weights=w, soft_mask_loss=True, disc=disc, opt_d=opt_d,
                       gan=GANLoss(), recipe="casgan")
    assert set(parts) == {"loss", "mse", "l1", "gan", "d_loss"}
    soft = ref_pipe(x).soft.detach()
    assert parts["mse"] == pytest.approx(float(casgan_mse(soft, target)), rel=1e-5)
    assert parts["l1"] == pytest.approx(float(soft_mask_l1(soft, target)), rel=1e-5)
    assert parts["loss"] == pytest.approx(CASGAN_MSE_WEIGHT * parts["mse"] + w.soft * parts["l1"] + w.gan * parts["gan"],
                                          rel=1e-5)
    # the discriminator saw cat(crop, .) and was updated; the segmentor moved
    assert any(not torch.equal(a, b) for a, b in zip(disc.state_dict().values(), ref_disc.state_dict().values()))
    assert any(not torch.equal(a, b) for a, b in zip(seg.state_dict().values(), ref_pipe.segmenter.state_dict().values()))
    with pytest.raises(ValueError, match="unknown loss recipe"):
        train_step(pipe, x, target, bin_gt, opt=opt, weights=w, soft_mask_loss=True, recipe="dice")


def test_casgan_step_shows_only_the_crop_to_the_discriminator() -> None:
    seg = build_model("casgan_pp", **SMOKE)
    disc = PixelDiscriminator(2, 8)
    seen = []
    disc.register_forward_pre_hook(lambda m, inp: seen.append(inp[0].detach().clone()))
    x = torch.rand(2, 2, 32, 32) * 2 - 1
    target = torch.rand(2, 1, 32, 32)
    train_step(SRSegmenter(seg).train(), x, target, target, opt=torch.optim.Adam(seg.parameters()),
               weights=SegLossWeights(), soft_mask_loss=True, disc=disc, opt_d=torch.optim.Adam(disc.parameters()),
               gan=GANLoss(), recipe="casgan")
    assert len(seen) == 3 and all(s.shape == (2, 2, 32, 32) for s in seen)
    assert all(torch.equal(s[:, :1], x[:, :1]) for s in seen)
    torch.testing.assert_close(seen[0][:, 1:], 2 * target - 1)  # real = the target in [-1, 1]
