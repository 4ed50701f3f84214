"""Shared fixtures of the plan / executor tests."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="module")
def run_cache(tmp_path_factory):
    """One cache per test module, seeded with the user's nodule index when there is one (no 4-min rebuild)."""
    from softnodule.config import cache_dir

    root = tmp_path_factory.mktemp("runs") / "cache"
    index = cache_dir() / "nodule_index"
    if index.exists():
        shutil.copytree(index, root / "nodule_index")
    mp_ = pytest.MonkeyPatch()
    mp_.setenv("SOFTNODULE_CACHE", str(root))
    yield root
    mp_.undo()
