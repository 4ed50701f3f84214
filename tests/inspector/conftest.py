"""Fixtures of the inspector tests: a phantom catalog and, for the browser test, Chromium + the server."""

from __future__ import annotations

import os

import pytest

from inspector_browser import browser_paths, start_chromium


@pytest.fixture(scope="module")
def phantom_catalog(nodule_index):
    """Every nodule of the index through the phantom source (cases rendered on demand)."""
    from softnodule.inspector import open_catalog

    return open_catalog("phantom")


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """A headless Chromium session; skipped where the browser is not installed (failed in CI, where
    ``make test`` installs Debian's chromium and chromium-driver)."""
    binary, driver = browser_paths()
    if binary is None or driver is None:
        missing = " and ".join(n for n, p in (("chromium", binary), ("chromedriver", driver)) if p is None)
        message = f"{missing} not installed (Debian: apt-get install chromium chromium-driver; `make test` does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    session = start_chromium(str(tmp_path_factory.mktemp("chromium-profile")))
    yield session
    session.quit()
