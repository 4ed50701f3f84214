"""softnodule.metrics: hand-computed cases, the 0/0 conventions, Hausdorff against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import directed_hausdorff

from softnodule import metrics as M

# 3x3 example: TP 2, FP 1, FN 3, TN 3 (counted by hand)
PRED = np.array([[1, 1, 0],
                 [0, 1, 0],
                 [0, 0, 0]])
TRUTH = np.array([[1, 0, 0],
                  [1, 1, 1],
                  [0, 1, 0]])


def test_confusion_and_scores_on_hand_example():
    assert M.confusion(PRED, TRUTH) == (2, 1, 3, 3)
    assert all(type(v) is int for v in M.confusion(PRED, TRUTH))
    assert M.dice(PRED, TRUTH) == pytest.approx(4 / 8)
    assert M.sensitivity(PRED, TRUTH) == pytest.approx(2 / 5)
    assert M.ppv(PRED, TRUTH) == pytest.approx(2 / 3)
    assert M.iou(PRED, TRUTH) == pytest.approx(2 / 6)
    assert M.accuracy(PRED, TRUTH) == pytest.approx(5 / 9)
    # bool and float 0/1 inputs give the same numbers
    assert M.dice(PRED.astype(bool), TRUTH.astype(np.float32)) == pytest.approx(0.5)


def test_empty_conventions():
    z = np.zeros((4, 4), bool)
    x = z.copy()
    x[1, 1] = True
    # both empty
    assert [f(z, z) for f in (M.dice, M.sensitivity, M.ppv, M.iou)] == [1.0, 1.0, 1.0, 1.0]
    assert M.accuracy(z, z) == 1.0
    assert M.hausdorff(z, z) == 0.0
    # empty prediction, non-empty truth
    assert (M.dice(z, x), M.sensitivity(z, x), M.iou(z, x)) == (0.0, 0.0, 0.0)
    assert math.isnan(M.ppv(z, x))
    assert math.isnan(M.hausdorff(z, x))
    # empty truth, non-empty prediction
    assert (M.dice(x, z), M.iou(x, z), M.ppv(x, z)) == (0.0, 0.0, 0.0)
    assert math.isnan(M.sensitivity(x, z))
    assert math.isnan(M.hausdorff(x, z))
    assert M.accuracy(x, z) == pytest.approx(15 / 16)


def test_no_smoothing_on_small_nodules():
    truth = np.zeros((8, 8), bool)
    truth[2, 2:5] = True  # 3-pixel nodule
    assert M.dice(np.zeros_like(truth), truth) == 0.0  # the +1 smoothing would give 1/4


def test_dice_iou_relation():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.random((16, 16)) < 0.3
        t = rng.random((16, 16)) < 0.3
        d, j = M.dice(p, t), M.iou(p, t)
        assert d == pytest.approx(2 * j / (1 + j), abs=1e-12)


def test_refuses_probabilities_and_shape_mismatch():
    with pytest.raises(ValueError, match="binarise"):
        M.dice(np.full((3, 3), 0.7), TRUTH)
    with pytest.raises(ValueError, match="same shape"):
        M.dice(PRED, TRUTH[:2])


def test_hausdorff_known_values():
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[2, 2] = True
    b[5, 2] = True  # 3 rows apart
    assert M.hausdorff(a, b) == pytest.approx(3.0)
    assert M.hausdorff(a, b, spacing=(2.0, 1.0)) == pytest.approx(6.0)  # rows scaled by 2
    c = np.zeros((10, 10), bool)
    c[2, 5] = True  # 3 columns apart
    assert M.hausdorff(a, c, spacing=(2.0, 1.0)) == pytest.approx(3.0)
    assert M.hausdorff(a, a) == 0.0
    with pytest.raises(ValueError, match="spacing"):
        M.hausdorff(a, b, spacing=(1.0,))


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (0.7, 1.3), (2.0, 0.5)])
def test_hausdorff_matches_scipy_directed(spacing):
    rng = np.random.default_rng(1)
    for _ in range(10):
        p = rng.random((24, 20)) < 0.05
        t = rng.random((24, 20)) < 0.05
        p[3, 4] = t[15, 10] = True  # never empty
        pc = np.argwhere(p) * np.asarray(spacing)
        tc = np.argwhere(t) * np.asarray(spacing)
        ref = max(directed_hausdorff(pc, tc)[0], directed_hausdorff(tc, pc)[0])
        assert M.hausdorff(p, t, spacing) == pytest.approx(ref, abs=1e-9)


def test_per_image_metrics_shapes_and_values():
    z = np.zeros((3, 3), int)
    preds = np.stack([PRED, z, z])
    truths = np.stack([TRUTH, z, TRUTH])
    out = M.per_image_metrics(preds, truths)
    assert set(out) == set(M.METRIC_NAMES) | {"tp", "fp", "fn", "tn"}
    assert all(out[k].shape == (3,) for k in out)
    assert out["tp"].dtype == np.int64 and out["tp"].tolist() == [2, 0, 0]
    assert out["fn"].tolist() == [3, 0, 5]
    assert out["dice"].tolist() == pytest.approx([0.5, 1.0, 0.0])
    assert out["sen"].tolist() == pytest.approx([0.4, 1.0, 0.0])
    assert out["ppv"][:2].tolist() == pytest.approx([2 / 3, 1.0]) and np.isnan(out["ppv"][2])
    assert out["hd"][1] == 0.0 and np.isnan(out["hd"][2])
    assert out["hd"][0] == pytest.approx(M.hausdorff(PRED, TRUTH))
    # a single (H, W) pair is a stack of one
    assert M.per_image_metrics(PRED, TRUTH)["dice"].tolist() == [0.5]


def test_per_image_spacing_forms():
    a = np.zeros((2, 10, 10), bool)
    b = np.zeros((2, 10, 10), bool)
    a[:, 2, 2] = True
    b[:, 5, 2] = True
    assert M.per_image_metrics(a, b)["hd"].tolist() == pytest.approx([3.0, 3.0])
    assert M.per_image_metrics(a, b, spacing=(2.0, 1.0))["hd"].tolist() == pytest.approx([6.0, 6.0])
    per = M.per_image_metrics(a, b, spacing=[(2.0, 1.0), (0.5, 1.0)])["hd"]
    assert per.tolist() == pytest.approx([6.0, 1.5])
    with pytest.raises(ValueError, match="spacing"):
        M.per_image_metrics(a, b, spacing=[(1.0, 1.0)] * 3)


def test_summarize_nan_aware_and_pooled_differs_from_mean():
    big = np.zeros((16, 16), bool)
    big[:10, :10] = True  # 100 px, found exactly
    small = np.zeros((16, 16), bool)
    small[12:14, 12:14] = True  # 4 px, missed
    per = M.per_image_metrics(np.stack([big, np.zeros_like(small)]), np.stack([big, small]))
    s = M.summarize(per)
    assert s["dice_mean"] == pytest.approx(0.5)
    assert s["dice_std"] == pytest.approx(0.5)  # ddof=0
    assert s["dice_pooled"] == pytest.approx(200 / 204)  # pixels pooled: the big nodule dominates
    assert s["sen_pooled"] == pytest.approx(100 / 104)
    assert s["ppv_pooled"] == pytest.approx(1.0)
    assert s["iou_pooled"] == pytest.approx(100 / 104)
    # PPV and HD are undefined on the missed nodule: skipped in the mean, counted
    assert s["ppv_mean"] == pytest.approx(1.0) and s["ppv_std"] == 0.0 and s["ppv_n_undefined"] == 1
    assert s["hd_mean"] == 0.0 and s["hd_n_undefined"] == 1
    assert s["dice_n_undefined"] == 0 and s["n_images"] == 2
    for m in M.METRIC_NAMES:
        assert {f"{m}_mean", f"{m}_std", f"{m}_n_undefined"} <= set(s)


def test_summarize_all_undefined_is_nan_without_warning(recwarn):
    z = np.zeros((1, 4, 4), bool)
    x = z.copy()
    x[0, 1, 1] = True
    s = M.summarize(M.per_image_metrics(z, x))
    assert math.isnan(s["ppv_mean"]) and math.isnan(s["ppv_std"]) and s["ppv_n_undefined"] == 1
    assert math.isnan(s["ppv_pooled"])
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_best_threshold_unique_and_ties():
    truth = np.zeros((2, 8, 8), bool)
    truth[:, 2:5, 2:5] = True
    # foreground 0.33, background 0.27: only 0.30 separates them perfectly
    probs = np.where(truth, 0.33, 0.27)
    thr, d = M.best_threshold(probs, truth)
    assert thr == pytest.approx(0.30) and d == pytest.approx(1.0)
    # foreground 0.9, background 0.0: every threshold below 0.9 ties -> the one closest to 0.5
    thr, d = M.best_threshold(np.where(truth, 0.9, 0.0), truth)
    assert thr == pytest.approx(0.5) and d == pytest.approx(1.0)
    # equidistant tie -> the lower one
    thr, _ = M.best_threshold(np.where(truth, 0.9, 0.0), truth, thresholds=[0.4, 0.6])
    assert thr == pytest.approx(0.4)
    # matches the per-image mean Dice at that threshold
    rng = np.random.default_rng(2)
    p = np.clip(truth + rng.normal(0, 0.4, truth.shape), 0, 1)
    thr, d = M.best_threshold(p, truth)
    assert d == pytest.approx(M.per_image_metrics(p > thr, truth)["dice"].mean())
