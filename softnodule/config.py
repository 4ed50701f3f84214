"""Profiles, paths and seeds: the one place every notebook, test and command reads them from.

Profiles (DESIGN "Profiles"): ``smoke`` for tests and CI (tiny, meaningless numbers), ``quick`` for
a laptop CPU (honest numbers at reduced size), ``paper`` for the papers' settings (a GPU workload).
``SOFTNODULE_PROFILE`` overrides a notebook's ``profile`` parameter so nbval runs the smoke profile.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: The repository root (the folder holding ``softnodule/``, ``notebooks/``, ``results/``...).
REPO_ROOT = Path(__file__).resolve().parent.parent

PROFILE_NAMES = ("smoke", "quick", "paper")


@dataclass(frozen=True)
class Profile:
    """Sizes and knobs of one profile.

    Attributes
    ----------
    name : str
        ``smoke``, ``quick`` or ``paper``.
    lnsm_split : (int, int, int)
        LNSM-style train / val / test nodules (paper: 1000 / 100 / 400).
    lidc_split : (int, int, int)
        LIDC-style train / val / test nodules (paper: 387 / 55 / 544).
    crop : int
        Crop side in pixels (paper: 64).
    sr_factor : int
        Super-resolution factor (paper: 4).
    epochs : int
        Training epochs for segmentation models.
    seeds : tuple of int
        Seeds per configuration.
    bench_cases : int
        Phantom crops scored in the matting benchmark / accuracy tables.
    width : int
        Base width of the segmentation backbones (paper: 64, widths 64-128-256-512-512).
    depth : int
        Down-sampling stages of the backbones (paper: 5 at 256x256; 4 suits 64x64 inputs).
    batch_size : int
        Segmentation batch size (paper: 4).
    sr_width : int
        Feature channels of the SR generator; DRTM reads them (paper: 64).
    sr_epochs : int
        SR pretraining epochs.
    sr_images : int
        Phantom high-resolution images rendered for SR pretraining (real CT slices are added when present).
    sr_hr_size : int
        Side of the high-resolution SR training patches (the low-resolution side is this / sr_factor).
    table_epochs : int
        Maximum training epochs of every model behind the paper's tables (notebooks 04-14); runs stop
        earlier once validation Dice has plateaued (``patience``).
    patience : int or None
        Early stopping: epochs without a validation gain (> 0.1 Dice point) after which a run stops.
    d_width : int
        Channels of the pixel discriminator's first layer (paper: 64, pix2pix's default); scaled with
        ``width`` below the paper profile (measured: ~12 % of a quick DSNet step at 64).
    claim_seeds : tuple of int
        Seeds of every row a paper's claim rests on (each ablation step and its predecessor, DSNet vs
        U-Net and vs the best baseline, ...); the other rows train ``seeds``.
    """

    name: str
    lnsm_split: tuple[int, int, int]
    lidc_split: tuple[int, int, int]
    crop: int
    sr_factor: int
    epochs: int
    seeds: tuple[int, ...]
    bench_cases: int
    width: int = 16
    depth: int = 4
    batch_size: int = 4
    sr_width: int = 32
    sr_epochs: int = 10
    sr_images: int = 800
    sr_hr_size: int = 64
    table_epochs: int = 3
    patience: int | None = None
    claim_seeds: tuple[int, ...] = (0,)
    d_width: int = 64

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for provenance and cache keys)."""
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", (24, 8, 16), (12, 4, 12), crop=64, sr_factor=2, epochs=1, seeds=(0,), bench_cases=24,
                     width=4, depth=2, batch_size=4, sr_width=8, sr_epochs=1, sr_images=24, sr_hr_size=32, table_epochs=1,
                     patience=1, claim_seeds=(0, 1), d_width=8),
    # quick: a laptop CPU. Every run trains to its validation plateau (patience 4, cap 30 epochs); claim
    # rows get 3 seeds. The run report (results/quick/run_report.json) holds the measured time per table.
    "quick": Profile("quick", (1000, 100, 400), (387, 55, 544), crop=64, sr_factor=2, epochs=30, seeds=(0,),
                     bench_cases=200, width=16, depth=4, batch_size=4, sr_width=32, sr_epochs=12, sr_images=800,
                     sr_hr_size=64, table_epochs=30, patience=4, claim_seeds=(0, 1, 2), d_width=16),
    "paper": Profile("paper", (1000, 100, 400), (387, 55, 544), crop=64, sr_factor=4, epochs=100, seeds=(0, 1, 2),
                     bench_cases=500, width=64, depth=5, batch_size=4, sr_width=64, sr_epochs=40, sr_images=4000,
                     sr_hr_size=128, table_epochs=100,
                     patience=10, claim_seeds=(0, 1, 2)),
}

#: Seed used when a caller gives none.
DEFAULT_SEED = 0


def get_profile(name: str | None = None) -> Profile:
    """Resolve a profile: ``SOFTNODULE_PROFILE`` wins over ``name``; default ``quick``.

    Raises
    ------
    ValueError
        For an unknown profile name, listing the valid ones.
    """
    chosen = os.environ.get("SOFTNODULE_PROFILE") or name or "quick"
    if chosen not in PROFILES:
        raise ValueError(f"unknown profile {chosen!r}; choose one of {', '.join(PROFILE_NAMES)}")
    return PROFILES[chosen]


def cache_dir() -> Path:
    """Content-addressed cache root: ``SOFTNODULE_CACHE`` or the platform's user cache folder."""
    env = os.environ.get("SOFTNODULE_CACHE")
    if env:
        path = Path(env).expanduser()
    else:
        from platformdirs import user_cache_dir

        path = Path(user_cache_dir("softnodule", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir(profile: str) -> Path:
    """``results/<profile>/`` (created)."""
    path = REPO_ROOT / "results" / profile
    path.mkdir(parents=True, exist_ok=True)
    return path


def figures_dir(profile: str) -> Path:
    """``figures/<profile>/`` (created)."""
    path = REPO_ROOT / "figures" / profile
    path.mkdir(parents=True, exist_ok=True)
    return path
