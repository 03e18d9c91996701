"""Compiled code cached on disk, dropped when the sources it was compiled from change.

Numba's `cache=True` checks a cached function against its own file only. A compiled function that calls
into other modules (the compiled day calls `sim.model.draws` and `sim.model.observation`, and holds
constants of `sim.model.state`) would, after a change to one of those alone, run its old code. `drop_stale`
keeps a stamp of every source of `sim/model` next to the cache and drops a module's cached code when
the stamp differs; the next call compiles it again (once).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SOURCES = Path(__file__).parent
"""The folder whose modules' sources the stamp covers."""


def drop_stale(dispatcher, where: Path | None = None) -> bool:
    """Drop the cached code of `dispatcher`'s module if a source of `SOURCES` changed since it was cached; true if dropped.

    `where`: the cache folder (by default the dispatcher's own; none if it is not cached). A cache that
    cannot be written is left alone (numba then compiles in memory).
    """
    if where is None:
        where = getattr(dispatcher._cache, "_cache_path", None)  # (numba's cache locator: in-tree or NUMBA_CACHE_DIR)
        if where is None:
            return False
    where = Path(where)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(SOURCES.glob("*.py")))).hexdigest()
    stamp = where / "sim_model_sources.sha256"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == digest:
        return False
    module = dispatcher.py_func.__module__.rsplit(".", 1)[-1]
    try:
        for f in where.glob(f"{module}.*.nb[ic]"):
            f.unlink(missing_ok=True)
        tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}")
        tmp.write_text(digest, encoding="utf-8")
        os.replace(tmp, stamp)  # (whole: a process beside this one reads the old stamp or the new)
    except OSError:
        return False
    return True
