"""How good is a Soft Mask? Scored against the TRUE partial-volume alpha the phantom knows.

DSNet claims the Soft Mask "has richer and more accurate edge details" than the binary mask but
could not measure it: nobody knows the true alpha of real CT. The phantom does. For each phantom
crop this module builds every label a reader of the paper might use (the binary 50 % consensus,
Soft Masks by the three strategies, the Kats and Gros soft labels) and scores each against the true
alpha (mean absolute error, over the whole crop and over the edge band where the truth is
fractional), and its binarisation against the consensus and against each reader (Dice).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data.case import NoduleCase, NoduleRecord
from ..data.datasets.splits import fits_crop, stable_seed
from ..matting.pipeline import soft_mask_from_mask, soft_mask_from_readers, soft_mask_from_recist
from ..matting.soft_labels import gros_soft_label, kats_soft_label

#: Label names in table order.
LABELS = ("binary_consensus", "soft_mask", "soft_mask_readers", "soft_mask_recist", "kats", "gros")
#: DSNet §III-A2: 20 ms per 256x256 image (trimap 5 ms + closed-form matting 15 ms).
PAPER_TIMING_MS_256: dict[str, float] = {"trimap": 5.0, "matting": 15.0, "total": 20.0}

LABEL_TITLES = {
    "binary_consensus": "binary 50 % consensus",
    "soft_mask": "Soft Mask, strategy 1 (from the consensus)",
    "soft_mask_readers": "Soft Mask, strategy 2 (from the readers)",
    "soft_mask_recist": "Soft Mask, strategy 3 (RECIST -> GrabCut)",
    "kats": "Kats et al. ring (120 %, 0.5)",
    "gros": "Gros et al. SoftSeg interpolation",
}


def sample_records(records: Sequence[NoduleRecord], n: int, *, seed: int = 0, crop: int = 64,
                   min_readers: int = 1) -> list[NoduleRecord]:
    """A seeded sample of ``n`` nodules that fit the crop (all of them when fewer)."""
    ok = [r for r in records if fits_crop(r, crop) and min_readers <= r.n_readers <= 4]
    rng = np.random.default_rng(stable_seed("sample", seed, n))
    pick = rng.choice(len(ok), size=min(n, len(ok)), replace=False)
    return [ok[i] for i in sorted(pick)]


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two boolean masks; 1.0 when both are empty."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    denom = a.sum() + b.sum()
    return 1.0 if denom == 0 else float(2.0 * (a & b).sum() / denom)


def labels_for_case(case: NoduleCase, *, erode_px: int = 2, dilate_px: int = 2, eps: float = 1e-5,
                    radius: int = 1, seed: int = 0) -> dict[str, Any]:
    """Every label of one case, plus the pipeline notes and timings."""
    s1 = soft_mask_from_mask(case.image, case.consensus, erode_px=erode_px, dilate_px=dilate_px, eps=eps, radius=radius)
    s2 = soft_mask_from_readers(case.image, case.readers, eps=eps, radius=radius)
    s3 = soft_mask_from_recist(case.image, case.recist, erode_px=erode_px, dilate_px=dilate_px, eps=eps,
                               radius=radius, seed=seed)
    return {
        "labels": {
            "binary_consensus": case.consensus.astype(np.float32),
            "soft_mask": s1.alpha,
            "soft_mask_readers": s2.alpha,
            "soft_mask_recist": s3.alpha,
            "kats": kats_soft_label(case.consensus),
            "gros": gros_soft_label(case.consensus),
        },
        "results": {"soft_mask": s1, "soft_mask_readers": s2, "soft_mask_recist": s3},
    }


def score_case(case: NoduleCase, labels: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per label: MAE vs the true alpha (crop and edge band) and Dice of its binarisation."""
    if case.true_alpha is None:
        raise ValueError(f"{case.case_id}: no true alpha (real CT); score against readers only")
    truth = case.true_alpha
    band = (truth > 0) & (truth < 1)
    out = {}
    for name, lab in labels.items():
        err = np.abs(lab - truth)
        binar = lab >= 0.5
        out[name] = {
            "mae": float(err.mean()),
            "mae_edge": float(err[band].mean()) if band.any() else float("nan"),
            "dice_consensus": dice(binar, case.consensus),
            "dice_readers": float(np.mean([dice(binar, r) for r in case.readers])),
            "dice_true_alpha_05": dice(binar, truth >= 0.5),
            "area_ratio": float(binar.sum() / max(int(case.consensus.sum()), 1)),
        }
    return out


def accuracy_table(cases: Sequence[NoduleCase], progress: bool = False, **label_kw: Any) -> tuple[list[dict[str, Any]], dict[str, list]]:
    """Score every label over many cases; returns (table rows mean ± std, per-case raw scores)."""
    from tqdm.auto import tqdm

    raw: dict[str, list[dict[str, float]]] = {k: [] for k in LABELS}
    notes: list[str] = []
    for case in tqdm(cases, desc="scoring labels", disable=not progress):
        lab = labels_for_case(case, **label_kw)
        for name, sc in score_case(case, lab["labels"]).items():
            raw[name].append(sc)
        notes += [f"{case.case_id}: {n}" for r in lab["results"].values() for n in r.notes]
    rows = []
    for name in LABELS:
        row: dict[str, Any] = {"label": name, "description": LABEL_TITLES[name], "n": len(raw[name])}
        for metric in ("mae", "mae_edge", "dice_consensus", "dice_readers", "dice_true_alpha_05", "area_ratio"):
            vals = np.array([s[metric] for s in raw[name]], dtype=float)
            row[f"{metric}_mean"] = float(np.nanmean(vals))
            row[f"{metric}_std"] = float(np.nanstd(vals))
        rows.append(row)
    return rows, {"scores": raw, "notes": notes}


def _median_ms(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return float(np.median(times))


def upscale_case_inputs(case: NoduleCase, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Image (bicubic) and consensus (nearest) enlarged ``factor`` times: a 256x256 crop with the
    same relative unknown band, like the paper's 256x256 timing."""
    import cv2

    size = case.size * factor
    img = cv2.resize(case.image, (size, size), interpolation=cv2.INTER_CUBIC)
    mask = cv2.resize(case.consensus.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0
    return img, mask


def timing_table(cases: Sequence[NoduleCase], *, reps: int = 1, erode_px: int = 2, dilate_px: int = 2,
                 eps: float = 1e-5, radius: int = 1) -> dict[str, float]:
    """Median milliseconds per crop: strategy 1 at 64 and 256 px, strategy 3 (GrabCut) at 64 px."""
    t64, t64g, t256, stage64, stage256 = [], [], [], [], []
    for case in cases:
        t64.append(_median_ms(lambda: soft_mask_from_mask(case.image, case.consensus, erode_px=erode_px,
                                                          dilate_px=dilate_px, eps=eps, radius=radius), reps))
        r = soft_mask_from_mask(case.image, case.consensus, erode_px=erode_px, dilate_px=dilate_px, eps=eps, radius=radius)
        stage64.append(r.timings_ms)
        t64g.append(_median_ms(lambda: soft_mask_from_recist(case.image, case.recist, erode_px=erode_px,
                                                             dilate_px=dilate_px, eps=eps, radius=radius), reps))
    for case in cases[: max(1, len(cases) // 4)]:
        img, mask = upscale_case_inputs(case, 4)
        t0 = time.perf_counter()
        r = soft_mask_from_mask(img, mask, erode_px=4 * erode_px, dilate_px=4 * dilate_px, eps=eps, radius=radius)
        t256.append((time.perf_counter() - t0) * 1000.0)
        stage256.append(r.timings_ms)
    return {
        "soft_mask_ms_64": float(np.median(t64)),
        "soft_mask_ms_64_grabcut": float(np.median(t64g)),
        "soft_mask_ms_256": float(np.median(t256)),
        "trimap_ms_64": float(np.median([s["trimap"] for s in stage64])),
        "matting_ms_64": float(np.median([s["matting"] for s in stage64])),
        "trimap_ms_256": float(np.median([s["trimap"] for s in stage256])),
        "matting_ms_256": float(np.median([s["matting"] for s in stage256])),
    }



def verdict(rows: Sequence[dict[str, Any]]) -> str:
    """One honest sentence: does the Soft Mask beat the binary consensus on the true alpha?"""
    by = {r["label"]: r for r in rows}
    s, b = by["soft_mask"], by["binary_consensus"]
    best = min(rows, key=lambda r: r["mae_mean"])
    word = "BEATS" if s["mae_mean"] < b["mae_mean"] else "does NOT beat"
    return (f"Soft Mask (strategy 1) MAE {s['mae_mean']:.4f} (edge band {s['mae_edge_mean']:.3f}) {word} the binary "
            f"consensus MAE {b['mae_mean']:.4f} (edge band {b['mae_edge_mean']:.3f}) over {s['n']} phantom crops; "
            f"lowest MAE: {best['label']} ({best['mae_mean']:.4f}).")


def reader_agreement_rows(cases: Sequence[NoduleCase], **label_kw: Any) -> list[dict[str, Any]]:
    """For real cases (no true alpha): Dice of every binarised label vs the consensus and each reader."""
    rows = []
    for case in cases:
        lab = labels_for_case(case, **label_kw)["labels"]
        for name, value in lab.items():
            binar = value >= 0.5
            row: dict[str, Any] = {"case": case.case_id, "label": name, "dice_consensus": dice(binar, case.consensus)}
            for i, reader in enumerate(case.readers, 1):
                row[f"dice_reader{i}"] = dice(binar, reader)
            row["soft_fraction_of_edge"] = float(((value > 0.05) & (value < 0.95)).sum() / max(case.consensus.sum(), 1))
            rows.append(row)
    return rows


def timing_rows(cases: Sequence[NoduleCase], **kw: Any) -> list[dict[str, Any]]:
    """The timing table of notebook 01: ours (this CPU) next to the paper's 256x256 numbers."""
    t = timing_table(cases, **kw)
    return [
        {"what": "trimap, 256x256", "ours_ms": t["trimap_ms_256"], "paper_ms": PAPER_TIMING_MS_256["trimap"]},
        {"what": "closed-form matting, 256x256", "ours_ms": t["matting_ms_256"], "paper_ms": PAPER_TIMING_MS_256["matting"]},
        {"what": "trimap + matting, 256x256", "ours_ms": t["soft_mask_ms_256"], "paper_ms": PAPER_TIMING_MS_256["total"]},
        {"what": "trimap + matting, 64x64", "ours_ms": t["soft_mask_ms_64"], "paper_ms": None},
        {"what": "GrabCut + trimap + matting, 64x64", "ours_ms": t["soft_mask_ms_64_grabcut"], "paper_ms": None},
    ]
