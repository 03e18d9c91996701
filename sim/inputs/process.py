"""What a command line sets up in its process before numpy is first imported (the library itself never does)."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def threads_and_backend() -> None:
    """One BLAS thread per process, and a matplotlib backend that needs no screen.

    The engine's matrix products are small, and ensembles and calibration already keep every core
    busy with one process each; threaded BLAS on top of that made a calibration step twice as slow
    here (measured). Worker processes inherit the setting. A value the user exported wins.
    """
    for var in BLAS_THREADS:
        os.environ.setdefault(var, "1")
    # a run stopped by Ctrl-C leaves at once (`run.entry`); multiprocessing's resource tracker then unlinks the
    # pool's semaphores itself, and its warning about them would be a second line after the one the user reads
    sys.warnoptions.append("ignore:resource_tracker:UserWarning")
    os.environ["MPLBACKEND"] = "Agg"  # read when matplotlib is first imported (here and in worker processes)


_POOL: list[ThreadPoolExecutor] = []
"""The threads that share a batch's replicates (made on first use, one per core, idle between days)."""


def default_threads() -> int:
    """Threads a batch's day is split over when none is asked: every core in the main thread of a main process, else 1.

    A chunk already running on a thread of an ensemble, a pool's worker process or a Dask task leaves
    the other cores to the chunks beside it.
    """
    main = threading.current_thread() is threading.main_thread() and multiprocessing.parent_process() is None
    return (os.cpu_count() or 1) if main else 1


def by_rows(threads: int, r: int, part: Callable[[slice], None]) -> None:
    """Call `part(rows)` on up to `threads` contiguous slices of the R replicates, side by side on threads.

    The compiled day and observation release the GIL and compute each replicate alone, in a fixed
    order, so the result is the same bit for bit on any number of threads.
    """
    t = max(1, min(threads, r))
    if t == 1:
        part(slice(None))
        return
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="kernel"))
    edges = [r * j // t for j in range(t + 1)]
    futures = [_POOL[0].submit(part, slice(edges[j], edges[j + 1])) for j in range(1, t)]
    try:
        part(slice(edges[0], edges[1]))
    finally:
        wait(futures)  # (a part that failed here leaves none still writing)
    for f in futures:
        f.result()
