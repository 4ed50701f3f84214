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
