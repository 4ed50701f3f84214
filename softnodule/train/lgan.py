"""LGAN training: a U-Net generator against a WGAN critic (``papers/004_*.txt`` §2.2.3 and §3).

Losses (the paper's eqs. 6-11; ``p = G(I)`` the predicted lung probability, ``y`` the ground truth):

* critic: ``E[D(fake)] - E[D(real)]`` where, per structure,
  Basic: real ``D(y)``, fake ``D(p)``; Product: ``D(y * I)`` / ``D(p * I)``; Early fusion:
  ``D(cat(I, y))`` / ``D(cat(I, p))``; Late fusion: ``D(y, I)`` / ``D(p, I)``;
* generator: ``BCE(p, y) - adv_weight * E[D(fake)]`` (eq. 6; the paper's weight is 1);
* ``unet``: the generator alone with BCE (the paper's baseline).

Our readings, where the paper is ambiguous:

* Product (eq. 8) prints the real term as ``D(x)``; the text says both the predicted and the true
  mask are multiplied with the CT, so real = ``D(y * I)``. The CT enters the product in [0, 1] (lung
  window) so that "outside the mask" is 0, as the paper's "set to be 0".
* Regression (eq. 11) prints only ``E[D(G(x1), x2)]``, minimised by the critic, with the generator
  maximising it (eq. 6). Alone this lets the critic lower its output everywhere (only the Lipschitz
  control bounds it) and tells it nothing about what a correct mask is. We read the critic as a WGAN
  critic on mask pairs: fake pair ``(p, y)`` (the generated mask with its own slice's truth), real
  pair ``(y, y)`` (distance zero), critic loss ``E[D(p, y)] - E[D(y, y)]``, generator loss
  ``BCE - E[D(p, y)]``. ``regression_real_pair=False`` gives the printed eq. 11 (fake term only).
* Lipschitz control is not stated. Two options: ``lipschitz="clip"`` (WGAN [26], Arjovsky et al.,
  which LGAN builds on: every critic parameter clamped to [-0.01, 0.01] after each critic step, with
  the paper's BN critics; the config default) and ``"gp"``, the gradient penalty (Gulrajani et al.,
  lambda 10) on masks interpolated between the real and the fake one, used with
  ``critic_norm="layer"`` (BN couples the samples whose gradients are penalised). Which one the
  tables use is decided on the VALIDATION split (`experiments.lgan.structures.choose_lipschitz`:
  both options trained, the higher validation IoU wins); an earlier version of this note compared the
  two on test IoU, which no decision may read.
* Adam with lr 1e-5, momentum (beta1) 0.9, weight decay 5e-4 (paper, §4.2), for both networks.

Selection: validation IoU (at 0.5) after every epoch; the checkpoint with the best one is kept, and
the run stops once that IoU has plateaued (`early_stopping.EarlyStopping`: ``patience`` epochs without
a gain above ``min_delta``, or the cap ``epochs``; the check runs at the top of each epoch on the
checkpointed best epoch, so a resumed run takes the same decision). The result records
``best_epoch``, ``stopped_epoch``, ``stop_reason`` and ``still_improving``. The test split is
evaluated once, by the caller (`evaluate_lgan`, with per-image degenerate flags). Runs are cached and
resumable like `train.segmentation` (folder keyed by the config hash, the dataset key and
`LGAN_CODE_VERSION`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import cache_dir
from ..data.datasets.torch_data import ArraySplits, SegmentationArrays, dataset_arrays, epoch_batches, flip_augment
from ..degenerate import degenerate_images
from ..env import resolve_device
from ..metrics import per_image_metrics
from ..models.lgan import LGAN_STRUCTURES, LGANGenerator, build_lgan
from ..runs.locks import run_lock
from .checkpoints import (config_hash, load_checkpoint, read_result, restore_rng, rng_state, save_checkpoint,
                          write_progress, write_result)
from .early_stopping import EarlyStopping

__all__ = ["LGAN_CODE_VERSION", "PROFILE_SETTINGS", "LGANConfig", "TrainedLGAN", "clip_weights", "critic_loss",
           "critic_score", "evaluate_lgan", "generator_loss", "gradient_penalty", "lgan_config", "predict_masks",
           "summarize_lgan", "train_lgan"]

#: Bump when the LGAN loop changes its result: part of every run's cache key, so old runs retrain.
#: 2: early stopping on validation IoU (``patience``, ``min_delta``), improvement needs > ``min_delta``.
LGAN_CODE_VERSION = 2


@dataclass(frozen=True)
class LGANConfig:
    """Everything that determines a trained LGAN generator (with the dataset key).

    ``epochs`` is the cap; ``patience`` (None: train to the cap) and ``min_delta`` are the early
    stopping rule on validation IoU (a fraction, so 1e-3 = 0.1 IoU point).
    """

    structure: str
    gen_width: int = 64
    gen_depth: int = 4
    width: int = 64
    critic_norm: str = "batch"
    input_size: int = 224
    lipschitz: str = "clip"
    clip_value: float = 0.01
    gp_lambda: float = 10.0
    n_critic: int = 1
    adv_weight: float = 1.0
    regression_real_pair: bool = True
    lr: float = 1e-5
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 5e-4
    batch_size: int = 32
    epochs: int = 30
    augment: bool = False
    seed: int = 0
    patience: int | None = None
    min_delta: float = 1e-3

    def __post_init__(self) -> None:
        if self.structure not in LGAN_STRUCTURES:
            raise ValueError(f"unknown LGAN structure {self.structure!r}; choose one of {', '.join(LGAN_STRUCTURES)}")
        if self.lipschitz not in ("clip", "gp"):
            raise ValueError(f"lipschitz must be 'clip' or 'gp', got {self.lipschitz!r}")
        if self.n_critic < 1 or self.epochs < 1 or self.batch_size < 2:
            raise ValueError(f"need n_critic >= 1, epochs >= 1, batch_size >= 2 (BN); got {self.n_critic}, "
                             f"{self.epochs}, {self.batch_size}")
        self.stopping()  # checks patience and min_delta

    def stopping(self) -> EarlyStopping:
        """The early stopping rule of this config."""
        return EarlyStopping(self.epochs, self.patience, self.min_delta)

    def build(self) -> tuple[LGANGenerator, nn.Module | None]:
        """Untrained generator and critic (None for ``unet``)."""
        return build_lgan(self.structure, width=self.width, gen_width=self.gen_width, gen_depth=self.gen_depth,
                          input_size=self.input_size, critic_norm=self.critic_norm)


#: Per-profile network and optimiser settings (sizes come from `data.lung_slices.lgan_sizes`; the
#: epoch cap and the patience from the profile, see `lgan_config`). The paper's lr 1e-5 learns too
#: little in the few epochs a CPU profile can afford: smoke and quick use 1e-3 (Adam), and the notebook
#: says so. quick: generator 8..128 and critic 8..64 filters; the generator step takes ~175 ms per
#: batch of 4 at 224 px on 2 CPU cores (each run records its ms/iter). Paper: batch 32 is REFERENCE
#: §6's figure; the epochs are not stated.
PROFILE_SETTINGS: dict[str, dict[str, Any]] = {
    "smoke": {"gen_width": 4, "gen_depth": 3, "width": 4, "batch_size": 4, "lr": 1e-3},
    "quick": {"gen_width": 8, "gen_depth": 4, "width": 8, "batch_size": 4, "lr": 1e-3},
    "paper": {"gen_width": 64, "gen_depth": 4, "width": 64, "batch_size": 32, "lr": 1e-5},
}


def lgan_config(structure: str, profile: Any, **overrides: Any) -> LGANConfig:
    """The profile's `LGANConfig` for ``structure`` (``profile``: a `config.Profile` or its name).

    The epoch cap is the profile's ``table_epochs`` and the early stopping patience its ``patience``
    (every model behind a paper's table trains to its validation plateau); ``overrides`` win.
    """
    from ..config import PROFILES
    from ..data.datasets.lung_slices import lgan_sizes

    name = profile if isinstance(profile, str) else profile.name
    if name not in PROFILE_SETTINGS:
        raise ValueError(f"lgan_config: unknown profile {name!r}; choose one of {sorted(PROFILE_SETTINGS)}")
    prof = PROFILES[name] if isinstance(profile, str) else profile
    base = {**PROFILE_SETTINGS[name], "input_size": lgan_sizes(name)["size"], "epochs": prof.table_epochs,
            "patience": prof.patience}
    return LGANConfig(structure=structure, **{**base, **overrides})


@dataclass
class TrainedLGAN:
    """A trained generator (eval mode, CPU), its config, cache key and run record."""

    generator: LGANGenerator
    config: LGANConfig
    key: str
    result: dict[str, Any]


# ------------------------------------------------------------------------------------------ losses
def critic_score(structure: str, critic: nn.Module, mask: torch.Tensor, image: torch.Tensor,
                 truth: torch.Tensor) -> torch.Tensor:
    """The critic's score (B,) of ``mask`` for one structure; ``image`` in [-1, 1], ``truth`` the GT mask."""
    if structure == "basic":
        return critic(mask)
    if structure == "product":
        return critic(mask * (image + 1.0) / 2.0)
    if structure == "early_fusion":
        return critic(torch.cat([image, mask], 1))
    if structure == "late_fusion":
        return critic(mask, image)
    if structure == "regression":
        return critic(mask, truth)
    raise ValueError(f"structure {structure!r} has no critic")


def critic_loss(real: torch.Tensor | None, fake: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss ``E[D(fake)] - E[D(real)]`` (minimised); ``real=None`` keeps the fake term only."""
    return fake.mean() - real.mean() if real is not None else fake.mean()


def generator_loss(logits: torch.Tensor, truth: torch.Tensor, fake: torch.Tensor | None,
                   adv_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """``BCE(sigmoid(logits), truth) - adv_weight * E[D(fake)]`` (eq. 6); ``fake=None`` gives BCE only."""
    bce = F.binary_cross_entropy_with_logits(logits, truth)
    if fake is None:
        return bce, {"bce": float(bce.detach())}
    adv = -fake.mean()
    return bce + adv_weight * adv, {"bce": float(bce.detach()), "g_adv": float(adv.detach())}


def gradient_penalty(score_fn: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     eps: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP term ``E[(||grad_m D(m)|| - 1)^2]`` at ``m = eps * real + (1 - eps) * fake`` (per sample).

    ``score_fn`` maps a mask batch to scores (B,); the gradient is taken with respect to the mask only
    (the CT, when the critic reads it, is the same for real and fake). Multiply by lambda yourself.
    """
    if eps is None:
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1.0 - eps) * fake).detach().requires_grad_(True)
    scores = score_fn(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` to [-c, c] (WGAN weight clipping)."""
    for p in module.parameters():
        p.clamp_(-c, c)


def _critic_step(cfg: LGANConfig, critic: nn.Module, opt_d: torch.optim.Optimizer, x: torch.Tensor,
                 y: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    s = cfg.structure

    def score(m: torch.Tensor) -> torch.Tensor:
        return critic_score(s, critic, m, x, y)

    literal = s == "regression" and not cfg.regression_real_pair
    d_fake = score(fake)
    d_real = None if literal else score(y)
    loss = critic_loss(d_real, d_fake)
    logged = {"d_loss": float(loss.detach()), "d_real": float(d_real.mean().detach()) if d_real is not None else 0.0,
              "d_fake": float(d_fake.mean().detach())}
    if cfg.lipschitz == "gp":
        gp = gradient_penalty(score, y, fake)
        loss = loss + cfg.gp_lambda * gp
        logged["gp"] = float(gp.detach())
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    if cfg.lipschitz == "clip":
        clip_weights(critic, cfg.clip_value)
    return logged


def train_step(cfg: LGANConfig, gen: LGANGenerator, critic: nn.Module | None, opt_g: torch.optim.Optimizer,
               opt_d: torch.optim.Optimizer | None, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """One update: ``n_critic`` critic steps on the detached prediction, then one generator step."""
    logits = gen.logits(x)
    logged: dict[str, float] = {}
    fake_scores = None
    if critic is not None:
        fake = torch.sigmoid(logits).detach()
        for _ in range(cfg.n_critic):
            logged = _critic_step(cfg, critic, opt_d, x, y, fake)
        fake_scores = critic_score(cfg.structure, critic, torch.sigmoid(logits), x, y)
    loss, parts = generator_loss(logits, y, fake_scores, cfg.adv_weight)
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    return {"g_loss": float(loss.detach()), **parts, **logged}


# ------------------------------------------------------------------------------------------ inference
@torch.no_grad()
def predict_masks(gen: LGANGenerator, images: np.ndarray, *, device: str = "auto", batch: int = 16) -> np.ndarray:
    """Lung probabilities (N, 1, S, S) in [0, 1] for images (N, 1, S, S) in [-1, 1]."""
    dev = resolve_device(device)
    gen.eval().to(dev)
    out = [gen(torch.from_numpy(np.ascontiguousarray(images[i : i + batch])).to(dev)).cpu().numpy()
           for i in range(0, len(images), batch)]
    return np.concatenate(out) if out else np.zeros((0, 1) + images.shape[2:], np.float32)


def _mean_iou(prob: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(per_image_metrics(prob[:, 0] > 0.5, truth[:, 0] > 0.5)["iou"]))


def summarize_lgan(per_image: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean and median per slice of IoU and Hausdorff distance (the paper's Table 2 columns).

    Slices where the Hausdorff distance is undefined (empty prediction, non-empty truth) are left out
    of the HD statistics and counted in ``hd_n_undefined``.
    """
    iou, hd = np.asarray(per_image["iou"], float), np.asarray(per_image["hd"], float)
    ok = hd[~np.isnan(hd)]
    return {"iou_mean": float(np.mean(iou)), "iou_median": float(np.median(iou)), "iou_std": float(np.std(iou)),
            "hd_mean": float(np.mean(ok)) if ok.size else float("nan"),
            "hd_median": float(np.median(ok)) if ok.size else float("nan"),
            "hd_n_undefined": int(np.isnan(hd).sum()), "dice_mean": float(np.mean(per_image["dice"])),
            "n": int(iou.size)}


def evaluate_lgan(trained: TrainedLGAN, arrays: SegmentationArrays, *, device: str = "auto",
                  keep_prob: bool = True) -> dict[str, Any]:
    """Predictions (binarised at 0.5) and per-slice metrics on one split, with a summary.

    Returns ``prob`` (N, 1, S, S; left out when ``keep_prob`` is False), ``per_image`` (IoU, Dice,
    Hausdorff in pixels, ...: `metrics.per_image_metrics`), ``summary`` (`summarize_lgan`) and
    ``degenerate`` (per-image all-foreground / all-background / constant flags, `degenerate_images`).
    """
    prob = predict_masks(trained.generator, arrays.image, device=device)
    pred = prob[:, 0] > 0.5
    per_image = per_image_metrics(pred, arrays.binary[:, 0] > 0.5)
    trained.generator.cpu()
    out = {"per_image": per_image, "summary": summarize_lgan(per_image),
           "degenerate": degenerate_images(pred, prob[:, 0])}
    return {"prob": prob, **out} if keep_prob else out


# ------------------------------------------------------------------------------------------ training
def train_lgan(cfg: LGANConfig, dataset: ArraySplits, *, device: str = "auto", progress: bool = True,
               on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None) -> TrainedLGAN:
    """Train (or resume, or load from the cache) one LGAN structure on ``dataset``'s train split.

    Trains until validation IoU has plateaued (``cfg.patience``) or the cap ``cfg.epochs``; keeps the
    best-validation checkpoint. An interrupted run resumes after its last completed epoch and ends with
    the same weights and the same stopping decision as an uninterrupted one (batches seeded per epoch;
    optimisers, best weights and epoch, and torch's RNG checkpointed). Only train and val are read.
    """
    key, folder = lgan_run(cfg, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    with run_lock(folder):  # one process trains a key at a time (softnodule.runs.locks)
        return _load_or_train(cfg, dataset, key, folder, device=device, progress=progress, on_epoch_end=on_epoch_end)


def lgan_run(cfg: LGANConfig, dataset: ArraySplits) -> tuple[str, Path]:
    """The cache key and run folder of ``cfg`` on ``dataset`` (nothing created; the plan reads it)."""
    key = config_hash(cfg, dataset.manifest["key"], {"lgan_code": LGAN_CODE_VERSION})
    return key, cache_dir() / "lgan" / f"{cfg.structure}-{dataset.manifest['spec']['name']}-{key}"


def _load_or_train(cfg: LGANConfig, dataset: ArraySplits, key: str, folder: Path, *, device: str, progress: bool,
                   on_epoch_end: Callable[[int, dict[str, Any]], None] | None) -> TrainedLGAN:
    """`train_lgan` under its run lock."""
    from tqdm.auto import tqdm

    name = dataset.manifest["spec"]["name"]
    dev = resolve_device(device)
    torch.manual_seed(cfg.seed)
    gen, critic = cfg.build()
    done = read_result(folder)
    if done is not None:
        gen.load_state_dict(load_checkpoint(folder / "weights.pt")["generator"])
        return TrainedLGAN(gen.eval(), cfg, key, done)

    train, val = dataset_arrays(dataset, "train"), dataset_arrays(dataset, "val")
    if train.image.shape[-1] != cfg.input_size:
        raise ValueError(f"config input_size {cfg.input_size} != dataset image side {train.image.shape[-1]}")
    gen.to(dev)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    opt_d = None
    if critic is not None:
        critic.to(dev)
        opt_d = torch.optim.Adam(critic.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
        if cfg.lipschitz == "clip":
            clip_weights(critic, cfg.clip_value)
    stopping = cfg.stopping()
    history: list[dict[str, Any]] = []
    start, seconds = 0, 0.0
    best = {"iou": -1.0, "epoch": 0, "state": copy.deepcopy(gen.state_dict())}
    if (folder / "last.pt").exists():
        state = load_checkpoint(folder / "last.pt", dev)
        gen.load_state_dict(state["generator"]), opt_g.load_state_dict(state["opt_g"])
        if critic is not None:
            critic.load_state_dict(state["critic"]), opt_d.load_state_dict(state["opt_d"])
        restore_rng(state["rng"])
        start, history, seconds, best = state["epoch"] + 1, state["history"], state["seconds"], state["best"]

    for epoch in range(start, cfg.epochs):
        if stopping.should_stop(epoch, best["epoch"]):
            break
        t0 = time.perf_counter()
        gen.train()
        if critic is not None:
            critic.train()
        sums: dict[str, float] = {}
        batches = epoch_batches(len(train), cfg.batch_size, seed=cfg.seed, epoch=epoch)
        for step, idx in enumerate(tqdm(batches, desc=f"{cfg.structure} epoch {epoch + 1}/{cfg.epochs}",
                                        disable=not progress, leave=False)):
            arrays = [train.image[idx], train.binary[idx]]
            if cfg.augment:
                arrays = flip_augment(arrays, seed=cfg.seed, epoch=epoch, step=step)
            x, y = (torch.from_numpy(np.ascontiguousarray(a)).to(dev) for a in arrays)
            for k, v in train_step(cfg, gen, critic, opt_g, opt_d, x, y).items():
                sums[k] = sums.get(k, 0.0) + v
        epoch_seconds = time.perf_counter() - t0
        seconds += epoch_seconds
        val_iou = _mean_iou(predict_masks(gen, val.image, device=dev), val.binary)
        if stopping.improved(val_iou, best["iou"]):
            best = {"iou": val_iou, "epoch": epoch + 1, "state": copy.deepcopy(gen.state_dict())}
        row = {"epoch": epoch + 1, **{k: v / len(batches) for k, v in sums.items()}, "val_iou": val_iou,
               "ms_per_iter": 1000.0 * epoch_seconds / len(batches)}
        history.append(row)
        state = {"generator": gen.state_dict(), "opt_g": opt_g.state_dict(), "rng": rng_state(), "epoch": epoch,
                 "history": history, "seconds": seconds, "best": best}
        if critic is not None:
            state |= {"critic": critic.state_dict(), "opt_d": opt_d.state_dict()}
        save_checkpoint(folder / "last.pt", state)
        write_progress(folder, epoch + 1, cfg.epochs, val_iou, seconds)
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)

    gen.load_state_dict(best["state"])
    save_checkpoint(folder / "weights.pt", {"generator": gen.state_dict()})
    result = {"config": asdict(cfg), "key": key, "dataset": name, "dataset_key": dataset.manifest["key"],
              "history": history, **stopping.stop_record(best["epoch"], len(history)), "val_iou": best["iou"],
              "train_seconds": round(seconds, 2), "n_train": len(train), "n_val": len(val), "device": dev,
              "ms_per_iter": float(np.mean([h["ms_per_iter"] for h in history])) if history else None,
              "gen_params": sum(p.numel() for p in gen.parameters()),
              "critic_params": sum(p.numel() for p in critic.parameters()) if critic is not None else 0}
    write_result(folder, result)
    return TrainedLGAN(gen.cpu().eval(), cfg, key, result)
