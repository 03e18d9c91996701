"""Paired arms: `compare` any scenarios, or run the `thesis` suite and write its report (verdicts, flip search)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.experiments import EFFECT
from sim.api.common import PRIOR_STAGES, ROOT, Result, note, note_overrides, num, parameters_entry, progress, rel
from sim.api.options import RunOptions, checked, iso_date, path_option, switch
from sim.api.recorded import command_line
from sim.figures import figures
from sim.inputs.errors import InputError, OptionError
from sim.run import results

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
QUICK = {"replicates": 20, "flip_points": 8, "flip_replicates": 1, "flip_confirm": 8}
"""`thesis(quick=True)` (`--quick`): a historian's first look, under a minute on two cores; options given explicitly win."""
DEFAULTS = {"replicates": 200, "flip_points": 32, "flip_replicates": 2, "flip_confirm": None}
"""`thesis`'s defaults; `flip_confirm` None: scaled to the replicates asked (`sim.analysis.flips.confirm_for`: 8 to 32)."""
KEY_OUTCOMES = ("july_peak_strikers", "striker_days_1990_91", "separatism_Ukraine_1991", "separatism_RSFSR_1991")
"""The outcomes `compare` prints (all are in its effects table)."""


@dataclass
class ArmsResult(Result):
    """Paired arms: the outcomes per arm and replicate, the paired effects, and (thesis) the verdicts and the flip search."""

    reference: str = ""
    arms: int = 0
    replicates: int = 0
    seconds: float = 0.0
    outcomes: pd.DataFrame = field(default_factory=pd.DataFrame)
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    verdicts: pd.DataFrame | None = None
    flips: pd.DataFrame | None = None

    def text(self) -> str:  # noqa: D102 - Result.text
        lines = [f"{self.arms} arms x {self.replicates} paired replicates in {self.seconds:.0f} s -> {rel(self.folder)}"]
        if self.verdicts is not None:
            for _, r in self.verdicts.iterrows():
                lines.append(f"  {r['claim']:22s} {versus(r, self.reference)}  {r['verdict']}")
            lines.append(f"report: {rel(self.folder / 'report.md')}")
            return "\n".join(lines)
        e = self.effects
        lines.append(f"  {EFFECT.replace('baseline', self.reference, 1)}:")
        for _, r in e[e["outcome"].isin(KEY_OUTCOMES)].iterrows():
            lines.append(f"  {versus(r, self.reference)}")
        return "\n".join(lines)


def versus(r, reference: str) -> str:
    """A paired effect in words, as the effect of the lever (`sim.analysis.experiments.EFFECT`): what it raised or lowered, by how much.

    The effects table holds reference minus arm, the effect of the reference's lever (what it does and
    the arm does not); the sentence says which way it went and gives the signed number with its
    interval ("ARM: the lever raised peak strikers, July-August 1989 by N persons (effect of the
    lever = baseline minus ARM = +N; ...)"). A claim read on the baseline alone gives its value.
    """
    from sim.model.metrics import OUTCOME_LABELS, OUTCOMES

    label, unit = OUTCOME_LABELS.get(r["outcome"], r["outcome"]).removesuffix(" (0/1)"), OUTCOMES[r["outcome"]].unit
    unit = "(share of runs)" if unit == "0/1" else unit
    if str(r["arm"]).startswith("("):  # a claim read on the baseline alone
        return f"{label}: {num(r['mean'])} {unit} in {reference} (90% bootstrap interval {num(r['mean_lo'])} to {num(r['mean_hi'])})"
    d = r["mean"]
    how = "raised" if d > 0 else "lowered" if d < 0 else "did not change"
    by = f" by {num(abs(d)).lstrip('+')} {unit}" if d else ""
    return (
        f"{r['arm']}: the lever {how} {label[:1].lower() + label[1:]}{by} (effect of the lever = {reference} minus {r['arm']} "
        f"= {num(d)}, mean over pairs; 90% bootstrap interval {num(r['mean_lo'])} to {num(r['mean_hi'])})"
    )


def compare(
    scenarios: list[str | Path], *, fork_at: str | date | None = None, fresh: bool = False, options: RunOptions | None = None, **shared: Any
) -> ArmsResult:
    """Run `scenarios` as paired arms on the same seeds and parameter draws; the first is the reference.

    `fork_at`: an ISO date (or a `datetime.date`) from which every arm goes on from the reference's history.
    Shared options: `options` (a `RunOptions`) or its fields as keywords (replicates: default 50; seed:
    the reference scenario's; workers, cluster, out, draw_figures, quiet, command).
    """
    o = RunOptions.build(options, **shared).with_defaults(replicates=50)
    if not isinstance(scenarios, (list, tuple)) or len(scenarios) < 2:
        raise OptionError(f"compare needs at least two scenarios (the first is the reference) as a list, got {scenarios!r}")
    files = [str(path_option("scenarios", s)) for s in scenarios]
    return _run_arms(files, "compare", o, fork_at=fork_at, fresh=fresh)


def thesis(
    *,
    quick: bool = False,
    sensitivity: str | Path | None = None,
    flip_points: int | None = None,
    flip_replicates: int | None = None,
    flip_confirm: int | None = None,
    fork_at: str | date | None = None,
    fresh: bool = False,
    options: RunOptions | None = None,
    **shared: Any,
) -> ArmsResult:
    """The thesis suite as paired arms, each claim's verdict, the search of the priors for a reversal, and report.md.

    `quick`: the preset `QUICK` (20 replicates, 8 parameter sets searched) for the options not given.
    `sensitivity`: a sensitivity results folder read back into the report (None: the newest under `out`; "": none).
    `flip_points` parameter sets (0: no search; default 32), each screened with `flip_replicates` paired
    replicates (default 2), the most opposite confirmed with `flip_confirm` (default: a quarter of the
    replicates, 8 to 32; limits: `sim.inputs.limits.LIMITS`). `fork_at`, `fresh`: as `compare`.
    Shared options: `options` (a `RunOptions`) or its fields as keywords (replicates: default 200; seed:
    the baseline's; workers, cluster, out, draw_figures, quiet, command).
    """
    o, flip = thesis_options(quick, flip_points, flip_replicates, flip_confirm, options, shared)
    path_option("sensitivity", sensitivity, empty=True)
    files = [str(ROOT / "scenarios" / f) for f in THESIS_SUITE]
    return _run_arms(files, "thesis", o, fork_at=fork_at, fresh=fresh, flip=flip, sensitivity=sensitivity)


def thesis_options(quick, flip_points, flip_replicates, flip_confirm, options, shared) -> tuple[RunOptions, tuple[int, int, int]]:
    """The thesis's shared options and (flip_points, flip_replicates, flip_confirm): given, else the preset's, else the defaults."""
    from sim.analysis.flips import confirm_for

    preset = QUICK if switch("quick", quick) else DEFAULTS
    o = RunOptions.build(options, **shared).with_defaults(replicates=preset["replicates"])
    given = {"flip_points": flip_points, "flip_replicates": flip_replicates, "flip_confirm": flip_confirm}
    values = {n: checked(n, v) if v is not None else preset[n] for n, v in given.items()}
    values["flip_confirm"] = values["flip_confirm"] or confirm_for(o.replicates)
    return o, tuple(checked(n, v, optional=False) for n, v in values.items())


def _run_arms(
    files: list[str],
    experiment: str,
    o: RunOptions,
    *,
    fork_at: str | date | None = None,
    fresh: bool = False,
    flip: tuple[int, int, int] | None = None,
    sensitivity: str | Path | None = None,
) -> ArmsResult:
    """Run paired arms, compute effects (and, for the thesis, verdicts and the flip search), write the folder and report."""
    from sim.analysis import experiments, report
    from sim.inputs.posterior import posterior_for
    from sim.model.scenario import check_against, load_scenario
    from sim.run.runner import ArmTables, arm_chunk_size, run_arms, world_for

    replicates, seed, workers, cluster, out, draw_figures, quiet, command = o.values()
    fork_at = iso_date("fork_at", fork_at)
    switch("fresh", fresh)
    thesis = flip is not None
    arms = [load_scenario(f) for f in files]
    note_overrides(arms, quiet)
    reps = replicates
    seed = arms[0].seed if seed is None else seed
    world = world_for(arms[0].data)
    for a in arms:
        check_against(a, world)
    fork_day = None
    if fork_at:
        try:
            fork = date.fromisoformat(fork_at)
        except ValueError:
            raise OptionError(f"--fork-at must be an ISO date (YYYY-MM-DD), got {fork_at!r}") from None
        if not arms[0].start < fork <= arms[0].end:
            raise OptionError(f"--fork-at {fork} must lie after the start {arms[0].start} and by the end {arms[0].end}")
        fork_day = (fork - arms[0].start).days
    budget = list(flip) if thesis else []
    # as `run_scenario`: finished chunks go to the unfinished folder as they come; the same call resumes them
    out = Path(out)
    sens = sensitivity_for_report(sensitivity, out) if thesis else None  # a bad folder stops here, before any simulation
    if command is None:  # the thesis's line names the sensitivity folder it read ('' for none): a rerun reads the same, wherever its out
        names = ("flip_points", "flip_replicates", "flip_confirm")
        call = dict(zip(names, flip, strict=True), sensitivity=sens["path"] if sens else "") if thesis else {"scenarios": files}
        command = command_line(experiment, o, **call, fork_at=fork_at)
    # the thesis also reads the priors (its flip search) and the sensitivity folder (its report): their content enters its key
    read = [*PRIOR_STAGES, *((sens["path"] / f for f in ("knockouts.parquet", "manifest.json")) if sens else ())] if thesis else []
    digest = results.key([a.digest() for a in arms], reps, seed, fork_at or "", budget, files=read)
    folder = results.ResultsFolder(out, experiment, digest, command, resume=not fresh)
    plan = folder.plan({"replicates": reps, "seed": seed, "chunk": arm_chunk_size(reps, workers)})
    names = ("outcomes", "series")
    done = {i: ArmTables(**t) for i, t in folder.done_chunks(names).items()}
    bar = progress(reps * len(arms), "runs", quiet, initial=sum(len(t.outcomes) for t in done.values()))

    def on_chunk(first: int, res) -> None:
        folder.add_chunk(first, {n: getattr(res, n) for n in names})
        bar.update(len(res.outcomes))

    t0 = time.perf_counter()
    with folder.running(on_stop=bar.close):
        tables, seeds = run_arms(
            arms, reps, seed, workers=workers, fork_day=fork_day, chunk=plan["chunk"], cluster=cluster, on_chunk=on_chunk, done=done
        )
    elapsed = time.perf_counter() - t0
    ref = arms[0].name
    effects = experiments.paired_effects(tables.outcomes, ref, seed=seed)
    flips = flip_search(arms, seed, *flip, workers=workers, cluster=cluster, quiet=quiet) if thesis else None
    rows = posterior_for(arms[0].posterior).index_for(seeds) if thesis and arms[0].posterior else None  # each replicate's draw
    verdicts = experiments.judge(tables.outcomes, ref, seed=seed, flips=flips, posterior_rows=rows) if thesis else None
    arm_rows = [{"name": a.name, "file": rel(a.path), "claim": a.claim, "description": a.description} for a in arms]
    with folder.assembling():
        out_tables = {"outcomes": tables.outcomes, "effects": effects, "series": tables.series}
        if verdicts is not None:
            out_tables["verdicts"] = verdicts
        if flips is not None and len(flips):
            out_tables["flips"] = flips
        folder.tables(out_tables)
        figs = (
            [*(["figures/claims.png"] if thesis else []), "figures/forest_effects.png", "figures/arms_1989_1991.png"]
            if draw_figures
            else []
        )
        meta = {
            "command": command,
            "git_commit": results.git_commit(ROOT),
            "replicates": reps,
            "seed": seed,
            "parameters": "one posterior draw per replicate, the same in every arm" if arms[0].posterior else "the scenarios' own",
            "fork_at": fork_at,
            "workers": workers or os.cpu_count(),
        }
        if thesis:
            meta["sensitivity"] = sens["folder"] if sens else None
            folder.text("report.md", report.report(verdicts, effects, arm_rows, meta, figs, sens))
        folder.manifest(
            {
                "experiment": experiment,
                "arms": arm_rows,
                "reference_arm": ref,
                "arm_scenarios": [
                    a.to_dict() | {"path": rel(a.path), "data": rel(a.data), "posterior": rel(a.posterior) if a.posterior else None}
                    for a in arms
                ],
                "root_seed": seed,
                "replicates": reps,
                "replicate_seeds": seeds,
                "seeds_shared_by_arms": True,
                "fork_at": fork_at,
                "resumed_from_chunks": sorted(done),
                "chunk_replicates": plan["chunk"],
                **parameters_entry(arms[0]),
                "run_seconds": round(elapsed, 1),
                "git_commit": meta["git_commit"],
                "data_files_sha256": world.files,
                "tables": {
                    "outcomes": "one row per arm and replicate: seed and every named outcome",
                    "effects": "per arm and outcome: paired effect of the lever, baseline minus arm (median, 5-95% of pairs, mean with bootstrap 90% interval, shares, flips)",
                    "series": "per arm, replicate and day: union strikers, committees at the political stage or beyond, separatism index by republic",
                    "verdicts": "per claim of the essay: effect summary and verdict (thesis only)",
                    "flips": "per claim: the search of the priors for a parameter set that reverses it (thesis only; sim/analysis/flips.py)",
                },
            },
            ROOT,
        )
        if draw_figures:
            figures.draw(folder.path)
    final = folder.publish()
    return ArmsResult(final, ref, len(arms), reps, elapsed, tables.outcomes, effects, verdicts, flips)


def sensitivity_for_report(sensitivity: str | Path | None, out: Path) -> dict | None:
    """The sensitivity results the thesis report reads back: the folder named, else the newest finished one under `out` ("": none)."""
    if sensitivity == "":
        return None
    if sensitivity:
        folder = Path(sensitivity)
        if not (folder / "knockouts.parquet").is_file() or not (folder / "manifest.json").is_file():
            raise InputError(
                "not a finished sensitivity folder (no knockouts.parquet or manifest.json)", file=str(folder), key="sensitivity"
            )
    else:
        found = sorted(p for p in (out / "sensitivity").glob("*_*") if not p.name.startswith(".") and (p / "knockouts.parquet").is_file())
        if not found:
            return None
        folder = found[-1]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {
        "folder": rel(folder),
        "path": folder,
        "budget": manifest.get("budget_name"),
        "knockouts": pd.read_parquet(folder / "knockouts.parquet"),
        "robustness": manifest.get("robustness") or {},
    }


def flip_search(arms: list, seed: int, points: int, replicates: int, confirm: int, *, workers, cluster, quiet: bool) -> pd.DataFrame | None:
    """The thesis's search of the priors for parameter sets that reverse each claim (sim/analysis/flips.py); None when `points` is 0."""
    from sim.analysis import experiments, flips
    from sim.analysis.calibration import load_priors

    if points < 1:
        return None
    priors = [p for f in PRIOR_STAGES for p in load_priors(f).priors]
    fs = flips.flip_factors(arms[0], priors)
    todo = [c for c in experiments.CLAIMS if c.arm in {a.name for a in arms[1:]} and c.construction is None]
    searched = len({c.arm for c in todo}) + 1
    note(
        quiet,
        f"flip search: {points} parameter sets x {searched} arms x {replicates} replicates, then {confirm} fresh replicates per candidate to confirm",
    )
    bar = progress(points * searched * replicates, "runs", quiet)
    t0 = time.perf_counter()
    found = flips.search(
        arms[0],
        {a.name: a for a in arms[1:]},
        experiments.CLAIMS,
        fs,
        points,
        replicates,
        confirm,
        seed,
        workers,
        cluster,
        on_done=bar.update,
    )
    bar.close()
    runs = f"{int(found['runs_screen'].iloc[0]):,} + {int(found['runs_confirm'].iloc[0]):,} runs" if len(found) else "no runs"
    note(
        quiet,
        f"flip search: {points} parameter sets x {len(fs)} factors, {runs} (screening + confirmation) in {time.perf_counter() - t0:.0f} s",
    )
    return found
