"""Calibration: priors, the July 1989 targets as distances, ABC-SMC with pyabc, the posterior.

The calibration problem is one file, `calibration/priors.toml`: the scenario whose events and fixed
parameters are used, the end of the calibration runs, the targets file, and for each calibrated
parameter its range, its scale and the reason for the range. One pyabc particle is a small batch
of replicates (`Budget.replicates`, advanced together by the batched engine) of the scenario up to
`end` with the particle's parameters; its summary is the simulated value of every scorable target
in each replicate (`sim.analysis.targets.resolve`: the same areas and dates as the scores and plots); a
replicate's distance is the sum over targets of `sim.analysis.targets.distance` (0 when it meets a target:
inside an interval, within a point's tolerance, an event within its days). A particle is accepted
with weight = the share of its replicates within the threshold (`ReplicatesAcceptor`:
pseudo-marginal ABC, the same posterior as one replicate per particle, with less noise, at about
three times the cost of one replicate for eight). ABC-SMC lowers the threshold population by
population until the acceptance rate falls below `Budget.min_acceptance`.

Randomness: `SeededSampler` gives every slot of every population its own seed from the root seed,
so a calibration is reproducible whatever the number of processes; pyabc's database makes it
resumable.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyabc
from pyabc.sampler import MappingSampler

from sim.analysis.targets import LEVELS, SHARES, Area, Target, distance, event_day, target_areas, window_start
from sim.inputs.errors import InputError
from sim.inputs.network import World
from sim.inputs.params import Params
from sim.inputs.posterior import load_posterior, posterior_for
from sim.inputs.rng import replicate_seeds
from sim.model.engine import Engine
from sim.model.scenario import HORIZON, Scenario, named_path, read_toml
from sim.run.runner import world_for

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

        pyabc samples z from a standard logistic distribution; lo + (hi - lo) * sigmoid(z) is then
        uniform on [lo, hi] (on log10 for log scale). The prior is the same as a uniform one, but
        the space has no hard edges, so the importance weights of ABC-SMC's Gaussian proposal do
        not blow up at the box's faces and corners (measured: see calibration/fitted/README.md).
        """
        return self.at(1.0 / (1.0 + math.exp(-min(max(z, -700.0), 700.0))))

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


# --- the pyabc pieces ---


class TargetModel:
    """A pyabc model: one replicate of the scenario with the particle's parameters -> target values.

    Light to pickle (the world is loaded once per process through `sim.run.runner.world_for`).
    """

    def __init__(
        self, scenario: Scenario, targets: list[Target], priors: tuple[Prior, ...], replicates: int = 1, given: Path | None = None
    ) -> None:
        self.scenario = scenario
        self.targets = targets
        self.priors = priors
        self.replicates = replicates
        self.given = given
        self._probes: tuple[list[Probe], list[Area]] | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_probes": None}

    def _setup(self) -> tuple[list[Probe], list[Area]]:
        if self._probes is None:
            pr, _, areas = probes(self.targets, world_for(self.scenario.data), self.scenario)
            self._probes = (pr, areas)
        return self._probes

    def probes(self) -> list[Probe]:
        """The probes of the targets in this process's world."""
        return self._setup()[0]

    def params(self, pars: dict[str, float], seeds: list[int] | None = None) -> Params | list[Params]:
        """The scenario's parameters with a particle's values (given in pyabc's space, see `Prior.natural`).

        With an earlier stage's posterior (`given`), one set per replicate seed: that posterior's draw
        for the seed (as a `parameters = "posterior"` scenario draws it), with the particle's values.
        """
        values = {p.name: p.natural(pars[p.name]) for p in self.priors}
        if self.given is None or seeds is None:
            return dataclasses.replace(self.scenario.params, **values)
        drawn, _ = posterior_for(self.given).params_for(seeds, self.scenario.params, self.scenario.set_params)
        return [dataclasses.replace(p, **values) for p in drawn]

    def __call__(self, pars: dict[str, float]) -> dict[str, np.ndarray]:
        """Simulate the replicates of one particle, batched (seeded from numpy's global generator, which the sampler seeds)."""
        root = int(np.random.randint(0, 2**62))  # noqa: NPY002 (pyabc draws from the global generator, seeded per slot)
        seeds = replicate_seeds(root, self.replicates)
        pr, areas = self._setup()
        eng = Engine(
            world_for(self.scenario.data), self.scenario, seeds, self.params(pars, seeds), areas=[a.towns for a in areas], record="areas"
        ).run()
        return {"x": observe(eng, pr)}


class TargetDistance(pyabc.distance.Distance):
    """The pyabc distance: the sum over targets of `sim.analysis.targets.distance`, per replicate of a particle."""

    def __init__(self, targets: list[Target], scenario: Scenario) -> None:
        self.model = TargetModel(scenario, targets, ())

    def per_replicate(self, x: dict[str, np.ndarray]) -> np.ndarray:
        """(K,) summed target distance of each of a particle's replicates."""
        values = np.asarray(x["x"], dtype=float).reshape(-1, len(self.model.probes()))
        return distances(self.model.probes(), values).sum(axis=1)

    def __call__(self, x: dict[str, np.ndarray], x_0: dict[str, np.ndarray], t: int | None = None, par: dict | None = None) -> float:
        """A particle's distance as pyabc records it.

        For the prior sample that sets the first threshold (t = 0): the mean over the particle's
        replicates. Later (t > 0), the best replicate's, as `ReplicatesAcceptor` records it: pyabc
        recomputes a stored population's distances with this function when a run resumes from its
        database, and must find the thresholds the uninterrupted run found.
        """
        d = self.per_replicate(x)
        return float(d.min() if t else d.mean())


class ReplicatesAcceptor(pyabc.acceptor.Acceptor):
    """Accept a particle with weight = the share of its K replicates within the threshold.

    This is pseudo-marginal ABC: the share is an unbiased estimate of the probability that one
    replicate at these parameters lands within epsilon of the targets (the ABC likelihood), so the
    weighted population targets the same posterior as one replicate per particle, with less noise
    and fewer rejections. A particle is accepted if any replicate is within epsilon; its recorded
    distance (which sets the next threshold) is its best replicate's.
    """

    def __init__(self, distance: TargetDistance) -> None:
        super().__init__()
        self.distance = distance

    def __call__(self, distance_function: Any, eps: Any, x: dict, x_0: dict, t: int, par: Any) -> Any:
        """Accept or reject one particle (pyabc's acceptor interface)."""
        d = self.distance.per_replicate(x)
        share = float(np.mean(d <= eps(t)))
        return pyabc.acceptor.AcceptorResult(distance=float(d.min()), accept=share > 0, weight=share)


class SeededSampler(MappingSampler):
    """A pyabc sampler whose every slot of every population has its own seed from a root seed.

    pyabc's MappingSampler re-seeds each slot from the operating system, so a parallel calibration
    could not be repeated; here slot i of population t is seeded from (seed, t, i), so the result
    does not depend on the number of processes or their timing.

    Args:
        map_: any `map` (builtin, or a `concurrent.futures` executor's).
        seed: the root seed.
    """

    def __init__(self, map_: Any, seed: int) -> None:
        super().__init__(map_=map_, mapper_pickles=False)
        self.seed = seed

    def __getstate__(self) -> tuple:
        return (super().__getstate__(), self.seed)

    def __setstate__(self, state: tuple) -> None:
        base, self.seed = state
        super().__setstate__(base)

    def map_function(self, simulate_one: Any, slot: tuple[int, int]) -> tuple[Any, int]:
        """Simulate until one particle is accepted, from the slot's own seed."""
        simulate_one = self.unpickle(simulate_one)
        t, i = slot
        ss = np.random.SeedSequence([self.seed, t + 1, i])
        np.random.seed(ss.generate_state(4))  # noqa: NPY002 (pyabc's proposals use the global generator)
        random.seed(int(ss.generate_state(1)[0]))
        n, sample = 0, self._create_empty_sample()
        while True:
            new = simulate_one()
            n += 1
            sample.append(new)
            if new.accepted:
                return sample, n

    def sample_until_n_accepted(self, n: int, simulate_one: Any, t: int, **kwargs: Any) -> Any:
        """One accepted particle per slot, slots in order."""
        f = functools.partial(self.map_function, self.pickle(simulate_one))
        results = list(self.map_(f, [(t, i) for i in range(n)]))
        self.nr_evaluations_ = sum(k for _, k in results)
        sample = self._create_empty_sample()
        for s, _ in results:
            sample += s
        return sample


KERNEL_SCALING = 2.0
"""Width of ABC-SMC's Gaussian proposal relative to pyabc's default (Silverman's rule).

With ten or so parameters, of which the targets inform only some, the default kernel lets the
importance weights collapse onto a few particles (effective sample size 2-5% of the population on a
test problem here); twice the width keeps it near 40% at the cost of more simulations."""


@dataclass
class Budget:
    """How much ABC-SMC to do."""

    population: int
    generations: int
    replicates: int = 8
    min_epsilon: float = 0.0
    min_acceptance: float = 0.04
    max_minutes: float = 600.0
    max_simulations: int = 2_000_000

    @staticmethod
    def named(name: str) -> Budget:
        """`small` (CI: minutes on two cores) or `full` (the committed posterior).

        A run stops at the first of: `generations` populations, an acceptance rate under
        `min_acceptance`, `max_minutes` of wall time (checked between populations), or
        `max_simulations` particles.
        """
        if name == "small":
            return Budget(population=40, generations=3, replicates=4)
        if name == "full":
            return Budget(population=200, generations=10, replicates=4, max_minutes=40)
        raise InputError(f"--budget must be small or full, got {name!r}", key="budget")


def run_abc(
    setup: Setup,
    scenario: Scenario,
    targets: list[Target],
    budget: Budget,
    seed: int,
    db: Path,
    map_: Any = map,
    resume: bool = False,
    verbose: bool = False,
) -> Any:
    """Run (or continue) ABC-SMC and return pyabc's History.

    Args:
        setup: the priors.
        scenario: the scenario cut to the calibration window (its own parameters are the fixed ones).
        targets: the targets.
        budget: population size, generations, minimum epsilon, simulation cap.
        seed: root seed.
        db: the SQLite database file (pyabc's store; a stopped run continues from it).
        map_: a map to evaluate slots with (builtin map, or an executor's).
        resume: continue the run stored in `db` instead of starting one.
        verbose: let pyabc log each population.
    """
    for name in ("ABC", "pyabc"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    np.random.seed(np.random.SeedSequence(seed).generate_state(4))  # noqa: NPY002 (pyabc uses the global generator)
    random.seed(seed)
    # standard logistic in pyabc's space = uniform (or log-uniform) on [lo, hi]: see Prior.natural
    prior = pyabc.Distribution(**{p.name: pyabc.RV("logistic", 0, 1) for p in setup.priors})
    dist = TargetDistance(targets, scenario)
    abc = pyabc.ABCSMC(
        TargetModel(scenario, targets, setup.priors, replicates=budget.replicates, given=setup.given),
        prior,
        dist,
        acceptor=ReplicatesAcceptor(dist),
        population_size=budget.population,
        sampler=SeededSampler(map_, seed),
        transitions=pyabc.MultivariateNormalTransition(scaling=KERNEL_SCALING),
    )
    url = f"sqlite:///{db}"
    if resume:
        abc.load(url, 1)
        left = budget.generations - (abc.history.max_t + 1)
        if left <= 0:
            return abc.history
    else:
        abc.new(url, {"x": np.zeros(len(targets))})
        left = budget.generations
    return abc.run(
        minimum_epsilon=budget.min_epsilon,
        max_nr_populations=left,
        min_acceptance_rate=budget.min_acceptance,
        max_total_nr_simulations=budget.max_simulations,
        max_walltime=timedelta(minutes=budget.max_minutes),
    )


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


def populations_table(history: Any) -> pd.DataFrame:
    """One row per population: epsilon, simulations, accepted, acceptance rate, effective sample size, seconds."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].copy()
    ess = []
    for t in pops["t"]:
        w = np.asarray(history.get_distribution(m=0, t=int(t))[1], dtype=float)
        ess.append(float(w.sum() ** 2 / np.sum(w**2)))
    return pd.DataFrame(
        {
            "population": pops["t"].astype(int),
            "epsilon": pops["epsilon"].astype(float),
            "simulations": pops["samples"].astype(int),
            "accepted": pops["particles"].astype(int),
            "acceptance": pops["particles"] / pops["samples"],
            "ess": ess,
            "seconds": pops["wall_time"].astype(float),
        }
    ).reset_index(drop=True)


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
