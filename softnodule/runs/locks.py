"""One lock per cached run: two workers or two commands never train the same key at once.

The lock is a file in the cache's lock tree (``locks/<kind>/<name>-<key>.lock``, beside ``<kind>/``, so a
run folder and its kind's listing hold only runs) held with an OS file lock
(`filelock`, fcntl/flock): it is released by the kernel when its process dies, so a killed worker never
leaves a stale lock and its job can be retried at once (and resumes from its last finished epoch).
Within one process the lock is re-entrant (one lock object per path), so an executor that claimed a
key can call the training function, which takes the same lock again. On a cluster the cache must be on
a filesystem with working POSIX locks (NFSv4, Lustre, GPFS, BeeGFS): see docs/cluster.md.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

__all__ = ["RunLocked", "holder", "lock_path", "run_lock"]


class RunLocked(RuntimeError):
    """The run's lock is held by another process (it is training that key now)."""


def lock_path(folder: Path) -> Path:
    """``<cache>/locks/<kind>/<run>.lock`` for the run folder ``<cache>/<kind>/<run>``."""
    return folder.parent.parent / "locks" / folder.parent.name / f"{folder.name}.lock"


def _owner_path(folder: Path) -> Path:
    return lock_path(folder).with_suffix(".owner")


def holder(folder: Path) -> dict | None:
    """Who last took the lock (host, pid, time), for messages; None when nobody has."""
    try:
        return json.loads(_owner_path(folder).read_text())
    except (OSError, ValueError):
        return None


def is_held(folder: Path) -> bool:
    """Whether some process (this one included) holds the run's lock now; probes without taking it for long."""
    path = lock_path(folder)
    if not path.exists():
        return False
    probe = FileLock(path, is_singleton=True, thread_local=False)
    if probe.is_locked:  # held by this very process
        return True
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    probe.release()
    return False


@contextmanager
def run_lock(folder: Path, *, blocking: bool = True, timeout: float | None = None) -> Iterator[None]:
    """Hold the lock of the run in ``folder`` for the ``with`` block.

    ``blocking=False`` raises `RunLocked` at once when another process holds it; ``timeout`` (seconds)
    bounds a blocking wait (then `RunLocked`, naming the holder).
    """
    path = lock_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, is_singleton=True, thread_local=False)
    wait = 0 if not blocking else (-1 if timeout is None else timeout)
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        who = holder(folder) or {}
        raise RunLocked(f"{folder.name} is being trained by another process (host {who.get('host', '?')}, "
                        f"pid {who.get('pid', '?')}, since {who.get('since', '?')}); wait for it or run again "
                        "later: the finished run is then loaded from the cache") from None
    try:
        if lock.lock_counter == 1:
            _owner_path(folder).write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                                       "since": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        yield
    finally:
        lock.release()
