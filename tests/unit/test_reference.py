"""The compiled engine equals the per-agent Mesa model (the specification): the whole state, every day.

Every variable of `sim.model.state.VARIABLES` is compared, bit for bit, as the engine holds it and as the
agents hold it (`StrikeModel.state`), with every mechanism on (the reactive centre and the
counter-mechanisms included) and with each switched off.
"""

import dataclasses
from datetime import date

import numpy as np
import pytest

from sim.inputs.params import Mechanisms
from sim.model.engine import Engine
from sim.model.interventions import parse_event
from sim.model.model import StrikeModel
from sim.model.state import VARIABLES

SWITCHES = [f.name for f in dataclasses.fields(Mechanisms)]
COUNTER = {"tau_refuse": 0.2, "court": 0.8, "eta_fail": 0.2}  # radicalisation by refusal, the republics courting the refused


def _compare(sc, world, seed, days=None):
    """Step both models day by day from the same seed; every variable of the state must be identical every day."""
    eng = Engine(world, sc, [seed])
    ref = StrikeModel(world, sc, seed)
    for day in range(sc.days if days is None else min(days, sc.days)):
        eng.apply_events()
        eng.advance()
        ref.step()
        mine = ref.state()
        for v, x, y in zip(VARIABLES, eng.state, mine, strict=True):
            assert x.dtype == y.dtype and np.array_equal(x, y), f"{v.name} ({v.owner}) differs on day {day}"
    return eng


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_engine_equals_reference(small, seed):
    sc, world = small
    eng = _compare(sc, world, seed)
    # the run must exercise the rules, not sit idle
    assert eng.basin_out["mines_on_strike"].max() >= 5
    assert eng.basin_out["concessions"][-1].sum() >= 2


@pytest.mark.parametrize("off", ["all on", *SWITCHES])
def test_engine_equals_reference_with_every_mechanism_on_and_each_off(small, off):
    sc, world = small
    mech = {k: k != off for k in SWITCHES}
    sc = sc.with_changes(mechanisms=mech, params=COUNTER)
    eng = _compare(sc, world, 2)
    assert eng.state.ever.any()


def test_the_reactive_centre_concedes_in_both(small):
    """The reactive centre (formerly only in the numpy rules) acts in the kernel as in the agents: it concedes to long strikes."""
    sc, world = small
    on = sc.with_changes(mechanisms={"reactive_centre": True}, params={"react_days": 5, "react_share": 0.05})
    off = on.with_changes(mechanisms={"reactive_centre": False})
    a, b = _compare(on, world, 3), _compare(off, world, 3)
    assert a.basin_out["concessions"][-1].sum() > b.basin_out["concessions"][-1].sum()


@pytest.mark.parametrize("off", ["all on", *SWITCHES])
def test_a_town_concession_acts_the_same_in_both(small, off):
    """The town concession (a deal with one town's strikers, the promise to its basin) is the same rule in the kernel and the agents."""
    sc, world = small
    ev = parse_event({"kind": "town_concession", "date": "1989-07-13", "city": "Mezhdurechensk", "relief": 0.15, "political": 0.3}, "test")
    with_town = dataclasses.replace(sc, events=(*sc.events, ev)).with_changes(mechanisms={k: k != off for k in SWITCHES}, params=COUNTER)
    eng = _compare(with_town, world, 2, days=60)
    town, basin = world.city_names.index("Mezhdurechensk"), world.basin_names.index("Kuzbass")
    day = (date(1989, 7, 13) - sc.start).days
    if off != "settlement":
        # the town's deal is its own; the basin's last deal is the union-wide one of 3 August (day 33), not the town's
        assert (eng.state.c_deal_day[:, town] == day).all() and (eng.state.deal_day[:, basin] == day + 21).all()
        assert (eng.state.concessions[:, basin] == 3).all()  # the town's, the Kuzbass's of 20 July, the union-wide
    else:
        assert (eng.state.c_deal_day[:, town] < 0).all()
    if off == "all on":  # the lever acts: the run differs from the same seed without it
        assert not np.array_equal(eng.state.eff, _compare(sc.with_changes(params=COUNTER), world, 2, days=60).state.eff)


@pytest.mark.slow
@pytest.mark.parametrize("off", ["all on", *SWITCHES])
def test_engine_equals_reference_over_1989_1991_on_the_real_network(baseline, off):
    """The whole 1989-1991 baseline (the real network, a posterior draw), every mechanism on and each off."""
    sc, world = baseline
    mech = {k: k != off for k in SWITCHES}
    sc = sc.with_changes(mechanisms=mech, params=COUNTER)
    eng = _compare(sc, world, 1989)
    assert eng.day == sc.days and eng.state.ever.any()


def test_the_state_is_declared_once():
    """The engine's state, the agents' state and the kernel's arguments are all the variables of `sim.model.state.VARIABLES`."""
    from sim.model.state import State

    assert State._fields == tuple(v.name for v in VARIABLES)
    assert len({v.name for v in VARIABLES}) == len(VARIABLES)


def test_the_per_agent_model_is_mesa_agents_in_agentsets_observed_once_a_day(small):
    from sim.model.model import REPORTERS, Basin, Centre, Enterprise, StrikeCommittee

    sc, world = small
    ref = StrikeModel(world, sc, 4)
    assert len(ref.agents_by_type[Enterprise]) == world.n and len(ref.agents_by_type[StrikeCommittee]) == world.n_cities + world.n_basins
    assert len(ref.agents_by_type[Basin]) == world.n_basins and len(ref.agents_by_type[Centre]) == 1
    assert [m.i for m in ref.mine_set] == list(range(world.n))  # the AgentSet's order is the order of a day
    ref.run(until=30)
    assert ref.time == 30 and ref.day == 29 and ref.date == date(1989, 7, 30)  # Mesa's clock, one unit a day
    df = ref.datacollector.get_model_vars_dataframe()
    assert list(df.columns) == list(REPORTERS)
    assert len(df) == 31 and df["mines_on_strike"].iloc[0] == 0 and df["mines_on_strike"].max() > 0
    assert df["mines_on_strike"].iloc[-1] == sum(m.striking for m in ref.mines)


def test_the_per_agent_model_reads_neighbours_from_the_network_and_runs_events_as_mesa_events(small):
    """Each enterprise sits on its cell and its neighbours, by level, are the world's ties (weights and order); levers are Mesa events."""
    from sim.model.model import LEVELS

    sc, world = small
    ref = StrikeModel(world, sc, 4)
    for m in ref.mines:
        assert m.cell is ref.space[m.i] and m in m.cell.agents
        assert {c.coordinate for c in m.cell.neighborhood} == {n.i for level in LEVELS for n, _ in m.nbrs[level]}
        for level, a in zip(LEVELS, (world.a_city, world.a_basin, world.a_deleg), strict=True):
            lo, hi = a.indptr[m.i], a.indptr[m.i + 1]
            assert [(n.i, w) for n, w in m.nbrs[level]] == list(zip(a.indices[lo:hi].tolist(), a.data[lo:hi].tolist(), strict=True))
    days = sorted(ref.tl.events)

    def levers_due():  # the scheduled Mesa events other than the steps (at whole times)
        return sorted(e.time for e in ref._event_list.peek_ahead(10**6) if e.time % 1)

    assert days and levers_due() == [d + 0.5 for d in days]  # one event per day with levers, none run yet
    ref.run(until=days[0] + 1)
    assert levers_due() == [d + 0.5 for d in days[1:]]  # the first day's levers ran as a Mesa event, before its step
