"""Every figure of a results folder, drawn from the folder's saved tables and manifest only.

The commands call `draw` on the folder they have just written, and `python run.py plot FOLDER`
calls it again on any finished folder: the figures are always what the saved results say, never a
fresh simulation. What a folder gets depends on the command that made it (its manifest):

| command | figures |
| --- | --- |
| `run` | `wave_july1989`, `network_july1989`, `timeline_1989_1991`, `targets_july1989` (with a targets file) |
| `calibrate` | `posterior_predictive`, `marginal_posteriors` |
| `validate` | `validation` |
| `compare`, `thesis` | `forest_effects`, `arms_1989_1991` (and, for `thesis`, `claims`) |
| `sensitivity` | `morris`, `sobol`, `knockouts`, `robustness` |
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from sim.analysis.explain import NAMES, ONSET_TERMS, RETURN_TERMS, Explanation, long_date, outcome, percent
from sim.figures import plots, plots_analysis, plots_arms, plots_network
from sim.inputs.errors import InputError
from sim.inputs.params import Params
from sim.model.metrics import OUTCOME_LABELS, OUTCOMES
from sim.run import results

NETWORK_DATES = ("1989-07-10", "1989-07-15", "1989-07-20", "1989-07-25")
"""Dates of the network small multiples: the first strike, the Kuzbass peak, the Kuzbass return, the Donbas deal."""

ROOT = Path(__file__).resolve().parents[2]


def kind(manifest: dict) -> str:
    """Which command wrote a results folder: run, calibration, validate, compare, thesis or sensitivity.

    A run's manifest holds its resolved scenario (a table of keys), whatever the scenario is named: a
    run folder written before names of commands were refused (`results.COMMAND_FOLDERS`) is read as a run.
    """
    exp = manifest.get("experiment")
    if isinstance(manifest.get("scenario"), dict) and "replicate_seeds" in manifest:
        return "run"
    if exp == "explain":
        raise InputError(
            "an explain folder: its figure (figures/explain.png) is drawn once, with its explanation; "
            "plot redraws the figures of run, calibrate, validate, compare, thesis and sensitivity folders",
            key="experiment",
        )
    if exp in ("calibration", "validate", "compare", "thesis", "sensitivity"):
        return exp
    if "scenario" in manifest:
        return "run"
    raise InputError("manifest.json does not say which command wrote this folder (no 'experiment' or 'scenario')", key="experiment")


def read(folder: Path) -> dict:
    """The manifest of a finished results folder (one-line errors for a missing or broken one)."""
    path = folder / "manifest.json"
    if not folder.is_dir():
        raise InputError("not a results folder (no such directory)", file=str(folder))
    if not path.is_file():
        inside = sorted(p for p in folder.glob("*/manifest.json") if not p.parent.name.startswith("."))
        hint = f"; the newest finished one inside is {inside[-1].parent}" if inside else ""
        raise InputError(f"no manifest.json: not a finished results folder{hint}", file=str(folder))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable manifest ({exc})", file=str(path)) from None


def table(folder: Path, name: str, required: bool = True) -> pd.DataFrame | None:
    """One Parquet table of a results folder."""
    path = folder / f"{name}.parquet"
    if not path.is_file():
        if required:
            raise InputError(f"missing table {name}.parquet", file=str(folder))
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise InputError(f"unreadable table ({type(exc).__name__}: {exc})", file=str(path)) from None


def _target_series(scores: pd.DataFrame, areas: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """Target line -> the simulated daily series of its area (the `target_series` table)."""
    by_area = dict(tuple(areas.groupby("area", sort=False)))
    return {int(r["line"]): by_area[r["area"]] for _, r in scores[scores["scored"]].iterrows() if r["area"] in by_area}


def _scored(scores: pd.DataFrame | None, areas: pd.DataFrame | None) -> bool:
    """True when a folder has scored targets and their series (folders of older versions have no series)."""
    return scores is not None and areas is not None and "area" in scores.columns and bool(scores["scored"].any())


def towns_table(world) -> pd.DataFrame:
    """One row per town with enterprises: town, basin, republic, oblast, lat, lon, enterprises, workforce (for the network figure)."""
    import numpy as np

    from sim.inputs.network import REPUBLICS

    df = pd.DataFrame(
        {
            "town": np.asarray(world.city_names)[world.city],
            "basin": np.asarray(world.basin_names)[world.basin],
            "republic": np.asarray(REPUBLICS)[world.republic],
            "oblast": np.asarray(world.city_oblast)[world.city],
            "lat": world.lat,
            "lon": world.lon,
            "workforce": world.workforce,
        }
    )
    return (
        df.groupby(["town", "basin"], as_index=False)
        .agg(
            republic=("republic", "first"),
            oblast=("oblast", "first"),
            lat=("lat", "mean"),
            lon=("lon", "mean"),
            enterprises=("workforce", "size"),
            workforce=("workforce", "sum"),
        )
        .sort_values(["basin", "town"], ignore_index=True)
    )


def _towns(folder: Path, manifest: dict) -> pd.DataFrame:
    """The town table of a run: saved with it, or (folders written before it was saved) rebuilt from its data files."""
    saved = table(folder, "towns", required=False)
    if saved is not None:
        return saved
    from sim.run.runner import world_for

    data = Path(manifest["scenario"]["data"])
    return towns_table(world_for(data if data.is_absolute() else ROOT / data))


def build(folder: str | Path, arms: list[str] | None = None) -> list[tuple[str, object]]:
    """The figures of a results folder as (name, matplotlib Figure) pairs, not yet saved (see `draw`)."""
    folder = Path(folder)
    manifest = read(folder)
    what = kind(manifest)
    draw_kind = {
        "run": _run,
        "calibration": _calibration,
        "validate": _validate,
        "compare": _arms,
        "thesis": _arms,
        "sensitivity": _sensitivity,
    }
    return draw_kind[what](folder, manifest, arms)


def draw(folder: str | Path, arms: list[str] | None = None) -> list[str]:
    """Draw every figure of a results folder into its `figures/` (PNG and SVG); returns the names written.

    Args:
        folder: a finished (or being assembled) results folder with its manifest and tables.
        arms: for compare/thesis folders, the arms to show (default: all; the reference is always shown).
    """
    folder = Path(folder)
    names = []
    # a selection of arms goes to its own subfolder, so the folder's full figures are kept
    out = folder / "figures" / ("arms_" + "_".join(arms)) if arms else folder / "figures"
    for name, fig in build(folder, arms):
        results.save_figure(fig, out, name)
        plots.close(fig)
        names.append(name)
    return names


def _run(folder: Path, manifest: dict, arms) -> list:
    sc = manifest["scenario"]
    basin, republic, town = table(folder, "daily_basin"), table(folder, "daily_republic"), table(folder, "daily_town")
    scores = table(folder, "targets_check", required=False)
    areas = table(folder, "target_series", required=False)
    reps = int(basin["replicate"].nunique())
    figs = [("wave_july1989", plots.plot_wave(basin, scores, sc["name"], events=sc.get("events")))]
    dates = [d for d in NETWORK_DATES if (town["date"] == pd.Timestamp(d)).any()]
    if dates:
        layout = plots_network.network_layout(_towns(folder, manifest))
        figs.append(("network_july1989", plots_network.plot_network(town, layout, dates, sc["name"])))
    figs.append(("timeline_1989_1991", plots.plot_timeline(basin, republic, sc["name"], sc.get("events"))))
    if _scored(scores, areas):
        figs.append(("targets_july1989", plots_analysis.plot_targets(scores, _target_series(scores, areas), sc["name"], reps)))
    return figs


def _calibration(folder: Path, manifest: dict, arms) -> list:
    scores, basin, areas = table(folder, "targets_check"), table(folder, "daily_basin"), table(folder, "target_series", required=False)
    post, pops, summ = table(folder, "posterior"), table(folder, "populations"), table(folder, "posterior_summary")
    stage = table(folder, "posterior_stage", required=False)
    post = stage if stage is not None else post  # a later stage: its own particles, not the combined table
    units = {f.name: f.metadata["unit"] for f in dataclasses.fields(Params)}
    priors = [
        {"name": r["parameter"], "lo": r["prior_lo"], "hi": r["prior_hi"], "scale": r["scale"], "unit": units.get(r["parameter"], "")}
        for _, r in summ.iterrows()
    ]
    scenario = Path(manifest.get("scenario_file") or "scenario").stem
    window = " to ".join(manifest.get("calibration_window") or [])
    per = (manifest.get("budget") or {}).get("replicates")
    label = (
        f"scenario: {scenario} ({window}) | {len(post)} particles"
        + (f" x {per} replicates each" if per else "")
        + f" | {len(pops)} populations, final epsilon {pops['epsilon'].iloc[-1]:.3g}"
    )
    reps = int(basin["replicate"].nunique())
    figs = []
    if _scored(scores, areas):
        figs.append(
            (
                "posterior_predictive",
                plots_analysis.plot_targets(
                    scores,
                    _target_series(scores, areas),
                    "calibration (posterior predictive)",
                    reps,
                    f"Posterior predictive check on {Path(manifest.get('targets_file') or 'the targets').name}",
                ),
            )
        )
    figs.append(("marginal_posteriors", plots_analysis.plot_marginals(post, priors, label)))
    return figs


def _validate(folder: Path, manifest: dict, arms) -> list:
    scores, basin, areas = table(folder, "targets_check"), table(folder, "daily_basin"), table(folder, "target_series", required=False)
    if not _scored(scores, areas):
        return []
    name = Path(manifest.get("targets_file") or "targets").name
    reps = int(basin["replicate"].nunique())
    scenario = Path(manifest.get("scenario_file") or "scenario").stem
    return [("validation", plots_analysis.plot_targets(scores, _target_series(scores, areas), scenario, reps, f"Validation on {name}"))]


def forest_outcomes() -> list[str]:
    """The outcomes of the forest figure: those a thesis claim reads (at any of its dates), in `OUTCOMES` order.

    The other outcomes (the separatism index of the RSFSR and Kazakhstan, committees' share...) stay in
    effects.parquet; a panel per outcome for all of them made a figure too tall to read.
    """
    from sim.analysis.experiments import CLAIMS

    read = {c.outcome for c in CLAIMS} | {o for c in CLAIMS for _, o in c.dates}
    return [o for o in OUTCOMES if o in read]


def claim_thresholds() -> dict[str, float]:
    """Outcome -> the threshold (smallest effect that matters) of the claims that read it (`Claim.rope`; the largest if several)."""
    from sim.analysis.experiments import CLAIMS

    out: dict[str, float] = {}
    for c in CLAIMS:
        for o in (c.outcome, *(o for _, o in c.dates)):
            if c.rope:
                out[o] = max(out.get(o, 0.0), c.rope)
    return out


def _arms(folder: Path, manifest: dict, arms) -> list:
    effects, ser, verdicts = table(folder, "effects"), table(folder, "series"), table(folder, "verdicts", required=False)
    ref = manifest.get("reference_arm") or ser["arm"].iloc[0]
    if arms:
        known = list(dict.fromkeys(ser["arm"]))
        unknown = [a for a in arms if a not in known]
        if unknown:
            raise InputError(f"--arms: no arm {', '.join(unknown)} in this folder; its arms: {', '.join(known)}", key="arms")
        keep = [ref, *[a for a in arms if a != ref]]
        ser = ser[ser["arm"].isin(keep)]
        effects = effects[effects["arm"].isin(keep)]
        if verdicts is not None:
            verdicts = verdicts[verdicts["arm"].isin(keep)]
    reps = int(manifest.get("replicates") or ser["replicate"].nunique())
    experiment = manifest.get("experiment", "compare")
    shown = [o for o in forest_outcomes() if o in set(effects["outcome"])]
    units = {k: v.unit for k, v in OUTCOMES.items()}
    first = (manifest.get("arm_scenarios") or [{}])[0]
    shocks = [(str(e.get("date")), e.get("name") or e["kind"]) for e in first.get("events", []) if e["kind"] == "shock"]
    return [
        (
            "forest_effects",
            plots_arms.plot_forest(
                effects,
                shown,
                units,
                experiment,
                reps,
                OUTCOME_LABELS,
                thresholds=claim_thresholds(),
                binary={k for k, v in OUTCOMES.items() if v.binary},
            ),
        ),
        ("arms_1989_1991", plots_arms.plot_arms(ser, experiment, reps, shocks)),
        *([("claims", plots_arms.plot_claims(verdicts, experiment, reps))] if verdicts is not None and len(verdicts) else []),
    ]


def _sensitivity(folder: Path, manifest: dict, arms) -> list:
    morris, sobol, ko, rob = (table(folder, n) for n in ("morris", "sobol", "knockouts", "robustness"))
    labels = manifest.get("outcomes") or {}
    b = manifest.get("budget") or {}
    scenario = Path(manifest.get("scenario_file") or "scenario").stem
    sub = f"scenario: {scenario} | budget {manifest.get('budget_name')} | seed {manifest.get('root_seed')}"
    claims = [c[len("verdict_") :] for c in ko.columns if c.startswith("verdict_")]
    boxes = manifest.get("robustness") or {}
    dims = {}
    for rep, box in list(boxes.items()):
        lim = box.get("limits") or {}

        def cut(k, lim=lim):  # share of the sampled range the box keeps on factor k (small: a strong restriction)
            span = rob[k].max() - rob[k].min()
            return (lim[k][1] - lim[k][0]) / span if span else 1.0

        order = sorted(lim, key=cut)
        boxes[rep] = {**box, "limits": {k: lim[k] for k in order}}
        ranked = morris[morris["outcome"] == f"concession_effect_{rep}"].sort_values("mu_star", ascending=False)["parameter"].tolist()
        for p in ranked:
            if len(order) >= 2:
                break
            if p not in order:
                order.append(p)
        dims[rep] = (order[0], order[1])
    boxes = {rep: {**box, "limits": {k: tuple(v) for k, v in (box.get("limits") or {}).items()}} for rep, box in boxes.items()}
    return [
        (
            "morris",
            plots_analysis.plot_morris(
                morris, labels, f"{sub} | {b.get('morris_trajectories')} trajectories x {b.get('morris_replicates')} replicates per point"
            ),
        ),
        (
            "sobol",
            plots_analysis.plot_sobol(
                sobol, labels, f"{sub} | N = {b.get('sobol_n')} (Saltelli), {b.get('sobol_replicates')} replicates per point"
            ),
        ),
        (
            "knockouts",
            plots_analysis.plot_knockouts(
                ko, claims, f"{sub} | {b.get('knockout_replicates')} paired replicates per arm, {b.get('july_replicates')} for the July fit"
            ),
        ),
        (
            "robustness",
            plots_analysis.plot_robustness(rob, boxes, dims, f"{sub} | {len(rob)} points x {b.get('robustness_replicates')} replicates"),
        ),
    ]


def explanation(ex: Explanation, ax=None):
    """The figure of an explanation: each enterprise's hazard terms, its probability and whether it acted (`sim.figures.plots.plot_explain`)."""
    terms = [t for t in (*ONSET_TERMS, "committee_call", *RETURN_TERMS) if t in ex.enterprises]
    title = f"Why they struck or went back: {ex.town}, {long_date(ex.day)} (replicate {ex.replicate}, {ex.scenario})"
    notes = [f"chance {percent(r['probability'])}: {outcome(r)}" for _, r in ex.enterprises.iterrows()]
    return plots.plot_explain(ex.enterprises, terms, set(ONSET_TERMS), title, ax=ax, names={t: NAMES[t][0] for t in terms}, notes=notes)
