"""Agent-based simulation of the 1989-1991 Soviet miners' strikes (Mesa 3.5, a compiled engine).

Layers, each a folder (see docs/design.md): `inputs` (errors, option limits, parameters, seeds and
streams, data files, the network, posteriors); `model` (the state declared once, the compiled day,
observables, levers and scenarios, the Mesa agents and model, the array engine); `run` (ensembles,
arms, results folders); `analysis` (targets, calibration, experiments, explanations, sensitivity,
flips); `figures` (plots and the app); `api` (one function per command, what run.py calls).
`tests/unit/test_architecture.py` checks that a module imports only from the layers above it.

Importing the library changes nothing in the user's process: it chooses no matplotlib backend and
sets no environment variable. The command line (`run.py`, `sim.inputs.process.threads_and_backend`) does both.
"""
