"""Calibration: priors, the targets as distances read from the engine's arrays, the posterior's tables.

The calibration problem is one file, `calibration/priors.toml`: the scenario whose events and fixed
parameters are used, the end of the calibration runs, the targets file, and for each calibrated
parameter its range, its scale and the reason for the range. A particle's summary is the simulated
value of every scorable target in each of its replicates (`sim.analysis.targets.resolve`: the same
areas and dates as the scores and plots); a replicate's distance is the sum over targets of
`sim.analysis.targets.distance` (0 when it meets a target: inside an interval, within a point's
tolerance, an event within its days). `partial_distances` bounds it from below on the days run so
far, so that a particle can be stopped as soon as it cannot meet the threshold. ABC-SMC itself
(pyabc's model, distance, acceptor, sampler and proposal) is in `sim.analysis.smc`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from sim.analysis.targets import (
    EVENT_TOLERANCE_DAYS,
    LEVELS,
    MISSING_EVENT,
    SHARES,
    Area,
    Target,
    distance,
    event_day,
    target_areas,
    window_start,
)
from sim.inputs.errors import InputError
from sim.inputs.network import World
from sim.inputs.params import Params
from sim.inputs.posterior import load_posterior
from sim.model.engine import Engine
from sim.model.scenario import HORIZON, Scenario, named_path, read_toml

SCALES = ("linear", "log")


@dataclass(frozen=True)
class Prior:
    """A calibrated parameter: uniform on [lo, hi] (or log-uniform), with the reason for the range."""

    name: str
    lo: float
    hi: float
    scale: str
    reason: str

    def natural(self, z: float) -> float:
        """The parameter's value for a point z of the space pyabc samples in.

        pyabc samples z from a standard normal distribution; lo + (hi - lo) * Phi(z) is then uniform
        on [lo, hi] (on log10 for log scale). The prior is the same as a uniform one, but the space
        has no hard edges, so the importance weights of ABC-SMC do not blow up at the box's faces
        and corners, and a Gaussian proposal (`sim.analysis.smc.GaussianProposal`) has the prior's
        tails: where the data say little, the weights stay even (the effective sample size).
        """
        return self.at(float(ndtr(z)))

    def at(self, u: float) -> float:
        """The parameter's value at quantile u of its prior: uniform on [lo, hi], or on log10 for log scale."""
        if self.scale == "log":
            a, b = math.log10(self.lo), math.log10(self.hi)
            return float(min(max(10.0 ** (a + (b - a) * u), self.lo), self.hi))
        return float(self.lo + (self.hi - self.lo) * u)


@dataclass(frozen=True)
class Setup:
    """The calibration problem of a priors file."""

    path: Path
    scenario: Path
    end: date
    targets: Path
    priors: tuple[Prior, ...]
    given: Path | None = None  # an earlier stage's posterior: each replicate draws the other parameters from it
    install: Path | None = None  # where `calibrate --install` puts the posterior

    @property
    def names(self) -> tuple[str, ...]:
        """Calibrated parameter names."""
        return tuple(p.name for p in self.priors)


def load_priors(path: str | Path) -> Setup:
    """Read and check a priors file (`[setup]` and one `[params.NAME]` table per parameter).

    Raises:
        InputError: naming the file and key for an unknown key or parameter, a range outside the
            parameter's allowed range, lo >= hi, a bad scale or a missing reason.
    """
    path = Path(path)
    raw = read_toml(path, "priors file")
    where = str(path)
    for key in raw:
        if key not in ("setup", "params"):
            raise InputError(f"unknown key '{key}'; allowed: setup, params", file=where, key=key)
    setup = raw.get("setup")
    if not isinstance(setup, dict):
        raise InputError("missing table [setup] (scenario, end, targets)", file=where, key="setup")
    for key in setup:
        if key not in SETUP_KEYS:
            raise InputError(f"unknown key '{key}' in [setup]; allowed: {', '.join(SETUP_KEYS)}", file=where, key=key)
    for key in ("given", "install"):
        if key in setup and not isinstance(setup[key], str):
            raise InputError(f"[setup] {key} must be a string (a path relative to the priors file)", file=where, key=key)
    for key in ("scenario", "end", "targets"):
        if not isinstance(setup.get(key), str):
            raise InputError(f"[setup] {key} must be a string", file=where, key=key)
    try:
        end = date.fromisoformat(setup["end"])
    except ValueError:
        raise InputError(f"[setup] end must be an ISO date, got {setup['end']!r}", file=where, key="end") from None
    if not HORIZON[0] <= end <= HORIZON[1]:
        raise InputError(f"[setup] end {end} is outside the years the model covers ({HORIZON[0]} to {HORIZON[1]})", file=where, key="end")
    fields = {f.name: f for f in dataclasses.fields(Params)}
    table = raw.get("params")
    if not isinstance(table, dict) or not table:
        raise InputError("no calibrated parameters: add [params.NAME] tables", file=where, key="params")
    priors = []
    for name, spec in table.items():
        key = f"params.{name}"
        if name not in fields:
            raise InputError(f"[{key}]: not a calibratable model parameter (see `python run.py params`)", file=where, key=name)
        if not isinstance(spec, dict):
            raise InputError(f"[{key}] must be a table", file=where, key=name)
        for k in spec:
            if k not in ("lo", "hi", "scale", "reason"):
                raise InputError(f"unknown key '{k}' in [{key}]; allowed: lo, hi, scale, reason", file=where, key=k)
        lo, hi = spec.get("lo"), spec.get("hi")
        for k, v in (("lo", lo), ("hi", hi)):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise InputError(f"[{key}] {k} must be a number, got {v!r}", file=where, key=k)
        m = fields[name].metadata
        if not (m["lo"] <= lo < hi <= m["hi"]):
            raise InputError(f"[{key}] needs {m['lo']:g} <= lo < hi <= {m['hi']:g}, got lo = {lo}, hi = {hi}", file=where, key="lo")
        scale = spec.get("scale", "linear")
        if scale not in SCALES:
            raise InputError(f"[{key}] scale must be linear or log, got {scale!r}", file=where, key="scale")
        if scale == "log" and lo <= 0:
            raise InputError(f"[{key}] a log-scale prior needs lo > 0", file=where, key="lo")
        reason = spec.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise InputError(f"[{key}] needs a reason (source or argument for the range)", file=where, key="reason")
        priors.append(Prior(name, float(lo), float(hi), scale, reason.strip()))
    try:  # every path is relative to the priors file, and stays in the repository or beside the priors file
        named = {k: named_path(setup[k], path.parent, k) for k in ("scenario", "targets", "given") if k in setup}
        fitted = path.parent.resolve() / "fitted"  # `install` writes: only into fitted/ beside the priors file
        install = named_path(setup.get("install", "fitted/posterior.parquet"), path.parent, "install", within=(fitted,))
    except InputError as exc:
        raise InputError(f"[setup] {exc.message}", file=where, key=exc.key) from None
    if install.suffix != ".parquet" or install == fitted:
        raise InputError(f"[setup] install must name a .parquet file in {fitted}, got {setup.get('install')!r}", file=where, key="install")
    for key, p in named.items():
        if not p.is_file():
            raise InputError(f"[setup] {key} file {setup[key]!r} not found (relative to the priors file)", file=where, key=key)
    given = named.get("given")
    if given is not None:
        overlap = sorted(set(load_posterior(given).names) & {p.name for p in priors})
        if overlap:
            raise InputError(
                f"[setup] given posterior already holds {', '.join(overlap)}: a stage calibrates other parameters", file=where, key="given"
            )
    return Setup(
        path=path,
        scenario=named["scenario"],
        end=end,
        targets=named["targets"],
        priors=tuple(priors),
        given=given,
        install=install,
    )


SETUP_KEYS = ("scenario", "end", "targets", "given", "install")
"""Keys of a priors file's [setup]: `given` (optional) is the posterior of an earlier stage, `install`
(default `fitted/posterior.parquet`, a .parquet file in fitted/ beside the priors file) where
`calibrate --install` writes this stage's posterior. Paths are relative to the priors file and stay
in the repository or beside it (`sim.model.scenario.named_path`)."""


# --- targets as probes into the engine's arrays ---


@dataclass(frozen=True)
class Probe:
    """Where a target is read in the engine's recorded arrays."""

    target: Target
    area: int  # index of the target's area in the engine's areas
    day: int  # day index of the target's date
    first: int  # day index where an event target's window opens


def probes(targets: list[Target], world: World, scenario: Scenario) -> tuple[list[Probe], list[tuple[Target, str]], list[Area]]:
    """The scorable targets as probes, the others with the reason they are not scored, and the areas to record."""
    areas, index, reasons = target_areas(targets, world)
    ok, skipped = [], []
    for t in targets:
        if t.line in reasons:
            skipped.append((t, reasons[t.line]))
            continue
        day = (t.date - scenario.start).days
        if not 0 <= day < scenario.days:
            skipped.append((t, f"date outside the simulated days ({scenario.start} to {scenario.end})"))
            continue
        ok.append(Probe(t, index[t.line], day, (window_start(t) - scenario.start).days))
    return ok, skipped, areas


def observe(engine: Engine, probes: list[Probe]) -> np.ndarray:
    """(R, T) simulated value of each probe in each replicate (counts; event days after the target date)."""
    r = len(engine.seeds)
    out = np.empty((r, len(probes)))
    for j, pr in enumerate(probes):
        t = pr.target
        if t.measure in LEVELS:
            v = engine.area_out[t.measure][pr.day][:, pr.area]
            out[:, j] = v if t.measure in SHARES else np.rint(v)  # whole persons, as in the tables
        else:
            on = engine.area_out["mines_on_strike"][: engine.day, :, pr.area]  # (days, R)
            out[:, j] = [event_day(on[:, k], t.measure, pr.first) - pr.day for k in range(r)]
    return out


def distances(probes: list[Probe], values: np.ndarray) -> np.ndarray:
    """(R, T) per-target distances of simulated values (0 where a replicate meets a target)."""
    return np.stack([distance(p.target, values[:, j]) for j, p in enumerate(probes)], axis=1)


def partial_distances(engine: Engine, probes: list[Probe]) -> np.ndarray:
    """(R,) lower bound of each replicate's summed distance from the days the engine has run so far.

    A level target counts once its day is run (its value cannot change after); an event that has
    happened counts as it will at the end; an event not yet seen by day D is at least D - its date
    days late, or never happens (`MISSING_EVENT`): the smaller of the two is its bound. Targets
    after D count 0. Every term is at most the target's final distance, so a replicate whose bound
    exceeds a threshold cannot meet it; once the engine has run every day, the bound of a replicate
    whose events all happened is its distance.
    """
    d, r = engine.day, len(engine.seeds)
    total = np.zeros(r)
    for pr in probes:
        t = pr.target
        if t.measure in LEVELS:
            if pr.day < d:
                v = engine.area_out[t.measure][pr.day][:, pr.area]
                total += distance(t, v if t.measure in SHARES else np.rint(v))
            continue
        on = engine.area_out["mines_on_strike"][:d, :, pr.area]  # (days so far, R)
        off = np.array([event_day(on[:, k], t.measure, pr.first) for k in range(r)]) - pr.day
        late = max(max(d - pr.day, 0) - EVENT_TOLERANCE_DAYS.get(t.confidence, 2.0), 0.0)
        total += np.where(np.isnan(off), min(late, MISSING_EVENT), distance(t, np.nan_to_num(off)))
    return total


def checkpoints(probes: list[Probe], days: int) -> list[int]:
    """Days (run so far) at which a particle's `partial_distances` can grow: after each target's day, and where a missing event reaches its full distance."""
    marks = {pr.day + 1 for pr in probes}
    for pr in probes:
        if pr.target.measure not in LEVELS:
            marks.add(pr.day + 1 + math.ceil(EVENT_TOLERANCE_DAYS.get(pr.target.confidence, 2.0) + MISSING_EVENT))
    return sorted(m for m in marks if 0 < m < days)


def posterior_table(history: Any, setup: Setup) -> pd.DataFrame:
    """The last population: one row per particle, the calibrated parameters (natural units) and `weight`."""
    df, w = history.get_distribution(m=0, t=history.max_t)
    df = df.reset_index(drop=True)
    out = pd.DataFrame({p.name: [p.natural(v) for v in df[p.name]] for p in setup.priors})
    out["weight"] = np.asarray(w, dtype=float)
    return out


PRIOR_FILES = ("priors.toml", "priors_1989_1990.toml")
"""The calibration stages' priors files (in `calibration/`): together, every calibrated parameter."""


def prior_table(setups: list[Setup], rows: int, seed: int) -> pd.DataFrame:
    """Draws from the priors of every stage (uniform or log-uniform on [lo, hi]), equal weights, seeded.

    Written as a posterior-format table, a scenario with `parameters` set to it runs the prior
    predictive: the same model with its calibrated parameters not informed by any data (the
    reference forecast a calibration must beat).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    out = {}
    for setup in setups:
        for p in setup.priors:
            out[p.name] = [p.at(u) for u in rng.random(rows)]
    df = pd.DataFrame(out)
    df["weight"] = 1.0
    return df


def combined_posterior(post: pd.DataFrame, given: Path, seed: int) -> pd.DataFrame:
    """An earlier stage's posterior with one particle of this stage attached to each of its rows.

    Every row of the given posterior keeps its values and weight, so a scenario that draws from the
    result gives each replicate the same earlier-stage parameters as before; the attached particle
    is drawn by this stage's weights (seeded). This treats the stages as independent given the data:
    the staged scheme's approximation (stated in calibration/fitted/README.md).
    """
    first = load_posterior(given)
    w = post["weight"].to_numpy(dtype=float)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    pick = rng.choice(len(post), size=len(first.weights), p=w / w.sum())
    out = pd.DataFrame(first.values, columns=list(first.names))
    for c in post.columns:
        if c != "weight":
            out[c] = post[c].to_numpy()[pick]
    out["weight"] = first.weights
    return out


def summary(post: pd.DataFrame, setup: Setup) -> pd.DataFrame:
    """Weighted posterior median and 5-95% interval of each parameter, with its prior range."""
    rows = []
    w = post["weight"].to_numpy()
    for p in setup.priors:
        v = post[p.name].to_numpy()
        q = weighted_quantiles(v, w, [0.05, 0.5, 0.95])
        rows.append({"parameter": p.name, "p05": q[0], "median": q[1], "p95": q[2], "prior_lo": p.lo, "prior_hi": p.hi, "scale": p.scale})
    return pd.DataFrame(rows)


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: list[float]) -> np.ndarray:
    """Quantiles of weighted draws (inverse of the weighted empirical CDF, midpoint rule)."""
    order = np.argsort(values)
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(qs, cdf, v)
