"""Headless Chromium driven by Selenium for the inspector's browser test (Debian's chromium + chromedriver).

Loopback only: the flags below keep Chromium from reaching for any other host (background networking,
component updates, sync), as this workplace's closed network requires.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Callable

import numpy as np

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1000",
                  # name resolution for loopback only: the page cannot reach any other host, even by mistake
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1")


def browser_paths() -> tuple[str | None, str | None]:
    """Paths of the chromium binary and of chromedriver (None where missing)."""
    return shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")


def start_chromium(user_data_dir: str):
    """A headless Chromium session with an empty profile in ``user_data_dir``; browser console logs kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = browser_paths()
    options = webdriver.ChromeOptions()
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # a fixed driver path: Selenium Manager would otherwise try to download one
    return webdriver.Chrome(service=Service(driver, log_output=os.devnull), options=options)


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.25):
    """Poll ``condition`` until it returns something truthy; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def png_pixels(png: bytes) -> np.ndarray:
    """An RGB(A) screenshot as a uint8 array."""
    import matplotlib.image as mpimg

    return (mpimg.imread(io.BytesIO(png), format="png") * 255).round().astype(np.uint8)


def changed_fraction(before: bytes, after: bytes) -> float:
    """Share of pixels that differ between two same-sized screenshots (1.0 when the sizes differ)."""
    a, b = png_pixels(before), png_pixels(after)
    if a.shape != b.shape:
        return 1.0
    return float(np.any(a != b, axis=-1).mean())
