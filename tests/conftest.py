"""Shared fixtures: the team's real-data folder (skip when absent) and the cached nodule index.

The package knows only its own environment variables, options and fetch cache; the team's sample
data (``<repo>/../shared/data``) is named HERE, never in ``softnodule/``. `pytest_configure` points
the package's variables at it (without overriding a user's own settings), so that tests and the
Jupyter kernels nbval starts (which inherit the environment) read it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: The team's real-data folder, next to the repository (tests may name it; the package may not).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: The public LIDC max-slice crops (mtzig/LIDC_GDRO data files) inside it.
LIDC_CROPS_ARCHIVE = SHARED_DATA / "lidc-maxslice" / "LIDC_GDRO-4c2ed18-data.tar.gz"

#: Package variable -> the shared path it is set to (only when that path exists).
SHARED_ENV = {
    "SOFTNODULE_LIDC_DIR": SHARED_DATA / "lidc-idri",
    "SOFTNODULE_ISBI_DIR": SHARED_DATA / "isbi2012",
    "SOFTNODULE_LIDC_CROPS": LIDC_CROPS_ARCHIVE,
}


def pytest_configure(config: pytest.Config) -> None:
    """Point the package's data variables at the shared folder when it exists (a user's own value wins)."""
    if not SHARED_DATA.is_dir():
        return
    for name, path in SHARED_ENV.items():
        if path.exists():
            os.environ.setdefault(name, str(path))


#: Seconds nbval waits for each of a kernel's output messages once a cell has replied. nbval hard-codes 5
#: (computationalmodelling/nbval issues 136 and 231: too short on a busy CI machine); a clean-clone run on
#: 2026-12-07 failed once so in notebook 12 (cell 9, a cell that trains), and passed on rerun. Each cell
#: stays bounded by ``--nbval-cell-timeout`` (2000 s).
NBVAL_OUTPUT_TIMEOUT_S = 60


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give nbval's cells `NBVAL_OUTPUT_TIMEOUT_S` to deliver their outputs (see above)."""
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's IPyNbCell
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT_S


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not present ({what}); this test needs the team's sample data next to the repository")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``<repo>/../shared/data`` (real public data); tests that need it skip when it is absent."""
    return _need(SHARED_DATA, "real LIDC / ISBI / DeepLesion samples")


@pytest.fixture()
def lidc_slabs(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real LIDC-IDRI slabs (patients 0001 and 0002), also set as ``SOFTNODULE_LIDC_DIR`` for the test.

    Setting the variable here (not only in `pytest_configure`) makes a test that asks for the slabs read
    exactly them, even when the user's environment points ``SOFTNODULE_LIDC_DIR`` at a full download.
    """
    path = _need(shared_data / "lidc-idri", "real LIDC-IDRI DICOM slabs")
    monkeypatch.setenv("SOFTNODULE_LIDC_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def lidc_crops_archive(shared_data: Path) -> Path:
    """The LIDC max-slice crops archive (``LIDC_GDRO-4c2ed18-data.tar.gz``); skip when absent."""
    return _need(LIDC_CROPS_ARCHIVE, "public LIDC max-slice crops archive")


@pytest.fixture(scope="session")
def deeplesion_samples(shared_data: Path) -> Path:
    """The DeepLesion sample folder (``Images_png/``, ``DL_info_subset.csv``, 8-bit key slices); skip when absent."""
    return _need(shared_data / "deeplesion-samples", "DeepLesion samples")


@pytest.fixture(scope="session")
def nodule_index():
    """The full nodule index (built on first use: ~3 minutes on 2 cores, then cached)."""
    from softnodule.data.lidc.index import load_nodule_index

    return load_nodule_index(progress=False)


def make_disc_dataset(n_train: int = 12, n_val: int = 4, n_test: int = 4, size: int = 32, seed: int = 0):
    """A small built-dataset stand-in: noisy CT-like discs with exact area-fraction Soft Masks.

    Same arrays and manifest keys as `SoftMaskDataset` from the builder, made in milliseconds, so the
    training loops can be tested without rendering.
    """
    import numpy as np

    from softnodule.data.datasets.builder import SoftMaskDataset

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
