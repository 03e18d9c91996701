"""Run a scenario ensemble (`run_scenario`), and score the calibrated model on a targets file (`validate`)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from sim.api.common import (
    BASELINE,
    ROOT,
    TARGETS,
    Result,
    note,
    note_overrides,
    parameters_entry,
    progress,
    rel,
    scores_text,
    verdict_words,
)
from sim.api.options import TABLES, RunOptions, choice, path_option, switch
from sim.api.recorded import command_line
from sim.figures import figures
from sim.inputs.errors import OptionError
from sim.run import results

RUN_TABLES = {
    "daily_basin": "one row per replicate, date and basin: strikers, enterprises on strike, committees by level and stage, workforce shares by stage, efficacy, trust, relief promised and carried out, concessions",
    "daily_republic": "one row per replicate, date and republic: separatism index, strikers, workforce shares by demand stage",
    "daily_town": "one row per replicate, date and town, over the calibration window (first 62 days): strikers, enterprises on strike",
    "basin_events": "per replicate and basin: date of the first strike and of the first day back to no strike",
    "allegiance_oblast": "per replicate, oblast of the mining towns and date (17 March, 24 August, 1 December 1991 and the last day): workforce and the share whose active committee backs the republic against the Union; adults of 1989 and the vote-scale allegiance with its parts (as in vote_scale)",
    "vote_scale": "per replicate, date (17 March, 24 August, 1 December 1991 and the last day) and oblast, and per republic (oblast = 'all mining oblasts with 1989 adults', adult-weighted): the share of the adults backing their republic against the Union (vote) and its parts, vote = baseline (1989-90 stance, P_o(0)) + shocks (dated decisions of 1990-91) + miners (miners_weight x (miners_stance - population)); NaN where the oblast's 1989 population is not sourced (sim/model/vote.py)",
    "targets_check": "each row of the targets file against the ensemble: simulated quantiles (5, 25, 50, 75, 95%) on its date or in its window, inside the 50% (25-75%) and 90% (5-95%) bands, informative or not, weighted interval score",
    "target_series": "one row per replicate, date and place the targets file names: strikers, enterprises on strike, allegiance",
    "parameter_draws": "per replicate: its seed, the posterior row drawn for it and the parameter values it ran with",
    "towns": "one row per town with enterprises: basin, republic, oblast, mean coordinates, enterprises, workforce (the network figure's layout)",
}


@dataclass
class RunResult(Result):
    """A scenario ensemble: its results folder, the target scores (empty without targets) and what failed."""

    scenario: str = ""
    replicates: int = 0
    seconds: float = 0.0
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    failed_chunks: int = 0
    failed_replicates: int = 0
    vote: str = ""  # the vote-scale printout (sim.analysis.vote_scale.text)

    @property
    def status(self) -> int:  # noqa: D102 - Result.status
        return 1 if self.failed_chunks else 0

    def text(self) -> str:  # noqa: D102 - Result.text
        lines = [f"{self.replicates} replicates of '{self.scenario}' in {self.seconds:.1f} s -> {results.shown(self.folder)}"]
        if len(self.scores):
            lines.append(scores_text(self.scores))
        if self.vote:
            lines.append(self.vote)
        return "\n".join(lines)


def run_scenario(
    scenario: str | Path = BASELINE,
    *,
    targets: str | Path | None = TARGETS,
    fresh: bool = False,
    tables: str = "figures",
    options: RunOptions | None = None,
    **shared: Any,
) -> RunResult:
    """Run `scenario` as an ensemble and publish results/<name>/<UTC time>_<hash>/ (manifest, tables, figures).

    Finished chunks are appended to an unfinished folder as they come; the same call, made again,
    resumes them (`fresh=True` starts anew). `targets` (a targets file, or None) are scored.
    `tables`: "figures" (default) records, of the daily basin and republic tables, the columns the
    figures, summary and manifest read (`sim.run.runner.FIGURE_COLUMNS`); "all" records every observable.
    Shared options: `options` (a `RunOptions`) or its fields as keywords (replicates and seed default
    to the scenario's; workers, cluster, out, draw_figures, quiet, command).
    """
    o = RunOptions.build(options, **shared)
    replicates, seed, workers, cluster, out, draw_figures, quiet, command = o.values()
    path_option("scenario", scenario)
    path_option("targets", targets, empty=True)
    switch("fresh", fresh)
    choice("tables", tables, TABLES)
    from sim.analysis import vote_scale
    from sim.analysis.targets import load_targets, score, target_areas
    from sim.model.metrics import first_and_last
    from sim.model.scenario import check_against, load_scenario
    from sim.run.runner import ChunkError, Tables, chunk_size, draws_table, run_ensemble, world_for

    command = command or command_line("run_scenario", o, scenario=scenario, targets=targets, tables=None if tables == "figures" else tables)
    sc = load_scenario(scenario)
    results.check_experiment(sc.name, sc.path)  # its folder must not be a command's
    tgts = load_targets(targets) if targets else []
    reps = sc.replicates if replicates is None else replicates
    seed = sc.seed if seed is None else seed
    sc = sc.with_changes(replicates=reps, seed=seed)  # the manifest records what actually ran
    note_overrides([sc], quiet)
    world = world_for(sc.data)  # checks the data files before any work (run_ensemble reuses it)
    check_against(sc, world)
    digest = sc.digest()  # hashes every data table and the posterior: once
    areas = target_areas(tgts, world)[0] if tgts else []
    if tgts:  # the places recorded depend on the targets file: a different file is a different run
        digest = hashlib.sha256((digest + hashlib.sha256(Path(targets).read_bytes()).hexdigest()).encode()).hexdigest()
    if tables != "figures":  # so do the columns recorded
        digest = hashlib.sha256(f"{digest} tables={tables}".encode()).hexdigest()
    folder = results.ResultsFolder(Path(out), sc.name, digest, command, resume=not fresh, repo=ROOT)
    plan = folder.plan({"replicates": reps, "seed": seed, "chunk": chunk_size(reps, workers)})
    names = ("basin", "republic", "town", "oblast", "areas")
    done = {i: Tables(**t) for i, t in folder.done_chunks(names).items()}
    failed: list = []
    resumed = sum(t.basin["replicate"].nunique() for t in done.values())
    if resumed:
        note(quiet, f"resumed {resumed:,} of {reps:,} replicates from {rel(folder.path)}")
    bar = progress(reps, "replicates", quiet, initial=resumed)

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
            workers=workers,
            chunk=plan["chunk"],
            cluster=cluster,
            done=done,
            on_chunk=on_chunk,
            keep_going=True,
            areas=areas,
            tables=tables,
        )
    elapsed = time.perf_counter() - t0
    draws = draws_table(sc, seeds)
    with folder.assembling():
        votes = vote_scale.vote_table(tables.oblast)
        scores = vote_scale.score_votes(tgts, score(tgts, tables.areas, world, sc.start), votes) if tgts else pd.DataFrame()
        out_tables = {
            "daily_basin": tables.basin,
            "daily_republic": tables.republic,
            "daily_town": tables.town,
            "allegiance_oblast": tables.oblast,
            "vote_scale": votes,
            "basin_events": first_and_last(tables.basin, str(sc.start), str(sc.end)),
            "towns": figures.towns_table(world),
        }
        if tgts:
            out_tables["targets_check"] = scores
            out_tables["target_series"] = tables.areas
        if draws is not None:
            out_tables["parameter_draws"] = draws
        if failed:
            out_tables["failed_chunks"] = pd.DataFrame([f.__dict__ for f in failed])
        folder.tables(out_tables)
        scenario_dict = sc.to_dict()
        scenario_dict["path"], scenario_dict["data"] = rel(sc.path), rel(sc.data)
        folder.manifest(
            {
                "experiment": sc.name,
                "scenario_file": rel(scenario),
                "scenario": scenario_dict,
                "root_seed": seed,
                "replicates": reps,
                "replicate_seeds": seeds,
                "data_files_sha256": world.files,
                "enterprises": world.n,
                "run_seconds": round(elapsed, 2),
                "resumed_from_chunks": sorted(done),
                "chunk_replicates": plan["chunk"],
                "executor": f"dask {cluster}" if cluster else f"local processes ({workers or os.cpu_count()})",
                "failed_replicates": sum(f.replicates for f in failed),
                **parameters_entry(sc),
                "tables": RUN_TABLES,
                "tables_recorded": tables,
                "targets_file": rel(targets) if targets else None,
            }
        )
        if draw_figures:
            figures.draw(folder.path)
    final = folder.publish()
    res = RunResult(final, sc.name, reps, elapsed, scores, len(failed), sum(f.replicates for f in failed), vote_scale.text(votes))
    if failed:
        note(False, f"warning: {len(failed)} chunks ({res.failed_replicates} replicates) failed; see failed_chunks.parquet")
    return res


@dataclass
class ValidateResult(Result):
    """The calibrated model scored on a targets file: one verdict per row, and its skill against the prior predictive."""

    scenario: str = ""
    targets: str = ""
    parameters: str = ""
    replicates: int = 0
    seconds: float = 0.0
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    reference: pd.DataFrame | None = None
    skill: dict | None = None

    def text(self) -> str:  # noqa: D102 - Result.text
        lines = [
            f"validation of '{self.scenario}' ({self.replicates} replicates, {self.parameters} parameters) on {Path(self.targets).name} "
            f"in {self.seconds:.1f} s -> {rel(self.folder)}",
            scores_text(self.scores),
        ]
        sk = self.skill
        if sk is not None:
            lines.append(
                f"weighted interval score (scaled, summed over {sk['rows']} rows): model {sk['wis_model']:.2f}, prior predictive {sk['wis_reference']:.2f}; "
                f"skill {sk['skill']:+.2f} (1 perfect, 0 no better than the prior, below 0 worse)"
            )
        return "\n".join(lines)


def validate(
    targets: str | Path,
    *,
    scenario: str | Path = BASELINE,
    reference: str = "prior",
    options: RunOptions | None = None,
    **shared: Any,
) -> ValidateResult:
    """Score the calibrated model on every row of `targets` (no refitting), against the prior predictive (`reference="prior"`).

    `reference`: "prior" or "none". Shared options: `options` (a `RunOptions`) or its fields as keywords
    (replicates: default 200; seed: the scenario's; workers, cluster, out, draw_figures, quiet, command).
    """
    o = RunOptions.build(options, **shared).with_defaults(replicates=200)
    replicates, seed, workers, cluster, out, draw_figures, quiet, command = o.values()
    path_option("targets", targets)
    path_option("scenario", scenario)
    choice("reference", reference, ("prior", "none"))
    from sim.analysis import calibration as cal
    from sim.analysis import vote_scale
    from sim.analysis.targets import load_targets, score, skill, target_areas
    from sim.model.scenario import check_against, load_scenario
    from sim.run.runner import run_ensemble, world_for

    command = command or command_line("validate", o, targets=targets, scenario=scenario, reference=reference)
    tgts = load_targets(targets)
    if not tgts:
        raise OptionError(f"{targets}: no target rows")
    sc = load_scenario(scenario)
    reps = replicates
    seed = sc.seed if seed is None else seed
    # the run stops two months after the last target (later days cannot change a score)
    last = max(t.date for t in tgts) + timedelta(days=62)
    sc = sc.with_changes(replicates=reps, seed=seed, end=min(sc.end, max(last, sc.start + timedelta(days=61))))
    world = world_for(sc.data)
    check_against(sc, world)
    areas = target_areas(tgts, world)[0]
    # an unwritable `out` stops here, before any simulation
    priors = [ROOT / "calibration" / f for f in cal.PRIOR_FILES] if reference == "prior" else []
    digest = results.key(sc.digest(), reference, files=[targets, *priors])  # the targets' and priors' content too
    folder = results.ResultsFolder(Path(out), "validate", digest, command, resume=False, repo=ROOT)
    ref_sc = None
    if reference == "prior":
        setups = [cal.load_priors(ROOT / "calibration" / f) for f in cal.PRIOR_FILES]
        folder.tables({"prior_draws": cal.prior_table(setups, 4000, seed)})
        ref_sc = dataclasses.replace(sc, posterior=folder.path / "prior_draws.parquet", parameters="prior_draws.parquet")
    t0 = time.perf_counter()
    bar = progress(reps * (2 if ref_sc else 1), "replicates", quiet)
    try:

        def ensemble(scenario):
            return run_ensemble(
                scenario,
                reps,
                seed,
                workers=workers,
                cluster=cluster,
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
    scores = vote_scale.score_votes(tgts, score(tgts, tables.areas, world, sc.start), vote_scale.vote_table(tables.oblast))
    scores.insert(0, "verdict", verdict_words(scores))
    out_tables = {"targets_check": scores, "daily_basin": tables.basin, "target_series": tables.areas}
    ref, sk = None, None
    if ref_tables is not None:
        ref = vote_scale.score_votes(tgts, score(tgts, ref_tables.areas, world, sc.start), vote_scale.vote_table(ref_tables.oblast))
        ref.insert(0, "verdict", verdict_words(ref))
        out_tables["reference_check"] = ref
        sk = skill(scores, ref)
    with folder.assembling():
        folder.tables(out_tables)
        folder.manifest(
            {
                "experiment": "validate",
                "targets_file": rel(targets),
                "targets_sha256": hashlib.sha256(Path(targets).read_bytes()).hexdigest(),
                "scenario_file": rel(scenario),
                "window": [str(sc.start), str(sc.end)],
                "root_seed": seed,
                "replicates": reps,
                "replicate_seeds": seeds,
                **parameters_entry(sc),
                "reference": "prior predictive: the same scenario, seeds and targets with the calibrated parameters drawn from the priors of "
                + ", ".join(f"calibration/{f}" for f in cal.PRIOR_FILES)
                if ref_sc
                else None,
                "skill": sk,
                "run_seconds": round(elapsed, 2),
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
        if draw_figures:
            figures.draw(folder.path)
    final = folder.publish()
    return ValidateResult(final, sc.name, str(targets), parameters_entry(sc)["parameters"], reps, elapsed, scores, ref, sk)
