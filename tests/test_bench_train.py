"""`softnodule bench train` prints every key issue 3 asks for (tiny settings here)."""

from __future__ import annotations

from softnodule.bench_train import PAPER_INFER_MS, bench_train, infer_ms_per_image, train_ms_per_iter
from softnodule.config import PROFILES


def test_timers_return_positive_milliseconds():
    smoke = PROFILES["smoke"]
    assert train_ms_per_iter("dsnet", profile=smoke, iters=1, warmup=0) > 0
    assert infer_ms_per_image("softgan", profile=smoke, reps=1, warmup=0) > 0


def test_bench_train_keys():
    out = bench_train(iters=1, reps=1, train_profile="smoke", infer_profile="smoke")
    assert set(out["train_ms_per_iter"]) == {"unet", "softgan", "dsnet_soft", "dsnet"}
    for n in out["train_ms_per_iter"]:
        assert out["speedup_vs_reference"][n] == round(out["train_ms_per_iter"][n] / out["fast_ms_per_iter"][n], 2) \
            or abs(out["speedup_vs_reference"][n] - out["train_ms_per_iter"][n] / out["fast_ms_per_iter"][n]) < 0.05
        assert out["train_samples_per_s"][n] > 0 and out["bf16_ms_per_iter"][n] > 0
    assert set(out["teacher_cache_ms_per_image"]) == {"dsnet_soft", "dsnet"}  # the SR models only
    assert set(out["infer_ms_per_image"]) == {"softgan", "dsnet"}
    assert out["paper_infer_ms_per_image"] == PAPER_INFER_MS and out["paper_infer_ratio"] == 1.314
    assert out["params"]["smoke"]["dsnet"] > out["params"]["smoke"]["unet"] > 0
    assert "cpu" in out["device"].lower() or "cuda" in out["device"].lower()
