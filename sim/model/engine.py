"""The array engine: R replicates of one scenario advanced together by the compiled day (`sim.model.kernel`).

`Engine` holds the state of a batch (arrays with a leading replicate axis, `sim.model.state.State`), applies
the dated levers of the day, steps the compiled kernel and records the observables; `simulate` runs
it to the horizon. Every command's ensembles, calibration and experiments run here. The per-agent
Mesa model (`sim.model.model.StrikeModel`) is its specification: a test keeps the two equal over the
whole state, day by day, with every mechanism on and each off.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import date, timedelta

import numpy as np
import scipy.sparse as sp

from sim.inputs import process
from sim.inputs.network import REPUBLICS, World
from sim.inputs.params import Params, stack_params
from sim.inputs.posterior import draws_for
from sim.inputs.rng import Streams
from sim.model import draws, kernel, metrics, observation, stance, vote
from sim.model.interventions import apply_events, compile_timeline
from sim.model.metrics import BASIN_OBSERVABLES, REPUBLIC_OBSERVABLES
from sim.model.scenario import Scenario
from sim.model.state import init_state

AREA_OBSERVABLES = ("strikers", "mines_on_strike", "allegiance", *stance.STANCE_MEASURES)
"""Daily series recorded for requested areas: strikers, enterprises on strike, the share of the
area's workforce whose town or basin committee backs its republic against the Union, and the
area's stance (`sim.model.stance`: shares at the political stage or beyond and at the sovereignty
stage, active town and basin committees)."""
AREA_SHARES = ("allegiance", *stance.STANCE_SHARES)
"""The area series that are shares of the area's workforce (the others are counts)."""
ROWS_PER_THREAD = 16
"""The fewest replicates a thread of an engine takes (see `Engine._split`)."""
RECORDS = ("all", "figures", "areas")
"""What an engine records (see `Engine`)."""


def batch_params(scenario: Scenario, seeds: list[int], params: Params | Sequence[Params] | None = None) -> Params:
    """The parameters of a batch of replicates, stacked (see `sim.inputs.params.stack_params`).

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
            whole run: the places a targets file names (`sim.analysis.targets.target_areas`), and only those.
        record: "all" (basin, republic, town and area series: what results need), "figures" (the same, but of
            the basin and republic series only `sim.model.observation.FIGURE_OBSERVABLES`; the others are NaN:
            what an ensemble's figures and summary read) or "areas" (the area series only: what a
            calibration particle needs; about half the cost of a day).
        threads: threads the replicates may be split over (default `sim.inputs.process.default_threads`: every
            core, unless this engine already runs beside others); at least `ROWS_PER_THREAD` replicates a
            thread (see `run`).
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
        threads: int | None = None,
    ) -> None:
        self.world = world
        self.scenario = scenario
        self.params = batch_params(scenario, list(seeds), params)
        self.mech = scenario.mechanisms
        self.days = scenario.days
        self.timeline = compile_timeline(list(scenario.events), scenario.start, self.days, world)
        self.seeds = list(seeds)
        streams = [Streams(s) for s in self.seeds]
        u_init = np.stack([st.gen["init"].random((world.n, 5)) for st in streams])
        self.state = init_state(world, self.params, u_init)
        self.day = 0
        if record not in RECORDS:
            raise ValueError(f"record must be one of {RECORDS}, got {record!r}")
        self.record = record
        self.threads = process.default_threads() if threads is None else threads
        self._compile_levers()
        r = len(self.seeds)
        # the decision streams' states, stepped by the compiled day itself (the same numbers as the generators')
        self._rs = draws.states(streams)
        self._jt = draws.jumps(max(world.n, world.n_cities + world.n_basins))
        self._bind_observables(
            np.zeros((self.days, len(BASIN_OBSERVABLES), r, world.n_basins)),
            np.zeros((self.days, len(REPUBLIC_OBSERVABLES), r, len(REPUBLICS))),
        )
        if record == "figures":  # the series not recorded read as NaN, not as zeros
            for table, out in (("basin", self.basin_out), ("republic", self.rep_out)):
                for k, v in out.items():
                    if k not in observation.FIGURE_OBSERVABLES[table]:
                        v[:] = np.nan
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
        self._area_basins = stance.area_basins(self._area_mat, world)
        self.area_out = {k: np.zeros((self.days, r, len(self.areas))) for k in AREA_OBSERVABLES} if self.areas else {}
        # the vote-scale allegiance by oblast and republic (an observation: sim.model.vote)
        self.vote = vote.VoteTracker(world, scenario.start, self.days, self.params, r) if record != "areas" else None

    def _bind_observables(self, basin_block: np.ndarray, rep_block: np.ndarray) -> None:
        """Hold the daily observables in two blocks; `basin_out` and `rep_out` are views of them by name.

        The blocks are (day, observable, replicate, basin or republic); the compiled observation fills a day at a time.
        """
        self._bblock, self._rblock = basin_block, rep_block
        self.basin_out = {k: basin_block[:, j] for j, k in enumerate(BASIN_OBSERVABLES)}
        self.rep_out = {k: rep_block[:, j] for j, k in enumerate(REPUBLIC_OBSERVABLES)}

    def _compile_levers(self) -> None:
        """The parameters and switches of the current scenario, as the compiled day reads them."""
        self._pm = kernel.param_records(self.params, len(self.seeds))
        self._mf = kernel.switches(self.mech)

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
        d = self.day
        process.by_rows(self._split(), len(self.seeds), lambda rows: self._day(d, rows))
        self.day += 1

    def _day(self, d: int, rows: slice) -> None:
        """Simulate day `d` of the replicates `rows` and record their observables (the day's events already applied).

        Each replicate is computed alone: its draws, its step and its observation read and write only its
        own rows, so parts of a batch can go through their days side by side on threads.
        """
        w, tl = self.world, self.timeline
        s = kernel.rows_of(self.state, rows)
        series = self.record != "areas"
        kernel.step(
            s, w, self._pm[rows], self._mf, d, tl.repression[d], tl.cut[d], float(tl.news[d]), tl.movement[d],
            self._rs[rows], self._jt,
            # the observables, compiled: the same sums in the same order as observe_basins
            observe=(self._bblock[d][:, rows], self._rblock[d][:, rows], self.record == "all") if series else None,
        )  # fmt: skip
        if series:
            if d in self.snap_days:
                self.snap_out[self.snap_days.index(d), rows] = w.by_city(metrics.backing(s, w) * w.workforce)
            self.vote.observe(d, s.c_active, s.c_alleg, rows)
        if (d < self.town_days and series) or self.areas:
            towns = {"strikers": w.by_city(s.striking * s.out_share * w.workforce), "mines_on_strike": w.by_city(s.striking)}
            if d < self.town_days and series:
                for k, v in towns.items():
                    self.town_out[k][d, rows] = v
            if self.areas:
                towns["allegiance"] = w.by_city(metrics.backing(s, w) * w.workforce)
                towns |= stance.by_town(s, w)
                for k, v in towns.items():
                    a = np.asarray(self._area_mat @ v.T).T
                    self.area_out[k][d, rows] = a / np.maximum(self._area_wf, 1e-300) if k in AREA_SHARES else a
                self.area_out["committees_basin"][d, rows] = stance.basin_committees(s, w, self._area_basins)

    def _split(self) -> int:
        """Threads this batch's replicates are split over: at most `threads`, and each with `ROWS_PER_THREAD` replicates or more.

        A thread's day has a part in Python (a few dozen microseconds: draws, dispatch, the vote tracker)
        that holds the interpreter's lock; with a few replicates a thread, the threads wait on each
        other's Python more than they compute side by side (measured: particles of 4 to 16 replicates
        ran 1.0-1.8x faster on one thread than on two).
        """
        return max(1, min(self.threads, len(self.seeds) // ROWS_PER_THREAD))

    def run(self, until: int | None = None, stopped: Callable[[], bool] | None = None) -> Engine:
        """Run to the horizon (or up to, not including, day index `until`); `stopped()` true ends it between two days (InterruptedError).

        The replicates are split over the engine's threads, and each thread takes its replicates from
        one day with events to the next without waiting for the others (events act on the whole batch,
        so the threads meet there).
        """
        stop = self.days if until is None else min(until, self.days)
        marks = sorted(d for d in self.timeline.events if self.day < d < stop)
        while self.day < stop:
            if stopped is not None and stopped():
                raise InterruptedError(f"stopped on day {self.day}")
            self.apply_events()
            a, b = self.day, next((d for d in marks if d > self.day), stop)

            def part(rows: slice, a: int = a, b: int = b) -> None:
                for d in range(a, b):
                    if d > a and stopped is not None and stopped():
                        raise InterruptedError(f"stopped on day {d}")
                    self._day(d, rows)

            process.by_rows(self._split(), len(self.seeds), part)
            self.day = b
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
        new._compile_levers()
        if new.vote is not None:
            new.vote.set_params(new.params)
        return new

    def outcome_run(self) -> metrics.Run:
        """The recorded days as a `metrics.Run` (what named outcomes read)."""
        start = np.datetime64(self.scenario.start, "D")
        dates = np.arange(start, start + np.timedelta64(self.day, "D"))
        return metrics.Run(
            basin={k: v[: self.day] for k, v in self.basin_out.items()},
            republic={k: v[: self.day] for k, v in self.rep_out.items()} | ({"vote": self.vote.rep_vote[: self.day]} if self.vote else {}),
            dates=dates,
            basin_names=self.world.basin_names,
            republics=REPUBLICS,
        )


def simulate(world: World, scenario: Scenario, seeds: list[int], params: Params | Sequence[Params] | None = None) -> Engine:
    """Run R = len(seeds) replicates together to the horizon and return the finished engine."""
    return Engine(world, scenario, seeds, params).run()
