"""Run a small LAPACK call with OpenBLAS limited to one thread, without extra dependencies.

Why: the banded Cholesky of the matting solve is a chain of tiny BLAS calls. With OpenBLAS's
default thread pool on a loaded machine (e.g. several batch workers on 2 cores) every call waits
for descheduled worker threads: measured here, a 256-unknown banded solve took 2.8 s instead of
0.1 ms, and a 6016-unknown one 0.5-4 s instead of 5-10 ms. One thread is also the fastest
setting for these sizes on an idle machine.

The OpenBLAS copies already loaded into the process are found in ``/proc/self/maps`` (Linux) and
their ``*_set_num_threads`` entry points called through ctypes, the same mechanism threadpoolctl
uses. Anywhere this does not work (another OS, MKL, no symbol) it does nothing. Not thread-safe
against other Python threads changing the BLAS thread count at the same time.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager

_Pair = tuple[ctypes._CFuncPtr, ctypes._CFuncPtr]  # (get, set)
_CONTROLS: list[_Pair] | None = None


def _find_controls() -> list[_Pair]:
    controls: list[_Pair] = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower() and "/" in ln})
    except OSError:
        return controls
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("", "64_"):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype = ctypes.c_int
                    get.argtypes = []
                    put.restype = None
                    put.argtypes = [ctypes.c_int]
                    controls.append((get, put))
                    break
            else:
                continue
            break
    return controls


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Limit every loaded OpenBLAS to one thread inside the block; restore afterwards."""
    global _CONTROLS
    if _CONTROLS is None:
        _CONTROLS = _find_controls()
    saved = []
    for get, put in _CONTROLS:
        try:
            n = int(get())
            if n != 1:
                put(1)
                saved.append((put, n))
        except Exception:  # noqa: BLE001 - a foreign BLAS must never break the solve
            continue
    try:
        yield
    finally:
        for put, n in saved:
            put(n)
