"""`EngineModel(mesa.Model)` and the engine it shares with batched ensembles.

`Engine` advances R replicates together (arrays with a leading replicate axis); `simulate` runs it
to the horizon. `EngineModel` is the same engine with R = 1 inside a Mesa model (what the app steps;
the model of agents with behaviour is `sim.agentmodel.StrikeModel`): registered `Mine`,
`Committee` and `Centre` agents on a `mesa.discrete_space.Network`, Mesa's clock, dated
interventions as Mesa events, and a DataCollector of named observables. A test shows both paths
give identical trajectories for the same seed.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date, timedelta

import mesa
import networkx as nx
import numpy as np
import scipy.sparse as sp
from mesa.discrete_space import Network
from mesa.time import Priority

from sim import kernel, metrics
from sim import rules as day_rules
from sim.agents import Centre, Committee, Mine
from sim.interventions import apply_events, compile_timeline
from sim.metrics import BASIN_OBSERVABLES, REPUBLIC_OBSERVABLES, observe_basins, observe_republics
from sim.network import REPUBLICS, World, load_world
from sim.params import Params, stack_params
from sim.posterior import draws_for
from sim.rng import BLOCK, Streams
from sim.scenario import Scenario

AREA_OBSERVABLES = ("strikers", "mines_on_strike", "allegiance")
"""Daily series recorded for requested areas: strikers, enterprises on strike, and the share of the
area's workforce whose town or basin committee backs its republic against the Union."""


def batch_params(scenario: Scenario, seeds: list[int], params: Params | Sequence[Params] | None = None) -> Params:
    """The parameters of a batch of replicates, stacked (see `sim.params.stack_params`).

    `params` if given (one set, or one per replicate); else one posterior draw per replicate for a
    `parameters = "posterior"` scenario; else the scenario's own.
    """
    if params is None:
        params, _ = draws_for(scenario, seeds)  # None unless the scenario draws from a posterior
    if params is None:
        return scenario.params
    if isinstance(params, Params):
        return params
    if len(params) != len(seeds):
        raise ValueError(f"{len(params)} parameter sets for {len(seeds)} replicates")
    return stack_params(params)


class Engine:
    """The array engine for R replicates of one scenario.

    Args:
        world: the static world.
        scenario: the resolved scenario (its events, switches and default parameters).
        seeds: one replicate seed per row.
        params: parameters to use instead of the scenario's: one set for every replicate, or a
            sequence with one set per replicate, advanced together. By default the scenario's own,
            or, for a scenario with `parameters = "posterior"`, one posterior draw per replicate.
        town_days: days over which every town's series is recorded (the July-August 1989 window).
        areas: sets of towns (indices) whose daily series (`AREA_OBSERVABLES`) are recorded over the
            whole run: the places a targets file names (`sim.targets.target_areas`), and only those.
        record: "all" (basin, republic, town and area series: what results need) or "areas" (the
            area series only: what a calibration particle needs; about half the cost of a day).
        rules: "auto" (the compiled kernel of `sim.kernel` where it applies, else the numpy rules),
            "kernel" or "numpy" (`sim.rules.step`, the readable reference; a test keeps them equal).
    """

    def __init__(
        self,
        world: World,
        scenario: Scenario,
        seeds: list[int],
        params: Params | Sequence[Params] | None = None,
        town_days: int = 62,
        areas: Sequence[Sequence[int]] = (),
        record: str = "all",
        rules: str = "auto",
    ) -> None:
        self.world = world
        self.scenario = scenario
        self.params = batch_params(scenario, list(seeds), params)
        self.mech = scenario.mechanisms
        self.days = scenario.days
        self.timeline = compile_timeline(list(scenario.events), scenario.start, self.days, world)
        self.seeds = list(seeds)
        self.streams = [Streams(s) for s in self.seeds]
        u_init = np.stack([st.gen["init"].random((world.n, 5)) for st in self.streams])
        self.state = day_rules.init_state(world, self.params, u_init)
        self.day = 0
        if record not in ("all", "areas"):
            raise ValueError(f"record must be 'all' or 'areas', got {record!r}")
        self.record = record
        if rules not in ("auto", "kernel", "numpy"):
            raise ValueError(f"rules must be 'auto', 'kernel' or 'numpy', got {rules!r}")
        self._wanted_rules = rules
        self._choose_rules()
        r = len(self.seeds)
        self._fused = kernel.AVAILABLE and rules != "numpy"
        self._draws: dict[str, tuple[int, np.ndarray]] = {}  # stream name -> (block, (R, BLOCK, size) draws)
        self._bind_observables(
            np.zeros((self.days, len(BASIN_OBSERVABLES), r, world.n_basins)),
            np.zeros((self.days, len(REPUBLIC_OBSERVABLES), r, len(REPUBLICS))),
        )
        # by town, only over the first `town_days` days (the calibration window: July-August 1989)
        self.town_days = min(town_days, self.days)
        self.town_out = {k: np.zeros((self.town_days, r, world.n_cities)) for k in ("strikers", "mines_on_strike")}
        # allegiance by town on the dates that matter (the 1991 referendums, after the coup) and the last day
        marks = [(date.fromisoformat(x) - scenario.start).days for x in metrics.ALLEGIANCE_DATES]
        self.snap_days = sorted({d for d in marks if 0 <= d < self.days} | {self.days - 1})
        self.snap_out = np.zeros((len(self.snap_days), r, world.n_cities))  # workforce whose committee backs the republic
        # the requested areas: a (A, C) membership matrix, summed in a fixed order (see World._group_sum)
        self.areas = [tuple(int(i) for i in a) for a in areas]
        rows = np.repeat(np.arange(len(self.areas)), [len(a) for a in self.areas]).astype(np.intp)
        cols = np.asarray([i for a in self.areas for i in a], dtype=np.intp)
        self._area_mat = sp.csr_matrix((np.ones(cols.size), (rows, cols)), shape=(len(self.areas), world.n_cities))
        self._area_wf = np.asarray(self._area_mat @ world.by_city(world.workforce[None, :])[0]).ravel()
        self.area_out = {k: np.zeros((self.days, r, len(self.areas))) for k in AREA_OBSERVABLES} if self.areas else {}

    def _bind_observables(self, basin_block: np.ndarray, rep_block: np.ndarray) -> None:
        """Hold the daily observables in two blocks; `basin_out` and `rep_out` are views of them by name.

        The blocks are (day, observable, replicate, basin or republic); the compiled observation fills a day at a time.
        """
        self._bblock, self._rblock = basin_block, rep_block
        self.basin_out = {k: basin_block[:, j] for j, k in enumerate(BASIN_OBSERVABLES)}
        self.rep_out = {k: rep_block[:, j] for j, k in enumerate(REPUBLIC_OBSERVABLES)}

    def _choose_rules(self) -> None:
        """The daily rules for the current parameters: the compiled kernel where it applies, else the numpy rules."""
        ok = kernel.usable(self.params)
        if self._wanted_rules == "kernel" and not ok:
            raise ValueError("the compiled kernel does not apply here (numba missing, or the reactive centre is on)")
        self.rules = "kernel" if ok and self._wanted_rules != "numpy" else "numpy"
        r = len(self.seeds)
        self._pm = kernel.param_matrix(self.params, r) if self.rules == "kernel" else None
        self._mf = kernel.mech_flags(self.mech) if self.rules == "kernel" else None

    @property
    def date(self) -> date:
        """Calendar date of the next day to simulate."""
        return self.scenario.start + timedelta(days=self.day)

    def apply_events(self) -> None:
        """Apply the dated events of the current day (before its step)."""
        evs = self.timeline.events.get(self.day, [])
        if evs:
            apply_events(self.state, self.world, self.params, self.mech, evs, self.day)

    def advance(self) -> None:
        """Simulate the current day and record its observables."""
        d, w, tl = self.day, self.world, self.timeline
        n, k = w.n, w.n_cities + w.n_basins

        def draws(name: str, size: int) -> np.ndarray:
            # (R, size) draws of today: a view of the (R, BLOCK, size) block every replicate's stream fills in place
            block, at = divmod(d, BLOCK)
            held = self._draws.get(name)
            if held is None or held[0] != block:
                arr = held[1] if held is not None else np.empty((len(self.streams), BLOCK, size))
                for r, st in enumerate(self.streams):
                    st.fill(name, block, arr[r])
                held = self._draws[name] = (block, arr)
            return held[1][:, at]

        args = (
            d,
            tl.repression[d],
            tl.cut[d],
            float(tl.news[d]),
            tl.movement[d],
            draws("onset", n),
            draws("ret", n),
            draws("committee", k),
            draws("stage", k),
            draws("ally", k),
        )
        if self.rules == "kernel":  # the compiled day (sim/kernel.py): the same rules, decisions and draws
            kernel.step(self.state, w, self._pm, self._mf, *args)
        else:
            day_rules.step(self.state, w, self.params, self.mech, *args)
        if self.record == "all":
            if self._fused:  # the compiled observation: the same sums in the same order (sim/kernel.py, `observe`)
                kernel.observe(self.state, w, self._bblock[d], self._rblock[d])
            else:
                for name, v in observe_basins(self.state, w).items():
                    self.basin_out[name][d] = v
                for name, v in observe_republics(self.state, w).items():
                    self.rep_out[name][d] = v
            if d in self.snap_days:
                self.snap_out[self.snap_days.index(d)] = w.by_city(metrics.backing(self.state, w) * w.workforce)
        if (d < self.town_days and self.record == "all") or self.areas:
            towns = {
                "strikers": w.by_city(self.state.striking * self.state.out_share * w.workforce),
                "mines_on_strike": w.by_city(self.state.striking),
            }
            if d < self.town_days and self.record == "all":
                for k, v in towns.items():
                    self.town_out[k][d] = v
            if self.areas:
                towns["allegiance"] = w.by_city(metrics.backing(self.state, w) * w.workforce)
                for k, v in towns.items():
                    a = np.asarray(self._area_mat @ v.T).T
                    self.area_out[k][d] = a / np.maximum(self._area_wf, 1e-300) if k == "allegiance" else a
        self.day += 1

    def run(self, until: int | None = None) -> Engine:
        """Run to the horizon (or up to, not including, day index `until`)."""
        stop = self.days if until is None else min(until, self.days)
        while self.day < stop:
            self.apply_events()
            self.advance()
        return self

    def fork(self, scenario: Scenario) -> Engine:
        """A copy of this engine, at its current day, that goes on under another scenario's levers.

        The copy keeps the state, the streams (so the same draws follow) and the days recorded so
        far; from now on it applies `scenario`'s events and parameters (its posterior draws, or its
        own, for the same replicate seeds). Events of `scenario` dated before the current day do not
        act: the history up to the fork is shared. Horizon, start and data must be the same.
        """
        if (scenario.start, scenario.end, scenario.data.resolve()) != (
            self.scenario.start,
            self.scenario.end,
            self.scenario.data.resolve(),
        ):
            raise ValueError(f"cannot fork {self.scenario.name} into {scenario.name}: start, end and data folder must be the same")
        new = copy.deepcopy(self, {id(self.world): self.world, id(self.timeline): None})  # the world is shared, not copied
        new._bind_observables(new._bblock, new._rblock)  # deepcopy copies the views apart from their blocks: tie them again
        new.scenario = scenario
        new.mech = scenario.mechanisms
        new.timeline = compile_timeline(list(scenario.events), scenario.start, self.days, self.world)
        new.params = batch_params(scenario, self.seeds)
        new._choose_rules()
        return new

    def outcome_run(self) -> metrics.Run:
        """The recorded days as a `metrics.Run` (what named outcomes read)."""
        start = np.datetime64(self.scenario.start, "D")
        dates = np.arange(start, start + np.timedelta64(self.day, "D"))
        return metrics.Run(
            basin={k: v[: self.day] for k, v in self.basin_out.items()},
            republic={k: v[: self.day] for k, v in self.rep_out.items()},
            dates=dates,
            basin_names=self.world.basin_names,
            republics=REPUBLICS,
        )


def simulate(world: World, scenario: Scenario, seeds: list[int], params: Params | Sequence[Params] | None = None) -> Engine:
    """Run R = len(seeds) replicates together to the horizon and return the finished engine."""
    return Engine(world, scenario, seeds, params).run()


def strikers_total(model: EngineModel) -> float:
    """Union-wide strikers today (model reporter)."""
    return float(metrics.strikers(model.state, model.world).sum())


def mines_on_strike_total(model: EngineModel) -> float:
    """Union-wide enterprises on strike today (model reporter)."""
    return float(metrics.mines_on_strike(model.state, model.world).sum())


def committees_material(model: EngineModel) -> float:
    """Active committees at the material stage (model reporter)."""
    return float(metrics.committees_by_stage(model.state, model.world)[0, 0])


def committees_political(model: EngineModel) -> float:
    """Active committees at the political stage (model reporter)."""
    return float(metrics.committees_by_stage(model.state, model.world)[0, 1])


def committees_sovereignty(model: EngineModel) -> float:
    """Active committees at the sovereignty stage (model reporter)."""
    return float(metrics.committees_by_stage(model.state, model.world)[0, 2])


class EngineModel(mesa.Model):
    """The 1989-1991 Soviet miners' strike as a Mesa model (one replicate).

    Args:
        scenario: a resolved scenario.
        seed: the replicate seed (as spawned by `sim.rng.replicate_seeds`).
        world: a preloaded world (else loaded from the scenario's data folder).
        params: parameters overriding the scenario's.
    """

    def __init__(self, scenario: Scenario, seed: int, world: World | None = None, params: Params | None = None) -> None:
        super().__init__(rng=seed)
        self.world = world or load_world(scenario.data)
        self.engine = Engine(self.world, scenario, [seed], params)
        w = self.world
        g = nx.Graph()
        g.add_nodes_from(range(w.n))
        g.add_edges_from((i, j, {"level": lvl}) for i, j, lvl in w.edges())
        self.space = Network(g, layout={i: (w.lon[i], w.lat[i]) for i in range(w.n)}, random=self.random)
        self.mines = [Mine(self, i, self.space[i]) for i in range(w.n)]
        self.committees = [Committee(self, c, "city", name) for c, name in enumerate(w.city_names)] + [
            Committee(self, w.n_cities + b, "basin", name) for b, name in enumerate(w.basin_names)
        ]
        self.centre = Centre(self)
        for d in sorted(self.engine.timeline.events):
            # events of day d act at the start of that day: before the step at time d + 1
            self.schedule_event(self._apply_events, at=d + 0.5, priority=Priority.HIGH)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "strikers": strikers_total,
                "mines_on_strike": mines_on_strike_total,
                "committees_material": committees_material,
                "committees_political": committees_political,
                "committees_sovereignty": committees_sovereignty,
            }
        )
        self.datacollector.collect(self)  # day 0: the state before the first day

    @property
    def state(self) -> day_rules.State:
        """The array state (one replicate row)."""
        return self.engine.state

    @property
    def date(self) -> date:
        """Calendar date of the last simulated day."""
        return self.engine.scenario.start + timedelta(days=self.engine.day - 1)

    def _apply_events(self) -> None:
        self.engine.apply_events()

    def step(self) -> None:
        """Simulate one day."""
        if self.engine.day >= self.engine.days:
            self.running = False
            return
        self.engine.advance()
        self.datacollector.collect(self)
        if self.engine.day >= self.engine.days:
            self.running = False
