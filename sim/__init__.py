"""Agent-based simulation of the 1989-1991 Soviet miners' strikes (Mesa 3.5, array engine).

Layers (see README, Architecture): errors, process, limits, params, rng, datafiles, network, rules,
kernel, metrics, posterior (0); interventions, scenario, targets (1); agents (2); agentmodel (2.5);
model (3); runner (4); calibration, experiments, plots, plots_analysis, plots_app, results (5);
explain (5.2); sensitivity (5.5); flips (5.6); figures (6); viz (7); the package api (8: one
function per command, what run.py calls). `tests/unit/test_architecture.py` holds the table.

Importing the library changes nothing in the user's process: it chooses no matplotlib backend and
sets no environment variable. The command line (`run.py`, `sim.process.threads_and_backend`) does both.
"""
