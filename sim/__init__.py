"""Agent-based simulation of the 1989-1991 Soviet miners' strikes (Mesa 3.5, array engine).

Layers (see README, Architecture): errors, params, rng, network, rules, metrics, posterior (0);
interventions, scenario, targets (1); agents (2); model (3); runner (4); calibration, plots,
results (5).
"""

import os

# One BLAS thread per process: the engine's matrix products are small, and ensembles and
# calibration already keep every core busy with one process each; threaded BLAS on top of that
# made a calibration step twice as slow here (measured). Set before numpy is first imported;
# a value the user exported wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
