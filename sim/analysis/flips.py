"""Could a verdict have come out otherwise? A search of the priors for parameter sets that flip a claim's sign.

A verdict about the model can fail only if the model's structure allows the opposite result. The
thesis answers that twice. The calibrated parameters are what the 1989-1990 data constrain: their
share of the posterior that gives each sign is read from the thesis's own paired runs, which draw one
posterior row per replicate (`sim.inputs.posterior.sign_share`; no extra run). The
parameters the data do not constrain (those not in the posterior) are searched here, for every claim
with an arm whose sign the model's structure does not fix:

1. **Screening.** `points` parameter sets: the calibrated parameters drawn together from their joint
   posterior (so every set fits the July 1989 and 1989-1990 figures as well as the posterior does),
   and the assumed ones by a Latin hypercube over `sim.analysis.sensitivity.factors`' ranges, with the
   mechanisms that link concessions, refusal and repression to separatism over the wide ranges of
   `WIDE`, counter-mechanisms included (a scenario without a posterior: every factor by the
   hypercube). At each point the reference and every arm run `replicates` paired replicates (common
   random numbers; few: this step only ranks the points); the point's effect is the mean paired
   effect. Each arm runs all its points as one batch per task, and only as far as its claims'
   outcomes read (`horizon`: an arm about July 1989 stops at the end of August 1989). A parameter an
   arm sets as its lever (`glasnost` of weak news, say) keeps the arm's value.
2. **Confirmation.** The points where the effect lies furthest on the side opposite to the claim's
   prediction (`candidates_for`: one per 8 points searched, at most 3) run again with `confirm` fresh
   paired replicates, one round per rank, all claims of a round in one pool; a claim whose flip is
   shown is not confirmed again. The flip is **shown** when the 90% bootstrap interval of that mean lies
   entirely on the opposite side of zero: a parameter set inside the priors under which the model
   says the opposite of the claim.

The search informs the verdict and never changes its label: the label comes from the thesis's paired
effects alone (`sim.analysis.experiments.judge`), so the same numbers give the same label with or
without a search. The search is finite: "not shown" is evidence, not proof, and the report says how
many points were searched and how many runs they took (`runs_screen`, `runs_confirm`).
"""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd

from sim.analysis.experiments import Claim, summarise
from sim.analysis.sensitivity import Factor, factors, lever, point_base, to_values
from sim.inputs.params import Params
from sim.inputs.posterior import posterior_for
from sim.inputs.rng import replicate_seeds
from sim.model.engine import Engine
from sim.model.metrics import OUTCOMES, outcomes
from sim.model.scenario import Scenario
from sim.run.runner import execute, world_for

WIDE: dict[str, tuple[float, float, str]] = {
    "bind": (0.0, 1.0, "a concession binds its committees to its maker: the whole range, as its counter `court`"),
    "court": (0.0, 1.0, "counter-mechanism of `bind`: the republics court the refused; the whole range"),
    "tau_refuse": (0.0, 0.3, "counter-mechanism: radicalisation by refusal; up to a third of the trust scale per refused strike"),
    "tau_concede": (-0.3, 0.3, "a concession may raise trust (pacify) or lower it (embolden): either sign"),
    "tau_rep": (0.0, 0.1, "martyrdom: trust lost per day of full repression, from none to a tenth"),
    "eta_win": (0.0, 1.0, "efficacy gained from a win: the whole range"),
    "eta_fail": (0.0, 0.5, "efficacy lost to a refused strike (refusal demobilises): up to half the scale"),
    "g_broken": (0.0, 6.0, "log-rate effect of unkept promises: twice the baseline's value at most"),
    "g_distrust": (0.0, 4.0, "log-rate effect of distrust: twice the baseline's value at most"),
    "g_eff": (0.0, 2.0, "log-rate effect of efficacy: twice the baseline's value at most"),
    "g_auth": (0.0, 3.0, "log-rate effect of authority: twice the baseline's value at most"),
    "a_move": (0.0, 0.02, "drift of allied committees to the republic: twice the baseline's value at most"),
}
"""The mechanisms that link the centre's choices to separatism, and their counter-mechanisms, over wide ranges
(name: (low, high, reason)); assumption: nothing in the sources sizes them, so each is searched from off
to about twice its baseline value, and a mechanism and its counter over the same range."""


BATCH = 48
"""Runs advanced together in one task of the search (points x replicates of one arm): about where batching stops paying."""

JULY = {"july_peak_strikers": "1989-08-31", "donbas_struck_july": "1989-07-31"}
"""The last day the July 1989 outcomes read (their `Outcome.until` is unset: every run covers them)."""


def candidates_for(points: int) -> int:
    """Points per claim (the most opposite of the search) that may be confirmed: one per 8 points searched, 1 to 3.

    They are confirmed one round at a time: a claim whose flip is shown is not confirmed again.
    """
    return int(min(3, max(1, points // 8)))


def confirm_for(replicates: int) -> int:
    """Default fresh paired replicates of a confirmation: a quarter of the thesis's replicates, 8 to 32 (scaled to the request)."""
    return int(min(32, max(8, replicates // 4)))


def flip_factors(reference: Scenario, priors: list | None = None) -> list[Factor]:
    """The factors of the search: `sim.analysis.sensitivity.factors` with the `WIDE` ranges in place of theirs."""
    fs = {f.name: f for f in factors(reference, priors)}
    fields = {f.name for f in dataclasses.fields(Params)}
    for name, (lo, hi, why) in WIDE.items():
        assert name in fields, name
        fs[name] = Factor(name, "concession and its counters", lo, hi, "linear", f"assumption: {why}")
    return list(fs.values())


def latin_hypercube(points: int, dims: int, seed: int) -> np.ndarray:
    """(points, dims) Latin hypercube on the unit cube: one point in each of `points` strata per dimension (seeded)."""
    rng = np.random.default_rng(seed)
    strata = np.stack([rng.permutation(points) for _ in range(dims)], axis=1)
    return (strata + rng.random((points, dims))) / points


def horizon(scenario: Scenario, outcomes_read: set[str]) -> Scenario:
    """`scenario` stopped on the last day any of `outcomes_read` reads (a run's first days do not depend on its end)."""
    last = [OUTCOMES[o].until or JULY.get(o) for o in outcomes_read]
    if not last or None in last:
        return scenario
    end = min(scenario.end, max(date.fromisoformat(d) for d in last))
    return scenario.with_changes(end=end) if end < scenario.end else scenario


def _arm_points(args: tuple) -> dict[str, np.ndarray]:
    """One arm at a few points, `len(seeds)` replicates each, as one batch: the named outcomes, (points, replicates).

    A point's values never override the arm's lever (`lever`: the parameters it sets against the reference).
    """
    arm, reference, points, seeds = args
    world = world_for(arm.data)
    base, own = point_base(arm), lever(arm, reference)
    params = [base.replace(**{k: v for k, v in p.items() if k not in own}) for p in points for _ in seeds]
    run = Engine(world, arm, list(seeds) * len(points), params).run().outcome_run()
    return {k: np.asarray(v, float).reshape(len(points), len(seeds)) for k, v in outcomes(run).items()}


def _run(
    reference: Scenario,
    want: dict[str, list[int]],
    arms: dict[str, Scenario],
    values: list[dict],
    seeds: list[int],
    workers,
    cluster,
    on_done,
) -> tuple[dict[tuple[str, int], dict[str, np.ndarray]], int]:
    """The arms named in `want` at their points (name -> point indices), one pool for all: outcomes by (arm, point), and runs made.

    Each task is one arm at up to `BATCH // len(seeds)` points, advanced as one batch; the longest runs go first.
    """
    per = max(1, BATCH // max(len(seeds), 1))
    tasks, keys = [], []
    for name, at in want.items():
        for i in range(0, len(at), per):
            tasks.append((arms[name], reference, [values[j] for j in at[i : i + per]], seeds))
            keys.append([(name, j) for j in at[i : i + per]])
    order = sorted(range(len(tasks)), key=lambda k: -tasks[k][0].days * len(tasks[k][2]))  # longest first: the pool ends together
    tasks, keys = [tasks[k] for k in order], [keys[k] for k in order]
    parts = execute(_arm_points, tasks, workers, cluster, (lambda k, r: on_done(len(tasks[k][2]) * len(seeds))) if on_done else None)
    got = {key: {o: v[n] for o, v in part.items()} for ks, part in zip(keys, parts, strict=True) for n, key in enumerate(ks)}
    return got, sum(len(t[2]) for t in tasks) * len(seeds)


COUNTERS = ("court", "tau_refuse")
"""The counter-mechanisms of refusal (`WIDE`): calibrated in stage 2 since issue 29, so drawn from the posterior where it holds
them (`draw_points`), searched over `WIDE` otherwise; the search says how the sign depends on them."""


def counters_split(free: list[Factor], unit: np.ndarray, eff: np.ndarray) -> str:
    """The share of searched sets with the predicted sign where the counter-mechanisms are all weak, and where all strong.

    `eff`: each set's effect in predicted-sign units. Weak: every one of `COUNTERS` in the lower half of its range;
    strong: every one in the upper half. A clause for the report ("" if the search did not vary them).
    """
    at = [i for i, f in enumerate(free) if f.name in COUNTERS]
    if not at:
        return ""
    parts = []
    for half, inside in (("lower", (unit[:, at] < 0.5).all(axis=1)), ("upper", (unit[:, at] >= 0.5).all(axis=1))):
        n = int(inside.sum())
        parts.append(f"{np.mean(eff[inside] > 0):.0%} of the {n} with them all in the {half} half" if n else f"none in the {half} half")
    return f"; counter-mechanisms ({', '.join(free[i].name for i in at)}) weak or strong: {parts[0]}, {parts[1]}"


def draw_points(
    reference: Scenario, fs: list[Factor], points: int, seed: int
) -> tuple[list[Factor], np.ndarray, list[dict[str, float]], list[int]]:
    """The search's parameter sets: calibrated parameters from posterior rows (by weight), the other factors by hypercube.

    Returns the factors of the hypercube, its unit points, the parameter sets and the posterior row of each (-1: none).
    """
    post = posterior_for(reference.posterior) if reference.posterior is not None else None
    cal = set(post.names) if post is not None else set()
    free = [f for f in fs if f.name not in cal]
    unit = latin_hypercube(points, len(free), seed)
    values = to_values(free, unit)
    rows = [-1] * points
    if post is not None:
        rng = np.random.default_rng([seed, 1])
        rows = [int(i) for i in rng.choice(len(post.weights), size=points, p=post.weights / post.weights.sum())]
        for v, i in zip(values, rows, strict=True):
            v.update({n: float(post.values[i, j]) for j, n in enumerate(post.names) if n not in reference.set_params})
    return free, unit, values, rows


def search(
    reference: Scenario,
    arms: dict[str, Scenario],
    claims: tuple[Claim, ...],
    fs: list[Factor],
    points: int,
    replicates: int,
    confirm: int,
    seed: int,
    workers: int | None = None,
    cluster: str | None = None,
    on_done=None,
    candidates: int | None = None,
) -> pd.DataFrame:
    """For every claim with an arm in `arms`: the share of searched points with the predicted sign and the confirmed flip.

    Args:
        reference: the reference arm (the baseline).
        arms: the counterfactual arms by name.
        claims: the claims to test (those without an arm, whose arm is missing, or whose sign the model's structure
            fixes (`Claim.construction`) are skipped).
        fs: the factors (`flip_factors`).
        points: parameter sets of the Latin hypercube.
        replicates: paired replicates per point in the screening.
        confirm: fresh paired replicates of each confirmation run.
        seed: root seed (the hypercube, the search's and the confirmation's replicate seeds).
        workers: processes (as elsewhere).
        cluster: Dask scheduler address (as elsewhere).
        on_done: called with the number of runs of each finished screening task (progress).
        candidates: the most opposite points per claim that may be confirmed, one round each (default `candidates_for`).

    Every arm runs only as far as its claims' outcomes read (`horizon`), and the reference as far as any claim's.

    Returns:
        One row per claim: points searched, share of points with the predicted sign, the most opposite point's
        effect in the search and in the confirmation (mean, 90% interval), `flip_shown`, the point (`point`: factor ->
        value, as a string of the factors furthest from the reference), and the runs the whole search made
        (`runs_screen`, `runs_confirm`: the same on every row).
    """
    todo = [c for c in claims if c.arm is not None and c.arm in arms and c.construction is None]
    if not todo or points < 1:
        return pd.DataFrame()
    world_for(reference.data)
    free, unit, values, post_rows = draw_points(reference, fs, points, seed)
    names = sorted({c.arm for c in todo})
    run_as = {n: horizon(arms[n], {c.outcome for c in todo if c.arm == n}) for n in names}
    run_as[reference.name] = horizon(reference, {c.outcome for c in todo})
    every = list(range(points))
    got, n_screen = _run(
        reference,
        {n: every for n in [reference.name, *names]},
        run_as,
        values,
        replicate_seeds(seed + 1, replicates),
        workers,
        cluster,
        on_done,
    )
    base = point_base(reference)
    rows, cands = [], []
    k = candidates_for(points) if candidates is None else candidates
    for c in todo:
        eff = c.sign * np.array([(got[reference.name, j][c.outcome] - got[c.arm, j][c.outcome]).mean() for j in every])
        order = [int(j) for j in np.argsort(eff, kind="stable") if eff[j] < 0][:k]
        cands.append(order)
        rows.append(
            {
                "claim": c.key,
                "arm": c.arm,
                "outcome": c.outcome,
                "points": points,
                "replicates": replicates,
                "share_points_predicted": float(np.mean(eff > 0)),
                "share_points_opposite": float(np.mean(eff < 0)),
                "search_min_effect": float(c.sign * eff.min()),
                "candidates": len(order),
                "counters": counters_split(free, unit, eff),
            }
        )
    # confirmation, a round per candidate rank: each claim not yet shown runs its next most opposite point again on fresh
    # paired replicates (a point's reference runs are shared by every claim that chose it in the round)
    cseeds = replicate_seeds(seed + 2, confirm)
    tried: list[list] = [[] for _ in todo]
    n_confirm = 0
    for rank in range(k if confirm >= 1 else 0):
        now = [(i, c, order[rank]) for i, (c, order) in enumerate(zip(todo, cands, strict=True)) if rank < len(order)]
        now = [(i, c, j) for i, c, j in now if not any(t[-1] for t in tried[i])]
        if not now:
            break
        want: dict[str, set[int]] = {reference.name: {j for _, _, j in now}}
        for _, c, j in now:
            want.setdefault(c.arm, set()).add(j)
        res, n = _run(reference, {a: sorted(js) for a, js in want.items()}, run_as, values, cseeds, workers, cluster, None)
        n_confirm += n
        for i, c, j in now:
            sm = summarise(res[reference.name, j][c.outcome] - res[c.arm, j][c.outcome], seed)
            shown = max(c.sign * sm["mean_lo"], c.sign * sm["mean_hi"]) < 0  # the whole interval opposite to the claim
            tried[i].append((not shown, c.sign * sm["mean"], j, sm, shown))
    for row, t in zip(rows, tried, strict=True):
        row.update(runs_screen=n_screen, runs_confirm=n_confirm, confirm_replicates=confirm)
        # the confirmed flip, else the candidate whose confirmed effect lies furthest on the opposite side
        best = min(t, key=lambda x: x[:3])[2:] if t else None
        if best is None:
            row.update(point="", confirm_mean=np.nan, confirm_lo=np.nan, confirm_hi=np.nan, flip_shown=False)
            continue
        j, sm, shown = best
        row.update(
            point=_describe(free, unit[j], values[j], base)
            + (f"; calibrated parameters: posterior row {post_rows[j]}" if post_rows[j] >= 0 else ""),
            confirm_mean=sm["mean"],
            confirm_lo=sm["mean_lo"],
            confirm_hi=sm["mean_hi"],
            flip_shown=bool(shown),
        )
    return pd.DataFrame(rows)


def _describe(fs: list[Factor], u: np.ndarray, values: dict[str, float], base: Params, k: int = 5) -> str:
    """The `k` factors of a point furthest (on the unit scale) from the reference's values: 'name=value (reference v)'."""
    far = []
    for f, ui in zip(fs, u, strict=True):
        v0 = float(np.mean(getattr(base, f.name)))
        if f.scale == "log":
            u0 = (np.log(max(v0, f.lo)) - np.log(f.lo)) / (np.log(f.hi) - np.log(f.lo))
        else:
            u0 = (v0 - f.lo) / (f.hi - f.lo) if f.hi > f.lo else 0.5
        far.append((abs(ui - float(np.clip(u0, 0, 1))), f.name, values[f.name], v0))
    far.sort(reverse=True)
    return ", ".join(f"{n}={_g(v)} (reference {_g(v0)})" for _, n, v, v0 in far[:k])


def _g(x: float) -> str:
    return f"{x:.3g}"
