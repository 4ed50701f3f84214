"""LGAN Table 2 structures: numeric rows, claims with verdicts, seeds per claim, and the Lipschitz
decision taken on validation only (a different or missing test split changes nothing)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from softnodule.config import PROFILES
from softnodule.data.datasets.lung_slices import phantom_lung_slices
from softnodule.data.datasets.torch_data import ArraySplits, SegmentationArrays
from softnodule.degenerate import degenerate_images
from softnodule.experiments.engine.evidence import VERDICTS
from softnodule.experiments.lgan import structures as L
from softnodule.experiments.lgan.paper_numbers import TABLE2_LIDC
from softnodule.metrics import per_image_metrics
from softnodule.train.lgan import LGANConfig

TINY = {"gen_width": 2, "gen_depth": 2, "width": 2, "input_size": 32, "batch_size": 2, "lr": 1e-3}
N_IMAGES = 30


def _truth(n: int = N_IMAGES, size: int = 16) -> np.ndarray:
    t = np.zeros((n, size, size), bool)
    t[:, 4:12, 3:13] = True
    return t


def _evaluation(truth: np.ndarray, shrink: np.ndarray) -> dict:
    """Predictions that drop ``shrink[i]`` columns of image i's truth (more shrink, lower IoU)."""
    pred = truth.copy()
    for i, k in enumerate(shrink):
        if k:
            pred[i, :, 3 : 3 + int(k)] = False
    return {"per_image": per_image_metrics(pred, truth), "degenerate": degenerate_images(pred, pred.astype(float))}


def _fake_runs(names, seeds=(0, 1)):
    def run(name, seed):
        cfg = LGANConfig(name, epochs=10, patience=2, seed=seed, **TINY)
        result = {"best_epoch": 3 + seed, "stopped_epoch": 5 + seed, "stop_reason": "patience",
                  "still_improving": False, "val_iou": 0.8, "train_seconds": 60.0, "ms_per_iter": 12.0,
                  "history": [{}] * (5 + seed), "critic_params": 0 if name == "unet" else 100}
        return SimpleNamespace(config=cfg, result=result, key=f"{name}-{seed}")

    return {n: [run(n, s) for s in seeds] for n in names}


@pytest.fixture()
def fake():
    rng = np.random.default_rng(0)
    truth = _truth()
    evals = {
        "unet": [_evaluation(truth, rng.integers(4, 7, N_IMAGES)) for _ in range(2)],  # clearly worse
        "basic": [_evaluation(truth, rng.integers(0, 2, N_IMAGES)) for _ in range(2)],  # clearly better
        "product": [_evaluation(truth, rng.integers(7, 9, N_IMAGES)) for _ in range(2)],  # worse than the U-Net
    }
    return truth, evals, _fake_runs(evals)


def test_rows_are_numeric_with_paper_and_trivial_floor(fake):
    truth, evals, runs = fake
    arrays = SegmentationArrays(truth[:, None].astype(np.float32), truth[:, None].astype(np.float32),
                                truth[:, None].astype(np.uint8), [str(i) for i in range(N_IMAGES)])
    rows = L.table_rows(evals, runs, trivial_for=arrays)
    assert [r["structure"] for r in rows] == ["unet", "basic", "product", "trivial_all_fg"]
    numeric = [f"{m}_{c}" for m in ("iou", "dice", "hd") for c in ("mean", "ci_low", "ci_high", "median")]
    numeric += ["n", "n_seeds", "n_all_fg", "n_all_bg", "n_constant"]
    model_only = ["iou_sd", "dice_sd", "hd_sd", "best_epoch", "stopped_epoch", "val_iou"]  # the floor has 1 "seed"
    for r in rows:
        for c in numeric + (model_only if not r["trivial"] else []):
            assert isinstance(r[c], (int, float)) and not isinstance(r[c], bool) and np.isfinite(r[c]), (c, r[c])
        assert r["iou_ci_low"] <= r["iou_mean"] <= r["iou_ci_high"]
        assert not any(isinstance(v, str) and "±" in v for v in r.values())
    unet, basic, product, floor = rows
    assert unet["iou_mean_paper"] == TABLE2_LIDC["unet"]["iou_mean"] == 0.625  # the paper's units (fractions)
    assert basic["hd_median_paper"] == TABLE2_LIDC["basic"]["hd_median"] and basic["dice_mean_paper"] is None
    assert basic["iou_mean_diff"] == pytest.approx(basic["iou_mean"] - 0.902)
    assert unet["n"] == N_IMAGES and unet["n_seeds"] == 2 and floor["iou_sd"] is None
    assert basic["iou_mean"] > unet["iou_mean"] > product["iou_mean"]
    # the per-image IoU of image i in this fixture is exact: check the mean against a direct computation
    direct = np.mean([np.mean(e["per_image"]["iou"]) for e in evals["basic"]])
    assert basic["iou_mean"] == pytest.approx(direct)
    assert (basic["best_epoch"], basic["stopped_epoch"], basic["still_improving"]) == (3.5, 5.5, False)
    assert basic["lipschitz"] == "clip" and unet["lipschitz"] == ""
    # the floor: every pixel foreground, scored like a model, flagged degenerate on every image
    assert floor["trivial"] is True and floor["n_seeds"] == 1 and floor["iou_mean_paper"] is None
    assert floor["n_all_fg"] == N_IMAGES and floor["degenerate"].startswith("all foreground")
    assert floor["iou_mean"] == pytest.approx(80 / 256)
    shown = L.display_rows(rows)  # strings for display only, never written to a CSV
    assert shown[1]["IoU (paper)"] == "0.902" and "±" in shown[1]["IoU (ours)"]
    assert "Basic" in L.ranking_sentence(rows)


def test_claims_give_verdicts_against_the_paper_sign(fake):
    _, evals, runs = fake
    rows = {r["claim_id"]: r for r in L.claim_table(evals, runs, data="toy")}
    # only claims whose two sides were run
    assert set(rows) == {"lgan.table2.basic_vs_unet", "lgan.table2.product_vs_unet"}
    basic, product = rows["lgan.table2.basic_vs_unet"], rows["lgan.table2.product_vs_unet"]
    assert basic["verdict"] == "supported" and basic["ci_low"] > 0 and basic["diff"] > 0
    assert product["verdict"] == "contradicted" and product["ci_high"] < 0
    assert basic["paper_a"] == pytest.approx(90.2) and basic["paper_b"] == pytest.approx(62.5)
    assert basic["metric"] == "iou" and basic["n"] == N_IMAGES and basic["n_seeds_a"] == 2
    assert basic["ours_a"] - basic["ours_b"] == pytest.approx(basic["diff"])
    assert all(r["verdict"] in VERDICTS and r["dataset"] == "toy" for r in rows.values())


def test_every_claim_is_a_structure_against_the_unet_or_regression_and_gets_claim_seeds():
    assert {(c.a, c.b) for c in L.CLAIMS} >= {(s, "unet") for s in L.STRUCTURES if s != "unet"}
    assert all(c.paper_sign > 0 for c in L.CLAIMS)  # the paper has every critic above the U-Net
    quick = PROFILES["quick"]
    assert all(L.seeds_for(s, quick) == quick.claim_seeds == (0, 1, 2) for s in L.STRUCTURES)
    assert L.seeds_for("something_else", quick) == quick.seeds
    assert L.lipschitz_overrides("unet", "gp") == {}  # no critic: one cached run whatever the option
    assert L.lipschitz_overrides("basic", "gp") == {"lipschitz": "gp", "critic_norm": "layer"}


def test_decide_lipschitz_rule():
    assert L.decide_lipschitz({"clip": 90.0, "gp": 95.0}) == "gp"
    assert L.decide_lipschitz({"clip": 95.0, "gp": 90.0}) == "clip"
    assert L.decide_lipschitz({"clip": 90.0, "gp": 90.0}) == "clip"  # tie: WGAN's own recipe
    with pytest.raises(ValueError):
        L.decide_lipschitz({})


def _strip_keys(rows):
    return [{k: v for k, v in r.items() if k != "key"} for r in rows]


def test_lipschitz_choice_reads_validation_only(tmp_cache, monkeypatch, tmp_path):
    a = phantom_lung_slices(4, 2, 2, size=32, progress=False)
    b = phantom_lung_slices(4, 2, 3, size=32, progress=False)  # same train / val phantoms, another test split
    assert a.manifest["key"] != b.manifest["key"] and len(b.split("test")) == 3
    assert all(np.array_equal(a.split(s).image, b.split(s).image) for s in ("train", "val"))
    ca = L.choose_lipschitz("smoke", a, progress=False, **TINY)
    cb = L.choose_lipschitz("smoke", b, progress=False, **TINY)
    assert ca["choice"] == cb["choice"] == L.decide_lipschitz(ca["val_iou"])
    assert ca["val_iou"] == cb["val_iou"] and set(ca["val_iou"]) == {"clip", "gp"}
    assert _strip_keys(ca["rows"]) == _strip_keys(cb["rows"])
    rows = {r["option"]: r for r in ca["rows"]}
    assert (rows["gp"]["lipschitz"], rows["gp"]["critic_norm"], rows["clip"]["lipschitz"]) == ("gp", "layer", "clip")
    assert [r["chosen"] for r in ca["rows"]].count(True) == 1 and all(r["split"] == "val" for r in ca["rows"])
    assert all(isinstance(r["val_iou"], float) for r in ca["rows"])
    # no test split at all (fresh cache, so it really trains): the same decision and numbers
    monkeypatch.setenv("SOFTNODULE_CACHE", str(tmp_path / "no-test"))
    no_test = ArraySplits(a.manifest["spec"]["name"], a.manifest["key"],
                          {"train": a.split("train"), "val": a.split("val")}, {})
    cn = L.choose_lipschitz("smoke", no_test, progress=False, **TINY)
    assert cn["choice"] == ca["choice"] and cn["val_iou"] == ca["val_iou"]


def test_tiny_table_end_to_end_with_claim_seeds(tmp_cache):
    ds = phantom_lung_slices(4, 2, 3, size=32, progress=False)
    runs = L.train_structures("smoke", ds, ("unet", "basic"), lipschitz="gp", progress=False, **TINY)
    assert {n: [t.config.seed for t in ts] for n, ts in runs.items()} == {"unet": [0, 1], "basic": [0, 1]}
    assert runs["basic"][0].config.lipschitz == "gp" and runs["unet"][0].config.lipschitz == "clip"
    assert all(t.result["stop_reason"] in ("patience", "max_epochs") for ts in runs.values() for t in ts)
    evals = L.evaluate_structures(runs, ds.split("test"))
    assert "prob" in evals["basic"][0] and "prob" not in evals["basic"][1]
    rows = L.table_rows(evals, runs, trivial_for=ds.split("test"))
    assert [r["n_seeds"] for r in rows] == [2, 2, 1] and all(r["n"] == 3 for r in rows)
    claims = L.claim_table(evals, runs)
    assert [c["claim_id"] for c in claims] == ["lgan.table2.basic_vs_unet"]
    assert claims[0]["verdict"] in VERDICTS and claims[0]["n_seeds_a"] == 2
