"""Intervals and verdicts: what turns a table of test scores into evidence for or against a claim.

Every trained row has one score per test image per seed. The same test images are scored by every
row of a table, so rows are compared PAIRED, image by image:

* a row's score (`row_stats`): the mean over seeds of the per-image mean (``mean``), the SD of the
  per-seed means (``sd``, the seed noise; None with one seed), and a 95 % percentile-bootstrap CI of
  the mean over images of each image's seed-averaged score (``ci_low``, ``ci_high``);
* a claim "A beats B" (`paired_difference`): per image, A's seed-averaged score minus B's, and a 95 %
  bootstrap CI over images of the mean difference ("bootstrap over images, pooled over seeds");
* a verdict (`verdict`): ``supported`` when the CI lies on the side of zero the paper reports,
  ``contradicted`` when it lies on the other side, ``inconclusive`` when it contains zero.

Undefined per-image values (PPV without a predicted pixel, SEN without a true one: nan, see
`softnodule.metrics`) are averaged over the seeds where they are defined; images undefined in every
seed are left out and counted (``n_undefined``). The bootstrap uses numpy's Generator with a fixed seed,
so every table is reproducible to the last digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import warnings

import numpy as np

#: Bootstrap resamples per interval (the CI's Monte-Carlo error is then ~0.1 points of Dice here).
N_BOOT = 4000
LEVEL = 0.95
VERDICTS = ("supported", "contradicted", "inconclusive")


def _stack(per_seed: Sequence[np.ndarray]) -> np.ndarray:
    arrays = [np.asarray(a, float) for a in per_seed]
    if not arrays:
        raise ValueError("need at least one seed's per-image scores")
    n = {len(a) for a in arrays}
    if len(n) != 1:
        raise ValueError(f"every seed must score the same test images, got lengths {sorted(n)}")
    return np.stack(arrays)


def seed_averaged(per_seed: Sequence[np.ndarray]) -> np.ndarray:
    """Each image's score averaged over the seeds where it is defined (nan where it never is)."""
    s = _stack(per_seed)
    return _nanmean(s, axis=0)


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    """nanmean without the "mean of empty slice" warning (all-nan slices give nan, by design)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def bootstrap_mean_ci(values: np.ndarray, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0
                      ) -> tuple[float, float]:
    """Percentile-bootstrap CI of the mean of ``values`` (nans dropped); (nan, nan) when empty."""
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    if v.size == 1:
        return float(v[0]), float(v[0])
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def row_stats(per_seed: Sequence[np.ndarray], *, scale: float = 100.0, seed: int = 0) -> dict[str, Any]:
    """``mean``, ``sd`` (seed SD), ``image_sd``, ``ci_low``, ``ci_high``, ``n``, ``n_seeds``, ``n_undefined``."""
    s = _stack(per_seed)
    per_image = seed_averaged(per_seed)
    seed_means = _nanmean(s, axis=1)
    defined = ~np.isnan(per_image)
    low, high = bootstrap_mean_ci(per_image, seed=seed)
    return {"mean": scale * float(np.nanmean(seed_means)) if defined.any() else float("nan"),
            "sd": scale * float(np.std(seed_means, ddof=1)) if len(seed_means) > 1 else None,
            "image_sd": scale * float(np.nanstd(per_image)) if defined.any() else float("nan"),
            "ci_low": scale * low, "ci_high": scale * high, "n": int(defined.sum()), "n_seeds": int(len(s)),
            "n_undefined": int((~defined).sum())}


def paired_difference(a_per_seed: Sequence[np.ndarray], b_per_seed: Sequence[np.ndarray], *, scale: float = 100.0,
                      seed: int = 0) -> dict[str, Any]:
    """Mean of A - B over the test images both define, with its bootstrap CI (points when ``scale=100``)."""
    a, b = seed_averaged(a_per_seed), seed_averaged(b_per_seed)
    if a.shape != b.shape:
        raise ValueError(f"A and B must score the same test images, got {a.shape} and {b.shape}")
    d = a - b
    low, high = bootstrap_mean_ci(d, seed=seed)
    defined = ~np.isnan(d)
    return {"diff": scale * float(np.mean(d[defined])) if defined.any() else float("nan"),
            "ci_low": scale * low, "ci_high": scale * high, "n": int(defined.sum()),
            "n_seeds_a": len(a_per_seed), "n_seeds_b": len(b_per_seed)}


def verdict(ci_low: float, ci_high: float, paper_sign: float = 1.0) -> str:
    """``supported`` / ``contradicted`` / ``inconclusive`` for a paper effect of sign ``paper_sign``.

    ``paper_sign`` > 0: the paper reports A above B; < 0: below. A CI touching 0 is inconclusive, and
    so is a paper effect of exactly 0 (nothing to support) or an undefined CI.
    """
    if not np.isfinite(ci_low) or not np.isfinite(ci_high) or paper_sign == 0:
        return "inconclusive"
    if ci_low > ci_high:
        raise ValueError(f"ci_low {ci_low} > ci_high {ci_high}")
    lo, hi = (ci_low, ci_high) if paper_sign > 0 else (-ci_high, -ci_low)
    if lo > 0:
        return "supported"
    if hi < 0:
        return "contradicted"
    return "inconclusive"
