"""`StrikeModel`, the Mesa model: agents that hold the day's rules, one decision at a time, and why each was taken.

The specification of the model. Each enterprise (`Enterprise`, a `CellAgent` on its cell of a
`mesa.discrete_space.Network` of its ties), strike committee (`StrikeCommittee`), basin (`Basin`:
the promises made to it, the strike calls in force there) and the centre (`Centre`: its perceived
strength, its concessions, its answer to long strikes) holds its own state, named as the variables
of `sim.model.state.VARIABLES`, and decides with Python floats, reading its neighbours' states. The
compiled engine (`sim.model.engine`, `sim.model.kernel`) does the same day for batches of replicates; a test
keeps the two equal over the whole state, day by day, with every mechanism on and each off
(`tests/unit/test_reference.py`). It drives the app (`run.py viz`), explains decisions (every
enterprise keeps in `why` the terms of its decision of the day, every committee those of its
escalation: `run.py explain`), and is the yardstick of the speed goal (`benchmarks/bench.py`).

Draws: every stream gives a vector for all enterprises (or committees) each day, exactly as in the
engine, and agent i uses element i, so both consume the same random numbers. Neighbours are summed
in the engine's fixed order with the same weights, so floating point agrees. Time is Mesa's: one
unit a day; dated levers are Mesa events at the half day before the step of their day; named
reporters observe once a day, day 0 included.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date, timedelta

import mesa
import networkx as nx
import numpy as np
from mesa.discrete_space import Network
from mesa.time import Priority

from sim.inputs.network import World
from sim.inputs.posterior import draws_for
from sim.inputs.rng import Streams
from sim.model.agents import LEVELS, Basin, Centre, Enterprise, StrikeCommittee
from sim.model.interventions import Concession, RepublicConcession, compile_timeline
from sim.model.scenario import Scenario
from sim.model.state import VARIABLES, State, empty_state

__all__ = ["LEVELS", "REPORTERS", "Basin", "Centre", "Enterprise", "StrikeCommittee", "StrikeModel", "tie_network"]


def tie_network(world: World) -> nx.DiGraph:
    """The enterprises' ties as a directed graph: node i is enterprise i.

    Edge i -> j holds, per level, the weight of j in i's contagion and j's place in i's summation
    order (the world's, so that sums agree with the engine's bit for bit).
    """
    g = nx.DiGraph()
    g.add_nodes_from(range(world.n))
    for level, a in zip(LEVELS, (world.a_city, world.a_basin, world.a_deleg), strict=True):
        for i in range(world.n):
            for place, k in enumerate(range(a.indptr[i], a.indptr[i + 1])):
                j = int(a.indices[k])
                if not g.has_edge(i, j):
                    g.add_edge(i, j, ties={})
                g.edges[i, j]["ties"][level] = (float(a.data[k]), place)
    return g


def strikers(model: StrikeModel) -> float:
    """Workers on strike (persons)."""
    return sum(float(mi.striking) * mi.out_share * mi.workforce for mi in model.mines)


def mines_on_strike(model: StrikeModel) -> int:
    """Enterprises on strike."""
    return sum(1 for mi in model.mines if mi.striking)


def committees_active(model: StrikeModel) -> int:
    """Active strike committees, town and basin."""
    return sum(1 for c in model.committees if c.active)


def committees_material(model: StrikeModel) -> int:
    """Active committees at the material stage."""
    return sum(1 for c in model.committees if c.active and c.stage == 0)


def committees_political(model: StrikeModel) -> int:
    """Active committees at the political stage."""
    return sum(1 for c in model.committees if c.active and c.stage == 1)


def committees_sovereignty(model: StrikeModel) -> int:
    """Active committees at the sovereignty stage."""
    return sum(1 for c in model.committees if c.active and c.stage == 2)


def strikers_by_basin(model: StrikeModel) -> list[float]:
    """Workers on strike in each basin (in the world's basin order)."""
    return [sum(float(mi.striking) * mi.out_share * mi.workforce for mi in basin.members) for basin in model.basins]


REPORTERS = {
    "strikers": strikers,
    "mines_on_strike": mines_on_strike,
    "committees": committees_active,
    "committees_material": committees_material,
    "committees_political": committees_political,
    "committees_sovereignty": committees_sovereignty,
    "strikers_by_basin": strikers_by_basin,
}
"""The model's daily observations: name -> reporter (a named function of the model)."""


class StrikeModel(mesa.Model):
    """The 1989-1991 miners' strikes as a Mesa model of agents with behaviour (one replicate).

    Args:
        world: the enterprises and their ties (`sim.run.runner.world_for`).
        scenario: a resolved scenario (its parameters, mechanisms and dated events).
        seed: the replicate seed (as spawned by `sim.inputs.rng.replicate_seeds`: the engine's replicate with that seed is the same run).
        explain: keep the terms of every decision in the agents' `why` (slower; `sim.analysis.explain`).
    """

    def __init__(self, world: World, scenario: Scenario, seed: int, explain: bool = False) -> None:
        super().__init__(rng=seed)
        draw, _ = draws_for(scenario, [seed])  # a posterior scenario: this seed's draw, as the engine's replicate takes it
        if draw:
            scenario = dataclasses.replace(scenario, params=draw[0], posterior=None)
        self.explain = explain  # keep the terms of every decision in the agents' `why` (slower)
        self.world, self.sc = world, scenario
        self.p, self.mech = scenario.params, scenario.mechanisms
        self.tl = compile_timeline(list(scenario.events), scenario.start, scenario.days, world)
        self.streams = Streams(seed)
        u = self.streams.gen["init"].random((world.n, 5))
        # the enterprises on the cells of the tie network (node i: enterprise i, placed at its coordinates)
        self.space = Network(tie_network(world), layout={i: (world.lon[i], world.lat[i]) for i in range(world.n)}, random=self.random)
        # the agents, created the Mesa way (one keyword value per agent); the AgentSets fix the order of a day
        cells = [self.space[i] for i in range(world.n)]
        self.mine_set = Enterprise.create_agents(
            self, world.n, i=list(range(world.n)), u=[[float(x) for x in row] for row in u], cell=cells
        )
        self.mines: list[Enterprise] = list(self.mine_set)
        self.mine_set.do("read_ties")
        nc, nb = world.n_cities, world.n_basins
        members = [[mi for mi in self.mines if mi.city == c] for c in range(nc)] + [
            [mi for mi in self.mines if mi.basin == b] for b in range(nb)
        ]
        areas = [int(world.city_basin[c]) for c in range(nc)] + list(range(nb))
        self.committee_set = StrikeCommittee.create_agents(self, nc + nb, k=list(range(nc + nb)), members=members, basin=areas)
        self.committees: list[StrikeCommittee] = list(self.committee_set)
        self.basin_set = Basin.create_agents(self, nb, b=list(range(nb)))
        self.basins: list[Basin] = list(self.basin_set)
        for basin in self.basins:
            basin.members = members[nc + basin.b]
        self.centre = Centre(self)
        for d in sorted(self.tl.events):
            # the events of day d act at the start of that day: Mesa runs them before the step at time d + 1
            self.schedule_event(self.apply_events, at=d + 0.5, priority=Priority.HIGH)
        self.datacollector = mesa.DataCollector(model_reporters=REPORTERS)
        self.datacollector.collect(self)  # day 0: the state before the first day

    @property
    def day(self) -> int:
        """Index of the day under way (its events run at Mesa time day + 0.5, its step at day + 1), or of the last day done between steps (-1 before the first)."""
        return math.ceil(self.time) - 1

    @property
    def date(self) -> date:
        """Calendar date of `day`."""
        return self.sc.start + timedelta(days=self.day)

    def concede(self, ev: Concession | RepublicConcession, basins: set[int], town: int = -1) -> None:
        """A concession of the centre or of a republic (`Centre.concede`), to basins or to one town (`town` >= 0)."""
        self.centre.concede(ev, basins, town)

    def apply_events(self) -> None:
        """Apply today's dated events."""
        w = self.world
        for ev in self.tl.events.get(self.day, []):
            mask = ev.basin_mask(w.basin_names, w.basin_republic)
            targets = {b for b in range(w.n_basins) if mask[b]}
            ev.apply_agents(self, targets)  # what each lever does lives in its class (sim/model/interventions.py)

    # ---- one day --------------------------------------------------------------------------
    def step(self) -> None:
        """Every agent in turn (the day's events have run: they are scheduled Mesa events)."""
        p, mech, w = self.p, self.mech, self.world
        d = self.day
        if d >= self.sc.days:  # past the horizon: nothing left to simulate (the app's Play stops here)
            self.running = False
            return
        self.repression = [float(x) for x in self.tl.repression[d]]
        self.cut = [float(x) for x in self.tl.cut[d]]
        movement = [float(x) for x in self.tl.movement[d]]
        self.ordered = [basin.truce(d) and d >= basin.deal_day + p.order_lag for basin in self.basins]
        self.town_ordered = [c.truce(d) and d >= c.deal_day + p.order_lag for c in self.committees]  # a town's own deal
        self.news = p.glasnost * float(self.tl.news[d]) * min(1.0, strikers(self) / p.news_scale)
        self.callout = [
            c.active and c.striking() > 0 and not (self.basins[c.basin].truce(d) or c.truce(d)) and c.age < p.push_days
            for c in self.committees
        ]
        self.calling = [
            c.active and self.basins[c.basin].call_left > 0 and (not self.basins[c.basin].call_pol or c.stage >= 1) for c in self.committees
        ]
        n, k = w.n, len(self.committees)
        self.u_on, self.u_ret = self.streams.daily("onset", d, n), self.streams.daily("ret", d, n)
        u_comm, u_stage, u_ally = (self.streams.daily(s, d, k) for s in ("committee", "stage", "ally"))
        self.mine_set.do("decide")  # every enterprise decides from today's states ...
        self.mine_set.do("commit")  # ... before any takes its decision
        if mech.committees:  # mechanisms 3, 8, 9: committees form, dissolve, gain authority, escalate and ally
            self.u_comm, self.u_stage, self.u_ally, self.movement = u_comm, u_stage, u_ally, movement
            self.committee_set.do("look")  # whether each would form, before any changes ...
            self.committee_set.do("step")  # ... then each committee's day, one at a time
            self.mine_set.do("adopt_stage")
        self.basin_set.do("run_calls")
        for mi in self.mines:
            mi.griev[0] = min(mi.griev[0] + p.wage_drift / 365.0, 1.0)
        if mech.settlement:
            self.basin_set.do("implement", d)
        if mech.trust:
            self.centre.repress()
        if mech.settlement and mech.reactive_centre:
            self.centre.react()
        self.datacollector.collect(self)
        self.running = d + 1 < self.sc.days

    def run(self, until: int | None = None) -> StrikeModel:
        """Run to the horizon (or up to, not including, day index `until`) on Mesa's clock."""
        stop = self.sc.days if until is None else min(until, self.sc.days)
        if stop > self.time:
            self.run_until(stop)
        return self

    def state(self) -> State:
        """The model's state as the engine holds it (R = 1), read from the agents by the names of `sim.model.state.VARIABLES`."""
        w = self.world
        s = empty_state(1, w.n, len(self.committees), w.n_basins)
        owners = {"mine": self.mines, "mine3": self.mines, "committee": self.committees, "basin": self.basins}
        for v, arr in zip(VARIABLES, s, strict=True):
            if v.owner == "centre":
                arr[0] = getattr(self.centre, v.attr)
            else:
                arr[0] = np.array([getattr(a, v.attr) for a in owners[v.owner]], dtype=v.dtype)
        return s
