"""Segmentation metrics of the papers' tables, with every edge case stated (numpy, no torch).

Inputs are binary masks: bool arrays or integer/float arrays whose values are all 0 or 1, one
pair (H, W) or stacks (N, H, W). Probability maps are refused rather than silently thresholded:
binarise first (``probs > 0.5``; pick another threshold with `best_threshold` on VALIDATION).

Definitions (REFERENCE §4), from the confusion counts of one image::

    DICE = 2TP / (2TP + FP + FN)     SEN = TP / (TP + FN)     PPV = TP / (TP + FP)
    IoU  = TP / (TP + FP + FN)       ACC = (TP + TN) / all    HD  = symmetric Hausdorff distance

No smoothing is added. The authors' evaluation adds +1 to numerator and denominator, which
inflates small-nodule scores: an empty prediction on a 3-pixel nodule scores 1/4 instead of 0,
and half of a 10-pixel nodule found (TP 5, FN 5) scores 11/16 = 0.69 instead of 10/15 = 0.67.

Conventions where a ratio is 0/0:

================================  ======  =====  =====  =====  ===========
case                              DICE    IoU    SEN    PPV    HD
================================  ======  =====  =====  =====  ===========
both empty                        1.0     1.0    1.0    1.0    0.0
empty prediction, truth not       0.0     0.0    0.0    nan    nan
empty truth, prediction not       0.0     0.0    nan    0.0    nan
================================  ======  =====  =====  =====  ===========

nan means undefined (SEN without positives in the truth, PPV without positive predictions, a
distance to an empty set); `summarize` skips nans in means and stds and counts them in
``<metric>_n_undefined`` so that nothing is hidden. ACC is always defined.

Per-image means and pooled scores (from the TP/FP/FN summed over all images) answer different
questions: the mean weighs every nodule equally, pooling weighs every pixel equally (large
nodules dominate). `summarize` reports both.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.ndimage import distance_transform_edt

#: Metric keys of `per_image_metrics` / `summarize`, in table order.
METRIC_NAMES = ("dice", "sen", "ppv", "iou", "acc", "hd")
_COUNT_NAMES = ("tp", "fp", "fn", "tn")
_POOLED = ("dice", "sen", "ppv", "iou")
#: Default candidates of `best_threshold`: 0.05, 0.10, ..., 0.95.
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(float(x) for x in np.linspace(0.05, 0.95, 19))


def _as_bool(mask: object, name: str) -> np.ndarray:
    """Boolean view of a 0/1 mask; anything else raises ValueError naming the argument."""
    arr = np.asarray(mask)
    if arr.dtype == bool:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be a bool or 0/1 numeric array, got dtype {arr.dtype}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError(
            f"{name} must contain only 0 and 1 (got values in [{arr.min()}, {arr.max()}]); "
            "binarise probabilities first, e.g. probs > 0.5"
        )
    return arr.astype(bool)


def _pair(pred: object, truth: object) -> tuple[np.ndarray, np.ndarray]:
    p, t = _as_bool(pred, "pred"), _as_bool(truth, "truth")
    if p.shape != t.shape:
        raise ValueError(f"pred and truth must have the same shape, got {p.shape} and {t.shape}")
    return p, t


def confusion(pred: object, truth: object) -> tuple[int, int, int, int]:
    """``(tp, fp, fn, tn)`` pixel counts (summed over the whole stack when given stacks)."""
    p, t = _pair(pred, truth)
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))
    return tp, fp, fn, int(p.size) - tp - fp - fn


def scores_from_counts(tp: object, fp: object, fn: object, tn: object) -> dict[str, np.ndarray]:
    """DICE, SEN, PPV, IoU, ACC from confusion counts (scalars or arrays), with the module's conventions.

    Returns float64 arrays (0-d for scalar input) under ``"dice", "sen", "ppv", "iou", "acc"``.
    """
    tp, fp, fn, tn = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (tp, fp, fn, tn)))
    both_empty = (tp + fp + fn) == 0

    def ratio(num: np.ndarray, den: np.ndarray, when_zero: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), when_zero)

    nan = np.full(tp.shape, np.nan)
    one = np.ones(tp.shape)
    n = tp + fp + fn + tn
    return {
        "dice": ratio(2 * tp, 2 * tp + fp + fn, one),
        "sen": ratio(tp, tp + fn, np.where(both_empty, one, nan)),  # no positives in truth
        "ppv": ratio(tp, tp + fp, np.where(both_empty, one, nan)),  # no positive prediction
        "iou": ratio(tp, tp + fp + fn, one),
        "acc": ratio(tp + tn, n, nan),
    }


def _score(pred: object, truth: object, name: str) -> float:
    return float(scores_from_counts(*confusion(pred, truth))[name])


def dice(pred: object, truth: object) -> float:
    """DICE = 2TP / (2TP + FP + FN); 1.0 when both are empty, 0.0 when exactly one is."""
    return _score(pred, truth, "dice")


def sensitivity(pred: object, truth: object) -> float:
    """SEN (recall) = TP / (TP + FN); 1.0 when both are empty, nan for an empty truth only."""
    return _score(pred, truth, "sen")


def ppv(pred: object, truth: object) -> float:
    """PPV (precision) = TP / (TP + FP); 1.0 when both are empty, nan for an empty prediction only."""
    return _score(pred, truth, "ppv")


def iou(pred: object, truth: object) -> float:
    """IoU (Jaccard) = TP / (TP + FP + FN) = DICE / (2 - DICE); 1.0 when both are empty."""
    return _score(pred, truth, "iou")


def accuracy(pred: object, truth: object) -> float:
    """ACC = (TP + TN) / all pixels (dominated by background on nodule crops: report with care)."""
    return _score(pred, truth, "acc")


def hausdorff(pred: object, truth: object, spacing: Sequence[float] = (1.0, 1.0)) -> float:
    """Symmetric Hausdorff distance between the foreground pixel sets, in units of ``spacing``.

    ``max(max_{p in pred} d(p, truth), max_{t in truth} d(t, pred))`` with pixel centres at
    ``index * spacing``. Each directed distance is read off an exact Euclidean distance
    transform (``scipy.ndimage.distance_transform_edt(..., sampling=spacing)``) computed on the
    bounding box of both sets only (exact: every nearest foreground pixel lies inside it).

    Parameters
    ----------
    pred, truth : array_like, (H, W) (or any matching N-D shape)
        Binary masks of ONE image.
    spacing : sequence of float
        Pixel size per axis (row, column), e.g. the CT pixel spacing in mm.

    Returns
    -------
    float
        0.0 when both are empty, nan when exactly one is.
    """
    p, t = _pair(pred, truth)
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != p.ndim:
        raise ValueError(f"spacing needs one value per axis ({p.ndim}), got {spacing}")
    has_p, has_t = bool(p.any()), bool(t.any())
    if not has_p and not has_t:
        return 0.0
    if has_p != has_t:
        return float("nan")
    idx = np.nonzero(p | t)
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)
    p, t = p[box], t[box]
    to_truth = distance_transform_edt(~t, sampling=spacing)  # distance of each pixel to the truth
    to_pred = distance_transform_edt(~p, sampling=spacing)
    return float(max(to_truth[p].max(), to_pred[t].max()))


def _as_stack(masks: object, name: str) -> np.ndarray:
    arr = _as_bool(masks, name)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"{name} must be (H, W) or (N, H, W), got shape {arr.shape}")
    return arr


def per_image_metrics(preds: object, truths: object, spacing: object = None) -> dict[str, np.ndarray]:
    """Every metric of every image of a stack.

    Parameters
    ----------
    preds, truths : array_like, (N, H, W) or (H, W)
        Binary masks.
    spacing : None, (2,) or (N, 2)
        Pixel size for the Hausdorff distance: None = pixel units (1, 1); one (row, col) pair
        for all images; or one pair per image (CT spacing varies between scans).

    Returns
    -------
    dict
        ``"dice", "sen", "ppv", "iou", "acc", "hd"``: float64 (N,) arrays (nan where undefined,
        see the module docstring); ``"tp", "fp", "fn", "tn"``: int64 (N,) arrays.
    """
    p, t = _as_stack(preds, "preds"), _as_stack(truths, "truths")
    if p.shape != t.shape:
        raise ValueError(f"preds and truths must have the same shape, got {p.shape} and {t.shape}")
    n = p.shape[0]
    sp = np.ones((n, 2)) if spacing is None else np.asarray(spacing, dtype=np.float64)
    if sp.shape == (2,):
        sp = np.broadcast_to(sp, (n, 2))
    if sp.shape != (n, 2):
        raise ValueError(f"spacing must be None, (2,) or ({n}, 2), got shape {sp.shape}")
    tp = np.count_nonzero(p & t, axis=(1, 2)).astype(np.int64)
    fp = np.count_nonzero(p & ~t, axis=(1, 2)).astype(np.int64)
    fn = np.count_nonzero(~p & t, axis=(1, 2)).astype(np.int64)
    tn = (p.shape[1] * p.shape[2] - tp - fp - fn).astype(np.int64)
    out: dict[str, np.ndarray] = {k: np.asarray(v, dtype=np.float64).reshape(n)
                                  for k, v in scores_from_counts(tp, fp, fn, tn).items()}
    out["hd"] = np.array([hausdorff(p[i], t[i], tuple(sp[i])) for i in range(n)], dtype=np.float64)
    out.update(tp=tp, fp=fp, fn=fn, tn=tn)
    return {k: out[k] for k in (*METRIC_NAMES, *_COUNT_NAMES)}


def summarize(per_image: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean, std and undefined count of every metric, plus pooled scores.

    Returns
    -------
    dict
        For each of `METRIC_NAMES`: ``<m>_mean`` and ``<m>_std`` (``np.nanmean`` / ``np.nanstd``,
        ddof=0, nan when no image defines it) and ``<m>_n_undefined`` (count of nans);
        ``dice_pooled``, ``sen_pooled``, ``ppv_pooled``, ``iou_pooled`` from the TP/FP/FN summed
        over all images (same conventions); ``n_images``.
    """
    out: dict[str, float] = {}
    for m in METRIC_NAMES:
        v = np.asarray(per_image[m], dtype=np.float64)
        with warnings.catch_warnings():  # all-nan (or empty) -> nan, without a RuntimeWarning
            warnings.simplefilter("ignore", RuntimeWarning)
            out[f"{m}_mean"] = float(np.nanmean(v)) if v.size else float("nan")
            out[f"{m}_std"] = float(np.nanstd(v, ddof=0)) if v.size else float("nan")
        out[f"{m}_n_undefined"] = float(np.count_nonzero(np.isnan(v)))
    counts = [int(np.sum(per_image[k])) for k in _COUNT_NAMES]
    pooled = scores_from_counts(*counts)
    for m in _POOLED:
        out[f"{m}_pooled"] = float(pooled[m])
    out["n_images"] = float(np.asarray(per_image["dice"]).size)
    return out


def best_threshold(probs: object, truths: object,
                   thresholds: Sequence[float] | np.ndarray = DEFAULT_THRESHOLDS) -> tuple[float, float]:
    """The threshold (``probs > thr``) that maximises the mean per-image Dice, and that Dice.

    Call it on the VALIDATION split only, then apply the threshold to the test split. Sweeping
    the threshold on the test split (what the authors' evaluation does, REFERENCE §4) selects on
    the data being reported and inflates the result.

    Parameters
    ----------
    probs : array_like, (N, H, W) or (H, W)
        Probabilities in [0, 1].
    truths : array_like, same shape
        Binary masks.
    thresholds : sequence of float
        Candidates (default `DEFAULT_THRESHOLDS` = ``np.linspace(0.05, 0.95, 19)``). Ties (within
        1e-12) go to the one closest to 0.5, then to the lower one.

    Returns
    -------
    (threshold, mean_dice) : (float, float)
    """
    pr = np.asarray(probs, dtype=np.float64)
    if pr.ndim == 2:
        pr = pr[None]
    t = _as_stack(truths, "truths")
    if pr.shape != t.shape:
        raise ValueError(f"probs and truths must have the same shape, got {pr.shape} and {t.shape}")
    thr = np.asarray(thresholds, dtype=np.float64).ravel()
    if thr.size == 0:
        raise ValueError("thresholds must not be empty")
    tp_fn = np.count_nonzero(t, axis=(1, 2))
    scores = np.empty(thr.size)
    for i, th in enumerate(thr):
        p = pr > th
        tp = np.count_nonzero(p & t, axis=(1, 2))
        fp = np.count_nonzero(p, axis=(1, 2)) - tp
        scores[i] = float(np.mean(scores_from_counts(tp, fp, tp_fn - tp, 0)["dice"]))
    best = scores.max()
    tied = np.flatnonzero(scores >= best - 1e-12)
    pick = min(tied, key=lambda i: (abs(thr[i] - 0.5), thr[i]))
    return float(thr[pick]), float(scores[pick])
