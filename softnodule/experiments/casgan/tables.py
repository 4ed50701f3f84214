"""CasGAN Tables 1, 3 and 4 (notebook 12): variants, the cascade's prior, the lr sweep, numeric rows, claims.

* Table 1 (LNSM-style set): U-Net, SegNet, DeepLabV3+, UNet++, CE-Net and CasGAN's three variants
  (binary target, without SR, full). Claims: full CasGAN vs the binary target (Soft Mask), vs no SR,
  and vs the best baseline of the table, chosen on VALIDATION Dice (`best_by_validation`), never on test.
* Table 3 (LIDC-style set): CasGAN with the binary target, with the softened target max(binary, Soft Mask),
  and CasGAN++ (binary target + prior); U-Net and CF-CNN re-run. The paper's other rows (graph cut, [27],
  [32]) are literature values on other data: rows with the paper's number only, not re-run. Claims:
  softened vs binary target, CasGAN++ vs CasGAN_bin (the paper prints equal Dice: no direction to support).
* Table 4 (ISBI 2012, 4-fold cross-validation by slice as in `table7_generalization`): CasGAN_bin,
  CasGAN_soft (softened), CE-Net, CE-Net++ and CasGAN++, scored per slice (tiles re-assembled). Claims:
  softened vs binary, CE-Net++ vs CE-Net, CasGAN++ vs CasGAN_bin. PROMISE12 only when a copy is
  configured, else rows and claims with the paper's values only.

Every table ends with its trivial floor rows (`engine.trivial`): all foreground, and the RECIST ellipse
where the dataset has RECIST axes (the nodule sets). Rows and claims are numbers
(`table_runs.metric_rows` / `score_columns`, `claims.claim_rows`); `display` formats them for the reader.

The cascade (CasGAN §3.3, Fig. 5): a ``casgan`` (full model, Soft Mask target) is trained on the same
training split, frozen, and its Soft Mask for every crop of every split becomes a second input channel
(`prior_dataset`); ``casgan_pp`` / ``cenet_pp`` are trained on that two-channel data. The prior is plain
data for the second stage: no gradient can reach the CasGAN that produced it. Seed ``s`` of a cascade row
reads the prior of seed ``s``.

Same tuning for every model (`lr_sweep`): the baselines' recipe is Adam 2e-4 (the DSNet tables), CasGAN's
paper says 0.002. Rather than give each family its own recipe, every model of every table trains seed 0 at
both learning rates (`LRS`); per model (and per ISBI fold) the one with the higher VALIDATION Dice (at the
validation-chosen threshold, ``result["val_dice_at_threshold"]``) is kept (ties: the first of `LRS`), and
the row's seeds train at it. The non-chosen run is never tested. The choice and both validation numbers are
the ``lr_choice`` table. Everything else is the project's table budget (the profile's ``table_epochs`` cap
with early stopping, batch 4, Adam with poly decay, flips); the paper's "linear decay after 35 epochs" is
not reproduced.

Same architecture decision on validation (`depth_sweep`): CasGAN's segmentor at SR resolution either gets
log2(f) more stride-2 steps than on the label grid (``extra_sr_steps=True``, the registry default) or the same
number. Before any lr sweep, Table 1's full CasGAN (seed 0, the paper's lr 2e-3) trains both ways on the
LNSM-style set; the one with the higher VALIDATION Dice is kept for every SR CasGAN row of Tables 1, 3 and 4
(``depth_choice`` table). The rule is decided once, on Table 1's set, and carried to the other tables.

Seeds: the rows a claim rests on train ``profile.claim_seeds``, the others ``profile.seeds``
(`table_runs.seeds_for`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...config import Profile
from ...data.datasets.builder import SoftMaskDataset
from ...data.datasets.torch_data import ArraySplits, SegmentationArrays, dataset_arrays
from ...metrics import scores_from_counts
from ...models.registry import model_spec
from ...train.segmentation import TrainedSegmenter, evaluate, predict, train_segmenter
from ..dsnet.table7_generalization import DATASET_LABELS, slice_counts
from ..engine.claims import Claim, claim_rows
from ..engine.table_runs import (VARIANTS, DatasetIdentity, Variant, degenerate_columns, display_rows, metric_rows,
                                 run_columns,
                                 score_columns, seeds_for, table_provenance, variant_config,
                                 variant_dataset)
from ..engine.trivial import trivial_evaluations, trivial_rows
from .paper_numbers import TABLE1, TABLE3, TABLE3_LITERATURE, TABLE4

TABLE1_VARIANTS: tuple[str, ...] = ("unet", "segnet", "deeplabv3p", "unetpp", "casgan_bin", "cenet",
                                    "casgan_no_sr", "casgan")
TABLE3_VARIANTS: tuple[str, ...] = ("unet", "cfcnn", "casgan_bin", "casgan_pp", "casgan_soft")
TABLE4_VARIANTS: tuple[str, ...] = ("casgan_bin", "casgan_soft", "cenet", "cenet_pp", "casgan_pp")
#: Table 1's baselines: the best of them on VALIDATION Dice is the one full CasGAN is claimed against
TABLE1_BASELINES: tuple[str, ...] = ("unet", "segnet", "deeplabv3p", "unetpp", "cenet")
#: rows each table's claims rest on (they train ``profile.claim_seeds``; Table 1 adds its best baseline)
TABLE1_CLAIM_VARIANTS: tuple[str, ...] = ("casgan", "casgan_bin", "casgan_no_sr")
TABLE3_CLAIM_VARIANTS: tuple[str, ...] = ("casgan_soft", "casgan_bin", "casgan_pp")
TABLE4_CLAIM_VARIANTS: tuple[str, ...] = ("casgan_soft", "casgan_bin", "cenet", "cenet_pp", "casgan_pp")
#: the variant whose frozen Soft Mask is the cascade's prior (full CasGAN, Soft Mask target)
PRIOR_VARIANT = "casgan"
#: variants that read cat(image, prior)
CASCADE_VARIANTS: tuple[str, ...] = ("casgan_pp", "cenet_pp")
METRICS: tuple[str, ...] = ("dice", "iou", "acc")
#: learning rates every model is tried at (seed 0): the DSNet tables' recipe and CasGAN's paper
LRS: tuple[float, ...] = (2e-4, 2e-3)
#: the seed the lr sweep trains
SWEEP_SEED = 0
#: models whose segmentor runs at SR resolution (the depth rule applies to them)
SR_STEP_MODELS: tuple[str, ...] = ("casgan",)
#: the depth rules tried (`depth_sweep`): log2(f) more steps at SR resolution (default), or as many as on the grid
SR_STEP_RULES: tuple[bool, ...] = (True, False)
#: the variant the depth rule is decided on (full CasGAN, Table 1's LNSM-style set)
SWEEP_VARIANT_DEPTH = "casgan"
#: paper order of Table 3 (literature rows interleaved, as printed)
TABLE3_ORDER: tuple[str, ...] = ("gc", "unet", "mukherjee", "cfcnn", "roy", "casgan_bin", "casgan_pp", "casgan_soft")
IMAGE_SOURCES = {"isbi": "isbi2012", "promise12": "promise12"}
NOTES = ("CasGAN = frozen SR teacher (x2 quick, x4 paper) + pix2pix U-Net segmentor without pooling on "
         "cat(bilinear image, SR image), MSE + 100 L1 + pixel GAN, no Dice; output area-averaged to the label "
         "grid, binarised at the validation threshold. Budget = the project's table budget (Adam + poly decay, "
         "table_epochs cap with early stopping on validation Dice, batch 4, flips); lr per model chosen on "
         "VALIDATION Dice between 2e-4 and 2e-3 (seed 0; see the lr_choice table), the paper's linear decay "
         "after 35 epochs is not reproduced. No pretrained encoders. "
         "Data: the LNSM-/LIDC-style sets of the notebook's image source (see the provenance), not DeepLesion / "
         "the authors' 119 LIDC lesions.")

_PRIOR_CACHE: dict[tuple[str, str], ArraySplits] = {}


def prior_identity(dataset: Any, prior_key: str) -> DatasetIdentity:
    """Name and key of `prior_dataset` for the prior run ``prior_key``, without running the prior (the plan)."""
    base_key = dataset.manifest["key"]
    return DatasetIdentity(f"{dataset.manifest['spec']['name']}+prior",
                           hashlib.sha256(f"{base_key}|casgan-prior|{prior_key}".encode()).hexdigest()[:12])


def prior_dataset(dataset: SoftMaskDataset | ArraySplits, prior: TrainedSegmenter, *,
                  device: str = "auto") -> ArraySplits:
    """``dataset`` with a second image channel: the frozen CasGAN ``prior``'s Soft Mask, mapped to [-1, 1].

    The prior is computed once per crop (eval mode, no gradient) for every split present; targets, binary
    masks and ids are unchanged. The content key combines the dataset key and the prior run's cache key, so a
    retrained prior gives new cascade runs.

    Parameters
    ----------
    dataset : SoftMaskDataset or ArraySplits
        One-channel crops with ``train`` / ``val`` (and usually ``test``) splits.
    prior : TrainedSegmenter
        A trained one-channel model (normally the ``casgan`` variant trained on ``dataset``).
    device : str
        Where the prior runs.

    Returns
    -------
    ArraySplits
        Images (N, 2, S, S): channel 0 the crop, channel 1 ``2 * soft - 1`` of the prior.
    """
    if model_spec(prior.config.model).in_channels != 1:
        raise ValueError(f"the prior must read the 1-channel crop; {prior.config.model!r} does not")
    base_key = dataset.manifest["key"]
    cached = _PRIOR_CACHE.get((base_key, prior.key))
    if cached is not None:
        return cached
    splits: dict[str, SegmentationArrays] = {}
    for split in ("train", "val", "test"):
        try:
            a = dataset_arrays(dataset, split)
        except ValueError:
            if split == "test":
                continue
            raise
        if a.image.shape[1] != 1:
            raise ValueError(f"{dataset.manifest['spec']['name']}: {split} images have {a.image.shape[1]} channels, "
                             "expected 1 (a prior is added once)")
        _, soft = predict(prior.pipeline, a.image, device=device)
        image = np.concatenate([a.image, 2.0 * soft - 1.0], axis=1).astype(np.float32)
        splits[split] = SegmentationArrays(image, a.soft, a.binary, a.ids)
    ident = prior_identity(dataset, prior.key)
    out = ArraySplits(ident.name, ident.key, splits,
                      notes={"base_key": base_key, "prior_key": prior.key, "prior_model": prior.config.model})
    _PRIOR_CACHE[(base_key, prior.key)] = out
    return out


# --------------------------------------------------------------------------- the learning-rate sweep


def with_sr_steps(v: Variant, extra_sr_steps: bool = True) -> Variant:
    """``v`` with CasGAN's SR-resolution depth rule; only models in `SR_STEP_MODELS` are touched.

    ``True`` is the model's default and adds no override, so those configs (and cache keys) are unchanged.
    """
    if extra_sr_steps or v.model not in SR_STEP_MODELS:
        return v
    return replace(v, name=f"{v.name}@same_steps", overrides=(*v.overrides, ("extra_sr_steps", False)))


def lr_variant(name: str, lr: float, extra_sr_steps: bool = True) -> Variant:
    """Variant ``name`` trained at ``lr`` (its other `SegConfig` overrides kept), with the depth rule.

    The config, hence the cache key, of a variant at its own lr is unchanged: ``unet`` at 2e-4 and
    ``casgan`` at 2e-3 are the runs the tables trained before the sweep existed.
    """
    v = with_sr_steps(VARIANTS[name], extra_sr_steps)
    train = tuple((k, x) for k, x in v.train if k != "lr") + (("lr", float(lr)),)
    return replace(v, name=f"{v.name}@lr{lr:g}", train=train)


def train_at(name: str, lr: float, profile: Profile, dataset: SoftMaskDataset | ArraySplits, teacher=None, *,
             seeds: Sequence[int], progress: bool = True, extra_sr_steps: bool = True) -> list[TrainedSegmenter]:
    """Load or train variant ``name`` at ``lr`` for every seed (target data as in `train_variants`)."""
    v = lr_variant(name, lr, extra_sr_steps)
    data = variant_dataset(v, dataset)
    return [train_segmenter(variant_config(v, profile, s), data, teacher, progress=progress) for s in seeds]


@dataclass(frozen=True)
class LRChoice:
    """The lr sweep of one model: validation Dice (%) at every lr tried, and the lr kept."""

    variant: str
    seed: int
    val_dice: tuple[tuple[float, float], ...]
    lr: float

    @property
    def best_val_dice(self) -> float:
        return dict(self.val_dice)[self.lr]

    def row(self) -> dict[str, Any]:
        """One row of the ``lr_choice`` table (numbers only)."""
        return {"method": VARIANTS[self.variant].label, "variant": self.variant, "seed": self.seed,
                **{f"val_dice_lr{lr:g}": d for lr, d in self.val_dice}, "chosen_lr": self.lr,
                "selected_on": "validation Dice at the validation-chosen threshold"}


def choose_lr(val_dice: Sequence[tuple[float, float]]) -> float:
    """The lr with the highest validation Dice; nan counts as lowest, ties keep the earlier lr."""
    if not val_dice:
        raise ValueError("no learning rate was tried")
    best_lr, best = val_dice[0][0], -np.inf
    for lr, d in val_dice:
        score = -np.inf if d is None or not np.isfinite(d) else float(d)
        if score > best:
            best_lr, best = lr, score
    return best_lr


def validation_dice(t: TrainedSegmenter) -> float:
    """Validation Dice (%) at the validation-chosen threshold: the only number any choice here reads."""
    return 100.0 * float(t.result["val_dice_at_threshold"])


def lr_sweep(names: Sequence[str], profile: Profile, dataset: SoftMaskDataset | ArraySplits, teacher=None, *,
             lrs: Sequence[float] = LRS, seed: int = SWEEP_SEED, progress: bool = True,
             extra_sr_steps: bool = True) -> dict[str, LRChoice]:
    """Train ``seed`` of every named variant at every lr; keep per variant the lr with the higher VALIDATION Dice.

    Only ``result["val_dice_at_threshold"]`` (validation split) is read: the test split plays no part.
    """
    out = {}
    for name in names:
        val = tuple((float(lr), validation_dice(train_at(name, lr, profile, dataset, teacher, seeds=[seed], progress=progress,
                                                   extra_sr_steps=extra_sr_steps)[0]))
                    for lr in lrs)
        out[name] = LRChoice(name, seed, val, choose_lr(val))
    return out


def best_by_validation(choices: Mapping[str, LRChoice], candidates: Sequence[str]) -> str | None:
    """The candidate with the highest validation Dice (at its chosen lr; ties: the earlier candidate)."""
    best, score = None, -np.inf
    for name in candidates:
        if name not in choices:
            continue
        d = choices[name].best_val_dice
        d = -np.inf if not np.isfinite(d) else d
        if best is None or d > score:
            best, score = name, d
    return best


# --------------------------------------------------------------------------- the SR-depth decision


@dataclass(frozen=True)
class DepthChoice:
    """CasGAN's SR-resolution depth rule tried both ways (seed ``seed`` at ``lr``) and the one kept."""

    seed: int
    lr: float
    val_dice: tuple[tuple[bool, float], ...]
    extra_sr_steps: bool

    def row(self, profile: Profile | None = None) -> dict[str, Any]:
        """The ``depth_choice`` table's row (numbers and booleans only)."""
        d = dict(self.val_dice)
        row: dict[str, Any] = {"variant": SWEEP_VARIANT_DEPTH, "seed": self.seed, "lr": self.lr,
                               "val_dice_extra_sr_steps": d.get(True), "val_dice_same_steps": d.get(False),
                               "chosen_extra_sr_steps": self.extra_sr_steps}
        if profile is not None:
            extra = profile.sr_factor.bit_length() - 1
            row |= {"label_grid_steps": profile.depth,
                    "sr_steps_chosen": profile.depth + (extra if self.extra_sr_steps else 0)}
        return row | {"selected_on": "validation Dice at the validation-chosen threshold"}


def depth_sweep(profile: Profile, dataset: SoftMaskDataset | ArraySplits, teacher=None, *,
                lr: float = dict(VARIANTS[SWEEP_VARIANT_DEPTH].train)["lr"], seed: int = SWEEP_SEED,
                rules: Sequence[bool] = SR_STEP_RULES, progress: bool = True) -> DepthChoice:
    """Train ``seed`` of the full CasGAN with each SR depth rule; keep the one with the higher VALIDATION Dice.

    Ties and nan keep the earlier rule of ``rules`` (the registry default first). The test split is not read.
    """
    val = tuple((bool(r), validation_dice(train_at(SWEEP_VARIANT_DEPTH, lr, profile, dataset, teacher, seeds=[seed],
                                             progress=progress, extra_sr_steps=bool(r))[0])) for r in rules)
    return DepthChoice(seed, float(lr), val, bool(choose_lr(val)))


# --------------------------------------------------------------------------- training one table


@dataclass
class TableRun:
    """One table on one dataset: runs and test evaluations per variant (one per seed), the cascade's priors,
    the lr choices, the claim rows' names, Table 1's validation-chosen best baseline, the SR depth rule used
    and (Table 1 only) the depth decision itself."""

    dataset: Any
    runs: dict[str, list[TrainedSegmenter]]
    evaluations: dict[str, list[dict[str, Any]]]
    priors: list[TrainedSegmenter] = field(default_factory=list)
    choices: dict[str, LRChoice] = field(default_factory=dict)
    claim: frozenset[str] = frozenset()
    best_baseline: str | None = None
    extra_sr_steps: bool = True
    depth: DepthChoice | None = None

    @property
    def image_source(self) -> str:
        return str(self.dataset.manifest.get("source", ""))

    @property
    def name(self) -> str:
        return str(self.dataset.manifest["spec"]["name"])

    def lr_rows(self, **extra: Any) -> list[dict[str, Any]]:
        """The ``lr_choice`` table: one row per swept model (the prior's CasGAN included)."""
        return [extra | c.row() | {"role": _role(n, self)} for n, c in self.choices.items()]


def _role(name: str, t: TableRun) -> str:
    if name not in t.runs:
        return "cascade prior"
    return ("best baseline (validation), claim row" if name == t.best_baseline
            else "claim row" if name in t.claim else "row")


def run_table(names: Sequence[str], profile: Profile, dataset: SoftMaskDataset | ArraySplits, teacher=None, *,
              claim: Collection[str] = (), baselines: Sequence[str] = (), lrs: Sequence[float] = LRS,
              progress: bool = True, extra_sr_steps: bool = True) -> TableRun:
    """Sweep the lr of every variant (seed 0, validation), train every row's seeds at its lr, test each run once.

    ``claim``: rows a claim rests on (``profile.claim_seeds``); ``baselines``: candidates of which the best on
    validation Dice becomes a claim row too. Cascade variants read the prior of the same seed, trained
    (lr swept likewise) as ``PRIOR_VARIANT``; their own sweep reads the prior of the sweep seed.
    ``extra_sr_steps``: the SR depth rule of every SR CasGAN row (`depth_sweep` decides it on Table 1).
    """
    at = {"progress": progress, "extra_sr_steps": extra_sr_steps}
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; see table_runs.VARIANTS")
    plain = [n for n in names if n not in CASCADE_VARIANTS]
    cascade = [n for n in names if n in CASCADE_VARIANTS]
    swept = plain + ([PRIOR_VARIANT] if cascade and PRIOR_VARIANT not in plain else [])
    choices = lr_sweep(swept, profile, dataset, teacher, lrs=lrs, **at)
    best = best_by_validation(choices, [b for b in baselines if b in plain]) if baselines else None
    claim_set = frozenset(n for n in (*claim, *([best] if best else [])) if n in names)
    runs = {n: train_at(n, choices[n].lr, profile, dataset, teacher, seeds=seeds_for(n, profile, claim_set), **at)
            for n in plain}
    test = dataset_arrays(dataset, "test")
    evals = {n: [evaluate(t, test) for t in ts] for n, ts in runs.items()}
    priors: list[TrainedSegmenter] = []
    if cascade:
        seeds = sorted({s for n in cascade for s in seeds_for(n, profile, claim_set)})
        priors = train_at(PRIOR_VARIANT, choices[PRIOR_VARIANT].lr, profile, dataset, teacher, seeds=seeds, **at)
        first = next((p for p in priors if p.config.seed == SWEEP_SEED), priors[0])
        choices |= lr_sweep(cascade, profile, prior_dataset(dataset, first), teacher, lrs=lrs,
                            seed=first.config.seed, **at)
        for n in cascade:
            runs[n], evals[n] = [], []
            wanted = seeds_for(n, profile, claim_set)
            for p in priors:
                if p.config.seed not in wanted:
                    continue
                data = prior_dataset(dataset, p)
                t = train_at(n, choices[n].lr, profile, data, teacher, seeds=[p.config.seed], **at)[0]
                runs[n].append(t)
                evals[n].append(evaluate(t, dataset_arrays(data, "test")))
    return TableRun(dataset, {n: runs[n] for n in names}, {n: evals[n] for n in names}, priors,
                    {n: choices[n] for n in (*swept, *cascade)}, claim_set, best, extra_sr_steps)


def table1(profile: Profile, dataset, teacher=None, *, progress: bool = True) -> TableRun:
    """CasGAN Table 1 on ``dataset`` (the LNSM-style set): the SR depth rule (`depth_sweep`), then every row,
    its lr, its seeds, its test evaluation. ``TableRun.depth`` holds the decision for Tables 3 and 4."""
    depth = depth_sweep(profile, dataset, teacher, progress=progress)
    t = run_table(TABLE1_VARIANTS, profile, dataset, teacher, claim=TABLE1_CLAIM_VARIANTS,
                  baselines=TABLE1_BASELINES, progress=progress, extra_sr_steps=depth.extra_sr_steps)
    t.depth = depth
    return t


def table3(profile: Profile, dataset, teacher=None, *, progress: bool = True, extra_sr_steps: bool = True) -> TableRun:
    """CasGAN Table 3 on ``dataset`` (the LIDC-style set), SR CasGAN rows with Table 1's depth rule."""
    return run_table(TABLE3_VARIANTS, profile, dataset, teacher, claim=TABLE3_CLAIM_VARIANTS, progress=progress,
                     extra_sr_steps=extra_sr_steps)


# --------------------------------------------------------------------------- rows (numbers only)


def _lr_of(ts: Sequence[TrainedSegmenter]) -> float | None:
    lrs = {float(t.config.lr) for t in ts}
    return lrs.pop() if len(lrs) == 1 else None


def trivial_table_rows(dataset: SoftMaskDataset | ArraySplits, image_source: str = "") -> list[dict[str, Any]]:
    """The floor under a nodule table: all foreground, and the RECIST ellipse where the dataset has RECIST."""
    truth = dataset_arrays(dataset, "test").binary[:, 0]
    recist = dataset.subset("test").get("recist") if isinstance(dataset, SoftMaskDataset) else None
    rows = trivial_rows(trivial_evaluations(truth, recist), metrics=METRICS, image_source=image_source)
    return [r | {"status": "trivial floor (no model)"} for r in rows]


def _measured_rows(t: TableRun, paper: Mapping[str, Mapping[str, Any]], source: str) -> list[dict[str, Any]]:
    rows = metric_rows(t.runs, t.evaluations, paper, metrics=METRICS, paper_source=source,
                       image_source=t.image_source)
    for r in rows:
        r |= {"lr": _lr_of(t.runs[r["variant"]]), "claim_row": r["variant"] in t.claim,
              "best_baseline": r["variant"] == t.best_baseline, "status": "measured"}
    return rows


def table1_rows(t: TableRun, *, trivial: bool = True) -> list[dict[str, Any]]:
    """CasGAN Table 1: numeric rows (Dice primary; ``iou_*``, ``acc_*``), the paper beside, the floor below."""
    rows = _measured_rows(t, TABLE1, "CasGAN Table 1")
    return rows + (trivial_table_rows(t.dataset, t.image_source) if trivial else [])


def _paper_only_row(key: str, paper: Mapping[str, Any], label: str, source: str, status: str) -> dict[str, Any]:
    row: dict[str, Any] = {"method": label, "variant": key}
    for m in METRICS:
        pre = "" if m == "dice" else f"{m}_"
        cell = paper.get(m)
        row |= {f"{pre}mean": None, f"{pre}paper_mean": cell[0] if cell else None,
                f"{pre}paper_sd": cell[1] if cell else None}
    return row | {"paper_source": source, "status": status}


def table3_rows(t: TableRun, *, trivial: bool = True) -> list[dict[str, Any]]:
    """CasGAN Table 3 in the paper's order: measured rows, literature rows (paper only), then the floor."""
    measured = {r["variant"]: r for r in _measured_rows(t, TABLE3, "CasGAN Table 3")}
    order = [k for k in TABLE3_ORDER if k in measured or k in TABLE3_LITERATURE]
    order += [k for k in measured if k not in order]
    rows = [measured[k] if k in measured else
            _paper_only_row(k, TABLE3[k], TABLE3_LITERATURE[k], "CasGAN Table 3 (value claimed by the method's paper)",
                            "paper only: not re-implemented") for k in order]
    return rows + (trivial_table_rows(t.dataset, t.image_source) if trivial else [])


# --------------------------------------------------------------------------- claims


#: note on claims whose paper numbers are equal: the verdict rule judges a direction only
EQUAL_NOTE = ("the paper prints equal values (no effect claimed): the verdict rule judges a direction only, "
              "read the CI (a narrow CI around 0 agrees with the paper)")


def _claim(claim_id: str, source: str, text: str, a: str, b: str, paper: Mapping[str, Mapping[str, Any]],
           metric: str = "dice") -> Claim:
    pa, pb = paper.get(a, {}).get(metric), paper.get(b, {}).get(metric)
    return Claim(claim_id, source, text, a, b, pa[0] if pa else None, pb[0] if pb else None, metric)


def table1_claims(best_baseline: str | None = None) -> list[Claim]:
    """Table 1: Soft Mask vs binary target, SR vs none, and full CasGAN vs the best baseline (on validation)."""
    src = "CasGAN Table 1 (LNSM) and §4.1"
    out = [_claim("casgan.table1.soft_mask", src, "the Soft Mask target beats the binary target "
                  "(CasGAN_soft vs CasGAN_bin)", "casgan", "casgan_bin", TABLE1),
           _claim("casgan.table1.sr", src, "SRGAN adds to CasGAN (CasGAN_soft vs CasGAN_withoutSR; 'not so "
                  "significant')", "casgan", "casgan_no_sr", TABLE1)]
    if best_baseline is not None:
        label = VARIANTS[best_baseline].label
        out += [_claim(f"casgan.table1.vs_best_baseline.{m}", src, f"full CasGAN has the highest {m.upper()}: vs "
                       f"{label}, the best baseline here on validation Dice", "casgan", best_baseline, TABLE1, m)
                for m in METRICS]
    return out


def table3_claims() -> list[Claim]:
    """Table 3: the softened target vs the binary one; the cascaded prior vs none (equal in the paper)."""
    src = "CasGAN Table 3 (LIDC) and §4.2"
    return [_claim("casgan.table3.softened", src, "the softened binary mask max(binary, Soft Mask) beats the binary "
                   "target (CasGAN_soft vs CasGAN_bin)", "casgan_soft", "casgan_bin", TABLE3),
            _claim("casgan.table3.prior", src, "the cascaded CasGAN prior does not change Dice on high-quality labels "
                   "(CasGAN++ vs CasGAN_bin)", "casgan_pp", "casgan_bin", TABLE3)]


def table4_claims(dataset: str) -> list[Claim]:
    """Table 4 (``"isbi"`` or ``"promise12"``): softened vs binary target, and each cascade vs its predecessor."""
    src = f"CasGAN Table 4 ({DATASET_LABELS[dataset]}) and §4.3"
    paper = TABLE4[dataset]
    return [_claim(f"casgan.table4.{dataset}.softened", src, "the softened target vs the binary target "
                   "(CasGAN_soft vs CasGAN_bin)", "casgan_soft", "casgan_bin", paper),
            _claim(f"casgan.table4.{dataset}.cenet_prior", src, "the CasGAN prior improves CE-Net (CE-Net++ vs "
                   "CE-Net)", "cenet_pp", "cenet", paper),
            _claim(f"casgan.table4.{dataset}.casgan_prior", src, "the CasGAN prior improves CasGAN (CasGAN++ vs "
                   "CasGAN_bin)", "casgan_pp", "casgan_bin", paper)]


def claim_table(claims: Sequence[Claim], evaluations: Mapping[str, Sequence[Mapping[str, Any]]], *,
                runs: Mapping[str, Sequence[Any]] | None = None, image_source: str = "", dataset: str = "",
                reason: str = "not run") -> list[dict[str, Any]]:
    """`claims.claim_rows` for every claim, in order; a claim whose rows were not run keeps the paper's numbers
    with verdict ``"not run"`` and the ``reason`` (so a table's claims CSV always lists all of them)."""
    scored = {r["claim_id"]: r for r in claim_rows(claims, evaluations, runs=runs, image_source=image_source,
                                                      dataset=dataset)}
    rows = []
    for c in claims:
        r = scored.get(c.claim_id)
        if r is None:
            r = {"claim_id": c.claim_id, "source": c.source, "claim": c.text, "a": c.a, "b": c.b, "metric": c.metric,
                 "paper_a": c.paper_a, "paper_b": c.paper_b, "paper_diff": c.paper_diff, "ours_a": None,
                 "ours_b": None, "diff": None, "ci_low": None, "ci_high": None, "n": 0, "n_seeds_a": 0,
                 "n_seeds_b": 0, "verdict": "not run", "note": reason, "image_source": image_source,
                 "dataset": dataset}
        if c.paper_diff == 0:
            r = r | {"note": "; ".join(x for x in (r["note"], EQUAL_NOTE) if x)}
        rows.append(r)
    return rows


def table1_claim_rows(t: TableRun) -> list[dict[str, Any]]:
    """Table 1's claims on our runs: paired differences over the test crops, CIs and verdicts."""
    return claim_table(table1_claims(t.best_baseline), t.evaluations, runs=t.runs, image_source=t.image_source,
                       dataset=f"LNSM-style: {t.name}")


def table3_claim_rows(t: TableRun) -> list[dict[str, Any]]:
    """Table 3's claims on our runs."""
    return claim_table(table3_claims(), t.evaluations, runs=t.runs, image_source=t.image_source,
                       dataset=f"LIDC-style: {t.name}")


def table4_claim_rows(dataset: str, folds: Sequence[Mapping[str, Any]], reason: str = "not run"
                      ) -> list[dict[str, Any]]:
    """Table 4's claims for one dataset, paired per slice over all folds' test slices (``reason`` when no folds)."""
    evals = {n: slice_evaluations(folds, n) for n in folds[0]["runs"]} if folds else {}
    runs = {n: [t for f in folds for t in f["runs"][n]] for n in evals}
    return claim_table(table4_claims(dataset), evals, runs=runs, image_source=IMAGE_SOURCES[dataset],
                       dataset=f"{DATASET_LABELS[dataset]} (per slice, {len(folds)} folds)", reason=reason)


# --------------------------------------------------------------------------- Table 4 (cross-validated, per slice)


def table4_folds(profile: Profile) -> int:
    """Folds of Table 4 to run: all 4 (every slice tested once); the first 2 of the 4 in the smoke profile.

    Smoke numbers are meaningless anyway, and half the folds keep notebook 12 short in CI.
    """
    return 2 if profile.name == "smoke" else 4


def run_folds(make_fold: Callable[[int], ArraySplits], profile: Profile, teacher=None, *, folds: int = 4,
              names: Sequence[str] = TABLE4_VARIANTS, progress: bool = True,
              extra_sr_steps: bool = True) -> list[dict[str, Any]]:
    """Every Table 4 variant on every fold (`run_table`: lr swept on each fold's own validation split; SR
    CasGAN rows with Table 1's depth rule ``extra_sr_steps``).

    Returns one record per fold: ``{"fold", "dataset", "runs", "evals", "priors", "choices", "table"}``.
    """
    out = []
    for k in range(folds):
        ds = make_fold(k)
        t = run_table(names, profile, ds, teacher, claim=[n for n in TABLE4_CLAIM_VARIANTS if n in names],
                      progress=progress, extra_sr_steps=extra_sr_steps)
        out.append({"fold": k, "dataset": ds, "runs": t.runs, "evals": t.evaluations, "priors": t.priors,
                    "choices": t.choices, "table": t})
    return out


def _slice_scores(evaluation: Mapping[str, Any], test: SegmentationArrays) -> dict[str, np.ndarray]:
    c = slice_counts(evaluation, test.ids, test.binary)
    return {m: np.atleast_1d(v) for m, v in scores_from_counts(c["tp"], c["fp"], c["fn"], c["tn"]).items()}


def _slice_flags(flags: Mapping[str, np.ndarray], ids: Sequence[str]) -> dict[str, np.ndarray]:
    """A slice is all foreground (background, constant) when every one of its tiles is."""
    slices = [i.rsplit("/", 1)[0] for i in ids]
    order = list(dict.fromkeys(slices))
    idx = np.array([order.index(s) for s in slices])
    return {k: np.array([bool(np.all(np.asarray(v)[idx == j])) for j in range(len(order))]) for k, v in flags.items()}


def _cat(parts: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def slice_evaluations(folds: Sequence[Mapping[str, Any]], name: str) -> list[dict[str, Any]]:
    """Per-slice evaluations of variant ``name``, one per seed: every fold's test slices in fold order.

    Each has ``per_image`` (Dice, IoU, ACC, ... of each slice, tiles summed), ``per_image_soft_head`` and
    ``degenerate`` (per-slice flags), so `score_columns` and `claim_rows` read them like crop evaluations.
    """
    n_seeds = {len(f["evals"][name]) for f in folds}
    if len(n_seeds) != 1:
        raise ValueError(f"{name}: every fold must have the same seeds, got {sorted(n_seeds)} runs")
    out = []
    for i in range(n_seeds.pop()):
        per, soft, flags = [], [], []
        for f in folds:
            test = dataset_arrays(f["dataset"], "test")
            ev = f["evals"][name][i]
            per.append(_slice_scores(ev, test))
            if "soft" in ev:
                soft.append(_slice_scores({"prob": ev["soft"], "threshold": ev.get("soft_threshold", 0.5)}, test))
            if "degenerate" in ev:
                flags.append(_slice_flags(ev["degenerate"], test.ids))
        e: dict[str, Any] = {"per_image": _cat(per)}
        if len(soft) == len(folds):
            e["per_image_soft_head"] = _cat(soft)
        if len(flags) == len(folds):
            e["degenerate"] = _cat(flags)
        out.append(e)
    return out


def table4_trivial_rows(dataset: str, folds: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The all-foreground floor per slice over the same folds' test slices (no RECIST on these sets)."""
    per = []
    for f in folds:
        test = dataset_arrays(f["dataset"], "test")
        per.append(_slice_scores({"prob": np.ones_like(test.binary), "threshold": 0.5}, test))
    ev: dict[str, Any] = {"per_image": _cat(per)}
    n = len(ev["per_image"]["dice"])
    ev["degenerate"] = {"all_fg": np.ones(n, bool), "all_bg": np.zeros(n, bool), "constant": np.ones(n, bool)}
    rows = trivial_rows({"trivial_all_fg": [ev]}, metrics=METRICS, image_source=IMAGE_SOURCES[dataset])
    return [{"dataset": DATASET_LABELS[dataset]} | r | {"folds": len(folds), "status": "trivial floor (no model)"}
            for r in rows]


def table4_rows(dataset: str, folds: Sequence[Mapping[str, Any]], *, trivial: bool = True) -> list[dict[str, Any]]:
    """One numeric row per Table 4 variant (per-slice scores of all folds' test slices), the floor below."""
    rows = []
    for name in folds[0]["runs"]:
        evs = slice_evaluations(folds, name)
        runs = [t for f in folds for t in f["runs"][name]]
        lrs = [f["choices"][name].lr for f in folds]
        row: dict[str, Any] = {"dataset": DATASET_LABELS[dataset], "method": VARIANTS[name].label, "variant": name}
        row |= score_columns(evs, TABLE4[dataset].get(name, {}), METRICS) | degenerate_columns(evs)
        row |= run_columns(runs)
        row |= {"lr": lrs[0] if len(set(lrs)) == 1 else None, "lr_min": min(lrs), "lr_max": max(lrs),
                "claim_row": name in TABLE4_CLAIM_VARIANTS, "folds": len(folds),
                "paper_source": f"CasGAN Table 4 ({DATASET_LABELS[dataset]})",
                "image_source": IMAGE_SOURCES[dataset], "status": "measured"}
        rows.append(row)
    return rows + (table4_trivial_rows(dataset, folds) if trivial else [])


def table4_not_run_rows(dataset: str, reason: str) -> list[dict[str, Any]]:
    """The paper's Table 4 values for an arm we could not run, with the reason and no numbers of ours."""
    return [{"dataset": DATASET_LABELS[dataset]}
            | _paper_only_row(n, TABLE4[dataset][n], VARIANTS[n].label, f"CasGAN Table 4 ({DATASET_LABELS[dataset]})",
                              f"not run: {reason}") | {"folds": 0} for n in TABLE4_VARIANTS]


def folds_lr_rows(dataset: str, folds: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``lr_choice`` rows of every fold of one Table 4 dataset."""
    return [r for f in folds for r in f["table"].lr_rows(dataset=DATASET_LABELS[dataset], fold=f["fold"])]


def table4_tables(isbi_folds: Sequence[Mapping[str, Any]], promise_folds: Sequence[Mapping[str, Any]], *,
                  isbi_missing: str = "ISBI 2012 data not found",
                  promise_missing: str = "data not available offline (registration needed)"
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Table 4's rows, claims and lr choices for both datasets (paper values only for an arm not run)."""
    rows: list[dict[str, Any]] = []
    claims: list[dict[str, Any]] = []
    lr_rows: list[dict[str, Any]] = []
    for dataset, folds, missing in (("isbi", isbi_folds, isbi_missing), ("promise12", promise_folds, promise_missing)):
        rows += table4_rows(dataset, folds) if folds else table4_not_run_rows(dataset, missing)
        claims += table4_claim_rows(dataset, folds, f"not run: {missing}")
        lr_rows += folds_lr_rows(dataset, folds) if folds else [{"dataset": DATASET_LABELS[dataset],
                                                                   "status": f"not run: {missing}"}]
    return rows, claims, lr_rows


# --------------------------------------------------------------------------- display and provenance


def _paper_text(row: Mapping[str, Any], pre: str) -> str:
    pm, sd = row.get(f"{pre}paper_mean"), row.get(f"{pre}paper_sd")
    return "" if pm is None else f"{pm:.1f}" + ("" if sd is None else f" ± {sd:.1f}")


def display(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str] = METRICS) -> list[dict[str, Any]]:
    """Strings for the reader (never for a CSV): `table_runs.display_rows` per row, with the paper's cell as
    printed (CasGAN gives no SD) and rows without a run of ours (literature, not run, trivial) kept."""
    out = []
    for r in rows:
        trained = r.get("best_epoch") is not None
        shim = {k: v for k, v in r.items() if "paper_" not in k}
        if not trained:
            shim |= {"best_epoch": float("nan"), "stopped_epoch": float("nan")}
        d = display_rows([shim], metrics)[0]
        row: dict[str, Any] = ({"dataset": r["dataset"]} if "dataset" in r else {}) | {"method": r["method"]}
        for m in metrics:
            row |= {f"{m} ours": d.get(f"{m} ours", ""), f"{m} paper": _paper_text(r, "" if m == "dice" else f"{m}_")}
        epochs = next((v for k, v in d.items() if k.startswith("best/stopped")), "")
        row |= {"seeds": d["seeds"] if d["seeds"] is not None else "", "best/stopped": epochs if trained else "",
                "lr": f"{r['lr']:g}" if r.get("lr") is not None else "", "flag": d["flag"],
                "status": r.get("status", "")}
        out.append(row)
    return out


def claim_display(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Claim rows as strings for the reader: ours (A - B, 95 % CI, points) beside the paper's difference."""
    def num(x: float | None, spec: str = "+.2f") -> str:
        return "" if x is None else format(x, spec)

    return [{"claim": r["claim"], "metric": r["metric"], "paper A - B": num(r["paper_diff"], "+.1f"),
             "ours A - B": num(r["diff"]), "95 % CI": "" if r["ci_low"] is None else
             f"[{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]", "n": r["n"], "verdict": r["verdict"], "note": r["note"]}
            for r in rows]


def write_tables(stem: str, profile: Profile, prov: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                 claims: Sequence[Mapping[str, Any]], lr_rows: Sequence[Mapping[str, Any]],
                 depth_rows: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """``results/<profile>/<stem>.csv``, ``<stem>_claims.csv``, ``<stem>_lr_choice.csv`` and, given ``depth_rows``
    (Table 1), ``<stem>_depth_choice.csv`` (`reporting.write_table`, one provenance for all). Returns their paths.

    The claims CSV holds the SCORED claims only (every cell of ``diff`` / ``ci_*`` a number, as the report
    reads them); a claim whose rows were not run stays in the notebook's display. With no scored claim the
    file is not written, and one left by an earlier run is removed (it would describe runs that are gone).
    """
    from ...reporting import write_table

    out = {"table": write_table(rows, stem, profile.name, prov), "claims": None}
    scored = [r for r in claims if r["verdict"] != "not run"]
    if scored:
        out["claims"] = write_table(scored, f"{stem}_claims", profile.name, prov)
    else:
        stale = out["table"].with_name(f"{stem}_claims.csv")
        for path in (stale, stale.with_suffix(".provenance.json")):
            path.unlink(missing_ok=True)
    out["lr_choice"] = write_table(lr_rows, f"{stem}_lr_choice", profile.name, prov)
    if depth_rows:
        out["depth_choice"] = write_table(depth_rows, f"{stem}_depth_choice", profile.name, prov)
    return out


def run_provenance(profile: Profile, t: TableRun, teacher=None, *, clock=None) -> dict[str, Any]:
    """Provenance of one table: `table_provenance` plus the priors, the lr choices and the claim rows."""
    return table_provenance(profile, t.runs, t.dataset, teacher, clock=clock, notes=NOTES, extra={
        "prior_keys": [p.key for p in t.priors], "lrs_tried": list(LRS),
        "lr_choice": [c.row() for c in t.choices.values()], "extra_sr_steps": t.extra_sr_steps,
        "depth_choice": t.depth.row(profile) if t.depth else "decided on CasGAN Table 1 (LNSM-style, validation)",
        "best_baseline": t.best_baseline, "best_baseline_selected_on": "validation Dice (seed 0, chosen lr)",
        "claim_rows": sorted(t.claim), "claim_seeds": list(profile.claim_seeds)})


def folds_provenance(profile: Profile, folds: Sequence[Mapping[str, Any]], teacher=None, *, clock=None,
                     extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Provenance of Table 4: every fold's dataset key, run keys, prior keys and lr choices."""
    from ...reporting import provenance

    params = {"table_epochs": profile.table_epochs, "width": profile.width, "depth": profile.depth,
              "sr_factor": profile.sr_factor, "folds": len(folds), "variants": list(TABLE4_VARIANTS),
              "prior_variant": PRIOR_VARIANT, "lrs_tried": list(LRS), "notes": NOTES,
              "extra_sr_steps": sorted({f["table"].extra_sr_steps for f in folds}),
              "selection": "per fold: lr, checkpoint and threshold on that fold's validation slices, test once"}
    seeds = sorted({t.config.seed for f in folds for ts in f["runs"].values() for t in ts})
    return provenance(profile.name, params, data_source="; ".join(
        f"fold {f['fold']}: {f['dataset'].manifest['spec']['name']} {f['dataset'].manifest['key']} "
        f"{f['dataset'].counts}" for f in folds) or "no data", image_source="isbi2012", seeds=seeds, clock=clock,
        extra={"teacher_key": getattr(teacher, "key", None),
               "run_keys": [{n: [t.key for t in ts] for n, ts in f["runs"].items()} for f in folds],
               "prior_keys": [[p.key for p in f["priors"]] for f in folds],
               "lr_choice": [[c.row() for c in f["choices"].values()] for f in folds],
               **(dict(extra) if extra else {})})


def prediction_figure(dataset: SoftMaskDataset | ArraySplits, evaluations: Mapping[str, list[dict[str, Any]]],
                      names: Sequence[str] = ("casgan_bin", "casgan"), n: int = 4, seed: int = 0):
    """Test crops: image, Soft Mask, binary mask, and each named variant's predicted Soft Mask (seed 0)."""
    import matplotlib.pyplot as plt

    test = dataset_arrays(dataset, "test")
    idx = np.sort(np.random.default_rng(seed).choice(len(test), size=min(n, len(test)), replace=False))
    cols = [("image", lambda i: (test.image[i, 0] + 1) / 2), ("Soft Mask", lambda i: test.soft[i, 0]),
            ("binary mask", lambda i: test.binary[i, 0])]
    cols += [(f"{VARIANTS[k].label.split(' (')[0]} ({k})", lambda i, k=k: evaluations[k][0]["soft"][i, 0])
             for k in names]
    fig, axes = plt.subplots(len(idx), len(cols), figsize=(1.9 * len(cols), 1.95 * len(idx)), squeeze=False)
    for r, i in enumerate(idx):
        for c, (title, get) in enumerate(cols):
            axes[r, c].imshow(np.asarray(get(i), float), cmap="gray" if c == 0 else "magma", vmin=0, vmax=1,
                              interpolation="nearest")
            axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(title, fontsize=7)
    fig.tight_layout()
    return fig
