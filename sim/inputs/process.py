"""What a command line sets up in its process before numpy is first imported (the library itself never does)."""

from __future__ import annotations

import os
import sys

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
