"""Could a verdict have come out otherwise? A search of the priors for parameter sets that flip a claim's sign.

A verdict about the model can fail only if the model's structure allows the opposite result. For
every claim with an arm, `search` answers this by experiment:

1. **Search.** `points` parameter sets: the calibrated parameters drawn together from their joint
   posterior (so every set fits the July 1989 and 1989-1990 figures as well as the posterior does),
   and the assumed ones by a Latin hypercube over `sim.analysis.sensitivity.factors`' ranges, with the
   mechanisms that link concessions, refusal and repression to separatism over the wide ranges of
   `WIDE`, counter-mechanisms included (a scenario without a posterior: every factor by the
   hypercube). At each point the reference and every arm run `replicates` paired replicates (common
   random numbers); the point's effect is the mean paired effect. A parameter an arm sets as its
   lever (`glasnost` of weak news, say) keeps the arm's value.
2. **Confirmation.** The point where the effect lies furthest on the side opposite to the claim's
   prediction runs again with `confirm` fresh paired replicates. The flip is **shown** when the 90%
   bootstrap interval of that mean lies entirely on the opposite side of zero: a parameter set inside
   the priors under which the model says the opposite of the claim.

A claim whose flip is not shown is reported as true by construction of the model and its priors (no
parameter set of the search reverses it), never as supported. The search is finite: "not shown" is
evidence, not proof, and the report says how many points were searched.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from sim.analysis.experiments import Claim, summarise
from sim.analysis.sensitivity import Factor, _points_chunk, factors, point_base, to_values
from sim.inputs.params import Params
from sim.inputs.posterior import posterior_for
from sim.inputs.rng import replicate_seeds
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


CANDIDATES = 3
"""Points per claim (the most opposite of the search) run again on fresh replicates to confirm a flip."""


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


def _run(arms: list[Scenario], points: list[dict[str, float]], seeds: list[int], workers, cluster, on_done) -> dict[str, dict]:
    """Every arm at every point: outcome arrays (points, replicates) by arm name (the first arm is the reference)."""
    per = max(1, 40 // max(len(seeds), 1))
    tasks = [(arms, points[i : i + per], seeds) for i in range(0, len(points), per)]
    parts = execute(_points_chunk, tasks, workers, cluster, (lambda k, r: on_done(len(tasks[k][1]))) if on_done else None)
    return {a.name: {k: np.concatenate([p[a.name][k] for p in parts]) for k in parts[0][a.name]} for a in arms}


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
) -> pd.DataFrame:
    """For every claim with an arm in `arms`: the share of searched points with the predicted sign and the confirmed flip.

    Args:
        reference: the reference arm (the baseline).
        arms: the counterfactual arms by name.
        claims: the claims to test (those without an arm, or whose arm is missing, are skipped).
        fs: the factors (`flip_factors`).
        points: parameter sets of the Latin hypercube.
        replicates: paired replicates per point in the search.
        confirm: paired replicates of the confirmation run at the most opposite point.
        seed: root seed (the hypercube, the search's and the confirmation's replicate seeds).
        workers: processes (as elsewhere).
        cluster: Dask scheduler address (as elsewhere).
        on_done: called with the number of points of each finished task (progress).

    Returns:
        One row per claim: points searched, share of points with the predicted sign, the most opposite
        point's effect in the search and in the confirmation (mean, 90% interval), `flip_shown`, and
        the point (`point`: factor -> value, as a string of the factors furthest from the reference).
    """
    todo = [c for c in claims if c.arm is not None and c.arm in arms]
    if not todo or points < 1:
        return pd.DataFrame()
    world_for(reference.data)
    free, unit, values, post_rows = draw_points(reference, fs, points, seed)
    names = sorted({c.arm for c in todo})
    runs = _run([reference, *(arms[n] for n in names)], values, replicate_seeds(seed + 1, replicates), workers, cluster, on_done)
    ref = runs[reference.name]
    base = point_base(reference)
    rows, cands = [], []
    for c in todo:
        eff = c.sign * (ref[c.outcome] - runs[c.arm][c.outcome]).mean(axis=1)  # predicted-sign units, one per point
        order = [int(j) for j in np.argsort(eff, kind="stable") if eff[j] < 0][:CANDIDATES]
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
            }
        )
    # confirmation: each claim's most opposite points again, on fresh paired replicates (a point's reference runs are
    # shared by every claim that chose it)
    cseeds = replicate_seeds(seed + 2, confirm)
    at = sorted({j for order in cands for j in order}) if confirm >= 1 else []
    need = {j: sorted({c.arm for c, order in zip(todo, cands, strict=True) if j in order}) for j in at}
    got = {j: _run([reference, *(arms[a] for a in need[j])], [values[j]], cseeds, workers, cluster, None) for j in at}
    for row, c, order in zip(rows, todo, cands, strict=True):
        tried = []
        for j in order if confirm >= 1 else []:
            sm = summarise(got[j][reference.name][c.outcome][0] - got[j][c.arm][c.outcome][0], seed)
            shown = max(c.sign * sm["mean_lo"], c.sign * sm["mean_hi"]) < 0  # the whole interval opposite to the claim
            tried.append((not shown, c.sign * sm["mean"], j, sm, shown))
        # the first confirmed flip, else the candidate whose confirmed effect lies furthest on the opposite side
        best = min(tried, key=lambda t: t[:3])[2:] if tried else None
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
