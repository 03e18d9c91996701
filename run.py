"""Command line of the 1989 miners' strike simulator: it parses, calls the library (`sim.api`) and prints.

python run.py                      # the historical baseline ensemble, results and figures
python run.py run SCENARIO [--replicates N] [--seed S] [--workers W]
python run.py calibrate [--budget small|full] [--install]   # ABC-SMC (default: stage 2, the 1989-1990 targets)
python run.py validate --targets FILE                       # score the calibrated model on any figures
python run.py compare A.toml B.toml ...                     # paired arms and their effects
python run.py thesis [--replicates 200]                     # the essay's claims as experiments: report.md
python run.py sensitivity [--budget small|full]             # Morris, Sobol, knock-outs, robustness map
python run.py explain SCENARIO --date D --town T            # why a town's enterprises struck that day
python run.py plot FOLDER                                   # redraw every figure of a results folder
python run.py rerun FOLDER                                  # run it again and check the results are identical
python run.py viz                                           # the interactive app (Mesa SolaraViz) on localhost
python run.py params               # the parameter table (markdown)
python run.py COMMAND --help
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from sim.inputs.process import threads_and_backend

ROOT = Path(__file__).resolve().parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
TARGETS = ROOT / "calibration" / "targets" / "july1989.csv"
PRIORS = ROOT / "calibration" / "priors_1989_1990.toml"

CALLS = {
    "run": ("run_scenario", ["scenario"], ["targets", "fresh", "tables"]),
    "calibrate": ("calibrate", [], ["priors", "budget", "population", "generations", "minutes", "predictive", "resume", "install"]),
    "validate": ("validate", ["targets"], ["scenario", "reference"]),
    "compare": ("compare", ["scenarios"], ["fork_at", "fresh"]),
    "thesis": ("thesis", [], ["quick", "fork_at", "fresh", "sensitivity", "flip_points", "flip_replicates", "flip_confirm"]),
    "sensitivity": ("sensitivity", [], ["budget", "scenario", "arm", "suite", "priors", "targets"]),
    "explain": ("explain_town", ["scenario"], ["date:day", "town", "replicate"]),
}
"""Each command's library function (`sim.api`), positional and own keyword options (dest[:name]); the shared ones go as a `RunOptions`."""


def cmd_library(args: argparse.Namespace) -> int:
    """Call the command's library function with its options and print the result's report (unless --quiet)."""
    from sim import api

    name, positional, keywords = CALLS[args.command]
    opts = {k.split(":")[-1]: getattr(args, k.split(":")[0]) for k in keywords}
    res = getattr(api, name)(*(getattr(args, k) for k in positional), options=api.RunOptions.from_namespace(args), **opts)
    if not args.quiet and res.text():
        print(res.text())
    return res.status


def cmd_plot(args: argparse.Namespace) -> int:
    """Redraw the figures of a results folder."""
    from sim import api

    res = api.plot(args.folder, arms=[a.strip() for a in args.arms.split(",") if a.strip()] if args.arms else None)
    if not args.quiet:
        print(res.text())
    return 0


def cmd_rerun(args: argparse.Namespace) -> int:
    """Run a results folder's recorded command again and compare every result."""
    from sim import api

    res = api.rerun(args.folder, parse, rtol=args.rtol, options=api.RunOptions.from_namespace(args))
    print(res.text())  # the verdict, even when quiet
    return res.status


def cmd_viz(args: argparse.Namespace) -> int:
    """Serve the interactive app until Ctrl-C."""
    from sim import api

    return api.serve(args.scenario, host=args.host, port=args.port, open_browser=args.open)


def cmd_reference(args: argparse.Namespace) -> int:
    """`params`: the parameter table (markdown), or into the README; `levers`: the lever reference, or into docs/levers.md."""
    from sim import api
    from sim.model.scenario import levers_page

    if args.command == "params":
        text, write, where = api.param_markdown(), args.readme and api.write_param_table, "updated the parameter table in README.md"
    else:
        text, write, where = levers_page(), args.write and api.write_lever_reference, "wrote docs/levers.md"
    if not write:
        print(text, end="")
        return 0
    write()
    print(where)
    return 0


def _on_sigterm(signum, frame) -> None:
    from sim.run.results import Stopped

    raise Stopped("terminated: no result written", code=143)


def _common(p: argparse.ArgumentParser) -> None:
    """Options every command that runs the model shares."""
    p.add_argument("--workers", "-j", type=int, default=None, help="processes (default: all cores; 1 = serial)")
    p.add_argument(
        "--cluster", default=None, help="a Dask scheduler's address, tcp://HOST:PORT, to run on (default: none, local processes)"
    )
    p.add_argument("--out", default=str(ROOT / "results"), help="results root folder (default: results/)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")


class Formatter(argparse.HelpFormatter):
    """Every option's range (`sim.inputs.limits.LIMITS`, the one place) and default in its help text (unless the text states it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        from sim.inputs.limits import LIMITS

        text = (action.help or "") + (f" (range {LIMITS[action.dest].text()})" if action.dest in LIMITS else "")
        d = action.default
        if "default" in text or d is None or d is False or d == argparse.SUPPRESS or not action.option_strings:
            return text
        shown = Path(d).relative_to(ROOT) if isinstance(d, str) and Path(d).is_relative_to(ROOT) else d  # no machine paths
        return f"{text} (default: {shown})"


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (`run.py run: error: ...`) instead of the usage block, exit status 2."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(prog: str = "run.py") -> argparse.ArgumentParser:
    """The argument parser (every command has --help), named `prog` in its usage and errors (`miners-strike` when installed)."""
    parser = Parser(
        prog=prog,
        description=f"Agent-based simulation of the 1989-1991 Soviet miners' strikes. With no command, runs the historical baseline ensemble; options given without a command are those of `run` (see `{prog} run --help`).",
    )
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser(
        "run",
        help="run a scenario ensemble; write results and figures",
        description="Run SCENARIO as an ensemble of replicates and write results/<name>/<UTC time>_<hash>/ with manifest.json, Parquet tables and figures/.",
    )
    p.add_argument("scenario", nargs="?", default=str(BASELINE), help="scenario .toml file (default: scenarios/baseline.toml)")
    p.add_argument("--replicates", "-n", type=int, default=None, help="number of replicates (default: the scenario's)")
    p.add_argument("--seed", "-s", type=int, default=None, help="root seed (default: the scenario's)")
    _common(p)
    p.add_argument("--fresh", action="store_true", help="start anew even if an unfinished run of the same command is on disk")
    p.add_argument("--targets", default=str(TARGETS), help="targets file to score (default: calibration/targets/july1989.csv; '' for none)")
    p.add_argument(
        "--tables", default="figures", help="figures: only the columns figures and summary read (default); all: every observable"
    )
    c = sub.add_parser(
        "calibrate",
        help="fit the model to a priors file's targets by ABC-SMC (pyabc; default: stage 2, the 1989-1990 figures); posterior and fit figures",
        description="ABC-SMC over the priors of a priors file (default: the 1989-1990 stage, calibration/priors_1989_1990.toml) on its targets file. Writes results/calibration/<UTC time>_<hash>/ (posterior.parquet, populations, posterior predictive check, figures, pyabc's abc.db). --install also copies the posterior to calibration/fitted/ with a generated README. A stopped run continues with the same command and --resume.",
    )
    c.add_argument(
        "--priors",
        default=str(PRIORS),
        help="priors file (default: stage 2, calibration/priors_1989_1990.toml; stage 1: calibration/priors.toml)",
    )
    c.add_argument("--budget", default="small", help="small (CI, a few minutes) or full (the committed posterior); default small")
    c.add_argument("--population", type=int, default=None, help="particles per population (default: the budget's)")
    c.add_argument("--generations", type=int, default=None, help="maximum populations (default: the budget's)")
    c.add_argument("--minutes", type=float, default=None, help="ABC wall-time cap, checked between populations (default: the budget's)")
    c.add_argument("--predictive", type=int, default=200, help="replicates of the posterior predictive check (default 200)")
    c.add_argument("--seed", "-s", type=int, default=1989, help="root seed (default 1989)")
    _common(c)
    c.add_argument("--resume", action="store_true", help="continue the newest unfinished run of the same configuration")
    c.add_argument("--install", action="store_true", help="copy the posterior to calibration/fitted/ (what scenarios use)")
    v = sub.add_parser(
        "validate",
        help="score the calibrated model on every row of a targets file (no refitting)",
        description='Run the calibrated model (a scenario with parameters = "posterior", by default the baseline) and score it '
        "on every row of TARGETS: inside the 50% band (25-75% of replicates), inside the 90% band (5-95%), outside, or not scored with the reason (a range is inside when the band holds its midpoint, or the value given with it, or lies wholly within it); the headline counts the hits whose band is informative, the uninformative ones listed apart; each row's weighted interval score, and the skill against a reference forecast (the prior predictive). Prints the table; writes results/validate/<UTC time>_<hash>/ with targets_check.parquet and figures/validation.png.",
    )
    v.add_argument("--targets", required=True, help="targets file (format: calibration/targets/README.md; required, no default)")
    v.add_argument("--scenario", default=str(BASELINE), help="scenario to run (default: scenarios/baseline.toml)")
    v.add_argument("--replicates", "-n", type=int, default=200, help="replicates (default 200)")
    v.add_argument("--seed", "-s", type=int, default=None, help="root seed (default: the scenario's)")
    v.add_argument(
        "--reference",
        choices=("prior", "none"),
        default="prior",
        help="reference forecast for the skill score: prior (the same model, calibrated parameters drawn from the priors; doubles the run time) or none",
    )
    _common(v)
    for name, helptext, desc in (
        (
            "compare",
            "run scenarios as paired arms on the same seeds and parameter draws; effects per pair",
            "Run every SCENARIO on the same replicate seeds and posterior draws (common random numbers), so arms differ only through their levers; the first is the reference. Writes results/compare/<UTC time>_<hash>/ with outcomes, paired effects of the levers (reference minus arm: positive means the reference's lever raised the outcome; median, 90% interval, flips), daily series and figures.",
        ),
        (
            "thesis",
            "run the thesis suite (baseline and eleven counterfactual arms) and write the report",
            "Run the scenario suite of the thesis as paired arms and write results/thesis/<UTC time>_<hash>/report.md: each claim of the essay with its paired effect, threshold, intervals and verdict (supported, contradicted, negligible, undetermined, true by construction) at the dates that matter, the search of the priors for a parameter set that reverses it, a forest plot of the effects and the arms' bands.",
        ),
    ):
        e = sub.add_parser(name, help=helptext, description=desc)
        if name == "compare":
            e.add_argument("scenarios", nargs="+", help="scenario files; the first is the reference arm")
        n_help = "paired replicates per arm" + (", 20 with --quick (default: 200)" if name == "thesis" else "")
        e.add_argument("--replicates", "-n", type=int, default=None if name == "thesis" else 50, help=n_help)
        e.add_argument("--seed", "-s", type=int, default=None, help="root seed (default: the reference scenario's)")
        e.add_argument(
            "--fork-at",
            default=None,
            help="ISO date: every arm goes on from the reference's history on that day (default: none, every arm runs from the start)",
        )
        e.add_argument("--fresh", action="store_true", help="start anew even if an unfinished run of the same command is on disk")
        if name == "thesis":
            e.add_argument(
                "--sensitivity",
                default=None,
                help="sensitivity results folder to read back into the report (default: the newest under --out/sensitivity; '' for none)",
            )
            e.add_argument("--quick", action="store_true", help="a first look: -n 20 --flip-points 8 --flip-replicates 1 --flip-confirm 8")
            for opt, what in (
                ("--flip-points", "parameter sets inside the priors searched for one that reverses each claim (default 32; 0: no search)"),
                ("--flip-replicates", "paired replicates that screen each searched parameter set (default 2)"),
                ("--flip-confirm", "fresh paired replicates confirming a claim's most opposite sets (default: a quarter of -n, 8 to 32)"),
            ):
                e.add_argument(opt, type=int, default=None, help=what)
        _common(e)
    f = sub.add_parser(
        "plot",
        help="redraw every figure of a results folder from its saved tables",
        description="Read a finished results folder (of run, calibrate, validate, compare or thesis) and write all its figures into its figures/ folder, PNG and SVG, from the saved tables and manifest only (no simulation).",
    )
    f.add_argument("folder", help="a results folder, e.g. results/baseline/<UTC time>_<hash>")
    f.add_argument("--arms", default=None, help="compare/thesis: comma-separated arms to show (default: all)")
    f.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    r = sub.add_parser(
        "rerun",
        help="run a results folder's recorded command again and check the results are identical",
        description="Read FOLDER's manifest, run its recorded command again (same seed, same scenario files, no figures) into a scratch folder, and compare every table and report with the recorded ones (byte for byte; tables whose only difference is a wall-clock column are compared without it) and the manifest key by key (timings and executor aside). Prints 'identical' and exits 0, or lists what differs and exits 1. Notes a different git commit or package versions.",
    )
    r.add_argument("folder", help="a results folder, e.g. results/baseline/<UTC time>_<hash>")
    r.add_argument(
        "--workers", "-j", type=int, default=None, help="processes for the rerun (default: all cores; results do not depend on it)"
    )
    r.add_argument(
        "--cluster",
        default=None,
        help="address of a Dask scheduler to rerun on (default: none, local processes; results do not depend on it)",
    )
    r.add_argument(
        "--rtol",
        type=float,
        default=None,
        help="compare tables within this relative tolerance instead of byte for byte (default: bytes; the output says so when set)",
    )
    r.add_argument("--quiet", "-q", action="store_true", help="print only the verdict")
    y = sub.add_parser(
        "sensitivity",
        help="which parameters and mechanisms drive the outcomes and the thesis: Morris, Sobol, knock-outs, robustness map",
        description="Global sensitivity of the key outcomes (Morris screening over every factor, then Sobol indices on those that matter, with SALib), the mechanism knock-out matrix (July 1989 fit and thesis verdicts without each mechanism), and the thesis robustness map (PRIM on the sign of the concession effect over posterior draws and wider ranges). Writes results/sensitivity/<UTC time>_<hash>/ with tables, summary.md and figures; `thesis` reads it back into its report.",
    )
    y.add_argument("--budget", default="small", help="small (a few minutes) or full (about half an hour on 2 cores); default small")
    y.add_argument("--scenario", default=str(BASELINE), help="reference scenario (default: scenarios/baseline.toml)")
    y.add_argument("--arm", default=str(ROOT / "scenarios" / "no_concessions.toml"), help="the no-concessions arm of the concession effect")
    y.add_argument("--suite", nargs="+", default=None, help="scenario files of the knock-out thesis runs (default: the thesis suite)")
    y.add_argument(
        "--priors",
        nargs="*",
        default=[str(ROOT / "calibration" / f) for f in ("priors.toml", "priors_1989_1990.toml")],
        help="priors files: the calibrated factors' ranges (default: both calibration stages; none: '')",
    )
    y.add_argument("--targets", default=str(TARGETS), help="July 1989 targets for the knock-out fit ('' for none)")
    y.add_argument("--seed", "-s", type=int, default=1989, help="root seed (default 1989)")
    _common(y)
    z = sub.add_parser(
        "viz",
        help="serve the interactive app (Mesa SolaraViz) on localhost",
        description="Serve a Mesa SolaraViz page over one replicate of the scenario: the network coloured by strike state and committees by demand stage, the date and strikers, strikers by basin and committees by stage over time; step, play and reset, and sliders for the seed, the levers (concessions, repression, glasnost) and two calibrated parameters. Open the printed address in a browser; Ctrl-C stops the server.",
    )
    z.add_argument("--scenario", default=str(BASELINE), help="scenario file (default: scenarios/baseline.toml)")
    z.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    z.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    z.add_argument("--open", action="store_true", help="also open it in the default browser")
    q = sub.add_parser(
        "params",
        help="print the parameter table (markdown)",
        description="Print every model parameter with unit, mechanism, range, meaning and source.",
    )
    q.add_argument("--readme", action="store_true", help="write the table into README.md between its markers instead of printing it")
    x = sub.add_parser(
        "explain",
        help="why did a town's enterprises strike or go back on a day: the terms of each decision (table and figure)",
        description="Run the per-agent model (the same rules, seed and parameter draw as the engine's replicate) to DATE and print, for every enterprise of TOWN, the terms of that day's decision: readiness and its grievance, paternalism, repression, efficacy, trust and cost terms with the onset hazard's spark, contagion by tie level, news, committee push and call; or the return hazard's order, peers, fatigue, cost and end of a call; with the probability, the draw and the decision. Also the town's and basin's committee: stage, allegiance and why it moved. Writes results/explain/<UTC time>_<hash>/ with both tables and figures/explain.png.",
    )
    x.add_argument("scenario", help="scenario file, e.g. scenarios/baseline.toml")
    x.add_argument("--date", required=True, help="ISO date of the decisions to explain, e.g. 1989-07-12")
    x.add_argument("--town", required=True, help="town name as in the data, e.g. Prokopyevsk")
    x.add_argument("--replicate", type=int, default=0, help="replicate index (its seed and parameter draw are the engine's)")
    x.add_argument("--out", default=str(ROOT / "results"), help="results root folder (default: results/)")
    x.add_argument("--no-figures", action="store_true", help="skip the figure")
    x.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    lv = sub.add_parser(
        "levers",
        help="print the lever reference (every event kind of a scenario, its keys, ranges, defaults, an example)",
        description="Print the reference of the events a scenario's [[events]] may hold, generated from the lever registry, and the baseline's dated events with their sources.",
    )
    lv.add_argument("--write", action="store_true", help="write it to docs/levers.md instead of printing it")
    parser.commands = list(sub.choices)  # for `parse` (argparse has no public list of them)
    funcs = {"plot": cmd_plot, "rerun": cmd_rerun, "viz": cmd_viz, "params": cmd_reference, "levers": cmd_reference}
    for name, sp in sub.choices.items():
        sp.set_defaults(func=funcs.get(name, cmd_library))
    return parser


def parse(argv: list[str], prog: str = "run.py") -> argparse.Namespace:
    """Parse a command line (without the program name); options without a command belong to `run`."""
    parser = build_parser(prog)
    commands = parser.commands
    first = argv[0] if argv else ""
    if first and first not in commands and not first.startswith("-") and not first.endswith(".toml") and not Path(first).exists():
        import difflib

        near = difflib.get_close_matches(first, list(commands), n=1)
        hint = f"did you mean '{near[0]}'? " if near else ""
        parser.exit(2, f"run.py: error: unknown command '{first}'; {hint}commands: {', '.join(commands)} (see run.py --help)\n")
    if argv and argv[0] not in (*commands, "-h", "--help"):
        argv = ["run", *argv]
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *argv])
    return args


def main(argv: list[str] | None = None, prog: str = "run.py") -> int:
    """Entry point: parse, run, and turn bad input into a one-line error (`prog`: the program's name in usage and errors)."""
    threads_and_backend()  # before numpy is imported
    from sim.api.common import cap_workers
    from sim.api.options import check_options
    from sim.inputs.errors import InputError, OptionError
    from sim.run.results import BusyError, Stopped

    words = sys.argv[1:] if argv is None else list(argv)
    args = parse(words, prog)  # the line a folder records is the library's (sim/api/recorded.py): paths relative to the repository
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)  # end pools and keep finished chunks, as on Ctrl-C
    try:
        check_options(args)
        if hasattr(args, "workers"):
            args.workers = cap_workers(args.workers, getattr(args, "cluster", None))
        return args.func(args)
    except (BusyError, InputError, OptionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, BusyError) else 2
    except KeyboardInterrupt as exc:  # wherever it stopped, the one line says what was kept
        print((stop := Stopped.of(exc)).message, file=sys.stderr)
        return stop.code
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except OSError as exc:  # e.g. a read-only or full results folder: nothing half-written is left
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc} (nothing was published; earlier results are untouched)", file=sys.stderr)
        return 1


def entry() -> None:
    """The command (`python run.py`, and the installed `miners-strike`): run `main` and leave with its status.

    A run stopped by Ctrl-C or SIGTERM leaves at once, once its one line is printed and its chunks are
    on disk: the interpreter's exit would otherwise join the stopped process pool's manager thread,
    which can wait forever on a pipe of a worker that was being started when the pool was ended.
    """
    code = main(prog="miners-strike" if Path(sys.argv[0]).name == "miners-strike" else "run.py")  # the installed command's name
    if code in (130, 143):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
