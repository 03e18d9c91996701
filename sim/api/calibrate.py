"""ABC-SMC calibration on the targets of a priors file: posterior, posterior predictive check, figures, and `--install`."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.api.common import PRIORS, ROOT, Result, historical, md_table, note, rel, scores_text
from sim.api.options import RunOptions, checked, choice, path_option, switch
from sim.api.recorded import command_line
from sim.figures import figures
from sim.inputs.errors import OptionError
from sim.run import results


@dataclass
class CalibrateResult(Result):
    """A calibration: the posterior's summary, the populations, the posterior predictive scores and what was installed."""

    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    populations: pd.DataFrame = field(default_factory=pd.DataFrame)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    particles: int = 0
    abc_seconds: float = 0.0
    predictive: int = 0
    installed: list[Path] = field(default_factory=list)

    def text(self) -> str:  # noqa: D102 - Result.text
        pops = self.populations
        label = f"{self.particles} particles, {len(pops)} populations, final epsilon {pops['epsilon'].iloc[-1]:.3g}"
        lines = [
            f"ABC-SMC: {label}, {int(pops['simulations'].sum()):,} simulations in {self.abc_seconds:.0f} s -> {rel(self.folder)}",
            "acceptance and effective sample size (ESS) by population:",
            populations_text(pops),
            f"final effective sample size {pops['ess'].iloc[-1]:.0f} of {self.particles}",
            self.summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
            f"posterior predictive ({self.predictive} replicates):",
            scores_text(self.scores),
        ]
        if self.installed:
            lines.append("installed " + " and ".join(rel(p) for p in self.installed))
        return "\n".join(lines)


def calibrate(
    *,
    priors: str | Path = PRIORS,
    budget: str = "small",
    population: int | None = None,
    generations: int | None = None,
    minutes: float | None = None,
    predictive: int = 200,
    resume: bool = False,
    install: bool = False,
    options: RunOptions | None = None,
    **shared: Any,
) -> CalibrateResult:
    """ABC-SMC over the priors of `priors` on its targets; publishes results/calibration/<UTC time>_<hash>/.

    A stopped calibration keeps its populations (pyabc's abc.db) and continues with `resume=True`;
    `install=True` copies the posterior where the scenarios read it, with a generated README.
    `population`, `generations`, `minutes` (the ABC's wall-time cap; None: the budget's) and `predictive` have the limits of `sim.inputs.limits.LIMITS`.
    Shared options: `options` (a `RunOptions`) or its fields as keywords (seed: default 1989; workers,
    cluster, out, draw_figures, quiet, command; no replicates: `predictive` is the check's).
    """
    o = RunOptions.build(options, **shared).with_defaults(seed=1989)
    o.refuse("replicates", command="calibrate")
    _, seed, workers, cluster, out, draw_figures, quiet, command = o.values()
    path_option("priors", priors)
    choice("budget", budget, ("small", "full"))
    checked("population", population)
    checked("generations", generations)
    checked("minutes", minutes)
    checked("predictive", predictive, optional=False)
    switch("resume", resume)
    switch("install", install)
    from sim.analysis import calibration as cal
    from sim.analysis import smc
    from sim.analysis.targets import load_targets, score, target_areas
    from sim.model.scenario import check_against, load_scenario
    from sim.run.runner import executor_map, run_ensemble, world_for

    call = dict(
        priors=priors,
        budget=budget,
        population=population,
        generations=generations,
        minutes=minutes,
        predictive=predictive,
        install=install,
    )
    command = command or command_line("calibrate", o, **call)
    setup = cal.load_priors(priors)
    targets = load_targets(setup.targets)
    plan = smc.Budget.named(budget)
    if population is not None:  # the ESS aim and the cap scale with the population asked for
        if plan.target_ess:
            scale = population / plan.population
            plan.target_ess, plan.most = plan.target_ess * scale, max(population, round(plan.most * scale))
        plan.population = population
    if generations is not None:
        plan.generations = generations
    if minutes is not None:
        plan.max_minutes = float(minutes)
    if plan.population < 2 or plan.generations < 1:
        raise OptionError("--population must be at least 2 and --generations at least 1")
    sc = load_scenario(setup.scenario, require_posterior=False)
    note_missing_given(setup, sc)
    if not sc.start < setup.end <= sc.end:
        raise OptionError(f"{setup.path}: [setup] end {setup.end} must lie after the scenario's start {sc.start} and by its end {sc.end}")
    # calibration runs: the scenario cut to the window, with its own (prior-replaced) parameters
    sc = dataclasses.replace(sc.with_changes(end=setup.end), posterior=None, parameters="defaults")
    world = world_for(sc.data)
    check_against(sc, world)
    config = {
        "priors": hashlib.sha256(setup.path.read_bytes()).hexdigest(),
        "targets": hashlib.sha256(setup.targets.read_bytes()).hexdigest(),
        "scenario": sc.digest(),
        "given": hashlib.sha256(setup.given.read_bytes()).hexdigest() if setup.given else None,
        "seed": seed,
        "budget": dataclasses.asdict(plan),
    }
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
    out = Path(out)
    if resume and not [f for f in results.partial_folders(out, "calibration", digest) if (f / "abc.db").is_file()]:
        raise OptionError(
            "--resume: no unfinished calibration with these priors, targets, seed and budget under " + rel(out / "calibration")
        )
    folder = results.ResultsFolder(out, "calibration", digest, command, resume=resume, usable=lambda f: (f / "abc.db").is_file(), repo=ROOT)
    resumed = folder.resumed_from
    commit = results.git_commit(ROOT)  # the code that runs (taken now, not after a long run)
    t0 = time.perf_counter()
    try:
        with executor_map(workers, chunksize=4, cluster=cluster) as map_:
            history = smc.run_abc(
                setup, sc, targets, plan, seed, folder.path / "abc.db", map_=map_, resume=resumed is not None, verbose=not quiet
            )
    except BaseException as exc:
        note(False, f"calibration stopped; its populations so far are kept in {rel(folder.path)} (rerun the same command with --resume)")
        stop = interrupt_behind(exc)
        if stop is not None and stop is not exc:  # the interrupt, not what pyabc raised while closing its database after it
            raise stop from None
        raise
    abc_seconds = time.perf_counter() - t0
    try:
        post = cal.posterior_table(history, setup)
        pops = smc.populations_table(history)
        summ = cal.summary(post, setup)
        if setup.given is not None:  # a later stage: the earlier stage's rows, each with one of this stage's particles
            folder.tables({"posterior_stage": post, "posterior": cal.combined_posterior(post, setup.given, seed)})
        else:
            folder.tables({"posterior": post})
        # posterior predictive: new replicates, each with a posterior draw, scored on every target
        pred_sc = dataclasses.replace(sc, posterior=folder.path / "posterior.parquet", parameters="posterior")
        t1 = time.perf_counter()
        tables, seeds = run_ensemble(pred_sc, predictive, seed, workers=workers, areas=target_areas(targets, world)[0])
        pred_seconds = time.perf_counter() - t1
        scores = score(targets, tables.areas, world, sc.start)
        folder.tables(
            {
                "populations": pops,
                "posterior_summary": summ,
                "targets_check": scores,
                "daily_basin": tables.basin,
                "target_series": tables.areas,
            }
        )
        manifest = {
            "experiment": "calibration",
            "priors_file": rel(setup.path),
            "targets_file": rel(setup.targets),
            "scenario_file": rel(setup.scenario),
            "calibration_window": [str(sc.start), str(sc.end)],
            "config": config,
            "root_seed": seed,
            "budget": dataclasses.asdict(plan),
            "resumed": resumed is not None,
            "abc_seconds": round(abc_seconds, 1),
            "predictive_replicates": predictive,
            "predictive_seeds": seeds,
            "predictive_seconds": round(pred_seconds, 1),
            "simulations": int(pops["simulations"].sum()),
            "populations": population_records(pops),
            "final_ess": round(float(pops["ess"].iloc[-1]), 1),
            "git_commit": commit,
            "data_files_sha256": world.files,
            "tables": {
                "posterior": "the last ABC-SMC population: one row per particle, the calibrated parameters and its importance weight (for a later stage: the earlier stage's rows, each with one of this stage's particles drawn by weight)",
                "posterior_stage": "a later stage only: this stage's particles and weights",
                "populations": "one row per population: epsilon, simulations (particles started; most stop early), accepted particles, acceptance rate, effective sample size (ess), seconds",
                "posterior_summary": "per parameter: weighted median and 5-95% interval, prior range",
                "targets_check": "posterior predictive: every target against new replicates with posterior draws",
                "daily_basin": "posterior predictive daily basin table (calibration window)",
                "target_series": "posterior predictive daily series of every place the targets name",
            },
            "given_posterior": rel(setup.given) if setup.given else None,
            "installed_as": rel(setup.install) if setup.install else None,
            "abc_database": "abc.db (pyabc's SQLite store of every population)",
        }
        manifest = folder.manifest(manifest)  # with the command, commit and versions it records
        if draw_figures:
            figures.draw(folder.path)
        final = folder.publish()
    except BaseException:
        note(False, f"calibration finished but its report failed; the populations are kept in {rel(folder.path)}")
        raise
    installed = []
    if install:
        results.install_file(final / "posterior.parquet", setup.install)
        readme = setup.install.with_name("README.md" if setup.install.name == "posterior.parquet" else setup.install.stem + ".md")
        results.write_text(readme, fitted_readme(manifest, pops, summ, scores, rel(final)))
        installed = [setup.install, readme]
    return CalibrateResult(final, summ, pops, scores, len(post), abc_seconds, predictive, installed)


def population_records(pops: pd.DataFrame) -> list[dict]:
    """The populations as the manifest records them: acceptance and effective sample size (ESS) by population."""
    return [
        {
            "population": int(r.population),
            "epsilon": round(float(r.epsilon), 4),
            "simulations": int(r.simulations),
            "accepted": int(r.accepted),
            "acceptance": round(float(r.acceptance), 4),
            "ess": round(float(r.ess), 1),
            "seconds": round(float(r.seconds), 1),
        }
        for r in pops.itertuples()
    ]


def populations_text(pops: pd.DataFrame) -> str:
    """The populations as printed: one line each, epsilon, simulations, accepted, acceptance, ESS, seconds."""
    head = f"{'population':>10s} {'epsilon':>9s} {'simulations':>11s} {'accepted':>8s} {'acceptance':>10s} {'ESS':>7s} {'seconds':>8s}"
    rows = [
        f"{r['population']:10d} {r['epsilon']:9.3g} {r['simulations']:11,d} {r['accepted']:8d} {r['acceptance']:10.3f} {r['ess']:7.1f} {r['seconds']:8.0f}"
        for r in population_records(pops)
    ]
    return "\n".join([head, *rows])


def interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM (`KeyboardInterrupt`) that `exc` is, or was raised while handling (None if neither).

    pyabc, stopped inside a database query, raises its own error (a SQLAlchemy `PendingRollbackError`)
    while it closes the run, with the interrupt as its context.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__context__
    return None


def note_missing_given(setup, sc) -> None:
    """Warn when the earlier stage's posterior (`given`) lacks a parameter the scenario's posterior draws and this stage does not fit.

    Each replicate would then run with the scenario's constant for it, not a draw: easy to miss, so said in one line.
    """
    from sim.inputs.posterior import posterior_for

    if setup.given is None or sc.posterior is None:
        return
    missing = sorted(set(posterior_for(sc.posterior).names) - set(setup.names) - set(posterior_for(setup.given).names))
    if missing:
        note(
            False,
            f"warning: {rel(setup.path)}: [setup] given posterior {setup.given.name} has no column {', '.join(missing)}, which "
            f"{sc.posterior.name} draws and this stage does not calibrate: every replicate uses the scenario's value instead",
        )


def _sizes(budget: dict) -> str:
    """The population size as the budget set it: fixed, or from the last population's effective sample size."""
    if budget.get("target_ess"):
        return f"{budget['population']} to {budget['most']} particles, sized to aim at {budget['target_ess']:g} effective ones"
    return str(budget["population"])


def fitted_readme(manifest: dict, pops, summ, scores, folder: str) -> str:
    """calibration/fitted/README.md: how the committed posterior was made (generated, so it cannot drift)."""
    from sim.analysis.targets import headline

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
        f"- Root seed {manifest['root_seed']}; population {_sizes(manifest['budget'])}; "
        f"{len(pops)} populations; {manifest['simulations']:,} simulations; {manifest['abc_seconds']:.0f} s of ABC on this machine's cores",
        f"- Results folder (not committed): `{folder}`",
        "",
        *md_table(
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
        *md_table(
            ["parameter", "median", "5%", "95%", "prior range", "posterior width / prior width", "identified"],
            [
                [
                    f"`{r['parameter']}`",
                    f"{r['median']:.4g}",
                    f"{r['p05']:.4g}",
                    f"{r['p95']:.4g}",
                    f"{r['prior_lo']:g} to {r['prior_hi']:g} ({r['scale']})",
                    f"{width_ratio(r):.2f}",
                    "yes" if width_ratio(r) < 0.5 else "no",
                ]
                for _, r in summ.iterrows()
            ],
        ),
    ]
    lines += [
        "",
        f"## Posterior predictive check ({manifest['predictive_replicates']} new replicates, one posterior draw each)",
        "",
        headline(scores) + ".",
        "",
        "| date | basin | place | measure | historical | median [5% to 95%] | band |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in scores.iterrows():
        hist = historical(r).replace("-", " to ")
        if not r["scored"]:
            lines.append(f"| {r['date']} | {r['basin']} | {r['place']} | {r['measure']} | {hist} | not scored: {r['reason']} | |")
            continue
        unit = " days" if r["measure"] in ("first_strike", "last_day") else ""
        if unit:
            hist = "the date"
        band = "50%" if r["inside_50"] else "90%" if r["inside_90"] else "outside"
        band += f" (uninformative: {r['uninformative_why']})" if r["inside_90"] and not r.get("informative", True) else ""
        lines.append(
            f"| {r['date']} | {r['basin']} | {r['place']} | {r['measure']} | {hist} | "
            f"{r['sim_median']:,.0f} [{r['sim_p05']:,.0f} to {r['sim_p95']:,.0f}]{unit} | {band} |"
        )
    return "\n".join(lines) + "\n"


def width_ratio(r) -> float:
    """Width of a parameter's posterior 5-95% interval over its prior's (uniform or log-uniform), on the prior's scale."""
    f = math.log10 if r["scale"] == "log" else float
    return (f(r["p95"]) - f(r["p05"])) / (0.9 * (f(r["prior_hi"]) - f(r["prior_lo"])))
