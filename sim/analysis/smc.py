"""ABC-SMC with pyabc on the targets of a priors file: the model, distance, acceptor, sampler and proposal.

One pyabc particle is a small batch of replicates (`Budget.replicates`, advanced together by the
batched engine) of the scenario up to `end` with the particle's parameters. A particle is accepted
with weight = the share of its replicates within the threshold (`ReplicatesAcceptor`:
pseudo-marginal ABC, the same posterior as one replicate per particle, with less noise). Most
particles are rejected: `TargetModel.accept` runs a particle in stages and stops it as soon as every
replicate's distance so far (`sim.analysis.calibration.partial_distances`, a lower bound) exceeds
the population's threshold, so a particle that missed July 1989 does not simulate 1990. The
engine's draws are taken day by day from each replicate's own streams, so a particle run in stages
is the particle run at once: the accepted particles, their distances and weights are those of full
runs. ABC-SMC lowers the threshold population by population until the acceptance rate falls below
`Budget.min_acceptance`; the proposal is one Gaussian fitted to the last population
(`GaussianProposal`), which keeps the importance weights even (the effective sample size).

Randomness: `SeededSampler` gives every slot of every population its own seed from the root seed,
so a calibration is reproducible whatever the number of processes; pyabc's database makes it
resumable.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyabc
import scipy.stats as st
from pyabc.sampler import MappingSampler

from sim.analysis.calibration import Prior, Probe, Setup, checkpoints, distances, observe, partial_distances, probes
from sim.analysis.targets import Area, Target
from sim.inputs.errors import InputError
from sim.inputs.params import Params
from sim.inputs.posterior import posterior_for
from sim.inputs.rng import replicate_seeds
from sim.model.engine import Engine
from sim.model.scenario import Scenario
from sim.run.runner import world_for


class TargetModel(pyabc.Model):
    """A pyabc model: the replicates of one particle, batched -> the target values of each replicate.

    `accept` runs the particle in stages and stops it once it cannot meet the threshold (`staged`,
    the default); `sample` runs it whole (the prior sample that sets the first threshold). Light to
    pickle (the world is loaded once per process through `sim.run.runner.world_for`).
    """

    def __init__(
        self,
        scenario: Scenario,
        targets: list[Target],
        priors: tuple[Prior, ...],
        replicates: int = 1,
        given: Path | None = None,
        staged: bool = True,
    ) -> None:
        super().__init__("target_model")
        self.scenario = scenario
        self.targets = targets
        self.priors = priors
        self.replicates = replicates
        self.given = given
        self.staged = staged
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

    def engine(self, pars: dict[str, float]) -> Engine:
        """The engine of one particle's replicates at day 0 (seeded from numpy's global generator, which the sampler seeds)."""
        root = int(np.random.randint(0, 2**62))  # noqa: NPY002 (pyabc draws from the global generator, seeded per slot)
        seeds = replicate_seeds(root, self.replicates)
        areas = self._setup()[1]
        return Engine(
            world_for(self.scenario.data), self.scenario, seeds, self.params(pars, seeds), areas=[a.towns for a in areas], record="areas"
        )

    def sample(self, pars: dict[str, float]) -> dict[str, np.ndarray]:
        """Simulate the replicates of one particle to the end: {"x": (R, T) target values}."""
        return {"x": observe(self.engine(pars).run(), self.probes())}

    __call__ = sample

    def accept(
        self, t: int, pars: Any, sum_stat_calculator: Any, distance_calculator: Any, eps_calculator: Any, acceptor: Any, x_0: dict
    ) -> Any:
        """Simulate one particle and accept or reject it (pyabc's model interface), stopping it early when it cannot be accepted.

        At each of `checkpoints`, the particle stops if every replicate's `partial_distances` exceeds
        the threshold: its full distances would too, so the full run would reject it as well. A
        particle that runs to the end is judged by the acceptor on its full values, as without stages.
        """
        if not self.staged:
            return super().accept(t, pars, sum_stat_calculator, distance_calculator, eps_calculator, acceptor, x_0)
        eps = float(eps_calculator(t))
        eng, pr = self.engine(pars), self.probes()
        for day in checkpoints(pr, eng.days):
            low = partial_distances(eng.run(until=day), pr)
            if np.all(low > eps):
                return pyabc.model.ModelResult(sum_stat={}, distance=float(low.min()), accepted=False, weight=0.0)
        x = {"x": observe(eng.run(), pr)}
        res = acceptor(distance_function=distance_calculator, eps=eps_calculator, x=x, x_0=x_0, t=t, par=pars)
        return pyabc.model.ModelResult(sum_stat=x, distance=res.distance, accepted=res.accept, weight=res.weight)


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


PROPOSAL_SCALING = 1.5
"""Covariance of ABC-SMC's proposal (`GaussianProposal`) relative to the last population's.

pyabc's default, a Gaussian kernel around each particle (a mixture of 200 narrow Gaussians in ten
dimensions), is a rough estimate of the population's density, and the importance weights prior /
proposal follow its roughness: the stage-2 calibration's effective sample size fell to 24 of 200
at its second population and 12 at its fifth (with the kernel twice pyabc's width, on a logistic
prior space). One Gaussian fitted to the population, 1.5 times as wide, on a normal prior space
(`Prior.natural`) kept it at 35-60% over six populations on a ten-parameter test problem with the
same number of particles (three parameters informed, seven not; widths 1.0 and 2.0 did worse).
On stage 2 (full budget) the ESS by population was 184, 79, 113 and 84 of 200. The price: the
threshold falls more slowly per population where the posterior is narrow and curved (the synthetic
recovery test needs 7 populations of 60 rather than 5), and a posterior of several humps is explored
poorly."""


class GaussianProposal(pyabc.transition.Transition):
    """ABC-SMC's proposal: one multivariate normal with the last population's weighted mean and `scaling` times its covariance."""

    def __init__(self, scaling: float = PROPOSAL_SCALING) -> None:
        self.scaling = scaling
        self.normal: Any = None

    def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:  # noqa: N803 (pyabc's name)
        """Fit the mean and covariance (pyabc's transition interface)."""
        x, w = X.to_numpy(dtype=float), np.asarray(w, dtype=float) / np.sum(w)
        mean = w @ x
        cov = np.atleast_2d(np.cov(x.T, aweights=w, bias=True)) * self.scaling
        self.normal = st.multivariate_normal(mean, cov, allow_singular=True)

    def rvs_single(self) -> pyabc.Parameter:
        """One proposal, drawn from numpy's global generator (seeded per slot by `SeededSampler`)."""
        v = np.random.multivariate_normal(self.normal.mean, self.normal.cov)  # noqa: NPY002
        return pyabc.Parameter(dict(zip(self.X.columns, np.atleast_1d(v), strict=True)))

    def pdf(self, x: Any) -> float | np.ndarray:
        """The proposal's density at one parameter or at each row of a frame."""
        if isinstance(x, pd.DataFrame):
            return np.atleast_1d(self.normal.pdf(x[self.X.columns].to_numpy(dtype=float)))
        return float(self.normal.pdf(np.array([x[k] for k in self.X.columns], dtype=float)))


class ESSPopulationSize(pyabc.populationstrategy.PopulationStrategy):
    """Population sizes that keep the effective sample size (ESS) near `target`.

    Each population after the first has `size * target / ESS` particles of the last population
    (between `size` and `most`).

    The importance weights of ABC-SMC (prior / proposal, times the share of a particle's replicates
    within the threshold) spread as the threshold falls: on both stages about a quarter of the
    particles were effective at the late populations (stage 1 in December 2026: 54 of 200; stage 2:
    87 of 200). A larger population of the same spread has proportionally more effective particles,
    so the next population's size is set from the last one's ESS; its cost grows where the weights
    spread, not from the start.
    """

    def __init__(self, size: int, target: float, most: int) -> None:
        super().__init__()
        self.size, self.target, self.most, self.nr_particles = size, target, most, size

    def update(self, transitions: list[Any], model_weights: np.ndarray, t: int | None = None) -> None:
        """Set the next population's size from the last population's ESS (pyabc's strategy interface)."""
        w = np.asarray(transitions[0].w, dtype=float)
        ess = w.sum() ** 2 / np.sum(w**2)
        wanted = int(np.ceil(round(len(w) * self.target / ess, 6))) if ess > 0 else self.most
        self.nr_particles = int(min(self.most, max(self.size, wanted)))

    def __call__(self, t: int | None = None) -> int:
        """The next population's size."""
        return self.nr_particles

    def get_config(self) -> dict:
        """The strategy's settings (stored in pyabc's database)."""
        return {**super().get_config(), "size": self.size, "target": self.target, "most": self.most}


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
    target_ess: float = 0.0
    """Effective sample size each population aims at (0: every population has `population` particles)."""
    most: int = 0
    """The largest population `target_ess` may ask for."""

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
            return Budget(population=200, generations=10, replicates=4, max_minutes=40, target_ess=150, most=800)
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
    # standard normal in pyabc's space = uniform (or log-uniform) on [lo, hi]: see Prior.natural
    prior = pyabc.Distribution(**{p.name: pyabc.RV("norm", 0, 1) for p in setup.priors})
    dist = TargetDistance(targets, scenario)
    abc = pyabc.ABCSMC(
        TargetModel(scenario, targets, setup.priors, replicates=budget.replicates, given=setup.given),
        prior,
        dist,
        acceptor=ReplicatesAcceptor(dist),
        population_size=(ESSPopulationSize(budget.population, budget.target_ess, budget.most) if budget.target_ess else budget.population),
        sampler=SeededSampler(map_, seed),
        transitions=GaussianProposal(),
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
