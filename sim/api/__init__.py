"""The library API: one function per command, each returning a typed result (its `text()` is what the command line prints).

    from sim import api
    res = api.run_scenario("scenarios/baseline.toml", replicates=20)   # -> RunResult (folder, scores, ...)
    res = api.validate("calibration/targets/july1989.csv")             # -> ValidateResult (scores, skill)
    res = api.compare(["scenarios/baseline.toml", "scenarios/no_concessions.toml"])   # -> ArmsResult (effects)
    res = api.thesis(replicates=200)                                   # -> ArmsResult (verdicts, flips, report.md)
    res = api.calibrate(budget="small")                                # -> CalibrateResult (posterior summary, scores)
    res = api.sensitivity(budget="small")                              # -> SensitivityResult (Morris, Sobol, knock-outs)
    res = api.explain_town("scenarios/baseline.toml", day="1989-07-15", town="Prokopyevsk")

Each writes one results folder (`sim.run.results.ResultsFolder`: unfinished folder and resume, chunks,
manifest with the command passed in, figures, publishing) and returns it as `res.folder`. The
options every command shares (replicates, seed, workers, cluster, out, draw_figures, quiet, command)
are one frozen `RunOptions`, given as keywords or as `options=RunOptions(...)` and checked when made;
every numeric option's range is in `sim.inputs.limits.LIMITS`. `quiet=False` shows progress bars and notes
on standard error. `run.py` only parses a command line into these calls and prints `res.text()`.
"""

from sim.api.arms import THESIS_SUITE, ArmsResult, compare, thesis
from sim.api.calibrate import CalibrateResult, calibrate
from sim.api.common import Result
from sim.api.ensemble import RunResult, ValidateResult, run_scenario, validate
from sim.api.options import LIMITS, RunOptions, check_options
from sim.api.rerun import RerunResult, rerun
from sim.api.sensitivity import SensitivityResult, sensitivity
from sim.api.tools import (
    ExplainResult,
    PlotResult,
    explain_town,
    param_markdown,
    plot,
    serve,
    write_lever_reference,
    write_param_table,
    write_thesis_answer,
)

__all__ = [
    "LIMITS",
    "THESIS_SUITE",
    "ArmsResult",
    "CalibrateResult",
    "ExplainResult",
    "PlotResult",
    "RerunResult",
    "Result",
    "RunOptions",
    "RunResult",
    "SensitivityResult",
    "ValidateResult",
    "calibrate",
    "check_options",
    "compare",
    "explain_town",
    "param_markdown",
    "plot",
    "rerun",
    "run_scenario",
    "sensitivity",
    "serve",
    "thesis",
    "validate",
    "write_lever_reference",
    "write_param_table",
    "write_thesis_answer",
]
