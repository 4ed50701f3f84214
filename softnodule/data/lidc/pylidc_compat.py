"""Make pylidc 0.2.3 (the newest release, 2019) import and run on today's stack, in one place.

pylidc breaks on current packages (REFERENCE §5):

* ``import pkg_resources`` at import time: setuptools >= 82 no longer ships it;
* ``configparser.SafeConfigParser``: removed in Python 3.12;
* ``np.int`` / ``np.float`` (and ``np.bool`` on numpy 1.24-1.26): removed aliases;
* ``matplotlib.cm.cmap_d``: removed (only used by ``Annotation.visualize_in_3d``).

The fix is surgical: numpy itself is never touched (overwriting ``np.bool`` globally breaks
``numpy.ma`` on numpy 2). Instead each pylidc module's ``np`` name is pointed at a small proxy
that forwards everything to numpy and answers the three removed aliases with the Python builtins
they always meant. ``pkg_resources`` is provided only when it cannot be imported, and only with the
one function pylidc calls. pylidc's habit of writing ``~/.pylidcrc`` is never triggered: softnodule
locates DICOM itself (`softnodule.data.sources.lidc_dicom`).
"""

from __future__ import annotations

import configparser
import importlib
import importlib.resources
import sys
import types
import warnings
from typing import Any

import numpy as np

_PYLIDC_MODULES = ("Annotation", "Contour", "Scan", "Zval", "utils", "annotation_distance_metrics")
_REMOVED_NUMPY_ALIASES = {"int": int, "float": float, "bool": bool}


class _NumpyWithAliases(types.ModuleType):
    """numpy, as pylidc expects it: forwards every attribute, plus the removed scalar aliases."""

    def __init__(self) -> None:
        super().__init__("numpy")

    def __getattr__(self, name: str) -> Any:
        if name in _REMOVED_NUMPY_ALIASES:
            return _REMOVED_NUMPY_ALIASES[name]
        return getattr(np, name)


def _provide_pkg_resources() -> None:
    """Register a minimal ``pkg_resources`` (``resource_filename`` only) if the real one is gone."""
    try:
        import pkg_resources  # noqa: F401  (present on older setuptools: use it)

        return
    except ImportError:
        pass
    shim = types.ModuleType("pkg_resources")

    def resource_filename(package: str, resource: str) -> str:
        return str(importlib.resources.files(package).joinpath(resource))

    shim.resource_filename = resource_filename  # type: ignore[attr-defined]
    shim.__doc__ = "softnodule's stand-in: pylidc only needs resource_filename."
    sys.modules["pkg_resources"] = shim


def _provide_safe_config_parser() -> None:
    if not hasattr(configparser, "SafeConfigParser"):
        configparser.SafeConfigParser = configparser.ConfigParser  # type: ignore[attr-defined]


def import_pylidc() -> types.ModuleType:
    """Import pylidc with the compatibility fixes applied (idempotent).

    Returns
    -------
    module
        The ``pylidc`` module, ready for queries, masks, consensus and clustering.

    Raises
    ------
    ImportError
        If pylidc is not installed, with the install command.
    """
    if "pylidc" in sys.modules and getattr(sys.modules["pylidc"], "_softnodule_compat", False):
        return sys.modules["pylidc"]
    _provide_pkg_resources()
    _provide_safe_config_parser()
    try:
        with warnings.catch_warnings():
            # SQLAlchemy 2 warns about pylidc's 1.x-style declarative base; harmless.
            warnings.simplefilter("ignore")
            pylidc = importlib.import_module("pylidc")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("pylidc is not installed: run `pip install pylidc` (or `make test`)") from exc
    proxy = _NumpyWithAliases()
    for name in _PYLIDC_MODULES:
        module = sys.modules.get(f"pylidc.{name}")
        if module is None:
            try:
                module = importlib.import_module(f"pylidc.{name}")
            except ImportError:
                continue
        if getattr(module, "np", None) is np:
            module.np = proxy
        plt = getattr(module, "plt", None)
        if plt is not None and not hasattr(plt.cm, "cmap_d"):
            import matplotlib

            plt.cm.cmap_d = matplotlib.colormaps  # only missing attribute added, nothing replaced
    pylidc._softnodule_compat = True
    return pylidc
