"""Self-supervised SR pretraining (DSNet III-B3): SRGAN on high-resolution CT patches.

The trained generator becomes the frozen teacher of DRTM. Generator and discriminator are updated
in the right order (the discriminator's step uses the detached SR image; the generator's adversarial
term re-runs the updated discriminator), which avoids the in-place autograd error of a widely copied
SRGAN implementation (REFERENCE §3). The first ``warmup_epochs`` train the generator on MSE alone
(the SRResNet initialisation of the SRGAN paper).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import Profile, cache_dir
from ..data.datasets.sr_pairs import SRImageSet, bicubic_upsample, downsample
from ..data.datasets.torch_data import epoch_batches, flip_augment
from ..env import resolve_device
from ..losses import SRGeneratorLoss, SRLossWeights, make_perceptual_loss
from ..models import SRDiscriminator, SRGenerator
from ..runs.locks import run_lock
from .checkpoints import (
    config_hash,
    load_checkpoint,
    read_result,
    restore_rng,
    rng_state,
    save_checkpoint,
    write_progress,
    write_result,
)


@dataclass(frozen=True)
class SRConfig:
    """Everything that determines an SR teacher (with the training images' digest)."""

    factor: int = 4
    width: int = 64
    n_blocks: int = 5
    residual: bool = True  # departure from SRGAN for short budgets; see models.srgan.SRGenerator
    d_width: int = 32
    epochs: int = 10
    warmup_epochs: int = 2
    batch_size: int = 16
    lr: float = 1e-4
    seed: int = 0
    weights: SRLossWeights = field(default_factory=SRLossWeights)

    @staticmethod
    def for_profile(profile: Profile, **overrides: Any) -> SRConfig:
        """The profile's SR settings (factor, width, epochs); warm-up = a quarter of the epochs."""
        base = SRConfig(factor=profile.sr_factor, width=profile.sr_width, epochs=profile.sr_epochs,
                        warmup_epochs=max(profile.sr_epochs // 4, 0 if profile.sr_epochs < 2 else 1))
        return replace(base, **overrides)


@dataclass
class SRTeacher:
    """A trained SR generator (frozen, eval mode) with its config, history and held-out metrics."""

    generator: SRGenerator
    config: SRConfig
    key: str
    result: dict[str, Any]


def images_digest(images: SRImageSet) -> str:
    """Content hash of the training images (part of the cache key)."""
    return hashlib.sha256(np.ascontiguousarray(images.hr).tobytes()).hexdigest()[:16]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(4.0 / mse)  # data range 2 ([-1, 1])


@torch.no_grad()
def super_resolve(generator: SRGenerator, lr: np.ndarray, *, device: str = "auto", batch: int = 32) -> np.ndarray:
    """Run the generator on (N, 1, h, w) low-resolution images in [-1, 1]."""
    dev = resolve_device(device)
    generator.eval().to(dev)
    out = [generator(torch.from_numpy(lr[i : i + batch]).to(dev)).cpu().numpy() for i in range(0, len(lr), batch)]
    return np.concatenate(out)


def evaluate_sr(generator: SRGenerator, images: SRImageSet, factor: int, *, device: str = "auto") -> dict[str, float]:
    """PSNR (dB) and SSIM of SR and of bicubic up-sampling against the high-resolution images."""
    from skimage.metrics import structural_similarity

    hr_t = torch.from_numpy(images.hr)
    lr = downsample(hr_t, factor)
    bic = bicubic_upsample(lr, factor).numpy()
    sr = super_resolve(generator, lr.numpy(), device=device)
    out: dict[str, float] = {"n": len(images)}
    for name, pred in (("sr", sr), ("bicubic", bic)):
        out[f"psnr_{name}"] = float(np.mean([_psnr(p[0], h[0]) for p, h in zip(pred, images.hr)]))
        out[f"ssim_{name}"] = float(np.mean([structural_similarity(p[0], h[0], data_range=2.0)
                                             for p, h in zip(pred, images.hr)]))
    return out


def _batch(images: SRImageSet, idx: np.ndarray, cfg: SRConfig, epoch: int, step: int, dev: str) -> torch.Tensor:
    (hr,) = flip_augment([images.hr[idx]], seed=cfg.seed, epoch=epoch, step=step)
    return torch.from_numpy(hr).to(dev)


def train_sr(cfg: SRConfig, train: SRImageSet, heldout: SRImageSet, *, device: str = "auto", progress: bool = True,
             on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None) -> SRTeacher:
    """Train (or resume, or load) the SR teacher for ``cfg`` on ``train``; report on ``heldout``.

    The run folder is keyed by ``cfg`` and the images' digest: a finished run is loaded, an
    interrupted one resumes after its last completed epoch (same result as an uninterrupted run).
    """

    if len(train) < cfg.batch_size:
        raise ValueError(f"SR pretraining needs at least batch_size={cfg.batch_size} images, got {len(train)}")
    perceptual, notice = make_perceptual_loss()
    key, folder = sr_run(cfg, train, heldout, perceptual=perceptual is not None)
    folder.mkdir(parents=True, exist_ok=True)
    with run_lock(folder):
        return _load_or_train_sr(cfg, train, heldout, key, folder, perceptual, notice, device=device,
                                 progress=progress, on_epoch_end=on_epoch_end)


def sr_run(cfg: SRConfig, train: SRImageSet, heldout: SRImageSet, *, perceptual: bool | None = None
           ) -> tuple[str, Path]:
    """The SR teacher's cache key and run folder (nothing created); ``perceptual`` None: as `train_sr` decides."""
    if perceptual is None:
        perceptual = make_perceptual_loss()[0] is not None
    key = config_hash(cfg, images_digest(train), images_digest(heldout), {"perceptual": perceptual})
    return key, cache_dir() / "sr" / f"srgan-x{cfg.factor}-{key}"


def _load_or_train_sr(cfg: SRConfig, train: SRImageSet, heldout: SRImageSet, key: str, folder: Path, perceptual,
                      notice: str, *, device: str, progress: bool,
                      on_epoch_end: Callable[[int, dict[str, Any]], None] | None) -> SRTeacher:
    """`train_sr` under its run lock."""
    from tqdm.auto import tqdm

    dev = resolve_device(device)
    torch.manual_seed(cfg.seed)
    gen = SRGenerator(cfg.factor, cfg.width, cfg.n_blocks, residual=cfg.residual)
    disc = SRDiscriminator(cfg.d_width)
    done = read_result(folder)
    if done is not None:
        gen.load_state_dict(load_checkpoint(folder / "weights.pt")["generator"])
        return _frozen(gen, cfg, key, done)

    criterion = SRGeneratorLoss(cfg.weights, perceptual)
    gen.to(dev), disc.to(dev)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr)
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr)
    bce = torch.nn.BCEWithLogitsLoss()
    history: list[dict[str, Any]] = []
    start, seconds = 0, 0.0
    if (folder / "last.pt").exists():
        state = load_checkpoint(folder / "last.pt", dev)
        gen.load_state_dict(state["generator"]), disc.load_state_dict(state["discriminator"])
        opt_g.load_state_dict(state["opt_g"]), opt_d.load_state_dict(state["opt_d"])
        restore_rng(state["rng"])
        start, history, seconds = state["epoch"] + 1, state["history"], state["seconds"]

    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        gen.train(), disc.train()
        sums: dict[str, float] = {}
        batches = epoch_batches(len(train), cfg.batch_size, seed=cfg.seed, epoch=epoch)
        adversarial = epoch >= cfg.warmup_epochs
        for step, idx in enumerate(tqdm(batches, desc=f"SR epoch {epoch + 1}/{cfg.epochs}", disable=not progress,
                                        leave=False)):
            hr = _batch(train, idx, cfg, epoch, step, dev)
            sr = gen(downsample(hr, cfg.factor))
            if adversarial:
                opt_d.zero_grad(set_to_none=True)
                d_real, d_fake = disc(hr), disc(sr.detach())
                d_loss = bce(d_real, torch.ones_like(d_real)) + bce(d_fake, torch.zeros_like(d_fake))
                d_loss.backward()
                opt_d.step()
                sums["d_loss"] = sums.get("d_loss", 0.0) + float(d_loss.detach())
                total, parts = criterion(sr, hr, disc(sr))
            else:
                total = torch.nn.functional.mse_loss(sr, hr)
                parts = {"mse": float(total.detach())}
            opt_g.zero_grad(set_to_none=True)
            total.backward()
            opt_g.step()
            sums["g_loss"] = sums.get("g_loss", 0.0) + float(total.detach())
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v)
        seconds += time.perf_counter() - t0
        row = {"epoch": epoch + 1, "gan_phase": adversarial, **{k: v / len(batches) for k, v in sums.items()},
               **{f"heldout_{k}": v for k, v in evaluate_sr(gen, heldout, cfg.factor, device=dev).items() if k != "n"}}
        history.append(row)
        save_checkpoint(folder / "last.pt", {"generator": gen.state_dict(), "discriminator": disc.state_dict(),
                                             "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                                             "rng": rng_state(), "epoch": epoch, "history": history,
                                             "seconds": seconds})
        write_progress(folder, epoch + 1, cfg.epochs, float(row["heldout_psnr_sr"]), seconds)
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)

    save_checkpoint(folder / "weights.pt", {"generator": gen.state_dict()})
    result = {"config": asdict(cfg), "key": key, "history": history, "train_seconds": round(seconds, 2),
              "n_train": len(train), "train_sources": train.counts(), "heldout_sources": heldout.counts(),
              "perceptual_notice": notice, "heldout": evaluate_sr(gen, heldout, cfg.factor, device=dev),
              "device": dev}
    write_result(folder, result)
    return _frozen(gen.cpu(), cfg, key, result)


def _frozen(gen: SRGenerator, cfg: SRConfig, key: str, result: dict[str, Any]) -> SRTeacher:
    gen.eval()
    for p in gen.parameters():
        p.requires_grad_(False)
    return SRTeacher(gen, cfg, key, result)


def teacher_for_profile(profile: Profile, datasets, index, *, use_real: bool = True, progress: bool = True,
                        **overrides: Any) -> tuple[SRTeacher, SRImageSet, SRImageSet]:
    """Render/collect the SR images for ``profile`` and load or train its teacher on them.

    Returns the teacher with its training and held-out images (for tables and panels).
    """
    from ..data.datasets.sr_pairs import sr_training_sets

    cfg = SRConfig.for_profile(profile, **overrides)
    train, held = sr_training_sets(datasets, index, n_phantom=profile.sr_images, size=profile.sr_hr_size,
                                   seed=cfg.seed, use_real=use_real, progress=progress)
    return train_sr(cfg, train, held, progress=progress), train, held
