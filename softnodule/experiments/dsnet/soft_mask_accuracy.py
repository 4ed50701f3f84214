"""How good is a Soft Mask? Scored against the TRUE partial-volume alpha the phantom knows.

DSNet claims the Soft Mask "has richer and more accurate edge details" than the binary mask but
could not measure it: nobody knows the true alpha of real CT. The phantom does. For each phantom
crop this module builds every label a reader of the paper might use (the binary 50 % consensus,
Soft Masks by the three strategies, the Kats and Gros soft labels) and scores each against the true
alpha (mean absolute error, over the whole crop and over the edge band where the truth is
fractional), and its binarisation against the consensus and against each reader (Dice).

Real CT has no true alpha, but it has several real readers. `soft_vs_readers` scores the Soft Masks of
strategies (2) and (3), binarised at 0.5, against each real reader of a seeded sample of 4-reader
nodules (the public ``lidc-crops`` by default: real HU, every reader's contour on the crop's slice),
against their 50 % consensus, and places them next to the reference level a human sets: one reader
against the other readers. Leave-one-out rows keep the scored reader out of the label (strategy (2)
made from the other readers; strategy (3) from one reader's RECIST scored against the others).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...agreement import consensus_mask, leave_one_out_consensus
from ...data.case import NoduleCase, NoduleRecord
from ...data.datasets.splits import fits_crop, stable_seed
from ...matting.pipeline import soft_mask_from_mask, soft_mask_from_readers, soft_mask_from_recist
from ...matting.soft_labels import gros_soft_label, kats_soft_label

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


# --------------------------------------------------------------------------------------------
# real CT: the Soft Mask against each real reader
# --------------------------------------------------------------------------------------------
#: Fewer real nodules than this are an anecdote, not evidence.
ANECDOTE_BELOW = 30
#: Row key -> (label, built from, versus, scored reader(s) kept out of the label?, reference row key).
READER_ROWS: dict[str, tuple[str, str, str, bool, str | None]] = {
    "reader_vs_other": ("reader", "one reader's outline", "each other reader", True, None),
    "reader_vs_loo": ("reader", "one reader's outline", "consensus of the other readers", True, None),
    "reader_vs_consensus": ("reader", "one reader's outline", "50 % consensus (includes the reader)", False, None),
    "s2_vs_reader": ("soft_mask_readers", "all readers (strategy 2)", "each reader", False, "reader_vs_other"),
    "s2_vs_consensus": ("soft_mask_readers", "all readers (strategy 2)", "50 % consensus", False,
                        "reader_vs_consensus"),
    "s2_loo_vs_left_out": ("soft_mask_readers", "the other readers (strategy 2, leave-one-out)",
                           "the left-out reader", True, "reader_vs_loo"),
    "s3_vs_reader": ("soft_mask_recist", "consensus RECIST (strategy 3)", "each reader", False, "reader_vs_other"),
    "s3_vs_consensus": ("soft_mask_recist", "consensus RECIST (strategy 3)", "50 % consensus", False,
                        "reader_vs_consensus"),
    "s3_one_vs_other": ("soft_mask_recist", "one reader's RECIST (strategy 3)", "each other reader", True,
                        "reader_vs_other"),
    "s3_one_vs_loo": ("soft_mask_recist", "one reader's RECIST (strategy 3)", "consensus of the other readers", True,
                      "reader_vs_loo"),
}


def reader_scores(case: NoduleCase, *, erode_px: int = 2, dilate_px: int = 2, eps: float = 1e-5, radius: int = 1,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """Per-reader Dice of one real case for every `READER_ROWS` key (array of length R, one per reader).

    Reader i's reference: Dice with each other reader (mean), with the consensus of the others
    (leave-one-out, `agreement.leave_one_out_consensus`) and with the 50 % consensus that includes it.
    Labels are binarised at 0.5. Needs R >= 3 readers (strategy (2) from the other readers needs two).
    ``notes`` holds the matting pipeline's notes of the case's labels (e.g. a GrabCut leak that fills the crop).
    """
    from ...data.recist import measure_recist

    readers = np.asarray(case.readers, bool)
    r = readers.shape[0]
    if r < 3:
        raise ValueError(f"{case.case_id}: the reader comparison needs at least 3 readers, got {r}")
    kw = {"eps": eps, "radius": radius}
    notes: list[str] = []

    def binar(result) -> np.ndarray:
        notes.extend(result.notes)
        return result.alpha >= 0.5

    cons, loo = consensus_mask(readers), leave_one_out_consensus(readers)
    pair = np.array([[dice(readers[i], readers[j]) for j in range(r)] for i in range(r)])
    others = [[j for j in range(r) if j != i] for i in range(r)]
    s2 = binar(soft_mask_from_readers(case.image, readers, **kw))
    s3 = binar(soft_mask_from_recist(case.image, case.recist, erode_px=erode_px, dilate_px=dilate_px, seed=seed, **kw))
    s2_loo = [binar(soft_mask_from_readers(case.image, readers[o], **kw)) for o in others]
    s3_one = [binar(soft_mask_from_recist(case.image, measure_recist(readers[i], case.spacing_mm), erode_px=erode_px,
                                          dilate_px=dilate_px, seed=seed, **kw)) for i in range(r)]
    return {
        "notes": np.array(notes, dtype=object),
        "reader_vs_other": np.array([pair[i, o].mean() for i, o in enumerate(others)]),
        "reader_vs_loo": np.array([dice(readers[i], loo[i]) for i in range(r)]),
        "reader_vs_consensus": np.array([dice(readers[i], cons) for i in range(r)]),
        "s2_vs_reader": np.array([dice(s2, readers[i]) for i in range(r)]),
        "s2_vs_consensus": np.full(r, dice(s2, cons)),
        "s2_loo_vs_left_out": np.array([dice(s2_loo[i], readers[i]) for i in range(r)]),
        "s3_vs_reader": np.array([dice(s3, readers[i]) for i in range(r)]),
        "s3_vs_consensus": np.full(r, dice(s3, cons)),
        "s3_one_vs_other": np.array([np.mean([dice(s3_one[i], readers[j]) for j in o]) for i, o in enumerate(others)]),
        "s3_one_vs_loo": np.array([dice(s3_one[i], loo[i]) for i in range(r)]),
    }


def reader_rows(source: str, scores: Sequence[Mapping[str, np.ndarray]]) -> list[dict[str, Any]]:
    """One row per `READER_ROWS` key: mean, sd and n over cases (each case = its mean over readers), and the
    paired difference with the row's reference level (a reader against the same kind of reference)."""
    n = len(scores)
    evidence = "" if n >= ANECDOTE_BELOW else f"anecdote (n < {ANECDOTE_BELOW} real nodules)"
    per_case = {k: np.array([float(np.mean(sc[k])) for sc in scores]) for k in READER_ROWS}
    rows = []
    for key, (label, built_from, versus, independent, ref) in READER_ROWS.items():
        v = per_case[key]
        row: dict[str, Any] = {
            "source": source, "label": label, "built_from": built_from, "versus": versus,
            "scored_reader_kept_out": independent, "mean": float(v.mean()), "sd": float(v.std()), "n": n,
            "reference": None, "reference_mean": None, "minus_reference": None, "share_at_least_reference": None,
            "evidence": evidence, "key": key}
        if ref is not None:
            rv = per_case[ref]
            row.update({"reference": f"reader vs {READER_ROWS[ref][2]}", "reference_mean": float(rv.mean()),
                        "minus_reference": float((v - rv).mean()), "share_at_least_reference": float((v >= rv).mean())})
        rows.append(row)
    return rows


def real_reader_sample(source, n: int, *, seed: int = 0, crop: int = 64, n_readers: int = 4
                       ) -> tuple[list[NoduleCase], dict[str, int]]:
    """A seeded sample of up to ``n`` cases of ``n_readers``-reader nodules from an opened `NoduleSource`.

    Cases in which a reader has no mask on the case's slice are left out (a reader who did not draw
    there cannot be compared) and counted, as are cases that fail to build.
    """
    pool = [r for r in source.available() if r.n_readers == n_readers]
    order = np.random.default_rng(stable_seed("real-readers", seed, n)).permutation(len(pool))
    cases: list[NoduleCase] = []
    counts: Counter = Counter()
    for i in order:
        if len(cases) >= n:
            break
        try:
            case = source.case(pool[i], size=crop)
        except (ValueError, KeyError):
            counts["case failed to build"] += 1
            continue
        if not case.readers.reshape(case.readers.shape[0], -1).any(axis=1).all():
            counts["a reader has no mask on the case's slice"] += 1
            continue
        cases.append(case)
    cases.sort(key=lambda c: c.case_id)
    return cases, {f"{n_readers}-reader nodules in the source": len(pool), "taken": len(cases), **counts}


@dataclass
class SoftVsReaders:
    """Notebook 01's real-CT part: rows of every source, per-case scores, cases, sample counts."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, list[dict[str, np.ndarray]]] = field(default_factory=dict)
    cases: dict[str, list[NoduleCase]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    not_run: str | None = None

    @property
    def sources(self) -> list[str]:
        return list(self.scores)


def soft_vs_readers(source: str, index, n: int, *, seed: int = 0, crop: int = 64,
                    extra: Mapping[str, Sequence[NoduleCase]] | None = None, progress: bool = True,
                    **label_kw: Any) -> SoftVsReaders:
    """Score strategies (2) and (3) against each real reader on ``source`` (a seeded sample of ``n``
    4-reader nodules), plus any ``extra`` real cases by source name (e.g. the DICOM slabs), each source
    its own rows. ``not_run`` says why ``source`` itself was not scored (the phantom has no real readers'
    pixels); extra cases whose source is ``source`` are not scored twice."""
    from tqdm.auto import tqdm

    from ...data.sources import REAL_SOURCES
    from ...data.sources.nodule_sources import NODULE_SOURCES, open_nodule_source

    out = SoftVsReaders()
    batches: dict[str, list[NoduleCase]] = {}
    if source in REAL_SOURCES and source in NODULE_SOURCES:
        src = open_nodule_source(source, index, progress=progress)
        batches[source], out.counts[source] = real_reader_sample(src, n, seed=seed, crop=crop)
    else:
        out.not_run = (f"not run on {source!r}: it has no real pixels of LIDC nodules with their readers (use "
                       "lidc-crops: SOFTNODULE_LIDC_CROPS or `softnodule data fetch lidc-crops`)")
    for name, cases in (extra or {}).items():
        keep = [c for c in cases if c.readers.shape[0] >= 3 and c.readers.reshape(c.readers.shape[0], -1).any(1).all()]
        if name != source and keep:
            batches[name] = keep
            out.counts[name] = {"cases given": len(cases), "taken": len(keep)}
    for name, cases in batches.items():
        if not cases:
            continue
        scores = [reader_scores(c, **label_kw) for c in tqdm(cases, desc=f"{name} readers", disable=not progress)]
        out.scores[name], out.cases[name] = scores, cases
        out.rows += reader_rows(name, scores)
        notes = Counter(str(n) for sc in scores for n in sc["notes"])
        out.counts[name].update({f"label note: {k}": v for k, v in notes.items()})
    return out


def reader_provenance(study: SoftVsReaders, profile: str, parameters: Mapping[str, Any], *, seeds: Sequence[int] = (0,),
                      clock=None) -> dict[str, Any]:
    """Provenance of ``soft_mask_vs_readers_real``: the first source of the rows is the image source, every
    source of the rows and its sample counts are listed, and the case ids."""
    from ...reporting import provenance

    if not study.sources:
        raise ValueError("no real-reader rows: nothing to describe")
    words = "; ".join(f"{s}: {len(study.cases[s])} four-reader nodules (real CT, every reader's contour on the "
                      "case's slice)" for s in study.sources)
    return provenance(profile, parameters, image_source=study.sources[0], data_source=words, seeds=seeds, clock=clock,
                      extra={"sources_in_rows": study.sources, "counts": study.counts, "not_run": study.not_run,
                             "cases": {s: [c.case_id for c in cs] for s, cs in study.cases.items()}})


def reader_sentence(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line per source from `reader_rows` (numbers or their CSV strings): the leave-one-out comparisons."""
    lines = []
    for source in dict.fromkeys(str(r["source"]) for r in rows):
        by = {str(r["key"]): r for r in rows if str(r["source"]) == source}
        if not {"reader_vs_other", "reader_vs_loo", "s2_loo_vs_left_out", "s3_one_vs_other"} <= set(by):
            continue
        n = int(float(by["reader_vs_other"]["n"]))
        f = {k: float(by[k]["mean"]) for k in ("reader_vs_other", "reader_vs_loo", "s2_loo_vs_left_out",
                                                 "s3_one_vs_other")}
        tail = f" ({n} real nodules: an anecdote, not evidence)" if n < ANECDOTE_BELOW else ""
        s2_above = "above" if f["s2_loo_vs_left_out"] > f["reader_vs_loo"] else "not above"
        s3_above = "above" if f["s3_one_vs_other"] > f["reader_vs_other"] else "not above"
        lines.append(
            f"{source}, {n} four-reader nodules{tail}: a reader agrees with each other reader at "
            f"{f['reader_vs_other']:.3f} Dice. A strategy-(2) Soft Mask made from the other readers matches the "
            f"left-out reader at {f['s2_loo_vs_left_out']:.3f} ({s2_above} those readers' own 50 % consensus, "
            f"{f['reader_vs_loo']:.3f}); a strategy-(3) Soft Mask from one reader's RECIST matches the other readers "
            f"at {f['s3_one_vs_other']:.3f} ({s3_above} that reader's own outline).")
    return "\n".join(lines) if lines else "No real-reader rows in this table."


def reader_dice_figure(study: SoftVsReaders):
    """Left: mean ± sd Dice of every row per source, the reference level marked. Right: per (case, reader),
    strategy (2) from the other readers vs the other readers' consensus, both against the left-out reader."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 1.2 + 0.3 * len(READER_ROWS) * max(1, len(study.sources))),
                             gridspec_kw={"width_ratios": [1.3, 1]})
    ax = axes[0]
    y, ticks, labels = 0.0, [], []
    colours = {"reader": "tab:gray", "soft_mask_readers": "tab:blue", "soft_mask_recist": "tab:orange"}
    for source in study.sources:
        for r in (r for r in study.rows if r["source"] == source):
            ax.barh(y, r["mean"], xerr=r["sd"], color=colours[r["label"]], alpha=0.8, error_kw={"lw": 0.8})
            if r["reference_mean"] is not None:
                ax.plot([r["reference_mean"]] * 2, [y - 0.4, y + 0.4], "k-", lw=1.5)
            labels.append(f"{source} n={r['n']}: {r['built_from'].replace('strategy ', 'SM ')} vs {r['versus']}")
            ticks.append(y)
            y += 1
        y += 0.5
    ax.set_yticks(ticks, labels, fontsize=6)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="Dice, labels binarised at 0.5 (black tick: a reader's level)")
    ax = axes[1]
    for source in study.sources:
        x = np.concatenate([sc["reader_vs_loo"] for sc in study.scores[source]])
        yv = np.concatenate([sc["s2_loo_vs_left_out"] for sc in study.scores[source]])
        ax.scatter(x, yv, s=8, alpha=0.6, label=f"{source} ({len(x)} reader-cases)")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="the others' 50 % consensus vs the left-out reader (Dice)",
           ylabel="SM (2) from the others vs the left-out reader (Dice)")
    ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Soft Masks against real readers (no true alpha on real CT)", fontsize=10)
    fig.tight_layout()
    return fig
