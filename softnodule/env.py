"""What this run is running on: package versions, device, git commit (for printouts and provenance)."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from typing import Any

from .config import REPO_ROOT

_PACKAGES = ("softnodule", "torch", "numpy", "scipy", "opencv-python-headless", "pymatting", "pydicom", "pylidc",
             "matplotlib", "ipywidgets", "papermill", "nbval", "tqdm", "torchvision")


def package_versions() -> dict[str, str | None]:
    """Installed version of every package the companion relies on (None when absent)."""
    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is usable, else ``"cpu"``; anything else unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def device_description(device: str = "auto") -> str:
    """Human-readable device: GPU name or CPU model and thread count."""
    import torch

    dev = resolve_device(device)
    if dev.startswith("cuda"):
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"


def git_commit() -> dict[str, Any]:
    """Current commit and whether the code has uncommitted changes (None outside a git checkout)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
        # dirty = the CODE differs from the commit; the run's own outputs (results/, figures/) do not count
        status = ["git", "status", "--porcelain", "--", ".", ":!results", ":!figures"]
        dirty = bool(subprocess.run(status, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip())
        return {"commit": sha, "dirty": dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def environment_summary() -> dict[str, Any]:
    """Python, platform, device, versions and git state in one dict."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": device_description(),
        "packages": package_versions(),
        **git_commit(),
    }


def torchvision_status() -> str:
    """Whether torchvision imports (it is optional: the CPU-only Linux wheel often does not)."""
    try:
        import torchvision  # noqa: F401

        return "available"
    except Exception as exc:  # broad: a broken CUDA wheel raises OSError/RuntimeError, not ImportError
        return f"unavailable ({type(exc).__name__}); VGG perceptual loss will be skipped"
