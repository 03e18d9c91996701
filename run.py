"""Command line of the 1989 miners' strike simulator: thin glue over `sim/`.

python run.py                      # the historical baseline ensemble, results and figures
python run.py run SCENARIO [--replicates N] [--seed S] [--workers W]
python run.py calibrate [--budget small|full] [--install]   # ABC-SMC on the July 1989 targets
python run.py validate --targets FILE                       # score the calibrated model on any figures
python run.py compare A.toml B.toml ...                     # paired arms and their effects
python run.py thesis [--replicates 200]                     # the essay's claims as experiments: report.md
python run.py sensitivity [--budget small|full]             # Morris, Sobol, knock-outs, robustness map
python run.py plot FOLDER                                   # redraw every figure of a results folder
python run.py rerun FOLDER                                  # run it again and check the results are identical
python run.py viz                                           # the interactive app (Mesa SolaraViz) on localhost
python run.py params               # the parameter table (markdown)
python run.py COMMAND --help
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
TARGETS = ROOT / "calibration" / "targets" / "july1989.csv"
PRIORS = ROOT / "calibration" / "priors_1989_1990.toml"
FITTED = ROOT / "calibration" / "fitted"


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario ensemble and write its results folder."""
    import pandas as pd

    from sim import figures, results
    from sim.metrics import first_and_last
    from sim.runner import ChunkError, Tables, chunk_size, draws_table, run_ensemble, world_for
    from sim.scenario import check_against, load_scenario
    from sim.targets import load_targets, score, target_areas

    sc = load_scenario(args.scenario)
    targets = load_targets(args.targets) if args.targets else []
    reps = sc.replicates if args.replicates is None else args.replicates
    seed = sc.seed if args.seed is None else args.seed
    sc = sc.with_changes(replicates=reps, seed=seed)  # the manifest records what actually ran
    _note_overrides([sc], args.quiet)
    world = world_for(sc.data)  # checks the data files before any work (run_ensemble reuses it)
    check_against(sc, world)
    out_root = Path(args.out)
    # results as they come: every finished chunk is appended to an unfinished folder, which the
    # same command, run again, resumes (finished chunks are read back, not rerun)
    digest = sc.digest()  # hashes every data table and the posterior: once
    areas = target_areas(targets, world)[0] if targets else []
    if targets:  # the places recorded depend on the targets file: a different file is a different run
        digest = hashlib.sha256((digest + hashlib.sha256(Path(args.targets).read_bytes()).hexdigest()).encode()).hexdigest()
    folder = results.ResultsFolder(out_root, sc.name, digest, args.command_line, resume=not args.fresh)
    plan = folder.plan({"replicates": reps, "seed": seed, "chunk": chunk_size(reps, args.workers)})
    names = ("basin", "republic", "town", "oblast", "areas")
    done = {i: Tables(**t) for i, t in folder.done_chunks(names).items()}
    failed: list = []
    resumed = sum(t.basin["replicate"].nunique() for t in done.values())
    if resumed and not args.quiet:
        print(f"resumed {resumed:,} of {reps:,} replicates from {_rel(folder.path)}", file=sys.stderr)
    bar = _progress(reps, "replicates", args.quiet, initial=resumed)

    def on_chunk(first: int, res) -> None:
        if isinstance(res, ChunkError):
            failed.append(res)
        else:
            folder.add_chunk(first, {n: getattr(res, n) for n in names})
        bar.update(res.replicates if isinstance(res, ChunkError) else res.basin["replicate"].nunique())

    t0 = time.perf_counter()
    with folder.running(on_stop=bar.close):
        tables, seeds = run_ensemble(
            sc,
            reps,
            seed,
            workers=args.workers,
            chunk=plan["chunk"],
            cluster=args.cluster,
            done=done,
            on_chunk=on_chunk,
            keep_going=True,
            areas=areas,
        )
    elapsed = time.perf_counter() - t0
    draws = draws_table(sc, seeds)
    with folder.assembling():
        events = first_and_last(tables.basin, str(sc.start), str(sc.end))
        scores = score(targets, tables.areas, world, sc.start) if targets else pd.DataFrame()
        out_tables = {
            "daily_basin": tables.basin,
            "daily_republic": tables.republic,
            "daily_town": tables.town,
            "allegiance_oblast": tables.oblast,
            "basin_events": events,
            "towns": figures.towns_table(world),
        }
        if targets:
            out_tables["targets_check"] = scores
            out_tables["target_series"] = tables.areas
        if draws is not None:
            out_tables["parameter_draws"] = draws
        if failed:
            out_tables["failed_chunks"] = pd.DataFrame([f.__dict__ for f in failed])
        folder.tables(out_tables)
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
            "command": args.command_line,
            "data_files_sha256": world.files,
            "enterprises": world.n,
            "run_seconds": round(elapsed, 2),
            "resumed_from_chunks": sorted(done),
            "chunk_replicates": plan["chunk"],
            "executor": f"dask {args.cluster}" if args.cluster else f"local processes ({args.workers or os.cpu_count()})",
            "failed_replicates": sum(f.replicates for f in failed),
            **_parameters_entry(sc),
            "tables": {
                "daily_basin": "one row per replicate, date and basin: strikers, enterprises on strike, committees by level and stage, workforce shares by stage, efficacy, trust, relief promised and carried out, concessions",
                "daily_republic": "one row per replicate, date and republic: separatism index, strikers, workforce shares by demand stage",
                "daily_town": "one row per replicate, date and town, over the calibration window (first 62 days): strikers, enterprises on strike",
                "basin_events": "per replicate and basin: date of the first strike and of the first day back to no strike",
                "allegiance_oblast": "per replicate, oblast of the mining towns and date (17 March, 24 August, 1 December 1991 and the last day): workforce and the share whose active committee backs the republic against the Union",
                "targets_check": "each row of the targets file against the ensemble: simulated quantiles (5, 25, 50, 75, 95%) on its date or in its window, inside the 50% (25-75%) and 90% (5-95%) bands, informative or not, weighted interval score",
                "target_series": "one row per replicate, date and place the targets file names: strikers, enterprises on strike, allegiance",
                "parameter_draws": "per replicate: its seed, the posterior row drawn for it and the parameter values it ran with",
                "towns": "one row per town with enterprises: basin, republic, oblast, mean coordinates, enterprises, workforce (the network figure's layout)",
            },
            "targets_file": _rel(args.targets) if args.targets else None,
        }
        folder.manifest(manifest, ROOT)
        if not args.no_figures:
            figures.draw(folder.path)
    final = folder.publish()
    if not args.quiet:
        print(
            f"{reps} replicates of '{sc.name}' in {elapsed:.1f} s -> {final.relative_to(Path.cwd()) if final.is_relative_to(Path.cwd()) else final}"
        )
        if targets:
            _summary(scores)
    if failed:
        print(
            f"warning: {len(failed)} chunks ({sum(f.replicates for f in failed)} replicates) failed; see failed_chunks.parquet",
            file=sys.stderr,
        )
        return 1
    return 0


def _on_sigterm(signum, frame) -> None:
    from sim.results import Stopped

    raise Stopped("terminated: no result written", code=143)


def _progress(total: int, unit: str, quiet: bool, initial: int = 0):
    """A progress bar (runs done, rate, time left) on standard error; silent when quiet or not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit=unit, disable=quiet or not sys.stderr.isatty(), dynamic_ncols=True, smoothing=0.1)


def _parameters_entry(sc) -> dict:
    """Manifest entries saying where the replicates' parameters came from (and which posterior draws the scenario replaced)."""
    return {
        "parameters": sc.parameters if sc.posterior else "defaults",
        "posterior_file": _rel(sc.posterior) if sc.posterior else None,
        "posterior_sha256": sc.posterior_sha256(),
        "overrides_posterior": _posterior_overrides(sc),
    }


def _posterior_overrides(sc) -> list[str]:
    """Posterior-drawn parameters that the scenario sets to a constant instead (every replicate gets the scenario's value)."""
    if sc.posterior is None:
        return []
    from sim.posterior import posterior_for

    return sorted(set(sc.set_params) & set(posterior_for(sc.posterior).names))


def _note_overrides(scenarios, quiet: bool) -> None:
    """One line when a scenario replaces posterior draws by constants: easy to do by accident in [params]."""
    for sc in scenarios:
        names = _posterior_overrides(sc)
        if names and not quiet:
            print(
                f"note: {sc.name} sets {', '.join(names)} in [params]: every replicate uses that value instead of its posterior draw",
                file=sys.stderr,
            )


MAX_REPLICATES = 1_000_000
"""The most replicates a command or a scenario file may ask for (the same limit as `replicates` in a scenario)."""


def _check_options(args: argparse.Namespace) -> None:
    """Every option value within its limits, before any file is read or any simulation starts (one line if not)."""
    from datetime import date as _date

    reps = getattr(args, "replicates", None)
    if isinstance(reps, int) and not 1 <= reps <= MAX_REPLICATES:
        raise _usage(f"--replicates must be in [1, {MAX_REPLICATES:,}], got {reps}")
    for opt in ("predictive",):
        v = getattr(args, opt, None)
        if isinstance(v, int) and not 1 <= v <= MAX_REPLICATES:
            raise _usage(f"--{opt} must be in [1, {MAX_REPLICATES:,}], got {v}")
    for opt in ("population", "generations"):
        v = getattr(args, opt, None)
        if isinstance(v, int) and not 1 <= v <= MAX_REPLICATES:
            raise _usage(f"--{opt} must be in [1, {MAX_REPLICATES:,}], got {v}")
    seed = getattr(args, "seed", None)
    if isinstance(seed, int) and not 0 <= seed < 2**63:
        raise _usage(f"--seed must be a non-negative 63-bit integer (0 to 2**63 - 1), got {seed}")
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 1:
        raise _usage("--workers must be at least 1")
    fork = getattr(args, "fork_at", None)
    if fork:
        try:
            _date.fromisoformat(fork)
        except ValueError:
            raise _usage(f"--fork-at must be an ISO date (YYYY-MM-DD), got {fork!r}") from None
    port = getattr(args, "port", None)
    if port is not None and not 0 < port < 65536:
        raise _usage(f"--port must be in 1-65535, got {port}")
    rtol = getattr(args, "rtol", None)
    if rtol is not None and not 0 <= rtol < 1:
        raise _usage(f"--rtol must be in [0, 1), got {rtol}")


def _cap_workers(args: argparse.Namespace) -> None:
    """More workers than cores only slows a run down: cap them, with a note."""
    cores = os.cpu_count() or 1
    w = getattr(args, "workers", None)
    if w is not None and w > cores and getattr(args, "cluster", None) is None:
        print(f"note: --workers {w} is more than the {cores} cores here; using {cores}", file=sys.stderr)
        args.workers = cores


def cmd_calibrate(args: argparse.Namespace) -> int:
    """ABC-SMC on the targets of a priors file; posterior, posterior predictive and figures."""
    import dataclasses
    import hashlib
    import json

    from sim import calibration as cal
    from sim import figures, results
    from sim.runner import executor_map, run_ensemble, world_for
    from sim.scenario import check_against, load_scenario
    from sim.targets import load_targets, score, target_areas

    setup = cal.load_priors(args.priors)
    targets = load_targets(setup.targets)
    budget = cal.Budget.named(args.budget)
    if args.population is not None:
        budget.population = args.population
    if args.generations is not None:
        budget.generations = args.generations
    if budget.population < 2 or budget.generations < 1:
        raise _usage("--population must be at least 2 and --generations at least 1")
    sc = load_scenario(setup.scenario, require_posterior=False)
    if not sc.start < setup.end <= sc.end:
        raise _usage(f"{setup.path}: [setup] end {setup.end} must lie after the scenario's start {sc.start} and by its end {sc.end}")
    # calibration runs: the scenario cut to the window, with its own (prior-replaced) parameters
    sc = dataclasses.replace(sc.with_changes(end=setup.end), posterior=None, parameters="defaults")
    world = world_for(sc.data)
    check_against(sc, world)
    config = {
        "priors": hashlib.sha256(setup.path.read_bytes()).hexdigest(),
        "targets": hashlib.sha256(setup.targets.read_bytes()).hexdigest(),
        "scenario": sc.digest(),
        "given": hashlib.sha256(setup.given.read_bytes()).hexdigest() if setup.given else None,
        "seed": args.seed,
        "budget": dataclasses.asdict(budget),
    }
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
    out_root = Path(args.out)
    if args.resume and not [f for f in results.partial_folders(out_root, "calibration", digest) if (f / "abc.db").is_file()]:
        raise _usage(
            "--resume: no unfinished calibration with these priors, targets, seed and budget under " + _rel(out_root / "calibration")
        )
    folder = results.ResultsFolder(
        out_root, "calibration", digest, args.command_line, resume=args.resume, usable=lambda f: (f / "abc.db").is_file(), repo=ROOT
    )
    resume = folder.resumed_from
    commit = results.git_commit(ROOT)  # the code that runs (taken now, not after a long run)
    t0 = time.perf_counter()
    try:
        with executor_map(args.workers, chunksize=4, cluster=args.cluster) as map_:
            history = cal.run_abc(
                setup, sc, targets, budget, args.seed, folder.path / "abc.db", map_=map_, resume=resume is not None, verbose=not args.quiet
            )
    except BaseException:
        print(
            f"calibration stopped; its populations so far are kept in {_rel(folder.path)} (rerun the same command with --resume)",
            file=sys.stderr,
        )
        raise
    abc_seconds = time.perf_counter() - t0
    try:
        post = cal.posterior_table(history, setup)
        pops = cal.populations_table(history)
        summ = cal.summary(post, setup)
        if setup.given is not None:  # a later stage: the earlier stage's rows, each with one of this stage's particles
            folder.tables({"posterior_stage": post, "posterior": cal.combined_posterior(post, setup.given, args.seed)})
        else:
            folder.tables({"posterior": post})
        # posterior predictive: new replicates, each with a posterior draw, scored on every target
        pred_sc = dataclasses.replace(sc, posterior=folder.path / "posterior.parquet", parameters="posterior")
        areas = target_areas(targets, world)[0]
        t1 = time.perf_counter()
        tables, seeds = run_ensemble(pred_sc, args.predictive, args.seed, workers=args.workers, areas=areas)
        pred_seconds = time.perf_counter() - t1
        scores = score(targets, tables.areas, world, sc.start)
        folder.tables(
            {
                "populations": pops,
                "posterior_summary": summ,
                "targets_check": scores,
                "daily_basin": tables.basin,
                "target_series": tables.areas,
            },
        )
        label = f"{len(post)} particles, {len(pops)} populations, final epsilon {pops['epsilon'].iloc[-1]:.3g}"
        manifest = {
            "experiment": "calibration",
            "priors_file": _rel(setup.path),
            "targets_file": _rel(setup.targets),
            "scenario_file": _rel(setup.scenario),
            "calibration_window": [str(sc.start), str(sc.end)],
            "config": config,
            "root_seed": args.seed,
            "budget": dataclasses.asdict(budget),
            "resumed": resume is not None,
            "abc_seconds": round(abc_seconds, 1),
            "predictive_replicates": args.predictive,
            "predictive_seeds": seeds,
            "predictive_seconds": round(pred_seconds, 1),
            "simulations": int(pops["simulations"].sum()),
            "git_commit": commit,
            "versions": results.versions(),
            "command": args.command_line,
            "data_files_sha256": world.files,
            "tables": {
                "posterior": "the last ABC-SMC population: one row per particle, the calibrated parameters and its importance weight (for a later stage: the earlier stage's rows, each with one of this stage's particles drawn by weight)",
                "posterior_stage": "a later stage only: this stage's particles and weights",
                "populations": "one row per population: epsilon, simulations, accepted particles, acceptance rate, seconds",
                "posterior_summary": "per parameter: weighted median and 5-95% interval, prior range",
                "targets_check": "posterior predictive: every target against new replicates with posterior draws",
                "daily_basin": "posterior predictive daily basin table (calibration window)",
                "target_series": "posterior predictive daily series of every place the targets name",
            },
            "given_posterior": _rel(setup.given) if setup.given else None,
            "installed_as": _rel(setup.install) if setup.install else None,
            "abc_database": "abc.db (pyabc's SQLite store of every population)",
        }
        folder.manifest(manifest)
        if not args.no_figures:
            figures.draw(folder.path)
        final = folder.publish()
    except BaseException:
        print(f"calibration finished but its report failed; the populations are kept in {_rel(folder.path)}", file=sys.stderr)
        raise
    if args.install:
        results.install_file(final / "posterior.parquet", setup.install)
        readme = setup.install.with_name("README.md" if setup.install.name == "posterior.parquet" else setup.install.stem + ".md")
        results.write_text(readme, _fitted_readme(manifest, pops, summ, scores, _rel(final)))
    if not args.quiet:
        print(f"ABC-SMC: {label}, {int(pops['simulations'].sum()):,} simulations in {abc_seconds:.0f} s -> {_rel(final)}")
        print(summ.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"posterior predictive ({args.predictive} replicates):")
        _summary(scores)
        if args.install:
            print(f"installed {_rel(setup.install)} and {_rel(readme)}")
    return 0


def _fitted_readme(manifest: dict, pops, summ, scores, folder: str) -> str:
    """calibration/fitted/README.md: how the committed posterior was made (generated, so it cannot drift)."""
    sc = scores[scores["scored"]]
    lines = [
        "# The fitted posterior",
        "",
        f"`{Path(manifest.get('installed_as') or 'posterior.parquet').name}`: the last population of an ABC-SMC calibration (pyabc) on `{manifest['targets_file']}`:",
        "one row per particle, one column per calibrated parameter (natural units) and `weight`.",
        *(
            [
                "",
                f"**Staged calibration.** This stage fits its parameters with each replicate's other parameters drawn from the earlier "
                f"stage's posterior `{manifest['given_posterior']}`; the installed table is that posterior's rows (values and weights "
                "unchanged, so every replicate keeps its earlier-stage draw) each with one particle of this stage attached, drawn by "
                "weight. This treats the stages as independent given the data (the approximation of a staged scheme; a joint fit "
                "over all parameters needs the faster engine of issue 17).",
            ]
            if manifest.get("given_posterior")
            else []
        ),
        'Scenarios with `parameters = "posterior"` draw one row per replicate, by weight, from the',
        "replicate's seed. This file is generated by `--install`; do not edit it by hand.",
        "",
        "## How it was made",
        "",
        f"- Command: `{manifest['command']}` (commit `{manifest['git_commit']}`)",
        f"- Priors: `{manifest['priors_file']}`; targets: `{manifest['targets_file']}`; scenario `{manifest['scenario_file']}` cut to "
        f"{manifest['calibration_window'][0]} to {manifest['calibration_window'][1]}",
        f"- Root seed {manifest['root_seed']}; population {manifest['budget']['population']}; "
        f"{len(pops)} populations; {manifest['simulations']:,} simulations; {manifest['abc_seconds']:.0f} s of ABC on this machine's cores",
        f"- Results folder (not committed): `{folder}`",
        "",
        *_md_table(
            ["population", "epsilon", "simulations", "accepted", "acceptance", "effective sample size", "seconds"],
            [
                [
                    int(r.population),
                    f"{r.epsilon:.3g}",
                    f"{int(r.simulations):,}",
                    int(r.accepted),
                    f"{r.acceptance:.3f}",
                    f"{r.ess:.0f}",
                    f"{r.seconds:.0f}",
                ]
                for r in pops.itertuples()
            ],
        ),
        "",
        "## Posterior (weighted median and 5-95% interval)",
        "",
        "*Identified*: the posterior's 5-95% interval is less than half as wide as the prior's (on the prior's scale, "
        "linear or log): the targets inform the parameter. Otherwise the posterior is close to its prior and the "
        "parameter's uncertainty is carried into every run.",
        "",
        *_md_table(
            ["parameter", "median", "5%", "95%", "prior range", "posterior width / prior width", "identified"],
            [
                [
                    f"`{r['parameter']}`",
                    f"{r['median']:.4g}",
                    f"{r['p05']:.4g}",
                    f"{r['p95']:.4g}",
                    f"{r['prior_lo']:g} to {r['prior_hi']:g} ({r['scale']})",
                    f"{_width_ratio(r):.2f}",
                    "yes" if _width_ratio(r) < 0.5 else "no",
                ]
                for _, r in summ.iterrows()
            ],
        ),
    ]
    lines += [
        "",
        f"## Posterior predictive check ({manifest['predictive_replicates']} new replicates, one posterior draw each)",
        "",
        f"{int(sc['inside_90'].sum())} of {len(sc)} scored targets inside the 90% band, {int(sc['inside_50'].sum())} inside the 50% band.",
        "",
        "| date | basin | place | measure | historical | median [5% to 95%] | band |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in scores.iterrows():
        hist = _hist(r).replace("-", " to ")
        if not r["scored"]:
            lines.append(f"| {r['date']} | {r['basin']} | {r['place']} | {r['measure']} | {hist} | not scored: {r['reason']} | |")
            continue
        unit = " days" if r["measure"] in ("first_strike", "last_day") else ""
        if unit:
            hist = "the date"
        band = "50%" if r["inside_50"] else "90%" if r["inside_90"] else "outside"
        lines.append(
            f"| {r['date']} | {r['basin']} | {r['place']} | {r['measure']} | {hist} | "
            f"{r['sim_median']:,.0f} [{r['sim_p05']:,.0f} to {r['sim_p95']:,.0f}]{unit} | {band} |"
        )
    return "\n".join(lines) + "\n"


def _width_ratio(r) -> float:
    """Width of a parameter's posterior 5-95% interval over its prior's (uniform or log-uniform), on the prior's scale."""
    f = math.log10 if r["scale"] == "log" else float
    return (f(r["p95"]) - f(r["p05"])) / (0.9 * (f(r["prior_hi"]) - f(r["prior_lo"])))


def _verdicts(scores) -> list[str]:
    """One word per row of a score table: inside 50%, inside 90%, outside (of the 25-75% and 5-95% bands), or not scored."""
    return [
        "not scored" if not r["scored"] else "inside 50%" if r["inside_50"] else "inside 90%" if r["inside_90"] else "outside"
        for _, r in scores.iterrows()
    ]


def _md_table(header: list[str], rows: list[list]) -> list[str]:
    """Lines of a markdown table."""
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)] + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]


def cmd_validate(args: argparse.Namespace) -> int:
    """Score the calibrated model on every row of a targets file (no refitting), against a reference forecast."""
    import dataclasses
    from datetime import timedelta

    import pandas as pd

    from sim import calibration as cal
    from sim import figures, results
    from sim.runner import run_ensemble, world_for
    from sim.scenario import check_against, load_scenario
    from sim.targets import load_targets, score, skill, target_areas

    targets = load_targets(args.targets)
    if not targets:
        raise _usage(f"{args.targets}: no target rows")
    sc = load_scenario(args.scenario)
    reps = args.replicates
    seed = sc.seed if args.seed is None else args.seed
    # the run stops two months after the last target (later days cannot change a score)
    last = max(t.date for t in targets) + timedelta(days=62)
    end = min(sc.end, max(last, sc.start + timedelta(days=61)))
    sc = sc.with_changes(replicates=reps, seed=seed, end=end)
    world = world_for(sc.data)
    check_against(sc, world)
    areas = target_areas(targets, world)[0]
    # an unwritable --out stops here, before any simulation
    folder = results.ResultsFolder(Path(args.out), "validate", sc.digest(), args.command_line, resume=False, repo=ROOT)
    ref_sc = None
    if args.reference == "prior":
        setups = [cal.load_priors(ROOT / "calibration" / f) for f in cal.PRIOR_FILES]
        prior = cal.prior_table(setups, 4000, seed)
        folder.tables({"prior_draws": prior})
        ref_sc = dataclasses.replace(sc, posterior=folder.path / "prior_draws.parquet", parameters="prior_draws.parquet")
    t0 = time.perf_counter()
    bar = _progress(reps * (2 if ref_sc else 1), "replicates", args.quiet)
    try:

        def ensemble(scenario):
            return run_ensemble(
                scenario,
                reps,
                seed,
                workers=args.workers,
                cluster=args.cluster,
                areas=areas,
                on_chunk=lambda i, r: bar.update(r.basin["replicate"].nunique()),
            )

        tables, seeds = ensemble(sc)
        ref_tables = ensemble(ref_sc)[0] if ref_sc else None
    except BaseException:
        folder.discard()
        raise
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    scores = score(targets, tables.areas, world, sc.start)
    scores.insert(0, "verdict", _verdicts(scores))
    out = {"targets_check": scores, "daily_basin": tables.basin, "target_series": tables.areas}
    sk = None
    if ref_tables is not None:
        ref = score(targets, ref_tables.areas, world, sc.start)
        ref.insert(0, "verdict", _verdicts(ref))
        out["reference_check"] = ref
        sk = skill(scores, ref)
    with folder.assembling():
        folder.tables(out)
        folder.manifest(
            {
                "experiment": "validate",
                "targets_file": _rel(args.targets),
                "targets_sha256": hashlib.sha256(Path(args.targets).read_bytes()).hexdigest(),
                "scenario_file": _rel(args.scenario),
                "window": [str(sc.start), str(sc.end)],
                "root_seed": seed,
                "replicates": reps,
                "replicate_seeds": seeds,
                **_parameters_entry(sc),
                "reference": "prior predictive: the same scenario, seeds and targets with the calibrated parameters drawn from the priors of "
                + ", ".join(f"calibration/{f}" for f in cal.PRIOR_FILES)
                if ref_sc
                else None,
                "skill": sk,
                "run_seconds": round(elapsed, 2),
                "git_commit": results.git_commit(ROOT),
                "versions": results.versions(),
                "command": args.command_line,
                "data_files_sha256": world.files,
                "tables": {
                    "targets_check": "every row of the targets file: verdict (inside 50%, inside 90%, outside, not scored with the reason), simulated 5, 25, 50, 75 and 95% quantiles, informative or not, weighted interval score, distance",
                    "reference_check": "the same for the reference forecast (prior predictive)",
                    "prior_draws": "the parameter sets the reference forecast drew from (one per row, equal weights)",
                    "daily_basin": "the daily basin table of the run scored",
                    "target_series": "one row per replicate, date and place the targets name: strikers, enterprises on strike, allegiance",
                },
            },
        )
        if not args.no_figures:
            figures.draw(folder.path)
    final = folder.publish()
    if not args.quiet:
        print(
            f"validation of '{sc.name}' ({reps} replicates, {_parameters_entry(sc)['parameters']} parameters) on {Path(args.targets).name} in {elapsed:.1f} s -> {_rel(final)}"
        )
        _summary(scores)
        counts = pd.Series(scores["verdict"]).value_counts()
        print(", ".join(f"{k}: {v}" for k, v in counts.items()))
        ok = scores[scores["scored"]]
        if len(ok):
            print(
                f"{int(ok['inside_90'].sum())} of {len(ok)} scored rows ({ok['inside_90'].mean():.0%}) inside the 90% band (5-95% of replicates); "
                f"{int((~ok['informative'].astype(bool)).sum())} of them flagged uninformative"
            )
        if sk is not None:
            print(
                f"weighted interval score (scaled, summed over {sk['rows']} rows): model {sk['wis_model']:.2f}, prior predictive {sk['wis_reference']:.2f}; "
                f"skill {sk['skill']:+.2f} (1 perfect, 0 no better than the prior, below 0 worse)"
            )
    return 0


THESIS_SUITE = (
    "baseline.toml",
    "no_concessions.toml",
    "kept_promises.toml",
    "early_concession.toml",
    "union_deal.toml",
    "repression.toml",
    "weak_news.toml",
    "no_ethnic_gap.toml",
    "no_cooperatives.toml",
    "no_republic_concessions.toml",
    "pechora_repressed.toml",
    "strike_law_enforced.toml",
)
"""The thesis suite: the baseline (reference) and the counterfactual arms, in scenarios/."""


def _run_arms(args: argparse.Namespace, files: list[str], experiment: str, thesis: bool) -> int:
    """Run paired arms, compute effects (and verdicts), write the results folder and report."""
    import hashlib
    import json
    from datetime import date as _date

    from sim import experiments, figures, results
    from sim.runner import ArmTables, arm_chunk_size, run_arms, world_for
    from sim.scenario import check_against, load_scenario

    arms = [load_scenario(f) for f in files]
    _note_overrides(arms, args.quiet)
    reps = args.replicates
    seed = arms[0].seed if args.seed is None else args.seed
    world = world_for(arms[0].data)
    for a in arms:
        check_against(a, world)
    fork_day = None
    if args.fork_at:
        try:
            fork = _date.fromisoformat(args.fork_at)
        except ValueError:
            raise _usage(f"--fork-at must be an ISO date (YYYY-MM-DD), got {args.fork_at!r}") from None
        if not arms[0].start < fork <= arms[0].end:
            raise _usage(f"--fork-at {fork} must lie after the start {arms[0].start} and by the end {arms[0].end}")
        fork_day = (fork - arms[0].start).days
    flip_budget = [args.flip_points, args.flip_replicates, args.flip_confirm] if thesis else []
    if any(v < 0 for v in flip_budget) or (thesis and args.flip_points > 0 and min(flip_budget[1:]) < 1):
        raise _usage("--flip-points must be >= 0, and --flip-replicates and --flip-confirm >= 1")
    digest = hashlib.sha256(json.dumps([a.digest() for a in arms] + [reps, seed, args.fork_at or ""] + flip_budget).encode()).hexdigest()[
        :8
    ]
    # as `run`: finished chunks go to the unfinished folder as they come; the same command resumes them
    out_root = Path(args.out)
    sens = _sensitivity_for_report(args, out_root) if thesis else None  # a bad --sensitivity stops here, before any simulation
    folder = results.ResultsFolder(out_root, experiment, digest, args.command_line, resume=not args.fresh)
    plan = folder.plan({"replicates": reps, "seed": seed, "chunk": arm_chunk_size(reps, args.workers)})
    names = ("outcomes", "series")
    done = {i: ArmTables(**t) for i, t in folder.done_chunks(names).items()}
    bar = _progress(reps * len(arms), "runs", args.quiet, initial=sum(len(t.outcomes) for t in done.values()))

    def on_chunk(first: int, res) -> None:
        folder.add_chunk(first, {n: getattr(res, n) for n in names})
        bar.update(len(res.outcomes))

    t0 = time.perf_counter()
    with folder.running(on_stop=bar.close):
        tables, seeds = run_arms(
            arms,
            reps,
            seed,
            workers=args.workers,
            fork_day=fork_day,
            chunk=plan["chunk"],
            cluster=args.cluster,
            on_chunk=on_chunk,
            done=done,
        )
    elapsed = time.perf_counter() - t0
    ref = arms[0].name
    effects = experiments.paired_effects(tables.outcomes, ref, seed=seed)
    flips = _flip_search(args, arms, seed) if thesis else None
    verdicts = experiments.judge(tables.outcomes, ref, seed=seed, flips=flips) if thesis else None
    arm_rows = [{"name": a.name, "file": _rel(a.path), "claim": a.claim, "description": a.description} for a in arms]
    with folder.assembling():
        out = {"outcomes": tables.outcomes, "effects": effects, "series": tables.series}
        if verdicts is not None:
            out["verdicts"] = verdicts
        if flips is not None and len(flips):
            out["flips"] = flips
        folder.tables(out)
        figs = [] if args.no_figures else ["figures/forest_effects.png", "figures/arms_1989_1991.png"]
        meta = {
            "command": args.command_line,
            "git_commit": results.git_commit(ROOT),
            "replicates": reps,
            "seed": seed,
            "parameters": "one posterior draw per replicate, the same in every arm" if arms[0].posterior else "the scenarios' own",
            "fork_at": args.fork_at,
            "workers": args.workers or __import__("os").cpu_count(),
        }
        if thesis:
            meta["sensitivity"] = sens["folder"] if sens else None
            folder.text("report.md", experiments.report(verdicts, effects, arm_rows, meta, figs, sens))
        folder.manifest(
            {
                "experiment": experiment,
                "arms": arm_rows,
                "reference_arm": ref,
                "arm_scenarios": [
                    a.to_dict() | {"path": _rel(a.path), "data": _rel(a.data), "posterior": _rel(a.posterior) if a.posterior else None}
                    for a in arms
                ],
                "root_seed": seed,
                "replicates": reps,
                "replicate_seeds": seeds,
                "seeds_shared_by_arms": True,
                "fork_at": args.fork_at,
                "resumed_from_chunks": sorted(done),
                "chunk_replicates": plan["chunk"],
                **_parameters_entry(arms[0]),
                "run_seconds": round(elapsed, 1),
                "git_commit": meta["git_commit"],
                "versions": results.versions(),
                "command": meta["command"],
                "data_files_sha256": world.files,
                "tables": {
                    "outcomes": "one row per arm and replicate: seed and every named outcome",
                    "effects": "per arm and outcome: paired effect baseline minus arm (median, 5-95% of pairs, mean with bootstrap 90% interval, shares, flips)",
                    "series": "per arm, replicate and day: union strikers, committees at the political stage or beyond, separatism index by republic",
                    "verdicts": "per claim of the essay: effect summary and verdict (thesis only)",
                    "flips": "per claim: the search of the priors for a parameter set that reverses it (thesis only; sim/flips.py)",
                },
            },
            ROOT,
        )
        if not args.no_figures:
            figures.draw(folder.path)
    final = folder.publish()
    if not args.quiet:
        print(f"{len(arms)} arms x {reps} paired replicates in {elapsed:.0f} s -> {_rel(final)}")
        if verdicts is not None:
            for _, r in verdicts.iterrows():
                print(
                    f"  {r['claim']:22s} {r['arm']:18s} mean over pairs {_num(r['mean'])} "
                    f"(90% bootstrap interval {_num(r['mean_lo'])} to {_num(r['mean_hi'])})  {r['verdict']}"
                )
            print(f"report: {_rel(final / 'report.md')}")
        else:
            key = [
                o
                for o in ("july_peak_strikers", "striker_days_1990_91", "separatism_Ukraine_1991", "separatism_RSFSR_1991")
                if o in set(effects["outcome"])
            ]
            from sim.metrics import OUTCOMES

            for _, r in effects[effects["outcome"].isin(key)].iterrows():
                o = OUTCOMES[r["outcome"]]
                print(
                    f"  {r['arm']:18s} {r['outcome']:26s} {ref} minus arm, mean over pairs: {_num(r['mean'])} {o.unit} "
                    f"(90% bootstrap interval {_num(r['mean_lo'])} to {_num(r['mean_hi'])})"
                )
    return 0


def _sensitivity_for_report(args: argparse.Namespace, out_root: Path) -> dict | None:
    """The sensitivity results the thesis report reads back: --sensitivity FOLDER, else the newest finished one under --out."""
    import json

    import pandas as pd

    from sim.errors import InputError

    if getattr(args, "sensitivity", None) == "":
        return None
    if getattr(args, "sensitivity", None):
        folder = Path(args.sensitivity)
        if not (folder / "knockouts.parquet").is_file() or not (folder / "manifest.json").is_file():
            raise InputError(
                "not a finished sensitivity folder (no knockouts.parquet or manifest.json)", file=str(folder), key="sensitivity"
            )
    else:
        found = sorted(
            p for p in (out_root / "sensitivity").glob("*_*") if not p.name.startswith(".") and (p / "knockouts.parquet").is_file()
        )
        if not found:
            return None
        folder = found[-1]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {
        "folder": _rel(folder),
        "budget": manifest.get("budget_name"),
        "knockouts": pd.read_parquet(folder / "knockouts.parquet"),
        "robustness": manifest.get("robustness") or {},
    }


def cmd_compare(args: argparse.Namespace) -> int:
    """Paired arms: the first scenario is the reference."""
    if len(args.scenarios) < 2:
        raise _usage("compare needs at least two scenarios (the first is the reference)")
    return _run_arms(args, args.scenarios, "compare", thesis=False)


def _flip_search(args: argparse.Namespace, arms: list, seed: int):
    """The thesis's search of the priors for parameter sets that reverse each claim (sim/flips.py)."""
    from sim import experiments, flips
    from sim.calibration import load_priors

    if args.flip_points < 1:
        return None
    priors = [p for f in ("priors.toml", "priors_1989_1990.toml") for p in load_priors(ROOT / "calibration" / f).priors]
    fs = flips.flip_factors(arms[0], priors)
    todo = [c for c in experiments.CLAIMS if c.arm in {a.name for a in arms[1:]}]
    if not args.quiet:
        n_arms = len({c.arm for c in todo}) + 1
        print(f"flip search: {args.flip_points} parameter sets x {n_arms} arms x {args.flip_replicates} replicates", file=sys.stderr)
    bar = _progress(args.flip_points, "points", args.quiet)
    t0 = time.perf_counter()
    out = flips.search(
        arms[0],
        {a.name: a for a in arms[1:]},
        experiments.CLAIMS,
        fs,
        args.flip_points,
        args.flip_replicates,
        args.flip_confirm,
        seed,
        args.workers,
        args.cluster,
        on_done=bar.update,
    )
    bar.close()
    if not args.quiet:
        print(f"flip search: {args.flip_points} parameter sets x {len(fs)} factors in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return out


def cmd_thesis(args: argparse.Namespace) -> int:
    """The thesis suite and its report."""
    return _run_arms(args, [str(ROOT / "scenarios" / f) for f in THESIS_SUITE], "thesis", thesis=True)


def cmd_plot(args: argparse.Namespace) -> int:
    """Redraw the figures of a results folder."""
    from sim import figures

    arms = [a.strip() for a in args.arms.split(",") if a.strip()] if args.arms else None
    t0 = time.perf_counter()
    names = figures.draw(Path(args.folder), arms=arms)
    where = Path(args.folder) / "figures" / ("arms_" + "_".join(arms) if arms else "")
    if not args.quiet:
        print(f"{len(names)} figures in {time.perf_counter() - t0:.1f} s -> {_rel(where)}: {', '.join(names)}")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Global sensitivity (Morris, Sobol), mechanism knock-outs and the thesis robustness map."""
    import dataclasses
    import hashlib
    import json

    import pandas as pd

    from sim import experiments, figures, results
    from sim import sensitivity as sens
    from sim.calibration import load_priors
    from sim.runner import world_for
    from sim.scenario import check_against, load_scenario
    from sim.targets import load_targets

    budget = sens.Budget.named(args.budget)
    seed = args.seed
    base, arm = load_scenario(args.scenario), load_scenario(args.arm)
    suite = [load_scenario(f) for f in (args.suite or [str(ROOT / "scenarios" / f) for f in THESIS_SUITE])]
    priors = [p for f in args.priors if f for p in load_priors(f).priors]
    targets = load_targets(args.targets) if args.targets else []
    world = world_for(base.data)
    for sc in (base, arm, *suite):
        check_against(sc, world)
    fs = sens.factors(base, priors)
    config = {
        "scenario": base.digest(),
        "arm": arm.digest(),
        "suite": [a.digest() for a in suite],
        "budget": dataclasses.asdict(budget),
        "seed": seed,
        "factors": [dataclasses.asdict(f) for f in fs],
        "targets": hashlib.sha256(Path(args.targets).read_bytes()).hexdigest() if args.targets else None,
    }
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
    bar = _progress(0, "points", args.quiet)
    say = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    try:
        an = sens.analyse(base, arm, suite, fs, targets, world, budget, seed, args.workers, args.cluster, say=say, progress=bar)
    finally:
        bar.close()
    morris, sobol, knockouts, robustness, top, summary = an.morris, an.sobol, an.knockouts, an.robustness, an.sobol_factors, an.summary
    elapsed = time.perf_counter() - t0
    folder = results.ResultsFolder(Path(args.out), "sensitivity", digest, args.command_line, resume=False, repo=ROOT)
    with folder.assembling():
        folder.tables(
            {
                "factors": pd.DataFrame([dataclasses.asdict(f) for f in fs]),
                "morris": morris,
                "sobol": sobol,
                "knockouts": knockouts,
                "robustness": robustness,
                "morris_points": an.morris_points,
                "sobol_points": an.sobol_points,
            },
        )
        manifest = {
            "experiment": "sensitivity",
            "scenario_file": _rel(args.scenario),
            "arm_file": _rel(args.arm),
            "suite": [_rel(a.path) for a in suite],
            "priors_files": [_rel(f) for f in args.priors if f],
            "targets_file": _rel(args.targets) if args.targets else None,
            "budget_name": args.budget,
            "budget": dataclasses.asdict(budget),
            "root_seed": seed,
            "sobol_factors": top,
            "robustness": summary,
            "outcomes": sens.OUTCOMES,
            "run_seconds": round(elapsed, 1),
            "seconds_by_analysis": {k: round(v, 1) for k, v in an.seconds.items()},
            "git_commit": results.git_commit(ROOT),
            "versions": results.versions(),
            "command": args.command_line,
            "data_files_sha256": world.files,
            "tables": {
                "factors": "every factor: mechanism group, range, scale and where the range comes from",
                "morris": "per outcome and factor: Morris mu, mu* with its bootstrap 95% interval, sigma, mu* over the outcome's spread",
                "sobol": "per outcome and top factor: first-order and total Sobol indices with bootstrap 90% intervals",
                "knockouts": "per mechanism (or pair) switched off: July 1989 targets in the 90% band, and each claim's verdict and mean effect",
                "robustness": "per sampled point (posterior draw or wider ranges): factor values, outcomes, concession effects",
                "morris_points": "the Morris design's outcomes (mean over replicates)",
                "sobol_points": "the Sobol design's outcomes (mean over replicates)",
            },
        }
        folder.manifest(manifest)
        folder.text("summary.md", _sensitivity_summary(manifest, morris, sobol, knockouts, experiments))
        if not args.no_figures:
            figures.draw(folder.path)
    final = folder.publish()
    if not args.quiet:
        print(f"sensitivity ({args.budget} budget) in {elapsed:.0f} s -> {_rel(final)}")
        print(f"  Sobol factors (largest Morris mu*): {', '.join(top)}")
        for rep, b in summary.items():
            mass = "n/a" if b["posterior_mass"] is None else f"{b['posterior_mass']:.0%}"
            print(
                f"  concession effect on {rep} separatism: sign flips in {b['base_rate']:.0%} of sampled points; PRIM box {b['limits'] or 'none'}; posterior mass inside {mass}"
            )
        print(f"  summary: {_rel(final / 'summary.md')}")
    return 0


def _sensitivity_summary(manifest: dict, morris, sobol, knockouts, experiments) -> str:
    """summary.md of a sensitivity folder: the top factors per outcome, the knock-out table, the robustness map."""
    lines = [
        "# Which parameters and mechanisms carry the outcomes and the thesis",
        "",
        f"Command: `{manifest['command']}`. Commit `{manifest['git_commit']}`. Budget `{manifest['budget_name']}` "
        f"({manifest['budget']}), root seed {manifest['root_seed']}.",
        "",
        "## Morris screening: the five largest mu* per outcome",
        "",
        "| outcome | parameters (group): mu* |",
        "| --- | --- |",
    ]
    for o, g in morris.groupby("outcome", sort=False):
        top = g.nlargest(5, "mu_star")
        lines.append(f"| {o} | " + "; ".join(f"{r['parameter']} ({r['group']}): {r['mu_star']:.3g}" for _, r in top.iterrows()) + " |")
    lines += [
        "",
        f"## Sobol indices on {', '.join(manifest['sobol_factors'])}",
        "",
        "| outcome | parameter | group | S1 [90%] | ST [90%] |",
        "| --- | --- | --- | --- | --- |",
    ]
    for _, r in sobol.iterrows():
        lines.append(
            f"| {r['outcome']} | {r['parameter']} | {r['group']} | {r['S1']:.2f} ± {r['S1_conf']:.2f} | {r['ST']:.2f} ± {r['ST_conf']:.2f} |"
        )
    claims = [c[len("verdict_") :] for c in knockouts.columns if c.startswith("verdict_")]
    lines += [
        "",
        "## Knock-outs",
        "",
        "| mechanism off | July targets in 90% band | " + " | ".join(claims) + " |",
        "| --- | --- | " + " | ".join("---" for _ in claims) + " |",
    ]
    for _, r in knockouts.iterrows():
        lines.append(
            f"| {r['mechanism']} | {int(r['targets_inside_90'])}/{int(r['targets_scored'])} | "
            + " | ".join(f"{r[f'verdict_{c}']} ({r[f'mean_{c}']:+.3g})" for c in claims)
            + " |"
        )
    lines += ["", "Claims that change verdict when a mechanism is off:", ""]
    for c in claims:
        changed, kept = experiments.needs(knockouts, c)
        lines.append(f"- {c}: needs {', '.join(changed) or 'none of them'}; kept under {kept:.0%} of the knock-outs")
    lines += ["", "## Robustness of the concession effect on separatism (PRIM)", ""]
    for rep, b in manifest["robustness"].items():
        mass = "n/a (no posterior)" if b["posterior_mass"] is None else f"{b['posterior_mass']:.1%}"
        share = "n/a" if b["posterior_share_predicted"] is None else f"{b['posterior_share_predicted']:.0%}"
        lim = "; ".join(f"{k} in [{lo:.3g}, {hi:.3g}]" for k, (lo, hi) in b["limits"].items()) or "none (no sign flips)"
        lines.append(
            f"- {rep}: the effect changes sign in {b['base_rate']:.0%} of the sampled points. PRIM box: {lim} "
            f"(coverage {b['coverage']:.0%}, density {b['density']:.0%}). Posterior mass inside: {mass}. "
            f"Posterior draws with the predicted (positive) sign: {share}."
        )
    lines += ["", "Figures: `figures/morris.png`, `figures/sobol.png`, `figures/knockouts.png`, `figures/robustness.png`.", ""]
    return "\n".join(lines)


def cmd_viz(args: argparse.Namespace) -> int:
    """Serve the interactive app (Mesa SolaraViz) on this machine."""
    import shutil
    import signal
    import subprocess

    from sim.scenario import load_scenario

    sc = load_scenario(args.scenario)  # a bad scenario is one line here, before any server starts
    solara = shutil.which("solara", path=str(Path(sys.executable).parent)) or shutil.which("solara")
    if solara is None:
        raise _usage("the interactive app is not installed in this environment: pip install -c constraints.txt -e '.[viz]'")
    import socket

    with socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET) as probe:  # fail before saying it serves
        try:
            probe.bind((args.host, args.port))
        except OSError as exc:
            raise _usage(
                f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc} (another program, or an earlier viz, holds it; try --port)"
            ) from None
    # offline and local: no version check against the package index, no telemetry
    cmd = [solara, "run", str(ROOT / "sim" / "viz.py"), "--host", args.host, "--port", str(args.port), "--production", "--no-check-version"]
    cmd.append("--open" if args.open else "--no-open")
    env = {
        **os.environ,
        "MINERS_VIZ_SCENARIO": str(Path(args.scenario).resolve()),
        "PYTHONPATH": str(ROOT),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    }
    print(f"serving '{sc.name}' at http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)  # its own group: stopped whole below
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see _on_sigterm)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the server ends quietly on SIGTERM (on SIGINT it prints "Aborted!")
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        print("stopped", file=sys.stderr)
        return 0


RERUN_SKIP = {
    "manifest.json",  # compared key by key below: timings, executor and the like may differ
}
TIMING_COLUMNS = {"populations": ["seconds"]}
"""Columns that record wall-clock time, left out when a rerun's tables are compared."""
MANIFEST_VOLATILE = {
    "run_seconds",
    "abc_seconds",
    "predictive_seconds",
    "executor",
    "resumed",
    "resumed_from_chunks",
    "chunk_replicates",
    "workers",
}
"""Manifest keys that describe how a run went (time, executor, resumption), not what it computed."""


PATH_OPTIONS = ("scenario", "scenarios", "targets", "priors", "arm", "suite", "sensitivity")
"""Options of a recorded command that name files the rerun reads: each must lie in the repository or the folder."""


def _recorded_command(folder: Path, manifest: dict) -> tuple[argparse.Namespace, list[str]]:
    """The recorded command of a results folder, parsed by this CLI's own parser and checked (a results folder is untrusted input).

    Only simulation commands with their recorded options are rerun: a command that does not parse,
    asks for help, names `viz`, `--host` or a file outside the repository and the folder is refused.
    """
    import shlex

    from sim.errors import InputError

    where = str(folder / "manifest.json")
    recorded = manifest.get("command", "")

    def refuse(why: str) -> InputError:
        return InputError(f"will not rerun the recorded command {recorded!r}: {why}", file=where, key="command")

    try:
        words = shlex.split(recorded) if isinstance(recorded, str) else []
    except ValueError:
        words = []
    if len(words) < 2 or words[0] != "python" or Path(words[1]).name != "run.py":
        raise refuse("not a 'python run.py ...' command")
    rest = words[2:]
    if any(w in ("-h", "--help", "--host") or w.startswith("--host=") for w in rest):
        raise refuse("it asks for help or a network address")
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            original = parse(rest)
    except SystemExit:
        raise refuse("it does not parse as a command of this run.py") from None
    if original.command not in ("run", "calibrate", "validate", "compare", "thesis", "sensitivity"):
        raise refuse(f"'{original.command}' writes no results folder to reproduce")
    try:
        _check_options(original)  # the limits `main` applies to a typed command
    except UsageError as exc:
        raise refuse(str(exc)) from None
    inside = (ROOT.resolve(), folder.resolve())
    for opt in PATH_OPTIONS:
        value = getattr(original, opt, None)
        for v in value if isinstance(value, list) else [value]:
            if not v:
                continue
            p = Path(v) if Path(v).is_absolute() else (Path.cwd() / v)
            if not any(p.resolve().is_relative_to(d) for d in inside):
                raise refuse(f"--{opt} {v} lies outside the repository and the results folder")
    return original, rest


def cmd_rerun(args: argparse.Namespace) -> int:
    """Run a results folder's recorded command again into a scratch folder and compare every result."""
    import json
    import shutil
    import tempfile

    import pandas as pd

    from sim import figures, results

    folder = Path(args.folder)
    manifest = figures.read(folder)
    kind = figures.kind(manifest)
    original, recorded = _recorded_command(folder, manifest)
    if args.rtol is not None and not 0 <= args.rtol < 1:
        raise _usage(f"--rtol must be in [0, 1), got {args.rtol}")
    notes = []
    now = results.git_commit(ROOT)
    if manifest.get("git_commit") != now:
        notes.append(f"recorded at commit {manifest.get('git_commit')}, now {now}")
    for name, old in (manifest.get("versions") or {}).items():
        new = results.versions().get(name)
        if new != old:
            notes.append(f"{name} {old} then, {new} now")
    scratch = Path(tempfile.mkdtemp(prefix="rerun_"))
    try:
        original.out = str(scratch)
        original.quiet = True
        original.no_figures = True
        if original.command == "calibrate":
            original.install = False  # a rerun never replaces the committed posterior
            original.resume = False
        original.workers = args.workers  # how to run is this command's, never the folder's
        original.cluster = args.cluster
        if not args.quiet:
            print(f"rerunning: {manifest['command']}  ({kind}; recorded seed {manifest.get('root_seed')})")
        original.command_line = " ".join(["python", "run.py", *recorded])  # the command line the results record is the original's
        t0 = time.perf_counter()
        code = original.func(original)
        if code != 0:
            print(f"error: the rerun exited with status {code}", file=sys.stderr)
            return 1
        (new,) = [p for p in scratch.glob("*/*") if p.is_dir() and not p.name.startswith(".")]
        diffs, same = [], []

        def results_in(d: Path) -> set[str]:
            return {p.name for p in d.iterdir() if p.is_file() and p.name not in RERUN_SKIP and p.suffix in (".parquet", ".md")}

        for name in sorted(results_in(folder) | results_in(new)):
            path, other = folder / name, new / name
            if not path.is_file():
                diffs.append(f"{name}: written by the rerun, missing from the folder")
                continue
            if not other.is_file():
                diffs.append(f"{name}: in the folder, not written by the rerun")
                continue
            if path.read_bytes() == other.read_bytes():
                same.append(name)
                continue
            drop = TIMING_COLUMNS.get(path.stem, [])
            if path.suffix == ".parquet" and (drop or args.rtol is not None):
                a, b = pd.read_parquet(path), pd.read_parquet(other)
                a, b = a.drop(columns=[c for c in drop if c in a]), b.drop(columns=[c for c in drop if c in b])
                try:
                    if args.rtol is None:
                        pd.testing.assert_frame_equal(a, b, check_exact=True)
                    else:
                        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=args.rtol, atol=0.0)
                    how = [
                        f"without its timing columns {drop}" if drop else "",
                        f"within rtol {args.rtol:g}" if args.rtol is not None else "",
                    ]
                    same.append(f"{name} ({', '.join(h for h in how if h)})")
                    continue
                except AssertionError as exc:
                    diffs.append(f"{name}: {' '.join(str(exc).split())[:200]}")
                    continue
            diffs.append(f"{name}: the bytes differ")
        new_manifest = json.loads((new / "manifest.json").read_text(encoding="utf-8"))
        volatile = MANIFEST_VOLATILE | {"git_commit", "versions", "command", "tables"}
        for key in sorted(set(manifest) | set(new_manifest)):
            if key in volatile:
                continue
            if (key in manifest) != (key in new_manifest):
                notes.append(
                    f"manifest key '{key}' is recorded by {'the rerun' if key in new_manifest else 'the folder'} only (another version of run.py)"
                )
            elif manifest[key] != new_manifest[key]:
                diffs.append(f"manifest.json: '{key}' differs")
        elapsed = time.perf_counter() - t0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for n in notes:
        print(f"note: {n}")
    if args.rtol is not None:
        print(f"note: tables compared within a relative tolerance of {args.rtol:g} (--rtol), not byte for byte")
    if diffs:
        print(f"DIFFERENT: {len(diffs)} of {len(diffs) + len(same)} results differ from {_rel(folder)}")
        for d in diffs:
            print(f"  {d}")
        return 1
    if not args.quiet:
        print(f"identical: {len(same)} results ({', '.join(same)}) and the manifest, rerun in {elapsed:.0f} s")
    else:
        print("identical")
    return 0


def _num(x: float) -> str:
    """A signed number for people: thousands separators, no scientific notation, about three significant digits."""
    if not math.isfinite(x):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:+,.0f}"
    return f"{x:+.3g}" if abs(x) >= 0.001 or x == 0 else f"{x:+.6f}"


def _rel(path: str | Path) -> str:
    """A path relative to the repository when it lies inside it (manifests carry no machine paths)."""
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(path)


def _hist(r) -> str:
    """The historical figure of a score row: a value, a range, or an open range ("at least 1")."""
    fmt = (lambda v: f"{v:.2f}") if r["measure"] == "allegiance" else (lambda v: f"{v:,.0f}")
    if r["kind"] != "interval":
        return fmt(r["value"])
    if math.isnan(r["high"]):
        return f"at least {fmt(r['low'])}"
    if math.isnan(r["low"]):
        return f"at most {fmt(r['high'])}"
    return f"{fmt(r['low'])}-{fmt(r['high'])}"


def _summary(scores) -> None:
    """Print each target against the ensemble's median and 90% band (5-95% of replicates)."""
    print(f"{'target (date, basin, place, measure)':76s} {'historical':>15s} {'model median [5% to 95%]':>30s}  in 90% band")
    for _, r in scores.iterrows():
        where = f"{r['date']} {r['basin']}{', ' + r['place'] if r['place'] else ''} {r['measure']}"
        fmt = (lambda v: f"{v:.2f}") if r["measure"] == "allegiance" else (lambda v: f"{v:,.0f}")
        hist = _hist(r)
        if r["measure"] in ("first_strike", "last_day"):
            hist = "on the day"
        if not r["scored"]:
            print(f"{where:76s} {hist:>15s}   not scored: {r['reason']}")
            continue
        vals = [float(r[k]) for k in ("sim_median", "sim_p05", "sim_p95")]
        if not all(math.isfinite(v) for v in vals):  # e.g. an event that happened in no replicate
            sim = "never happened" if r["measure"] in ("first_strike", "last_day") else "no simulated value"
        elif r["measure"] in ("first_strike", "last_day"):  # days after the historical date
            q = [round(v) + 0 for v in vals]  # + 0 turns -0 into 0
            sim = f"{q[0]:+} days [{q[1]:+} to {q[2]:+}]"
        else:
            sim = f"{fmt(vals[0])} [{fmt(vals[1])} to {fmt(vals[2])}]"
        flag = "" if bool(r.get("informative", True)) else " (uninformative)"
        print(f"{where:76s} {hist:>15s} {sim:>30s}  {'yes' if r['inside_90'] else 'NO'}{flag}")
    s = scores[scores["scored"]]
    if s.empty:
        print(f"none of the {len(scores)} targets could be scored (see the reasons above)")
        return
    print(f"{int(s['inside_90'].sum())} of {len(s)} scored targets inside the 90% band, {int(s['inside_50'].sum())} inside the 50% band")
    print("(bands across replicates: 90% = 5-95%, 50% = 25-75%; dated events: days after the historical date, negative = earlier)")


def param_markdown() -> str:
    """The parameter table as markdown."""
    from sim.params import param_table

    lines = ["| name | default | unit | mechanism | range | meaning | source |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in param_table():
        lines.append(
            f"| `{r['name']}` | {r['default']:g} | {r['unit']} | {r['mechanism']} | {r['range']} | {r['meaning']} | {r['source']} |"
        )
    return "\n".join(lines) + "\n"


def cmd_explain(args: argparse.Namespace) -> int:
    """Why did this town's enterprises strike (or go back) on this day? The terms of each decision (sim/explain.py)."""
    import hashlib
    import json
    from datetime import date as _date

    import pandas as pd

    from sim import explain, results
    from sim.scenario import load_scenario

    try:
        day = _date.fromisoformat(args.date)
    except ValueError:
        raise _usage(f"--date must be an ISO date (YYYY-MM-DD), got {args.date!r}") from None
    sc = load_scenario(args.scenario)
    ex = explain.explain(sc, day, args.town, args.replicate)
    digest = hashlib.sha256(json.dumps([sc.digest(), args.date, args.town, args.replicate]).encode()).hexdigest()[:8]
    folder = results.ResultsFolder(Path(args.out), "explain", digest, args.command_line, resume=False, repo=ROOT)
    with folder.assembling():
        folder.tables({"enterprises": ex.enterprises, "committees": ex.committees})
        if not args.no_figures:
            import matplotlib

            matplotlib.use("Agg")
            results.save_figure(explain.draw(ex), folder.path / "figures", "explain")
        folder.manifest(
            {
                "experiment": "explain",
                "command": args.command_line,
                "scenario": _rel(sc.path),
                "date": args.date,
                "town": args.town,
                "replicate": args.replicate,
                "replicate_seed": ex.seed,
                "git_commit": results.git_commit(ROOT),
                "versions": results.versions(),
                "tables": {
                    "enterprises": "one row per enterprise of the town: the terms of its decision that day, hazard, probability, draw, acted",
                    "committees": "the town's and the basin's committee: active, stage, allegiance and that day's escalation terms",
                },
            },
        )
    final = folder.publish()
    if not args.quiet:
        e = ex.enterprises
        with pd.option_context("display.width", 200, "display.max_columns", 40, "display.float_format", "{:.4g}".format):
            print(f"{ex.town}, {ex.day}, replicate {ex.replicate} of {ex.scenario} (seed {ex.seed}): {len(e)} enterprises")
            for kind, cols in (
                (
                    "at work: onset",
                    [
                        "enterprise",
                        "readiness",
                        *explain.READINESS_TERMS,
                        *explain.ONSET_TERMS,
                        "channelled",
                        "refractory",
                        "committee_call",
                        "held_by_return_order",
                        "hazard",
                        "probability",
                        "draw",
                        "acted",
                    ],
                ),
                ("on strike: return", ["enterprise", *explain.RETURN_TERMS, "hazard", "probability", "draw", "acted"]),
            ):
                part = e[e["decision"] == kind.split(": ")[1]] if len(e) else e
                if len(part):
                    print(f"\n{kind} ({len(part)})")
                    print(part[[c for c in cols if c in part]].to_string(index=False))
            print("\ncommittees")
            print(ex.committees.to_string(index=False))
        print(f"-> {_rel(final)}")
    return 0


def cmd_levers(args: argparse.Namespace) -> int:
    """Print the lever reference (every event kind, its keys, ranges, defaults, an example), or write docs/levers.md."""
    from sim.interventions import lever_reference

    text = lever_reference()
    if not args.write:
        print(text, end="")
        return 0
    from sim import results

    results.write_text(ROOT / "docs" / "levers.md", text)
    print("wrote docs/levers.md")
    return 0


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


def _common(p: argparse.ArgumentParser) -> None:
    """Options every command that runs the model shares."""
    p.add_argument("--workers", "-j", type=int, default=None, help="processes (default: all cores; 1 = serial)")
    p.add_argument(
        "--cluster",
        default=None,
        help="address of a Dask scheduler (tcp://HOST:PORT) to run on instead of local processes (default: none, local processes)",
    )
    p.add_argument("--out", default=str(ROOT / "results"), help="results root folder (default: results/)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")


class Formatter(argparse.HelpFormatter):
    """Every option's default in its help text (unless the text already states it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        if "default" in text or d is None or d is False or d == argparse.SUPPRESS or not action.option_strings:
            return text
        shown = _rel(d) if isinstance(d, str) and Path(d).is_absolute() else d
        return f"{text} (default: {shown})"


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (`run.py run: error: ...`) instead of the usage block, exit status 2."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every command has --help)."""
    parser = Parser(
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
    _common(p)
    p.add_argument("--fresh", action="store_true", help="start anew even if an unfinished run of the same command is on disk")
    p.add_argument(
        "--targets",
        default=str(TARGETS),
        help="targets file to score the run against (default: calibration/targets/july1989.csv; '' for none)",
    )
    p.set_defaults(func=cmd_run)
    c = sub.add_parser(
        "calibrate",
        help="fit the model to the July 1989 targets by ABC-SMC (pyabc); posterior and fit figures",
        description="ABC-SMC over the priors of a priors file (default: the 1989-1990 stage, calibration/priors_1989_1990.toml) on its targets file. Writes results/calibration/<UTC time>_<hash>/ "
        "(posterior.parquet, populations, posterior predictive check, figures, pyabc's abc.db). --install also copies the posterior "
        "to calibration/fitted/ with a generated README. A stopped run continues with the same command and --resume.",
    )
    c.add_argument(
        "--priors",
        default=str(PRIORS),
        help="priors file (default: calibration/priors_1989_1990.toml, stage 2, fitted given stage 1: calibration/priors.toml)",
    )
    c.add_argument("--budget", default="small", help="small (CI, a few minutes) or full (the committed posterior); default small")
    c.add_argument("--population", type=int, default=None, help="particles per population (default: the budget's)")
    c.add_argument("--generations", type=int, default=None, help="maximum populations (default: the budget's)")
    c.add_argument("--predictive", type=int, default=200, help="replicates of the posterior predictive check (default 200)")
    c.add_argument("--seed", "-s", type=int, default=1989, help="root seed (default 1989)")
    _common(c)
    c.add_argument("--resume", action="store_true", help="continue the newest unfinished run of the same configuration")
    c.add_argument("--install", action="store_true", help="copy the posterior to calibration/fitted/ (what scenarios use)")
    c.set_defaults(func=cmd_calibrate)
    v = sub.add_parser(
        "validate",
        help="score the calibrated model on every row of a targets file (no refitting)",
        description='Run the calibrated model (a scenario with parameters = "posterior", by default the baseline) and score it '
        "on every row of TARGETS: inside the 50% band (25-75% of replicates), inside the 90% band (5-95%), outside, or not "
        "scored with the reason; each row's weighted interval score, and the skill against a reference forecast (the prior "
        "predictive). Prints the table; writes results/validate/<UTC time>_<hash>/ with targets_check.parquet and figures/validation.png.",
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
    v.set_defaults(func=cmd_validate)
    for name, helptext, desc in (
        (
            "compare",
            "run scenarios as paired arms on the same seeds and parameter draws; effects per pair",
            "Run every SCENARIO on the same replicate seeds and posterior draws (common random numbers), so arms differ only "
            "through their levers; the first is the reference. Writes results/compare/<UTC time>_<hash>/ with outcomes, paired "
            "effects (reference minus arm: median, 90% interval, flips), daily series and figures.",
        ),
        (
            "thesis",
            "run the thesis suite (baseline and eleven counterfactual arms) and write the report",
            "Run the scenario suite of the thesis as paired arms and write results/thesis/<UTC time>_<hash>/report.md: each claim "
            "of the essay with its paired effect, threshold, intervals and verdict (supported, contradicted, negligible, "
            "undetermined, true by construction) at the dates that matter, the search of the priors for a parameter set that "
            "reverses it, a forest plot of the effects and the arms' bands.",
        ),
    ):
        e = sub.add_parser(name, help=helptext, description=desc)
        if name == "compare":
            e.add_argument("scenarios", nargs="+", help="scenario files; the first is the reference arm")
        e.add_argument("--replicates", "-n", type=int, default=200 if name == "thesis" else 50, help="paired replicates per arm")
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
            e.add_argument(
                "--flip-points",
                type=int,
                default=32,
                help="parameter sets inside the priors searched for one that reverses each claim (default 32; 0: no search)",
            )
            e.add_argument("--flip-replicates", type=int, default=4, help="paired replicates per searched parameter set (default 4)")
            e.add_argument(
                "--flip-confirm",
                type=int,
                default=32,
                help="fresh paired replicates that confirm the most opposite parameter set of each claim (default 32)",
            )
        _common(e)
        e.set_defaults(func=cmd_compare if name == "compare" else cmd_thesis)
    f = sub.add_parser(
        "plot",
        help="redraw every figure of a results folder from its saved tables",
        description="Read a finished results folder (of run, calibrate, validate, compare or thesis) and write all its figures "
        "into its figures/ folder, PNG and SVG, from the saved tables and manifest only (no simulation).",
    )
    f.add_argument("folder", help="a results folder, e.g. results/baseline/<UTC time>_<hash>")
    f.add_argument("--arms", default=None, help="compare/thesis: comma-separated arms to show (default: all)")
    f.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    f.set_defaults(func=cmd_plot)
    r = sub.add_parser(
        "rerun",
        help="run a results folder's recorded command again and check the results are identical",
        description="Read FOLDER's manifest, run its recorded command again (same seed, same scenario files, no figures) into a "
        "scratch folder, and compare every table and report with the recorded ones (byte for byte; tables whose only "
        "difference is a wall-clock column are compared without it) and the manifest key by key (timings and executor aside). "
        "Prints 'identical' and exits 0, or lists what differs and exits 1. Notes a different git commit or package versions.",
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
    r.set_defaults(func=cmd_rerun)
    y = sub.add_parser(
        "sensitivity",
        help="which parameters and mechanisms drive the outcomes and the thesis: Morris, Sobol, knock-outs, robustness map",
        description="Global sensitivity of the key outcomes (Morris screening over every factor, then Sobol indices on those that "
        "matter, with SALib), the mechanism knock-out matrix (July 1989 fit and thesis verdicts without each mechanism), and the "
        "thesis robustness map (PRIM on the sign of the concession effect over posterior draws and wider ranges). Writes "
        "results/sensitivity/<UTC time>_<hash>/ with tables, summary.md and figures; `thesis` reads it back into its report.",
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
    y.set_defaults(func=cmd_sensitivity)
    z = sub.add_parser(
        "viz",
        help="serve the interactive app (Mesa SolaraViz) on localhost",
        description="Serve a Mesa SolaraViz page over one replicate of the scenario: the network coloured by strike state and "
        "committees by demand stage, the date and strikers, strikers by basin and committees by stage over time; step, "
        "play and reset, and sliders for the seed, the levers (concessions, repression, glasnost) and two calibrated "
        "parameters. Open the printed address in a browser; Ctrl-C stops the server.",
    )
    z.add_argument("--scenario", default=str(BASELINE), help="scenario file (default: scenarios/baseline.toml)")
    z.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    z.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    z.add_argument("--open", action="store_true", help="also open it in the default browser")
    z.set_defaults(func=cmd_viz)
    q = sub.add_parser(
        "params",
        help="print the parameter table (markdown)",
        description="Print every model parameter with unit, mechanism, range, meaning and source.",
    )
    q.add_argument("--readme", action="store_true", help="write the table into README.md between its markers instead of printing it")
    q.set_defaults(func=cmd_params)
    x = sub.add_parser(
        "explain",
        help="why did a town's enterprises strike or go back on a day: the terms of each decision (table and figure)",
        description="Run the per-agent model (the same rules, seed and parameter draw as the engine's replicate) to DATE and "
        "print, for every enterprise of TOWN, the terms of that day's decision: readiness and its grievance, paternalism, "
        "repression, efficacy, trust and cost terms with the onset hazard's spark, contagion by tie level, news, committee "
        "push and call; or the return hazard's order, peers, fatigue, cost and end of a call; with the probability, the "
        "draw and the decision. Also the town's and basin's committee: stage, allegiance and why it moved. Writes "
        "results/explain/<UTC time>_<hash>/ with both tables and figures/explain.png.",
    )
    x.add_argument("scenario", help="scenario file, e.g. scenarios/baseline.toml")
    x.add_argument("--date", required=True, help="ISO date of the decisions to explain, e.g. 1989-07-12")
    x.add_argument("--town", required=True, help="town name as in the data, e.g. Prokopyevsk")
    x.add_argument("--replicate", type=int, default=0, help="replicate index (its seed and parameter draw are the engine's)")
    x.add_argument("--out", default=str(ROOT / "results"), help="results root folder (default: results/)")
    x.add_argument("--no-figures", action="store_true", help="skip the figure")
    x.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    x.set_defaults(func=cmd_explain)
    lv = sub.add_parser(
        "levers",
        help="print the lever reference (every event kind of a scenario, its keys, ranges, defaults, an example)",
        description="Print the reference of the events a scenario's [[events]] may hold, generated from the lever registry.",
    )
    lv.add_argument("--write", action="store_true", help="write it to docs/levers.md instead of printing it")
    lv.set_defaults(func=cmd_levers)
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse a command line (without the program name); options without a command belong to `run`."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
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


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def threads_and_backend() -> None:
    """Set up what the command line needs before numpy is first imported.

    One BLAS thread per process, and a matplotlib backend that needs no screen. The engine's matrix products are small, and ensembles and calibration already keep every core busy
    with one process each; threaded BLAS on top of that made a calibration step twice as slow here
    (measured). Worker processes inherit the setting. A value the user exported wins.
    """
    for var in BLAS_THREADS:
        os.environ.setdefault(var, "1")
    # a run stopped by Ctrl-C leaves at once (`entry`); multiprocessing's resource tracker then unlinks the
    # pool's semaphores itself, and its warning about them would be a second line after the one the user reads
    sys.warnoptions.append("ignore:resource_tracker:UserWarning")
    import matplotlib

    matplotlib.use("Agg")


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run, and turn bad input into a one-line error."""
    threads_and_backend()
    from sim.errors import InputError
    from sim.results import BusyError

    words = sys.argv[1:] if argv is None else list(argv)
    args = parse(words)
    # the command line the results record (the library is given it, never reads sys.argv)
    args.command_line = " ".join(["python", "run.py", *words])
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)  # end pools and keep finished chunks, as on Ctrl-C
    try:
        _check_options(args)
        _cap_workers(args)
        return args.func(args)
    except BusyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(getattr(exc, "message", "interrupted: no result written"), file=sys.stderr)
        return getattr(exc, "code", 130)
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
    code = main()
    if code in (130, 143):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
