"""The array engine and the per-agent Mesa reference give the same trajectories for the same seeds."""

import numpy as np
import pytest

from sim.agentmodel import StrikeModel
from sim.model import Engine


def _compare(sc, world, seed):
    eng = Engine(world, sc, [seed])
    ref = StrikeModel(world, sc, seed)
    for day in range(sc.days):
        eng.apply_events()
        eng.advance()
        ref.step()
        s = eng.state
        striking = np.array([m.striking for m in ref.mines])
        assert np.array_equal(s.striking[0], striking), f"striking differs on day {day}"
        assert np.array_equal(s.c_active[0], [c.active for c in ref.committees]), f"committees differ on day {day}"
        assert np.array_equal(s.c_stage[0], [c.stage for c in ref.committees]), f"stages differ on day {day}"
        assert np.array_equal(s.stage[0], [m.stage for m in ref.mines]), f"mine stages differ on day {day}"
        np.testing.assert_allclose(s.trust[0], [m.trust for m in ref.mines], rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.eff[0], [m.eff for m in ref.mines], rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.implemented[0], ref.implemented, rtol=0, atol=1e-12)
        np.testing.assert_allclose(s.c_alleg[0], [c.alleg for c in ref.committees], rtol=0, atol=1e-12)
    return eng


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_engine_equals_reference(small, seed):
    sc, world = small
    eng = _compare(sc, world, seed)
    # the run must exercise the rules, not sit idle
    assert eng.basin_out["mines_on_strike"].max() >= 5
    assert eng.basin_out["concessions"][-1].sum() >= 2


def test_engine_equals_reference_with_mechanisms_off(small):
    sc, world = small
    sc = sc.with_changes(mechanisms={"persistence": False, "fatigue": False, "trust": False}, params={"spark": 0.001})
    _compare(sc, world, 5)


def test_engine_equals_reference_with_the_counter_mechanisms_on(small):
    # radicalisation by refusal and the republics courting the refused: off in the baseline, on here
    sc, world = small
    sc = sc.with_changes(params={"tau_refuse": 0.2, "court": 0.8, "eta_fail": 0.2})
    eng = _compare(sc, world, 2)
    assert (eng.state.c_alleg > 0).any()


def test_the_per_agent_model_is_mesa_agents_in_agentsets_observed_once_a_day(small):
    from sim.agentmodel import Enterprise, StrikeCommittee

    sc, world = small
    ref = StrikeModel(world, sc, 4)
    assert len(ref.agents_by_type[Enterprise]) == world.n and len(ref.agents_by_type[StrikeCommittee]) == world.n_cities + world.n_basins
    assert [m.i for m in ref.mine_set] == list(range(world.n))  # the AgentSet's order is the order of a day
    ref.run(until=30)
    df = ref.datacollector.get_model_vars_dataframe()
    assert len(df) == 31 and df["mines_on_strike"].iloc[0] == 0 and df["mines_on_strike"].max() > 0
    assert df["mines_on_strike"].iloc[-1] == sum(m.striking for m in ref.mines)


def test_the_per_agent_model_reads_neighbours_from_the_network_and_runs_events_as_mesa_events(small):
    """Each enterprise sits on its cell and its neighbours, by level, are the world's ties (weights and order); levers are Mesa events."""
    from sim.agentmodel import LEVELS

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
