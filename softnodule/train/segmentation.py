"""Adversarial Soft Mask training (DSNet III-C/D) and the Dice-only baselines, with resume and caching.

Each step: the segmenter predicts (binary probability, Soft Mask); the pixel-wise discriminator is
updated on cat(image, true Soft Mask) vs cat(image, predicted Soft Mask, detached); then the segmenter
is updated on ``dice*Dice + soft*L1 + gan*GAN`` (weights and the GAN form are config). Which terms a
model uses is part of its registry entry (`models.model_spec`). The SR teacher is frozen.

CasGAN's models name the ``"casgan"`` loss recipe instead (`casgan_train_step`): ``MSE + soft*L1 +
gan*GAN`` against the target in ``soft`` (Soft Mask, binary or softened mask), no Dice, the discriminator
conditioned on the crop (channel 0 of ``x``, so a prior channel is not shown to it). Same optimiser, LR
schedule and epochs as every other model; the CasGAN table variants set the paper's lr 0.002 in their
config (`experiments.engine.table_runs.CASGAN_TRAIN`), its "linear decay after 35 epochs" is not reproduced.

Model selection is honest: validation every epoch, the checkpoint with the best validation Dice (at
0.5) is kept, the run stops when that Dice has plateaued (`early_stopping.EarlyStopping`: ``patience``
epochs without a gain above ``min_delta``, or the cap ``epochs``), and the binarisation thresholds of
both heads are chosen on the validation split (see `evaluate` for the one test evaluation). The fast
CPU path (channels-last, the frozen teacher's outputs computed once) is `fast_path`.

The authors' protocol (REFERENCE §4) instead keeps the epoch with the best TEST Dice and sweeps the
threshold on the TEST split. To show how much that inflates a number, every run also records, per
epoch, the test Dice at the best test threshold (``audit_*`` columns of the history and
``result["author_protocol"]``). These numbers are written down only: nothing in the selection reads
them, and they do not change the trained weights (inference in eval mode, no random state used);
``SegConfig.audit=False`` skips them.

Both heads are scored: the sigmoid head (``prob``, trained by the Dice loss on the binary reference)
is what the tables use, because every model has it and its Dice is what the papers report; the
Soft Mask head (``soft``, trained by L1/GAN where the model has those losses) is binarised at its own
validation-chosen threshold and reported beside it (``*_soft_head`` columns).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import Profile, cache_dir
from ..data.datasets.builder import SoftMaskDataset
from ..data.datasets.torch_data import (
    ArraySplits,
    SegmentationArrays,
    dataset_arrays,
    epoch_batches,
    flip_augment,
)
from ..degenerate import degenerate_images, degenerate_summary
from ..env import resolve_device
from ..losses import (
    CASGAN_MSE_WEIGHT,
    GANLoss,
    SegLossWeights,
    casgan_mse,
    dice_loss,
    soft_mask_l1,
)
from ..metrics import best_threshold, per_image_metrics
from ..models import PixelDiscriminator, SRSegmenter, build_model, model_spec
from ..runs.locks import run_lock
from .checkpoints import (
    config_hash,
    load_checkpoint,
    read_result,
    restore_rng,
    rng_state,
    run_dir,
    save_checkpoint,
    write_progress,
    write_result,
)
from .early_stopping import EarlyStopping
from .fast_path import (
    CACHE_LIMIT_BYTES,
    teacher_arrays,
    teacher_cache_bytes,
    to_model,
    use_channels_last,
)
from .sr import SRTeacher

#: Bump when the segmentation loop changes its result (2: early stopping, fast path, both heads).
SEG_CODE_VERSION = 2


@dataclass(frozen=True)
class SegConfig:
    """Everything that determines a trained segmenter (with the dataset key and the teacher key).

    ``epochs`` is the cap; ``patience`` (None: train to the cap) and ``min_delta`` are the early
    stopping rule on validation Dice; ``fast`` selects the fast CPU path (`fast_path`), ``audit``
    records the authors' test-split protocol per epoch (never read by any selection).
    """

    model: str
    width: int = 16
    depth: int = 4
    sr_factor: int = 2
    feat_channels: int = 32
    overrides: tuple[tuple[str, Any], ...] = ()
    epochs: int = 10
    batch_size: int = 4
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    poly_power: float = 0.9
    weights: SegLossWeights = field(default_factory=SegLossWeights)
    gan_mode: str = "vanilla"
    d_width: int = 64
    augment: bool = True
    seed: int = 0
    patience: int | None = None
    min_delta: float = 1e-3
    fast: bool = True
    audit: bool = True

    @staticmethod
    def for_profile(model: str, profile: Profile, **overrides: Any) -> SegConfig:
        """The profile's sizes (width, depth, SR factor, epochs, batch) for ``model``."""
        base = SegConfig(model=model, width=profile.width, depth=profile.depth, sr_factor=profile.sr_factor,
                         feat_channels=profile.sr_width, epochs=profile.epochs, batch_size=profile.batch_size,
                         patience=profile.patience, d_width=profile.d_width)
        return replace(base, **overrides)

    def stopping(self) -> EarlyStopping:
        """The early stopping rule of this config."""
        return EarlyStopping(self.epochs, self.patience, self.min_delta)

    def build(self) -> torch.nn.Module:
        """The untrained segmenter."""
        return build_model(self.model, width=self.width, depth=self.depth, sr_factor=self.sr_factor,
                           feat_channels=self.feat_channels, **dict(self.overrides))


@dataclass
class TrainedSegmenter:
    """A trained model ready for inference (teacher included), its config, cache key and run record."""

    pipeline: SRSegmenter
    config: SegConfig
    key: str
    result: dict[str, Any]

    @property
    def threshold(self) -> float:
        """Sigmoid-head threshold chosen on validation."""
        return float(self.result["threshold"])

    @property
    def soft_threshold(self) -> float:
        """Soft-Mask-head threshold chosen on validation (0.5 for results that predate it)."""
        return float(self.result.get("soft_threshold", 0.5))


@torch.no_grad()
def predict(pipeline: SRSegmenter, images: np.ndarray, *, device: str = "auto", batch: int = 32,
            teacher_out: tuple[np.ndarray, np.ndarray] | None = None, fast: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """Binary-head probabilities in [0, 1] and Soft Masks mapped back to [0, 1], both (N, 1, S, S).

    ``teacher_out``: the teacher's ``(sr, feats)`` for ``images`` computed beforehand (`fast_path`);
    ``fast``: channels-last inputs.
    """
    dev = resolve_device(device)
    pipeline.eval().to(dev)
    probs, softs = [], []
    for i in range(0, len(images), batch):
        x = to_model(images[i : i + batch], dev, fast)
        if teacher_out is not None:
            out = pipeline.segment(x, *(to_model(a[i : i + batch], dev, fast) for a in teacher_out))
        else:
            out = pipeline(x)
        probs.append(out.prob.float().cpu().numpy())
        softs.append(((out.soft.float() + 1.0) / 2.0).cpu().numpy())
    return np.concatenate(probs), np.concatenate(softs)


def _val_dice(prob: np.ndarray, val: SegmentationArrays) -> float:
    return float(np.mean(per_image_metrics(prob[:, 0] > 0.5, val.binary[:, 0] > 0.5)["dice"]))


def _test_split(dataset: SoftMaskDataset | ArraySplits) -> SegmentationArrays | None:
    try:
        return dataset_arrays(dataset, "test")
    except ValueError:
        return None


def _audit(pipeline: SRSegmenter, test: SegmentationArrays | None, dev: str, fast: bool,
           teacher_out: tuple[np.ndarray, np.ndarray] | None) -> dict[str, float]:
    """The authors' protocol on this epoch's weights: test Dice at the best TEST threshold (record only)."""
    if test is None:
        return {}
    prob, _ = predict(pipeline, test.image, device=dev, fast=fast, teacher_out=teacher_out)
    thr, dice = best_threshold(prob[:, 0], test.binary[:, 0] > 0.5)
    at_half = float(np.mean(per_image_metrics(prob[:, 0] > 0.5, test.binary[:, 0] > 0.5)["dice"]))
    return {"audit_test_dice_best_thr": float(dice), "audit_test_thr": float(thr), "audit_test_dice_at_0.5": at_half}


def author_protocol(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Best epoch and threshold picked on the TEST split (REFERENCE §4), from a run's audit records."""
    rows = [h for h in history if "audit_test_dice_best_thr" in h]
    if not rows:
        return None
    best = max(rows, key=lambda h: h["audit_test_dice_best_thr"])
    return {"epoch": best["epoch"], "threshold": best["audit_test_thr"], "test_dice": best["audit_test_dice_best_thr"]}


def poly_schedule(opt: torch.optim.Optimizer, total_iters: int, power: float) -> torch.optim.lr_scheduler.LambdaLR:
    """The "poly" policy, stepped per iteration: lr = base * (1 - it / total) ** power."""
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda it: max(1.0 - it / total_iters, 0.0) ** power)


def _adversarial(disc: PixelDiscriminator, opt_d: torch.optim.Optimizer, gan: GANLoss, img: torch.Tensor,
                 target: torch.Tensor, soft: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Update the pixel-wise D once, then return (its loss, the segmenter's adversarial term).

    D sees cat(image, target in [-1, 1]) as real and cat(image, detached prediction) as fake; the
    segmenter's term re-runs the UPDATED discriminator on the non-detached prediction.
    """
    real, fake = torch.cat([img, target * 2.0 - 1.0], 1), torch.cat([img, soft.detach()], 1)
    opt_d.zero_grad(set_to_none=True)
    d_loss = 0.5 * (gan(disc(real), True) + gan(disc(fake), False))
    d_loss.backward()
    opt_d.step()
    return float(d_loss.detach()), gan(disc(torch.cat([img, soft], 1)), True)


def train_step(pipeline: SRSegmenter, x: torch.Tensor, soft_gt: torch.Tensor, bin_gt: torch.Tensor, *,
               opt: torch.optim.Optimizer, weights: SegLossWeights, soft_mask_loss: bool,
               disc: PixelDiscriminator | None = None, opt_d: torch.optim.Optimizer | None = None,
               gan: GANLoss | None = None, recipe: str = "dsnet",
               teacher_out: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, float]:
    """One alternating update: the discriminator (if any), then the segmenter. Returns the loss terms.

    The discriminator sees cat(image, Soft Mask) in [-1, 1]: the reference mask as real, the detached
    prediction as fake. The segmenter's adversarial term re-runs the updated discriminator.
    ``recipe="casgan"`` hands over to `casgan_train_step` (``bin_gt`` and ``soft_mask_loss`` unused).
    ``teacher_out``: the frozen teacher's ``(sr, feats)`` for ``x``, precomputed (`fast_path`).
    """
    if recipe == "casgan":
        return casgan_train_step(pipeline, x, soft_gt, opt=opt, weights=weights, disc=disc, opt_d=opt_d, gan=gan,
                                 teacher_out=teacher_out)
    if recipe != "dsnet":
        raise ValueError(f"unknown loss recipe {recipe!r}; choose 'dsnet' or 'casgan'")
    out = pipeline.segment(x, *(teacher_out or ()))
    parts = {"dice": dice_loss(out.prob, bin_gt)}
    if soft_mask_loss:
        parts["l1"] = soft_mask_l1(out.soft, soft_gt)
    logged: dict[str, float] = {}
    if disc is not None:
        logged["d_loss"], parts["gan"] = _adversarial(disc, opt_d, gan, x, soft_gt, out.soft)
    loss = weights.dice * parts["dice"] + weights.soft * parts.get("l1", 0.0) + weights.gan * parts.get("gan", 0.0)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"loss": float(loss.detach()), **{k: float(v.detach()) for k, v in parts.items()}, **logged}


def casgan_train_step(pipeline: SRSegmenter, x: torch.Tensor, target: torch.Tensor, *,
                      opt: torch.optim.Optimizer, weights: SegLossWeights, disc: PixelDiscriminator | None = None,
                      opt_d: torch.optim.Optimizer | None = None, gan: GANLoss | None = None,
                      teacher_out: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, float]:
    """CasGAN's SoftGAN update (CasGAN Eq. 2-3): ``MSE + weights.soft * L1 + weights.gan * GAN``, no Dice.

    ``target`` (B, 1, H, W) in [0, 1] is what the table variant trains on (Soft Mask, binary mask or
    softened mask); ``out.soft`` (tanh) is compared with it mapped to [-1, 1]. The pixel-wise
    discriminator (if any) is updated first on cat(crop, target) vs cat(crop, detached prediction), the
    crop being channel 0 of ``x`` (a cascade's prior channel is not shown to it), then the segmenter's
    adversarial term re-runs the updated discriminator, as in `train_step`.
    """
    out = pipeline.segment(x, *(teacher_out or ()))
    parts = {"mse": casgan_mse(out.soft, target), "l1": soft_mask_l1(out.soft, target)}
    logged: dict[str, float] = {}
    if disc is not None:
        logged["d_loss"], parts["gan"] = _adversarial(disc, opt_d, gan, x[:, :1], target, out.soft)
    loss = CASGAN_MSE_WEIGHT * parts["mse"] + weights.soft * parts["l1"] + weights.gan * parts.get("gan", 0.0)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"loss": float(loss.detach()), **{k: float(v.detach()) for k, v in parts.items()}, **logged}


def _keys(cfg: SegConfig, dataset: SoftMaskDataset | ArraySplits, teacher: SRTeacher | None) -> tuple[bool, str]:
    spec = model_spec(cfg.model)
    if spec.needs_sr and teacher is None:
        raise ValueError(f"model {cfg.model!r} reads the SR teacher: pass teacher= (see train.sr.train_sr)")
    if spec.needs_sr and teacher.config.factor != cfg.sr_factor:
        raise ValueError(f"teacher factor x{teacher.config.factor} != model sr_factor x{cfg.sr_factor}")
    parts = (cfg, dataset.manifest["key"], teacher.key if spec.needs_sr else None)
    return spec.needs_sr, config_hash(*parts, {"segmentation_code": SEG_CODE_VERSION})


def _teacher_outputs(pipeline: SRSegmenter, splits: dict[str, SegmentationArrays | None], cfg: SegConfig,
                     dev: str) -> dict[str, tuple[np.ndarray, np.ndarray] | None]:
    """The frozen teacher's outputs per split, computed once (fast path, when they fit in memory)."""
    if not (cfg.fast and pipeline.needs_sr):
        return {k: None for k in splits}
    present = {k: a for k, a in splits.items() if a is not None}
    total = sum(teacher_cache_bytes(pipeline.teacher, len(a), a.image.shape[-1]) for a in present.values())
    if total > CACHE_LIMIT_BYTES:
        return {k: None for k in splits}
    return {k: (teacher_arrays(pipeline, a.image, device=dev, fast=False) if a is not None else None)
            for k, a in splits.items()}


def segmenter_run(cfg: SegConfig, dataset: SoftMaskDataset | ArraySplits,
                  teacher: SRTeacher | None = None) -> tuple[str, Path]:
    """The cache key and run folder of ``cfg`` on ``dataset`` (with ``teacher``); nothing is created.

    The plan (`softnodule.runs`) uses it to know a job's key and state without training anything.
    """
    _, key = _keys(cfg, dataset, teacher)
    return key, cache_dir() / "segmenters" / f"{cfg.model}-{dataset.manifest['spec']['name']}-{key}"


def train_segmenter(cfg: SegConfig, dataset: SoftMaskDataset | ArraySplits, teacher: SRTeacher | None = None, *,
                    device: str = "auto", progress: bool = True,
                    on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None) -> TrainedSegmenter:
    """Train (or resume, or load from the cache) ``cfg.model`` on ``dataset``'s train split.

    Trains until validation Dice has plateaued (``cfg.patience``) or the cap ``cfg.epochs``; keeps the
    best-validation checkpoint. An interrupted run (Ctrl-C, killed process) resumes after its last
    completed epoch and ends with the same weights as an uninterrupted run: batches and flips are
    seeded per epoch and the optimiser, scheduler, best-so-far weights, stopping state and torch's
    random state are checkpointed every epoch. The test split, when the dataset has one, is read only
    by the authors'-protocol audit (``cfg.audit``), which nothing selects on.

    Only one process trains a key at a time (`softnodule.runs.locks`): a second caller waits for the
    first and then loads its result.
    """
    _, folder = segmenter_run(cfg, dataset, teacher)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with run_lock(folder):
        return _load_or_train(cfg, dataset, teacher, device=device, progress=progress, on_epoch_end=on_epoch_end)


def _load_or_train(cfg: SegConfig, dataset: SoftMaskDataset | ArraySplits, teacher: SRTeacher | None, *,
                   device: str, progress: bool,
                   on_epoch_end: Callable[[int, dict[str, Any]], None] | None) -> TrainedSegmenter:
    """`train_segmenter` under its run lock."""
    from tqdm.auto import tqdm

    needs_sr, key = _keys(cfg, dataset, teacher)
    spec = model_spec(cfg.model)
    name = dataset.manifest["spec"]["name"]
    folder = run_dir("segmenters", f"{cfg.model}-{name}", key)
    dev = resolve_device(device)
    torch.manual_seed(cfg.seed)
    model = cfg.build()
    pipeline = SRSegmenter(model, teacher.generator if needs_sr else None)
    done = read_result(folder)
    if done is not None:
        model.load_state_dict(load_checkpoint(folder / "weights.pt")["model"])
        return TrainedSegmenter(pipeline.eval(), cfg, key, done)

    train, val = dataset_arrays(dataset, "train"), dataset_arrays(dataset, "val")
    if train.image.shape[1] != spec.in_channels:
        raise ValueError(f"model {cfg.model!r} reads {spec.in_channels}-channel inputs but {name!r} has "
                         f"{train.image.shape[1]} (cascade models need casgan_tables.prior_dataset)")
    test = _test_split(dataset) if cfg.audit else None
    stopping = cfg.stopping()
    batches_per_epoch = len(epoch_batches(len(train), cfg.batch_size, seed=cfg.seed, epoch=0))
    total_iters = max(batches_per_epoch * cfg.epochs, 1)
    disc = PixelDiscriminator(2, cfg.d_width) if spec.gan_loss else None
    gan = GANLoss(cfg.gan_mode) if spec.gan_loss else None
    opt_d = sched_d = None
    pipeline.to(dev)
    nhwc = cfg.fast and use_channels_last(cfg.model, cfg.width)
    if nhwc:
        pipeline.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.betas)
    sched = poly_schedule(opt, total_iters, cfg.poly_power)
    if disc is not None:
        disc.to(dev)
        if nhwc:
            disc.to(memory_format=torch.channels_last)
        opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=cfg.betas)
        sched_d = poly_schedule(opt_d, total_iters, cfg.poly_power)
    history: list[dict[str, Any]] = []
    start, seconds, best = 0, 0.0, {"dice": -1.0, "epoch": 0, "state": copy.deepcopy(model.state_dict())}
    if (folder / "last.pt").exists():
        state = load_checkpoint(folder / "last.pt", dev)
        model.load_state_dict(state["model"]), opt.load_state_dict(state["opt"]), sched.load_state_dict(state["sched"])
        if disc is not None:
            disc.load_state_dict(state["disc"]), opt_d.load_state_dict(state["opt_d"])
            sched_d.load_state_dict(state["sched_d"])
        restore_rng(state["rng"])
        start, history, seconds, best = state["epoch"] + 1, state["history"], state["seconds"], state["best"]

    t_cache = time.perf_counter()
    cached = _teacher_outputs(pipeline, {"train": train, "val": val, "test": test}, cfg, dev)
    cache_seconds = time.perf_counter() - t_cache
    for epoch in range(start, cfg.epochs):
        if stopping.should_stop(epoch, best["epoch"]):
            break
        t0 = time.perf_counter()
        pipeline.train()
        sums: dict[str, float] = {}
        batches = epoch_batches(len(train), cfg.batch_size, seed=cfg.seed, epoch=epoch)
        for step, idx in enumerate(tqdm(batches, desc=f"{cfg.model} epoch {epoch + 1}/{cfg.epochs}",
                                        disable=not progress, leave=False)):
            arrays = [train.image[idx], train.soft[idx], train.binary[idx]]
            if cached["train"] is not None:
                arrays += [a[idx] for a in cached["train"]]
            if cfg.augment:
                arrays = flip_augment(arrays, seed=cfg.seed, epoch=epoch, step=step)
            x, soft_gt, bin_gt, *teacher_out = (to_model(a, dev, nhwc) for a in arrays)
            losses = train_step(pipeline, x, soft_gt, bin_gt, opt=opt, weights=cfg.weights,
                                soft_mask_loss=spec.soft_mask_loss, disc=disc, opt_d=opt_d, gan=gan,
                                recipe=spec.loss, teacher_out=tuple(teacher_out) or None)
            sched.step()
            if disc is not None:
                sched_d.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
        epoch_seconds = time.perf_counter() - t0
        seconds += epoch_seconds
        val_prob, _ = predict(pipeline, val.image, device=dev, fast=nhwc, teacher_out=cached["val"])
        val_dice = _val_dice(val_prob, val)
        if stopping.improved(val_dice, best["dice"]):
            best = {"dice": val_dice, "epoch": epoch + 1, "state": copy.deepcopy(model.state_dict())}
        row = {"epoch": epoch + 1, **{k: v / len(batches) for k, v in sums.items()}, "val_dice": val_dice,
               "lr": sched.get_last_lr()[0], "ms_per_iter": 1000.0 * epoch_seconds / len(batches),
               **(_audit(pipeline, test, dev, nhwc, cached["test"]) if cfg.audit else {})}
        history.append(row)
        state = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                 "rng": rng_state(), "epoch": epoch, "history": history, "seconds": seconds, "best": best}
        if disc is not None:
            state |= {"disc": disc.state_dict(), "opt_d": opt_d.state_dict(), "sched_d": sched_d.state_dict()}
        save_checkpoint(folder / "last.pt", state)
        write_progress(folder, epoch + 1, cfg.epochs, val_dice, seconds)
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)

    model.load_state_dict(best["state"])
    save_checkpoint(folder / "weights.pt", {"model": model.state_dict()})
    val_prob, val_soft = predict(pipeline, val.image, device=dev, fast=nhwc, teacher_out=cached["val"])
    threshold, val_dice_at_t = best_threshold(val_prob[:, 0], val.binary[:, 0] > 0.5)
    soft_threshold, val_soft_dice = best_threshold(val_soft[:, 0], val.binary[:, 0] > 0.5)
    val_flags = degenerate_images(val_prob[:, 0] > threshold, val_prob[:, 0])
    result = {"config": asdict(cfg), "key": key, "dataset": name, "dataset_key": dataset.manifest["key"],
              "teacher_key": teacher.key if needs_sr else None, "history": history,
              **stopping.stop_record(best["epoch"], len(history)),
              "val_dice_at_0.5": best["dice"], "threshold": float(threshold), "val_dice_at_threshold": val_dice_at_t,
              "soft_threshold": float(soft_threshold), "val_dice_soft_head": float(val_soft_dice),
              "val_degenerate": degenerate_summary(val_flags),
              "train_seconds": round(seconds, 2), "teacher_cache_seconds": round(cache_seconds, 2),
              "fast_path": {"channels_last": nhwc, "teacher_cached": cached["train"] is not None},
              "n_train": len(train), "n_val": len(val), "device": dev, "threads": torch.get_num_threads(),
              "ms_per_iter": float(np.mean([h["ms_per_iter"] for h in history])) if history else None,
              "author_protocol": author_protocol(history)}
    write_result(folder, result)
    return TrainedSegmenter(pipeline.cpu().eval(), cfg, key, result)


def evaluate(trained: TrainedSegmenter, arrays: SegmentationArrays, *, threshold: float | None = None,
             device: str = "auto") -> dict[str, Any]:
    """Predictions and per-image metrics on one split, both heads, each at its validation-chosen threshold.

    Returns ``threshold``, ``prob``, ``soft``, ``per_image`` (sigmoid head: what the tables use),
    ``per_image_soft_head`` (the Soft Mask head at ``soft_threshold``) and ``degenerate`` (per-image
    flags of the sigmoid head's binary predictions, `softnodule.degenerate`).
    """
    t = trained.threshold if threshold is None else float(threshold)
    prob, soft = predict(trained.pipeline, arrays.image, device=device)
    truth = arrays.binary[:, 0] > 0.5
    pred = prob[:, 0] > t
    return {"threshold": t, "prob": prob, "soft": soft, "per_image": per_image_metrics(pred, truth),
            "soft_threshold": trained.soft_threshold,
            "per_image_soft_head": per_image_metrics(soft[:, 0] > trained.soft_threshold, truth),
            "degenerate": degenerate_images(pred, prob[:, 0])}
