"""Shared fixtures: the real-data folder (skip when absent) and the cached nodule index."""

from __future__ import annotations

from pathlib import Path

import pytest

from softnodule.config import shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real public data); tests that need it skip when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is not present (real LIDC/ISBI samples); set SOFTNODULE_SHARED_DATA")
    return path


@pytest.fixture(scope="session")
def lidc_slabs(shared_data: Path) -> Path:
    path = shared_data / "lidc-idri"
    if not path.is_dir():
        pytest.skip("../shared/data/lidc-idri is not present")
    return path


@pytest.fixture(scope="session")
def nodule_index():
    """The full nodule index (built on first use: ~3 minutes on 2 cores, then cached)."""
    from softnodule.data.lidc import load_nodule_index

    return load_nodule_index(progress=False)


def make_disc_dataset(n_train: int = 12, n_val: int = 4, n_test: int = 4, size: int = 32, seed: int = 0):
    """A small built-dataset stand-in: noisy CT-like discs with exact area-fraction Soft Masks.

    Same arrays and manifest keys as `SoftMaskDataset` from the builder, made in milliseconds, so the
    training loops can be tested without rendering.
    """
    import numpy as np

    from softnodule.data.lnsm import SoftMaskDataset

    rng = np.random.default_rng(seed)
    n = n_train + n_val + n_test
    k = 4  # supersampling for the exact area fraction
    yy, xx = np.mgrid[0 : size * k, 0 : size * k] / k
    images, softs = [], []
    for _ in range(n):
        cy, cx = rng.uniform(size * 0.35, size * 0.65, 2)
        r = rng.uniform(size * 0.12, size * 0.25)
        hr = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r).astype(np.float32)
        soft = hr.reshape(size, k, size, k).mean(axis=(1, 3))
        softs.append(soft)
        images.append(-850.0 + 850.0 * soft + rng.normal(0, 25, (size, size)))
    soft = np.stack(softs).astype(np.float32)
    arrays = {
        "image": np.stack(images).astype(np.float32), "soft": soft, "binary": (soft >= 0.5).astype(np.uint8),
        "true_alpha": soft, "consensus": (soft >= 0.5).astype(np.uint8),
        "nodule_id": np.array([f"disc-{i:03d}" for i in range(n)]),
        "split": np.array(["train"] * n_train + ["val"] * n_val + ["test"] * n_test),
    }
    manifest = {"spec": {"name": "discs"}, "key": f"discs-{n_train}-{n_val}-{n_test}-{size}-{seed}",
                "counts": {"train": n_train, "val": n_val, "test": n_test}}
    return SoftMaskDataset(arrays, manifest)


@pytest.fixture()
def disc_dataset():
    return make_disc_dataset()


@pytest.fixture()
def tmp_cache(tmp_path, monkeypatch):
    """A private, empty SOFTNODULE_CACHE for tests that train (keeps the user's cache clean)."""
    monkeypatch.setenv("SOFTNODULE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
