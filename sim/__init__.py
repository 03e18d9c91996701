"""Agent-based simulation of the 1989-1991 Soviet miners' strikes (Mesa 3.5, array engine).

Layers (see README, Architecture): errors, params, rng, network, rules, metrics (0);
interventions, scenario, targets (1); agents (2); model (3); runner (4); plots, results (5).
"""
