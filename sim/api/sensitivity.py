"""Global sensitivity as a command: Morris, Sobol, mechanism knock-outs and the thesis robustness map, with summary.md."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.api.arms import THESIS_SUITE
from sim.api.common import BASELINE, PRIOR_STAGES, ROOT, TARGETS, Result, note, progress, rel
from sim.api.options import RunOptions, choice, path_option
from sim.api.recorded import command_line
from sim.figures import figures
from sim.inputs.errors import OptionError
from sim.run import results


@dataclass
class SensitivityResult(Result):
    """A sensitivity analysis (`sim.analysis.sensitivity.Analysis`: Morris, Sobol, knock-outs, robustness) and where it was written."""

    analysis: object = None
    budget: str = ""
    seconds: float = 0.0

    def text(self) -> str:  # noqa: D102 - Result.text
        an = self.analysis
        lines = [
            f"sensitivity ({self.budget} budget) in {self.seconds:.0f} s -> {rel(self.folder)}",
            f"  Sobol factors (largest Morris mu*): {', '.join(an.sobol_factors)}",
        ]
        for rep, b in an.summary.items():
            mass = "n/a" if b["posterior_mass"] is None else f"{b['posterior_mass']:.0%}"
            lines.append(
                f"  concession effect on {rep} separatism: sign flips in {b['base_rate']:.0%} of sampled points; PRIM box {b['limits'] or 'none'}; posterior mass inside {mass}"
            )
        lines.append(f"  summary: {rel(self.folder / 'summary.md')}")
        return "\n".join(lines)


def sensitivity(
    *,
    budget: str = "small",
    scenario: str | Path = BASELINE,
    arm: str | Path = ROOT / "scenarios" / "no_concessions.toml",
    suite: list[str | Path] | None = None,
    priors: list[str | Path] = tuple(PRIOR_STAGES),
    targets: str | Path | None = TARGETS,
    options: RunOptions | None = None,
    **shared: Any,
) -> SensitivityResult:
    """Which parameters and mechanisms carry the outcomes and the thesis; publishes results/sensitivity/<UTC time>_<hash>/.

    `budget`: small, full or test. Shared options: `options` (a `RunOptions`) or its fields as keywords
    (seed: default 1989; workers, cluster, out, draw_figures, quiet, command; no replicates: the budget sets them).
    """
    o = RunOptions.build(options, **shared).with_defaults(seed=1989)
    o.refuse("replicates", command="sensitivity")
    _, seed, workers, cluster, out, draw_figures, quiet, command = o.values()
    choice("budget", budget, ("small", "full", "test"))
    for name, value in (("scenario", scenario), ("arm", arm)):
        path_option(name, value)
    path_option("targets", targets, empty=True)
    for name, files in (("suite", suite), ("priors", priors)):
        if files is not None and (isinstance(files, (str, bytes)) or not hasattr(files, "__iter__")):
            raise OptionError(f"--{name} must be a list of files, got {files!r}")
    for f in suite or []:
        path_option("suite", f)
    for f in priors:
        path_option("priors", f, empty=True)
    from sim.analysis import report
    from sim.analysis import sensitivity as sens
    from sim.analysis.calibration import load_priors
    from sim.analysis.targets import load_targets
    from sim.model.scenario import check_against, load_scenario
    from sim.run.runner import world_for

    call = dict(budget=budget, scenario=scenario, arm=arm, suite=suite, priors=priors, targets=targets)
    command = command or command_line("sensitivity", o, **call)
    plan = sens.Budget.named(budget)
    base, arm_sc = load_scenario(scenario), load_scenario(arm)
    suite_sc = [load_scenario(f) for f in (suite or [ROOT / "scenarios" / f for f in THESIS_SUITE])]
    prior_list = [p for f in priors if f for p in load_priors(f).priors]
    tgts = load_targets(targets) if targets else []
    world = world_for(base.data)
    for sc in (base, arm_sc, *suite_sc):
        check_against(sc, world)
    fs = sens.factors(base, prior_list)
    config = {
        "scenario": base.digest(),
        "arm": arm_sc.digest(),
        "suite": [a.digest() for a in suite_sc],
        "budget": dataclasses.asdict(plan),
        "seed": seed,
        "factors": [dataclasses.asdict(f) for f in fs],
        "targets": hashlib.sha256(Path(targets).read_bytes()).hexdigest() if targets else None,
    }
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
    bar = progress(0, "points", quiet)
    t0 = time.perf_counter()
    try:
        an = sens.analyse(base, arm_sc, suite_sc, fs, tgts, world, plan, seed, workers, cluster, say=lambda m: note(quiet, m), progress=bar)
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    folder = results.ResultsFolder(Path(out), "sensitivity", digest, command, resume=False, repo=ROOT)
    with folder.assembling():
        folder.tables(
            {
                "factors": pd.DataFrame([dataclasses.asdict(f) for f in fs]),
                "morris": an.morris,
                "sobol": an.sobol,
                "knockouts": an.knockouts,
                "robustness": an.robustness,
                "morris_points": an.morris_points,
                "sobol_points": an.sobol_points,
            },
        )
        manifest = {
            "experiment": "sensitivity",
            "scenario_file": rel(scenario),
            "arm_file": rel(arm),
            "suite": [rel(a.path) for a in suite_sc],
            "priors_files": [rel(f) for f in priors if f],
            "targets_file": rel(targets) if targets else None,
            "budget_name": budget,
            "budget": dataclasses.asdict(plan),
            "root_seed": seed,
            "sobol_factors": an.sobol_factors,
            "robustness": an.summary,
            "outcomes": sens.OUTCOMES,
            "run_seconds": round(elapsed, 1),
            "seconds_by_analysis": {k: round(v, 1) for k, v in an.seconds.items()},
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
        manifest = folder.manifest(manifest)  # with the command, commit and versions it records
        folder.text("summary.md", summary_markdown(manifest, an.morris, an.sobol, an.knockouts, report))
        if draw_figures:
            figures.draw(folder.path)
    return SensitivityResult(folder.publish(), an, budget, elapsed)


def summary_markdown(manifest: dict, morris, sobol, knockouts, report) -> str:
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
        "| mechanism off | July targets inside the 90% band and informative (all hits) | " + " | ".join(claims) + " |",
        "| --- | --- | " + " | ".join("---" for _ in claims) + " |",
    ]
    for _, r in knockouts.iterrows():
        lines.append(
            f"| {r['mechanism']} | {int(r.get('targets_good_90', r['targets_inside_90']))}/{int(r['targets_scored'])} "
            f"({int(r['targets_inside_90'])}) | " + " | ".join(f"{r[f'verdict_{c}']} ({r[f'mean_{c}']:+.3g})" for c in claims) + " |"
        )
    lines += ["", "Claims that change verdict when a mechanism is off:", ""]
    for c in claims:
        changed, kept = report.needs(knockouts, c)
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
