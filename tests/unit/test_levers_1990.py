"""The 1989-1991 levers and mechanisms (groundwork of issue 15): strike calls, republic concessions,
allegiance, the cost of striking, the refractory period, and committees that channel protest.

Each is off or inert by default (the baseline is unchanged: the regression summary guards it); here
each is switched on in the small world and checked against what it must and must not do, and the
engine against the per-agent reference with all of them on.
"""

import numpy as np
import pytest

from sim.inputs.errors import InputError
from sim.inputs.rng import replicate_seeds
from sim.model.engine import Engine, simulate
from sim.model.interventions import parse_event
from sim.model.model import StrikeModel

QUIET = {"onset": False, "contagion": False, "news": False}  # only committees' calls can bring mines out


def _event(**kw):
    return parse_event(kw, "[[events]] #test")


def _with(sc, events=(), params=None, mechanisms=None, **top):
    return sc.with_changes(params=params or {}, mechanisms=mechanisms or {}, events=tuple(sc.events) + tuple(events), **top)


def test_a_strike_call_to_a_basin_without_an_active_committee_draws_no_one(small):
    sc, world = small
    sc = sc.with_changes(mechanisms=QUIET, events=(_event(kind="strike_call", date="1989-08-01", days=0, demands="material"),))
    eng = simulate(world, sc, replicate_seeds(1, 4))
    assert eng.basin_out["strikers"].sum() == 0 and not eng.state.c_active.any()


def _called(sc, world, demands: str, days: int, esc0: float = 0.0):
    """Committees formed by the July wave; on 1 March 1990 (after everyone is back) a call to every basin."""
    call = _event(kind="strike_call", date="1990-03-01", days=days, demands=demands)
    s = _with(sc, [call], params={"dissolve": 0.0, "esc0": esc0, "push_days": 20.0}, mechanisms=QUIET)
    eng = Engine(world, s, replicate_seeds(3, 6)).run()
    d = (call.date - s.start).days
    return eng, d


def test_a_one_day_material_call_brings_mines_out_for_about_a_day(small):
    sc, world = small
    eng, d = _called(sc, world, "material", 1)
    on = eng.basin_out["mines_on_strike"].sum(axis=2)  # (days, R)
    assert (on[d - 1] == 0).all()  # nobody out the day before
    assert (on[d] > 0).all()  # the call's day
    assert on[d + 3].sum() < 0.2 * on[d].sum()  # back within days: the call has run out
    assert eng.state.c_active.any()


def test_a_political_call_is_followed_only_by_committees_at_the_political_stage(small):
    sc, world = small
    eng, d = _called(sc, world, "political", 1, esc0=0.0)  # no committee ever leaves the material stage
    assert eng.basin_out["mines_on_strike"].sum(axis=2)[d].sum() == 0
    eng, d = _called(sc, world, "political", 1, esc0=0.1)  # committees turn political within months
    assert eng.basin_out["mines_on_strike"].sum(axis=2)[d].sum() > 0


def test_an_open_ended_call_lasts_until_a_concession_then_its_return_order_ends_it(small):
    sc, world = small
    call = _event(kind="strike_call", date="1990-03-01", days=0, demands="material", basins=["Kuzbass"])
    deal = _event(kind="republic_concession", date="1990-04-01", basins=["Kuzbass"], relief=0.1, transfer=1.0)
    # no reactive centre (its automatic concession would end the call after react_days), no fatigue
    params = {"dissolve": 0.0, "push_days": 20.0}
    s = _with(sc, [call, deal], params=params, mechanisms=QUIET | {"fatigue": False, "reactive_centre": False})
    eng = Engine(world, s, replicate_seeds(4, 4)).run()
    k = world.basin_names.index("Kuzbass")
    on = eng.basin_out["mines_on_strike"][:, :, k]
    d0, d1 = (call.date - s.start).days, (deal.date - s.start).days
    assert (on[d1 - 1] > 0).all() and (on[d0 + 10 : d1] > 0).all()  # out all month: nothing else ends it here
    assert on[d1 + 20].sum() < 0.5 * on[d1 - 1].sum()  # the deal's return order brings most back (hold-outs stay, fatigue is off)
    assert (eng.state.call_left == 0).all()


def test_a_republic_concession_binds_allegiance_in_its_republic_only_and_the_centres_to_the_union(small):
    sc, world = small
    rep = _event(kind="republic_concession", date="1989-12-01", republics=["RSFSR"], relief=0.05, transfer=1.0)
    s = _with(sc, [rep], params={"dissolve": 0.0, "ally_rate": 0.0})
    eng = Engine(world, s, replicate_seeds(5, 4)).run(until=(rep.date - s.start).days + 1)
    alleg = eng.rep_out["allegiance"][eng.day - 1]  # (R, P)
    assert (alleg[:, 0] > 0.5).all()  # RSFSR: its committees back the republic
    assert (alleg[:, 1:] == 0).all()  # no other republic moves
    ref = Engine(world, _with(sc, params={"dissolve": 0.0, "ally_rate": 0.0}), replicate_seeds(5, 4)).run(until=eng.day)
    assert (ref.rep_out["allegiance"][: eng.day] == 0).all()  # without it nobody backs a republic
    # a later concession of the centre pulls the same committees back towards the Union
    centre = _event(kind="concession", date="1989-12-10", republics=["RSFSR"], relief=0.05)
    both = Engine(world, _with(s, [centre]), replicate_seeds(5, 4)).run(until=(centre.date - s.start).days + 1)
    k = world.n_cities + world.basin_names.index("Kuzbass")
    a = both.state.c_alleg[:, k]
    assert (a < 0.5).all() and (a > 0).all()


def test_with_the_cost_of_striking_a_strike_without_any_concession_ends_in_weeks(small):
    sc, world = small
    no_deal = sc.with_changes(events=tuple(e for e in sc.events if e.kind != "concession"), mechanisms={"reactive_centre": False})
    seeds = replicate_seeds(6, 8)
    old = simulate(world, no_deal.with_changes(params={"fat_rate": 0.0}), seeds)
    new = simulate(world, no_deal.with_changes(params={"fat_rate": 0.0, "cost_rate": 1 / 30, "refractory": 60.0}), seeds)
    day = (np.datetime64("1989-10-01") - np.datetime64(str(sc.start))).astype(int)
    assert old.basin_out["strikers"][day].sum() > 0  # without it nothing ends a strike here
    peak = new.basin_out["strikers"].sum(axis=2)[:day].max(axis=0)
    assert (new.basin_out["strikers"].sum(axis=2)[day] < 0.1 * peak).all()


def test_an_established_committee_channels_protest(small):
    sc, world = small
    seeds = replicate_seeds(7, 8)
    base = {"dissolve": 0.0, "push_days": 30.0, "spark": 0.002}
    free = simulate(world, sc.with_changes(params=base | {"channel": 0.0}), seeds)
    chan = simulate(world, sc.with_changes(params=base | {"channel": 1.0}), seeds)
    late = (np.datetime64("1989-11-01") - np.datetime64(str(sc.start))).astype(int)
    assert chan.basin_out["strikers"][late:].sum() < free.basin_out["strikers"][late:].sum()


@pytest.mark.parametrize(
    "raw, words",
    [
        ({"kind": "strike_call", "date": "1990-07-11", "demands": "separatist"}, "demands must be one of"),
        ({"kind": "strike_call", "date": "1990-07-11", "days": -1}, "out of range"),
        ({"kind": "republic_concession", "date": "1991-05-01", "transfer": 2.0}, "out of range"),
        ({"kind": "republic_concession", "date": "1991-05-01", "republics": ["Atlantis"]}, "unknown republic"),
    ],
)
def test_bad_lever_values_are_one_line(raw, words):
    with pytest.raises(InputError, match=words) as exc:
        parse_event(raw, "[[events]] #1")
    assert "\n" not in str(exc.value)


def test_engine_equals_reference_with_every_new_lever_and_mechanism_on(small):
    sc, world = small
    events = [
        _event(kind="strike_call", date="1989-11-01", days=1, demands="material"),
        _event(kind="strike_call", date="1990-02-01", days=0, demands="political", basins=["Donbas"]),
        _event(kind="republic_concession", date="1990-03-01", republics=["Ukrainian SSR"], relief=0.05, transfer=1.0),
    ]
    params = {"cost_rate": 1 / 30, "refractory": 30.0, "push_days": 20.0, "channel": 0.5, "esc0": 0.01, "ally_rate": 0.05}
    s = _with(sc, events, params=params)
    for seed in replicate_seeds(8, 2):
        eng = simulate(world, s, [seed])
        ref = StrikeModel(world, s, seed).run()
        np.testing.assert_array_equal(eng.state.striking[0], [m.striking for m in ref.mines])
        np.testing.assert_array_equal(eng.state.c_active[0], [c.active for c in ref.committees])
        np.testing.assert_array_equal(eng.state.c_stage[0], [c.stage for c in ref.committees])
        np.testing.assert_allclose(eng.state.c_alleg[0], [c.alleg for c in ref.committees], rtol=0, atol=1e-12)
        np.testing.assert_allclose(eng.state.cost[0], [m.cost for m in ref.mines], rtol=0, atol=1e-12)
        assert eng.state.ever.any()
