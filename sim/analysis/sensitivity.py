"""Which parameters and mechanisms carry the outcomes and the thesis: sensitivity, knock-outs, robustness.

Three analyses, all on paired runs (the same replicate seeds in every arm and at every sample point):

1. **Global sensitivity** (SALib): Morris elementary effects over every factor of `factors`
   (the calibrated parameters over their prior ranges, the assumed ones over half to one and a
   half times their value), then Sobol indices (Saltelli sampling, bootstrap confidence intervals)
   on the factors that matter most. Factors carry their mechanism group (wage, ecology,
   privilege, onset, contagion, committees, news, centre, identity, fatigue).
2. **Knock-outs**: every mechanism of MODEL.md switched off in turn (and chosen pairs), re-scored on
   the July 1989 targets (counting the hits inside the 90% band whose band is informative, as
   `validate` does: `sim.analysis.targets.tally`) and run through the thesis suite: which patterns
   and verdicts survive.
3. **Robustness map**: the concession effect on separatism (the effect of the lever, baseline minus
   no concessions: positive when the concessions raised it) over posterior draws and over the
   wider ranges; PRIM (Friedman and Fisher 1999, "Bump hunting in high-dimensional data",
   Statistics and Computing 9: 123-143), implemented here in `prim` as in
   the EMA Workbench: peel the box that most raises the share of sign flips, one factor end at a
   time, and keep the densest box that still covers half of the flips. Reported with the posterior
   mass inside the box.

The model is evaluated at a sample point with the scenario's parameters, the calibrated ones at
their posterior mean, and the point's values on top: a point is one parameter set, and its
outcome the mean over `replicates` seeded replicates (common random numbers across points).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.inputs.params import Params
from sim.inputs.posterior import posterior_for
from sim.inputs.rng import replicate_seeds
from sim.model.engine import Engine
from sim.model.metrics import outcomes
from sim.model.scenario import Scenario
from sim.run.runner import execute, world_for

SENS_GROUPS: dict[str, tuple[str, ...]] = {
    "wage": ("w_wage", "wage_drift"),
    "ecology": ("w_ecology",),
    "privilege": ("w_privilege",),
    "onset": ("g_ref", "b_griev", "b_pat", "out_share"),
    "contagion": ("w_city", "w_basin", "w_delegate"),
    "committees": ("k_city", "k_basin", "form_share", "persist_won", "dissolve", "auth_gain"),
    "news": ("w_news", "glasnost"),
    "centre": ("r_obey", "r_peer", "trust_hold", "tau_concede", "tau_broken", "tau_kept", "impl_share", "deadline_days", "eta_win"),
    "identity": ("g_ethnic", "g_move", "g_broken", "g_distrust"),
    "fatigue": ("fat_rate", "fat_grace"),
}
"""The factors of the sensitivity analysis, by mechanism group (the issue's wage, ecology,
privilege, contagion, committees, news and centre, plus readiness to strike (onset), national
identity and escalation, and fatigue)."""

ASSUMED_SPREAD = (0.5, 1.5)
"""Range of an assumed (uncalibrated) factor: half to one and a half times its value, inside its
allowed range (assumption: a factor-of-two uncertainty on hand-set values)."""

OUTCOMES = {
    "july_peak_strikers": "July 1989 peak strikers (persons)",
    "largest_wave_1990_91": "largest 1990-91 wave (persons)",
    "separatism_RSFSR_1991": "separatism index, RSFSR, end 1991",
    "separatism_Ukraine_1991": "separatism index, Ukraine, end 1991",
    "separatism_Kazakhstan_1991": "separatism index, Kazakhstan, end 1991",
    "concession_effect_RSFSR": "effect of the concessions on RSFSR separatism (baseline minus no concessions; > 0: they raised it)",
    "concession_effect_Ukraine": "effect of the concessions on Ukrainian separatism (baseline minus no concessions; > 0: they raised it)",
}
"""The outcomes analysed: named outcomes of the baseline arm and the paired concession effects."""

KNOCKOUT_PAIRS = (("efficacy", "trust"), ("persistence", "escalation"), ("contagion", "news"))
"""Pairs of mechanisms also switched off together: the two channels through which concessions act
(efficacy and trust), what keeps committees alive and radicalises them, and the two ways strikes spread."""


@dataclass(frozen=True)
class Factor:
    """One parameter varied by the analysis."""

    name: str
    group: str
    lo: float
    hi: float
    scale: str  # "linear" or "log"
    range_source: str


@dataclass
class Budget:
    """How much work each analysis gets."""

    morris_trajectories: int
    morris_replicates: int
    sobol_factors: int
    sobol_n: int
    sobol_replicates: int
    knockout_replicates: int
    july_replicates: int
    robustness_points: int
    robustness_replicates: int

    @classmethod
    def named(cls, name: str) -> Budget:
        """`small` (a few minutes on two cores), `full` (documented in the README), or `test` (the tests' smallest)."""
        if name == "small":
            return cls(2, 2, 4, 8, 2, 4, 8, 48, 2)
        if name == "full":
            return cls(8, 2, 6, 32, 2, 20, 40, 300, 2)
        if name == "test":  # the test suite's end-to-end run on a small world
            return cls(1, 1, 2, 4, 1, 2, 2, 12, 1)
        from sim.inputs.errors import InputError

        raise InputError(f"--budget must be small, full or test, got {name!r}", key="budget")


def factors(scenario: Scenario, priors: list | None = None) -> list[Factor]:
    """The factors: calibrated parameters over their prior ranges, assumed ones over `ASSUMED_SPREAD`.

    Args:
        scenario: supplies the parameters' values.
        priors: `sim.analysis.calibration.Prior` list (name, lo, hi, scale); those parameters use their prior.
    """
    fields = {f.name: f for f in dataclasses.fields(Params)}
    prior = {p.name: p for p in priors or []}
    out = []
    for group, names in SENS_GROUPS.items():
        for n in names:
            if n in prior:
                p = prior[n]
                out.append(Factor(n, group, p.lo, p.hi, p.scale, "calibration/priors.toml (the prior of the calibration)"))
                continue
            v = float(getattr(scenario.params, n))
            m = fields[n].metadata
            lo, hi = max(m["lo"], v * ASSUMED_SPREAD[0]), min(m["hi"], v * ASSUMED_SPREAD[1])
            if v == 0 or hi <= lo:
                lo, hi = float(m["lo"]), float(min(m["hi"], max(1.0, m["lo"] + 1)))
            out.append(Factor(n, group, float(lo), float(hi), "linear", "assumption: 0.5 to 1.5 times the value (ASSUMED_SPREAD)"))
    return out


def problem(fs: list[Factor]) -> dict[str, Any]:
    """SALib's problem dict over the unit cube (log factors are mapped in `to_values`)."""
    return {"num_vars": len(fs), "names": [f.name for f in fs], "bounds": [[0.0, 1.0]] * len(fs)}


def to_values(fs: list[Factor], unit: np.ndarray) -> list[dict[str, float]]:
    """Points of the unit cube -> parameter values (log-uniform for log factors)."""
    out = []
    for row in np.atleast_2d(unit):
        point = {}
        for f, u in zip(fs, row, strict=True):
            point[f.name] = (
                float(np.exp(np.log(f.lo) + u * (np.log(f.hi) - np.log(f.lo)))) if f.scale == "log" else f.lo + u * (f.hi - f.lo)
            )
        out.append(point)
    return out


def point_base(scenario: Scenario) -> Params:
    """A scenario's parameters with the calibrated ones at their posterior mean (those it sets itself kept)."""
    if scenario.posterior is None:
        return scenario.params
    mean = posterior_for(scenario.posterior).mean()
    return scenario.params.replace(**{k: v for k, v in mean.items() if k not in scenario.set_params})


def lever(arm: Scenario, reference: Scenario) -> set[str]:
    """The parameters an arm sets to a value of its own (its lever): a sample point leaves them alone."""
    return {k for k in arm.set_params if k not in reference.set_params or np.any(getattr(arm.params, k) != getattr(reference.params, k))}


def _points_chunk(args: tuple) -> dict[str, dict[str, np.ndarray]]:
    """Run every arm at a few points, `len(seeds)` replicates each; the named outcomes per arm, (points, replicates).

    The first arm is the reference; a point's values never override another arm's lever (`lever`).
    """
    arms, points, seeds = args
    world = world_for(arms[0].data)
    out = {}
    for arm in arms:
        base, own = point_base(arm), lever(arm, arms[0])
        params = [base.replace(**{k: v for k, v in p.items() if k not in own}) for p in points for _ in seeds]
        run = Engine(world, arm, list(seeds) * len(points), params).run().outcome_run()
        out[arm.name] = {k: np.asarray(v, float).reshape(len(points), len(seeds)) for k, v in outcomes(run).items()}
    return out


def evaluate(
    arms: list[Scenario],
    points: list[dict[str, float]],
    replicates: int,
    seed: int,
    workers: int | None = None,
    cluster: str | None = None,
    on_done=None,
) -> pd.DataFrame:
    """The mean outcomes of the reference arm at every point, and the paired concession effects.

    Args:
        arms: [reference, no-concessions arm] (the second may be missing: no effects then).
        points: parameter values per point.
        replicates: seeded replicates per point (the same seeds at every point).
        seed: root seed.
        workers: processes (as elsewhere).
        cluster: Dask scheduler address (as elsewhere).
        on_done: called with the number of points of each finished task (progress).
    """
    seeds = replicate_seeds(seed, replicates)
    per = max(1, 40 // replicates)  # points per task: about 40 replicates advanced together
    tasks = [(arms, points[i : i + per], seeds) for i in range(0, len(points), per)]
    world_for(arms[0].data)
    parts = execute(_points_chunk, tasks, workers, cluster, (lambda k, r: on_done(len(tasks[k][1]))) if on_done else None)
    ref = arms[0].name
    rows = {k: np.concatenate([p[ref][k] for p in parts]) for k in parts[0][ref]}
    df = pd.DataFrame({k: v.mean(axis=1) for k, v in rows.items() if k in OUTCOMES})
    if len(arms) > 1:
        alt = arms[1].name
        for rep, col in (("RSFSR", "separatism_RSFSR_1991"), ("Ukraine", "separatism_Ukraine_1991")):
            if col not in rows:  # a horizon that stops before the end of 1991
                continue
            diff = rows[col] - np.concatenate([p[alt][col] for p in parts])
            df[f"concession_effect_{rep}"] = diff.mean(axis=1)
    df.insert(0, "point", np.arange(len(points)))
    return df


# --- SALib wrappers: our factors and outcomes in, tidy tables out ---


def morris_table(fs: list[Factor], unit: np.ndarray, ys: pd.DataFrame, seed: int, levels: int = 4) -> pd.DataFrame:
    """Morris indices (mu, mu*, its bootstrap 95% interval, sigma) of every factor for every outcome column of `ys`."""
    from SALib.analyze import morris

    rows = []
    for col in [c for c in ys.columns if c != "point"]:
        y = ys[col].to_numpy(float)
        si = morris.analyze(problem(fs), unit, y, num_levels=levels, conf_level=0.95, num_resamples=500, seed=seed)
        scale = np.nanstd(y) or 1.0
        for i, f in enumerate(fs):
            rows.append(
                {
                    "outcome": col,
                    "parameter": f.name,
                    "group": f.group,
                    "mu": float(si["mu"][i]),
                    "mu_star": float(si["mu_star"][i]),
                    "mu_star_conf": float(si["mu_star_conf"][i]),
                    "sigma": float(si["sigma"][i]),
                    "mu_star_scaled": float(si["mu_star"][i] / scale),
                }
            )
    return pd.DataFrame(rows)


def sobol_table(fs: list[Factor], ys: pd.DataFrame, seed: int) -> pd.DataFrame:
    """First-order and total Sobol indices with bootstrap 90% intervals, per factor and outcome (Saltelli sample of `sobol_sample`)."""
    from SALib.analyze import sobol

    rows = []
    for col in [c for c in ys.columns if c != "point"]:
        y = ys[col].to_numpy(float)
        if np.nanstd(y) == 0:
            continue
        si = sobol.analyze(problem(fs), y, calc_second_order=False, conf_level=0.90, num_resamples=500, seed=seed)
        for i, f in enumerate(fs):
            rows.append(
                {
                    "outcome": col,
                    "parameter": f.name,
                    "group": f.group,
                    "S1": float(si["S1"][i]),
                    "S1_conf": float(si["S1_conf"][i]),
                    "ST": float(si["ST"][i]),
                    "ST_conf": float(si["ST_conf"][i]),
                }
            )
    return pd.DataFrame(rows)


def morris_sample(fs: list[Factor], trajectories: int, seed: int, levels: int = 4) -> np.ndarray:
    """Morris trajectories over the unit cube ((k + 1) points each)."""
    from SALib.sample import morris

    return morris.sample(problem(fs), trajectories, num_levels=levels, seed=seed)


def sobol_sample(fs: list[Factor], n: int, seed: int) -> np.ndarray:
    """Saltelli's sample for first-order and total indices: n (k + 2) points (n a power of two)."""
    from SALib.sample import sobol

    return sobol.sample(problem(fs), n, calc_second_order=False, seed=seed)


def top_factors(morris: pd.DataFrame, k: int) -> list[str]:
    """The k factors with the largest mu* (scaled by each outcome's spread), over all outcomes."""
    score = morris.groupby("parameter")["mu_star_scaled"].max().sort_values(ascending=False, kind="stable")
    return list(score.index[:k])


# --- PRIM ---


def prim(x: pd.DataFrame, y: np.ndarray, alpha: float = 0.05, min_support: float = 0.05, min_coverage: float = 0.5) -> dict[str, Any]:
    """Patient Rule Induction Method: a box of factor ranges where `y` (a 0/1 outcome) is concentrated.

    Peeling (Friedman and Fisher 1999): from the box holding every point, repeatedly cut the share
    `alpha` of points off the one end of one factor that most raises the share of y = 1 inside,
    until the box holds fewer than `min_support` of the points. The box returned is the densest on
    this trajectory whose coverage (share of all y = 1 inside it) is at least `min_coverage`.

    Returns:
        limits (factor -> (lo, hi), only the factors that were cut), coverage, density, support,
        the peeling trajectory (DataFrame) and the base rate.
    """
    x = x.reset_index(drop=True)
    y = np.asarray(y, dtype=float)
    total = y.sum()
    inside = np.ones(len(x), dtype=bool)
    limits = {c: (float(x[c].min()), float(x[c].max())) for c in x.columns}
    steps = [{"support": 1.0, "coverage": 1.0 if total else 0.0, "density": float(y.mean()) if len(y) else 0.0, "limits": dict(limits)}]
    if total == 0:
        return {"limits": {}, "coverage": 0.0, "density": 0.0, "support": 1.0, "trajectory": pd.DataFrame(steps), "base_rate": 0.0}
    while inside.mean() > min_support:
        best = None
        for c in x.columns:
            v = x.loc[inside, c].to_numpy()
            for side in ("lo", "hi"):
                cut = np.quantile(v, alpha if side == "lo" else 1 - alpha)
                keep = inside & ((x[c] >= cut) if side == "lo" else (x[c] <= cut)).to_numpy()
                if keep.sum() == inside.sum() or keep.sum() == 0:
                    continue
                d = y[keep].mean()
                if best is None or d > best[0]:
                    best = (d, c, side, cut, keep)
        if best is None:
            break
        d, c, side, cut, keep = best
        inside = keep
        lo, hi = limits[c]
        limits[c] = (float(cut), hi) if side == "lo" else (lo, float(cut))
        steps.append(
            {"support": float(inside.mean()), "coverage": float(y[inside].sum() / total), "density": float(d), "limits": dict(limits)}
        )
    traj = pd.DataFrame(steps)
    ok = traj[traj["coverage"] >= min_coverage]
    pick = ok.loc[ok["density"].idxmax()] if len(ok) else traj.iloc[0]
    full = {c: (float(x[c].min()), float(x[c].max())) for c in x.columns}
    cut = {c: v for c, v in pick["limits"].items() if v != full[c]}
    return {
        "limits": cut,
        "coverage": float(pick["coverage"]),
        "density": float(pick["density"]),
        "support": float(pick["support"]),
        "trajectory": traj.drop(columns="limits"),
        "base_rate": float(y.mean()),
    }


def inside_box(values: pd.DataFrame, limits: dict[str, tuple[float, float]]) -> np.ndarray:
    """Which rows of `values` lie inside the box (every limited factor within its range)."""
    ok = np.ones(len(values), dtype=bool)
    for c, (lo, hi) in limits.items():
        ok &= ((values[c] >= lo) & (values[c] <= hi)).to_numpy()
    return ok


def posterior_points(scenario: Scenario, fs: list[Factor], n: int, seed: int) -> tuple[list[dict[str, float]], np.ndarray]:
    """N points drawn from the posterior (by weight): calibrated factors from the draw, the others at the scenario's values."""
    post = posterior_for(scenario.posterior)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(post.weights), size=n, p=post.weights / post.weights.sum())
    names = set(post.names)
    pts = []
    for r in rows:
        pts.append(
            {
                f.name: float(post.values[r, post.names.index(f.name)]) if f.name in names else float(getattr(scenario.params, f.name))
                for f in fs
            }
        )
    return pts, rows


def posterior_mass(scenario: Scenario, fs: list[Factor], limits: dict[str, tuple[float, float]]) -> float:
    """Weighted share of the posterior inside the box (factors not calibrated sit at the scenario's value)."""
    if not limits:
        return 0.0
    post = posterior_for(scenario.posterior)
    df = pd.DataFrame(post.values, columns=list(post.names))
    for f in fs:
        if f.name not in df:
            df[f.name] = float(getattr(scenario.params, f.name))
    ok = inside_box(df, limits)
    return float(post.weights[ok].sum() / post.weights.sum())


# --- knock-outs ---


def knockout_configs() -> list[tuple[str, dict[str, bool]]]:
    """("none", {}) then every mechanism off alone, then the `KNOCKOUT_PAIRS`."""
    from sim.inputs.params import Mechanisms

    names = [f.name for f in dataclasses.fields(Mechanisms)]
    return [("none", {})] + [(n, {n: False}) for n in names] + [(f"{a}+{b}", {a: False, b: False}) for a, b in KNOCKOUT_PAIRS]


# --- the whole analysis, as `python run.py sensitivity` runs it ---


@dataclass
class Analysis:
    """What `analyse` found: the tables of a sensitivity run and its robustness summary.

    Attributes:
        factors: the factors varied.
        morris: per outcome and factor, the Morris indices (`morris_table`).
        sobol: per outcome and top factor, the Sobol indices (`sobol_table`).
        knockouts: per mechanism switched off, the July 1989 fit and each claim's verdict.
        robustness: per sampled point, its factor values, outcomes and concession effects.
        morris_points: the Morris design's outcomes.
        sobol_points: the Sobol design's outcomes.
        sobol_factors: the factors Sobol ran on (largest Morris mu*).
        summary: per republic, the PRIM box of the concession effect's sign flips and its posterior mass.
        seconds: wall seconds of each analysis.
    """

    factors: list[Factor]
    morris: pd.DataFrame
    sobol: pd.DataFrame
    knockouts: pd.DataFrame
    robustness: pd.DataFrame
    morris_points: pd.DataFrame
    sobol_points: pd.DataFrame
    sobol_factors: list[str]
    summary: dict[str, Any]
    seconds: dict[str, float]


class _Quiet:
    """A progress bar that shows nothing (the default of `analyse`)."""

    def reset(self, total: int | None = None) -> None:
        """Start a stage of `total` steps."""

    def update(self, n: int = 1) -> None:
        """Advance by `n` steps."""


def analyse(
    base: Scenario,
    arm: Scenario,
    suite: list[Scenario],
    fs: list[Factor],
    targets: list,
    world: Any,
    budget: Budget,
    seed: int,
    workers: int | None = None,
    cluster: str | None = None,
    say: Any = None,
    progress: Any = None,
) -> Analysis:
    """Morris screening, Sobol indices on the top factors, mechanism knock-outs and the robustness map, in that order.

    Args:
        base: the reference scenario (the baseline).
        arm: the no-concessions arm (the concession effect is base minus arm).
        suite: the thesis suite (reference first), run under each knock-out.
        fs: the factors (`factors`).
        targets: the July 1989 targets the knock-outs are scored on (empty: not scored).
        world: the world of `base`.
        budget: sample sizes (`Budget`).
        seed: root seed of every design and run.
        workers: processes (as elsewhere).
        cluster: Dask scheduler address (as elsewhere).
        say: called with one line per stage (default: nothing).
        progress: a progress bar with `reset(total=...)` and `update(n)` (a tqdm bar will do; default: none).
    """
    from datetime import date as _date

    from sim.analysis.experiments import judge
    from sim.analysis.targets import score, tally, target_areas
    from sim.run.runner import run_arms, run_ensemble

    say = say or (lambda m: None)
    progress = progress or _Quiet()
    t0 = time.perf_counter()
    timing: dict[str, float] = {}

    def run_points(points, reps):
        progress.reset(total=len(points))
        return evaluate([base, arm], points, reps, seed, workers, cluster, on_done=progress.update)

    # 1. Morris screening over every factor
    say(f"1/4 Morris: {budget.morris_trajectories} trajectories x {len(fs) + 1} points x {budget.morris_replicates} replicates x 2 arms")
    unit = morris_sample(fs, budget.morris_trajectories, seed)
    ys = run_points(to_values(fs, unit), budget.morris_replicates)
    morris = morris_table(fs, unit, ys, seed)
    timing["morris"] = time.perf_counter() - t0
    # 2. Sobol on the factors that matter most (the others at their values)
    top = top_factors(morris, budget.sobol_factors)
    fs_top = [f for f in fs if f.name in top]
    unit2 = sobol_sample(fs_top, budget.sobol_n, seed)
    say(f"2/4 Sobol on {', '.join(top)}: {len(unit2)} points x {budget.sobol_replicates} replicates x 2 arms")
    t1 = time.perf_counter()
    ys2 = run_points(to_values(fs_top, unit2), budget.sobol_replicates)
    sobol = sobol_table(fs_top, ys2, seed)
    timing["sobol"] = time.perf_counter() - t1
    # 3. knock-outs: July 1989 fit and the thesis verdicts without each mechanism
    t1 = time.perf_counter()
    configs = knockout_configs()
    say(f"3/4 knock-outs: {len(configs)} configurations x {len(suite)} arms x {budget.knockout_replicates} replicates")
    progress.reset(total=len(configs))
    july_end = min(base.end, _date(1989, 9, 30))
    rows = []
    for name, off in configs:
        arms_off = [a.with_changes(mechanisms=off) for a in suite]
        tables, _ = run_arms(arms_off, budget.knockout_replicates, seed, workers=workers, cluster=cluster)
        verdicts = judge(tables.outcomes, suite[0].name, seed=seed)
        row = {"mechanism": name, "targets_good_90": 0, "targets_inside_90": 0, "targets_scored": 0, "distance_median_sum": np.nan}
        if targets:
            july = base.with_changes(mechanisms=off, end=july_end)
            t, _ = run_ensemble(july, budget.july_replicates, seed, workers=workers, cluster=cluster, areas=target_areas(targets, world)[0])
            sc = score(targets, t.areas, world, july.start)
            ok, n = sc[sc["scored"]], tally(sc)
            row.update(
                targets_good_90=n["good"],  # the informative hits, as validate's headline counts them
                targets_inside_90=n["good"] + n["uninformative"],  # every hit, uninformative ones too (kept for the record)
                targets_scored=n["scored"],
                distance_median_sum=float(ok["distance_median"].sum()),
            )
        for _, v in verdicts.iterrows():
            row[f"verdict_{v['claim']}"] = v["verdict"]
            row[f"mean_{v['claim']}"] = float(v["mean"])
        rows.append(row)
        progress.update(1)
    knockouts = pd.DataFrame(rows)
    timing["knockouts"] = time.perf_counter() - t1
    # 4. robustness map: posterior draws and the wider ranges; PRIM on the sign of the concession effect
    t1 = time.perf_counter()
    n = budget.robustness_points
    rng = np.random.default_rng(seed)
    if base.posterior is not None:
        post_pts, _ = posterior_points(base, fs, n // 2, seed)
    else:
        post_pts = []
    wide_pts = to_values(fs, rng.random((n - len(post_pts), len(fs))))
    say(
        f"4/4 robustness: {len(post_pts)} posterior draws + {len(wide_pts)} points of the wider ranges x {budget.robustness_replicates} replicates x 2 arms"
    )
    ys3 = run_points(post_pts + wide_pts, budget.robustness_replicates)
    pts = pd.DataFrame(post_pts + wide_pts)
    pts.insert(0, "source", ["posterior"] * len(post_pts) + ["wider ranges"] * len(wide_pts))
    robustness = pd.concat([pts, ys3.drop(columns="point")], axis=1)
    names = [f.name for f in fs]
    summary = {}
    for rep in ("RSFSR", "Ukraine"):
        col = f"concession_effect_{rep}"
        box = prim(robustness[names], (robustness[col] < 0).to_numpy())
        is_post = robustness["source"] == "posterior"
        summary[rep] = {
            "limits": {k: list(v) for k, v in box["limits"].items()},
            "coverage": box["coverage"],
            "density": box["density"],
            "support": box["support"],
            "base_rate": box["base_rate"],
            "posterior_mass": posterior_mass(base, fs, box["limits"]) if base.posterior is not None else None,
            "posterior_share_predicted": float((robustness.loc[is_post, col] > 0).mean()) if is_post.any() else None,
            "wider_share_predicted": float((robustness.loc[~is_post, col] > 0).mean()) if (~is_post).any() else None,
        }
        summary[rep]["trajectory"] = box["trajectory"].to_dict("list")
    timing["robustness"] = time.perf_counter() - t1
    return Analysis(fs, morris, sobol, knockouts, robustness, ys, ys2, top, summary, timing)
