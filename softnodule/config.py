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
    """

    name: str
    lnsm_split: tuple[int, int, int]
    lidc_split: tuple[int, int, int]
    crop: int
    sr_factor: int
    epochs: int
    seeds: tuple[int, ...]
    bench_cases: int

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for provenance and cache keys)."""
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "smoke": Profile("smoke", (24, 8, 16), (12, 4, 12), 64, 2, 1, (0,), 24),
    "quick": Profile("quick", (1000, 100, 400), (387, 55, 544), 64, 2, 30, (0,), 200),
    "paper": Profile("paper", (1000, 100, 400), (387, 55, 544), 64, 4, 100, (0, 1, 2), 500),
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


def shared_data_dir() -> Path | None:
    """The team's real-data folder (``SOFTNODULE_SHARED_DATA`` or ``../shared/data``), if present."""
    env = os.environ.get("SOFTNODULE_SHARED_DATA")
    path = Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


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
