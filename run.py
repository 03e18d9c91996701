"""Command line of the 1989 miners' strike simulator: thin glue over `sim/`.

python run.py                      # the historical baseline ensemble, results and figures
python run.py run SCENARIO [--replicates N] [--seed S] [--workers W]
python run.py params               # the parameter table (markdown)
python run.py COMMAND --help
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
TARGETS = ROOT / "calibration" / "targets" / "july1989.csv"


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario ensemble and write its results folder."""
    import pandas as pd

    from sim import plots, results
    from sim.metrics import first_and_last
    from sim.runner import run_ensemble, world_for
    from sim.scenario import check_against, load_scenario
    from sim.targets import load_targets, score, series

    sc = load_scenario(args.scenario)
    targets = load_targets(args.targets) if args.targets else []
    reps = sc.replicates if args.replicates is None else args.replicates
    seed = sc.seed if args.seed is None else args.seed
    if reps < 1:
        raise _usage("--replicates must be at least 1")
    if seed < 0:
        raise _usage("--seed must be non-negative")
    if args.workers is not None and args.workers < 1:
        raise _usage("--workers must be at least 1")
    sc = sc.with_changes(replicates=reps, seed=seed)  # the manifest records what actually ran
    world = world_for(sc.data)  # checks the data files before any work (run_ensemble reuses it)
    check_against(sc, world)
    t0 = time.perf_counter()
    tables, seeds = run_ensemble(sc, reps, seed, workers=args.workers)
    elapsed = time.perf_counter() - t0
    out_root = Path(args.out)
    tmp, final = results.new_folder(out_root, sc.name, sc.digest())
    try:
        events = first_and_last(tables.basin, str(sc.start), str(sc.end))
        scores = score(targets, tables.basin, tables.town) if targets else pd.DataFrame()
        out_tables = {"daily_basin": tables.basin, "daily_republic": tables.republic, "daily_town": tables.town, "basin_events": events}
        if targets:
            out_tables["targets_check"] = scores
        results.write_tables(tmp, out_tables)
        scenario_dict = sc.to_dict()
        scenario_dict["path"], scenario_dict["data"] = _rel(sc.path), _rel(sc.data)
        manifest = {
            "experiment": sc.name,
            "scenario_file": _rel(args.scenario),
            "scenario": scenario_dict,
            "root_seed": seed,
            "replicates": reps,
            "replicate_seeds": seeds,
            "git_commit": results.git_commit(ROOT),
            "versions": results.versions(),
            "command": results.command_line(),
            "data_files_sha256": world.files,
            "enterprises": world.n,
            "run_seconds": round(elapsed, 2),
            "tables": {
                "daily_basin": "one row per replicate, date and basin: strikers, enterprises on strike, committees by level and stage, workforce shares by stage, efficacy, trust, relief promised and carried out, concessions",
                "daily_republic": "one row per replicate, date and republic: separatism index, strikers, workforce shares by demand stage",
                "daily_town": "one row per replicate, date and town, over the calibration window (first 62 days): strikers, enterprises on strike",
                "basin_events": "per replicate and basin: date of the first strike and of the first day back to no strike",
                "targets_check": "each row of the targets file against the ensemble: simulated quantiles on its date, inside the 50% and 90% bands",
            },
            "targets_file": _rel(args.targets) if args.targets else None,
        }
        if not args.no_figures:
            tdf = pd.DataFrame([t.__dict__ for t in targets]) if targets else None
            figs = [
                ("wave_july1989", plots.plot_wave(tables.basin, tdf, sc.name)),
                ("committees_1989_1991", plots.plot_stages(tables.basin, tables.republic, sc.name)),
            ]
            if targets:
                ser = {t.line: series(t, tables.basin, tables.town)[0] for t in targets}
                figs.append(("targets_july1989", plots.plot_targets(scores, ser, sc.name, reps)))
            for name, fig in figs:
                results.save_figure(fig, tmp / "figures", name)
                plots.close(fig)
        results.write_manifest(tmp, manifest)
        final = results.finish(tmp, final)
    except BaseException:
        results.discard(tmp)
        raise
    if not args.quiet:
        print(
            f"{reps} replicates of '{sc.name}' in {elapsed:.1f} s -> {final.relative_to(Path.cwd()) if final.is_relative_to(Path.cwd()) else final}"
        )
        if targets:
            _summary(scores)
    return 0


def _rel(path: str | Path) -> str:
    """A path relative to the repository when it lies inside it (manifests carry no machine paths)."""
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(path)


def _summary(scores) -> None:
    """Print each target against the ensemble's median and 10-90% band."""
    print(f"{'target (date, basin, place, measure)':76s} {'historical':>15s} {'model median [10% to 90%]':>30s}  in 90% band")
    for _, r in scores.iterrows():
        where = f"{r['date']} {r['basin']}{', ' + r['place'] if r['place'] else ''} {r['measure']}"
        hist = f"{r['value']:,.0f}" if r["kind"] != "interval" else f"{r['low']:,.0f}-{r['high']:,.0f}"
        if r["measure"] in ("first_strike", "last_day"):
            hist = "on the day"
        if not r["scored"]:
            print(f"{where:76s} {hist:>15s}   not scored: {r['reason']}")
            continue
        q = {k: round(float(r[k])) + 0 for k in ("sim_median", "sim_p10", "sim_p90")}  # + 0 turns -0 into 0
        if r["measure"] in ("first_strike", "last_day"):  # days after the historical date
            sim = f"{q['sim_median']:+} days [{q['sim_p10']:+} to {q['sim_p90']:+}]"
        else:
            sim = f"{q['sim_median']:,} [{q['sim_p10']:,} to {q['sim_p90']:,}]"
        print(f"{where:76s} {hist:>15s} {sim:>30s}  {'yes' if r['inside_90'] else 'NO'}")
    s = scores[scores["scored"]]
    print(f"{int(s['inside_90'].sum())} of {len(s)} scored targets inside the 90% band, {int(s['inside_50'].sum())} inside the 50% band")
    print("(dated events: days after the historical date, negative = earlier; bands are across replicates)")


def param_markdown() -> str:
    """The parameter table as markdown."""
    from sim.params import param_table

    lines = ["| name | default | unit | mechanism | range | meaning | source |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in param_table():
        lines.append(
            f"| `{r['name']}` | {r['default']:g} | {r['unit']} | {r['mechanism']} | {r['range']} | {r['meaning']} | {r['source']} |"
        )
    return "\n".join(lines) + "\n"


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter table as markdown (or write it into the README)."""
    table = param_markdown()
    if not args.readme:
        print(table, end="")
        return 0
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- params:start -->", "<!-- params:end -->"
    if start not in text or end not in text:
        raise UsageError(f"{readme}: markers {start} and {end} not found")
    a, b = text.index(start) + len(start), text.index(end)
    tmp = readme.with_suffix(".md.tmp")
    tmp.write_text(text[:a] + "\n" + table + text[b:], encoding="utf-8")
    tmp.replace(readme)
    print(f"updated the parameter table in {readme.name}")
    return 0


class UsageError(Exception):
    """A bad command-line value."""


def _usage(msg: str) -> UsageError:
    return UsageError(msg)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every command has --help)."""
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Agent-based simulation of the 1989-1991 Soviet miners' strikes. With no command, runs the historical baseline ensemble; options given without a command are those of `run` (see `run.py run --help`).",
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
    p.add_argument("--workers", "-j", type=int, default=None, help="processes (default: all cores; 1 = serial)")
    p.add_argument("--out", default=str(ROOT / "results"), help="results root folder (default: results/)")
    p.add_argument(
        "--targets",
        default=str(TARGETS),
        help="targets file to score the run against (default: calibration/targets/july1989.csv; '' for none)",
    )
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_run)
    q = sub.add_parser(
        "params",
        help="print the parameter table (markdown)",
        description="Print every model parameter with unit, mechanism, range, meaning and source.",
    )
    q.add_argument("--readme", action="store_true", help="write the table into README.md between its markers instead of printing it")
    q.set_defaults(func=cmd_params)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run, and turn bad input into a one-line error."""
    from sim.errors import InputError

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] not in ("run", "params", "-h", "--help"):
        argv = ["run", *argv]  # options without a command belong to `run`
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *argv])
    try:
        return args.func(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: no result written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except OSError as exc:  # e.g. a read-only or full results folder: nothing half-written is left
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
