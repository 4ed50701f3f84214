"""The matting benchmark's functions on tiny inputs (targets are checked by running the bench, not here)."""

import pytest

from softnodule import bench

KEYS = {"soft_mask_ms_64", "soft_mask_ms_64_grabcut", "soft_mask_ms_256", "pymatting_max_abs_diff",
        "lnsm_build_s_per_1000", "alpha_mae"}


def test_pymatting_agrees_on_phantom_crops(nodule_index):
    _, cases = bench._phantom_cases(4, seed=2)
    assert bench.pymatting_max_abs_diff(cases, eps=1e-5) <= 1e-3


def test_bench_matting_prints_every_key(nodule_index):
    out = bench.bench_matting(cases=4, lnsm_cases=4)
    assert KEYS <= set(out)
    assert set(out["alpha_mae"]) == {"soft_mask", "binary_consensus", "kats", "gros"}
    assert out["lnsm_build_cases"] + out["lnsm_build_skipped"] == 4


def test_bench_rejects_nonsense():
    with pytest.raises(ValueError):
        bench.bench_matting(cases=0)
