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
    from sim.network import load_world
    from sim.runner import run_ensemble
    from sim.scenario import load_scenario

    sc = load_scenario(args.scenario)
    reps = args.replicates or sc.replicates
    seed = sc.seed if args.seed is None else args.seed
    if reps < 1:
        raise _usage("--replicates must be at least 1")
    if seed < 0:
        raise _usage("--seed must be non-negative")
    world = load_world(sc.data)  # checks the data files before any work
    t0 = time.perf_counter()
    tables, seeds = run_ensemble(sc, reps, seed, workers=args.workers)
    elapsed = time.perf_counter() - t0
    out_root = Path(args.out)
    tmp, final = results.new_folder(out_root, sc.name, sc.digest())
    try:
        events = first_and_last(tables.basin, str(sc.start), str(sc.end))
        results.write_tables(tmp, {"daily_basin": tables.basin, "daily_republic": tables.republic, "basin_events": events})
        manifest = {
            "experiment": sc.name,
            "scenario_file": str(Path(args.scenario)),
            "scenario": sc.to_dict(),
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
                "daily_republic": "one row per replicate, date and republic: separatism index, strikers",
                "basin_events": "per replicate and basin: date of the first strike and of the first day back to no strike",
            },
        }
        if not args.no_figures:
            targets = pd.read_csv(TARGETS) if TARGETS.is_file() else None
            for name, fig in (
                ("wave_july1989", plots.plot_wave(tables.basin, targets, sc.name)),
                ("committees_1989_1991", plots.plot_stages(tables.basin, tables.republic, sc.name)),
            ):
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
        _summary(tables.basin)
    return 0


def _summary(daily) -> None:
    """Print the Kuzbass July 1989 figures against the historical ones."""
    k = daily[daily["basin"] == "Kuzbass"]
    rows = [("1989-07-15", "mines_on_strike", "158"), ("1989-07-15", "strikers", "177,000"), ("1989-07-20", "mines_on_strike", "91")]
    print("Kuzbass, July 1989          median [10%-90%]      historical")
    for date, col, hist in rows:
        v = k[k["date"] == date][col]
        print(f"  {date} {col:16s} {v.median():>9,.0f} [{v.quantile(0.1):,.0f}-{v.quantile(0.9):,.0f}]   {hist}")


def cmd_params(args: argparse.Namespace) -> int:
    """Print the parameter table as markdown."""
    from sim.params import param_table

    print("| name | default | unit | mechanism | range | meaning | source |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in param_table():
        print(f"| `{r['name']}` | {r['default']:g} | {r['unit']} | {r['mechanism']} | {r['range']} | {r['meaning']} | {r['source']} |")
    return 0


class UsageError(Exception):
    """A bad command-line value."""


def _usage(msg: str) -> UsageError:
    return UsageError(msg)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every command has --help)."""
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Agent-based simulation of the 1989-1991 Soviet miners' strikes. With no command, runs the historical baseline ensemble.",
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
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_run)
    q = sub.add_parser(
        "params",
        help="print the parameter table (markdown)",
        description="Print every model parameter with unit, mechanism, range, meaning and source.",
    )
    q.set_defaults(func=cmd_params)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run, and turn bad input into a one-line error."""
    from sim.errors import InputError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
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


if __name__ == "__main__":
    sys.exit(main())
