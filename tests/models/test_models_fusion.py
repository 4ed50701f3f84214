"""SR input stages: shapes, and the DRTM switches of Table V."""

from __future__ import annotations

import pytest
import torch

from softnodule.models import (
    DRTM,
    EDRFM,
    SDRFM,
    SelectiveFusion,
    SRInputStem,
    count_parameters,
)

B, FEAT, OUT, S = 2, 6, 4, 32


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (
        torch.rand(B, 1, S, S) * 2 - 1,
        torch.rand(B, 1, S, S) * 2 - 1,
        torch.randn(B, FEAT, S, S),
    )


@pytest.mark.parametrize(
    "stage",
    [
        SRInputStem(OUT),
        EDRFM(FEAT, OUT),
        SDRFM(FEAT, OUT),
        DRTM(FEAT, OUT),
        DRTM(FEAT, OUT, detail_texture=False),
        DRTM(FEAT, OUT, selective_fusion=False),
    ],
    ids=["sr_input", "edrfm", "sdrfm", "drtm", "drtm_no_dtm", "drtm_no_csf"],
)
def test_stage_shapes(stage: torch.nn.Module) -> None:
    assert stage(*_inputs()).shape == (B, OUT, S, S)


def test_sr_input_stem_reads_only_the_sr_image() -> None:
    stem = SRInputStem(OUT).eval()
    x_up, sr, feats = _inputs()
    assert torch.equal(stem(x_up, sr, feats), stem(torch.zeros_like(x_up), sr, None))


def test_drtm_variants_have_different_parameter_counts() -> None:
    full = count_parameters(DRTM(FEAT, OUT))
    no_dtm = count_parameters(DRTM(FEAT, OUT, detail_texture=False))
    no_csf = count_parameters(DRTM(FEAT, OUT, selective_fusion=False))
    neither = count_parameters(DRTM(FEAT, OUT, detail_texture=False, selective_fusion=False))
    c_h_l = (FEAT * FEAT + FEAT) + (9 * FEAT * FEAT + FEAT)
    fusion = count_parameters(SelectiveFusion(OUT))
    assert full - no_dtm == c_h_l
    assert full - no_csf == fusion
    assert neither == full - c_h_l - fusion
    assert len({full, no_dtm, no_csf, neither}) == 4


def test_drtm_without_detail_texture_has_no_c_h_c_l() -> None:
    drtm = DRTM(FEAT, OUT, detail_texture=False).eval()
    assert drtm.c_h is None and drtm.c_l is None
    assert not any("c_h" in n or "c_l" in n for n, _ in drtm.named_parameters())
    _, _, feats = _inputs()
    assert torch.equal(drtm.detail(feats), drtm.proj(feats))
    with pytest.raises(RuntimeError):
        drtm.high_frequency(feats)


def test_drtm_detail_texture_formula() -> None:
    drtm = DRTM(FEAT, OUT).eval()
    _, _, feats = _inputs()
    f_h = torch.sigmoid(drtm.c_h(feats) - drtm.c_l(feats))  # Eq. 9
    assert torch.allclose(drtm.high_frequency(feats), f_h)
    assert torch.allclose(drtm.detail(feats), drtm.proj(feats * f_h))  # Eq. 10 + projection
    assert drtm.c_l.dilation == (2, 2) and drtm.c_l.kernel_size == (3, 3)
    assert drtm.c_h.kernel_size == (1, 1)


def test_drtm_without_selective_fusion_is_a_plain_sum() -> None:
    drtm = DRTM(FEAT, OUT, selective_fusion=False).eval()
    assert drtm.fusion is None
    x_up, sr, feats = _inputs()
    expected = drtm.context(x_up, sr) + drtm.detail(feats)
    assert torch.allclose(drtm(x_up, sr, feats), expected)


def test_drtm_selective_fusion_is_a_convex_channel_mix() -> None:
    drtm = DRTM(FEAT, OUT).eval()
    x_up, sr, feats = _inputs()
    f_c, f_d = drtm.context(x_up, sr), drtm.detail(feats)
    a, b = drtm.fusion.weights(f_c, f_d)
    assert a.shape == b.shape == (B, OUT, 1, 1)
    assert torch.allclose(a + b, torch.ones_like(a))
    assert torch.allclose(drtm(x_up, sr, feats), a * f_c + b * f_d, atol=1e-6)
    assert not torch.allclose(drtm(x_up, sr, feats), f_c + f_d)


def test_selective_fusion_trains_with_batch_of_one() -> None:
    fusion = SelectiveFusion(OUT).train()
    f = torch.randn(1, OUT, 8, 8)
    assert fusion(f, f * 2).shape == (1, OUT, 8, 8)


def test_sdrfm_ignores_nothing_and_edrfm_uses_all_inputs() -> None:
    for stage in (EDRFM(FEAT, OUT).eval(), SDRFM(FEAT, OUT).eval()):
        x_up, sr, feats = _inputs()
        base = stage(x_up, sr, feats)
        assert not torch.allclose(base, stage(x_up, sr, feats + 1))
        assert not torch.allclose(base, stage(x_up, sr + 0.5, feats))
