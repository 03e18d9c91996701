"""Mechanism switches: exact degenerate cases and the directions MODEL.md implies."""

import numpy as np
import pytest

from sim.inputs.rng import replicate_seeds
from sim.model.engine import simulate

SEEDS = replicate_seeds(2024, 8)


def run(sc, world, mechanisms=None, params=None, seeds=SEEDS):
    return simulate(world, sc.with_changes(mechanisms=mechanisms or {}, params=params or {}), seeds)


def test_no_spread_mechanisms_means_only_seeded_strikes(baseline):
    sc, world = baseline
    eng = run(sc, world, {"onset": False, "contagion": False, "committees": False, "news": False})
    ever = eng.state.ever
    seeded = np.array(world.city_names)[world.city] == "Mezhdurechensk"
    first = np.flatnonzero(seeded)[:1]
    assert ever[:, first].all()
    assert ever.sum(axis=1).tolist() == [1] * len(SEEDS)


def test_no_settlement_no_fatigue_means_no_strike_ends(small):
    sc, world = small
    eng = run(sc, world, {"settlement": False, "fatigue": False})
    m = eng.basin_out["mines_on_strike"].sum(axis=2)
    assert (np.diff(m, axis=0) >= 0).all()  # never decreases
    assert m[-1].min() > 0


def test_onset_alone_gives_spontaneous_strikes_at_the_spark_rate(small):
    sc, world = small
    eng = run(
        sc,
        world,
        {"contagion": False, "committees": False, "news": False, "settlement": False, "fatigue": False},
        {"spark": 0.01},
        replicate_seeds(5, 40),
    )
    # expected spontaneous onsets: sum over days of readiness * spark; readiness < 1 so fewer than spark * n * days
    starts = eng.state.ever.sum(axis=1) - 1
    assert starts.mean() > 1
    assert starts.mean() < 0.01 * world.n * sc.days


def peak(eng, basin):
    return eng.basin_out["mines_on_strike"][:, :, basin].max(axis=0)


def july(eng, basin, day):
    return eng.basin_out["mines_on_strike"][day, :, basin]


@pytest.mark.parametrize("switch", ["contagion", "committees", "news"])
def test_turning_off_a_spreading_mechanism_shrinks_the_july_wave(baseline, switch):
    sc, world = baseline
    short = sc.with_changes(end=sc.start.replace(month=8, day=15))
    on = run(short, world)
    off = run(short, world, {switch: False})
    total_on = on.basin_out["strikers"].sum(axis=(0, 2))
    total_off = off.basin_out["strikers"].sum(axis=(0, 2))
    assert np.median(total_off) < np.median(total_on)


def test_no_concessions_keeps_kuzbass_out_longer(baseline):
    sc, world = baseline
    short = sc.with_changes(end=sc.start.replace(month=8, day=31))
    k = world.basin_names.index("Kuzbass")
    on = run(short, world)
    off = run(short, world, {"settlement": False})
    d22 = (sc.start.replace(day=22) - sc.start).days
    assert np.median(july(off, k, d22)) > np.median(july(on, k, d22))
    assert on.basin_out["concessions"][-1, :, k].min() >= 2 and off.basin_out["concessions"][-1].sum() == 0


@pytest.mark.slow
def test_efficacy_feedback_raises_later_strikes(baseline):
    sc, world = baseline
    on = run(sc, world)
    off = run(sc, world, {"efficacy": False})
    after = (sc.start.replace(year=1989, month=10, day=1) - sc.start).days
    s_on = on.basin_out["strikers"][after:].sum(axis=(0, 2))
    s_off = off.basin_out["strikers"][after:].sum(axis=(0, 2))
    assert np.median(s_off) < np.median(s_on)


def test_escalation_off_keeps_committees_material(small):
    sc, world = small
    eng = run(sc, world, {"escalation": False})
    assert eng.basin_out["committees_political"].max() == 0
    assert eng.basin_out["committees_sovereignty"].max() == 0
    assert eng.rep_out["separatism_index"].max() == 0


def test_ethnic_gap_speeds_sovereignty(small):
    sc, world = small
    hi = run(sc, world, params={"g_ethnic": 6.0, "esc0": 0.001})
    lo = run(sc, world, params={"g_ethnic": 0.0, "esc0": 0.001})
    d = world.basin_names.index("Donbas")
    assert hi.basin_out["share_sovereignty"][:, :, d].mean() > lo.basin_out["share_sovereignty"][:, :, d].mean()


def test_persistence_off_dissolves_idle_committees(small):
    sc, world = small
    eng = run(sc, world, {"persistence": False})
    on = eng.basin_out["mines_on_strike"].sum(axis=2)
    comm = eng.basin_out["committees_city"].sum(axis=2) + eng.basin_out["committees_basin"].sum(axis=2)
    assert (comm[on == 0] == 0).all()
    assert comm.max() > 0


def test_repression_lowers_trust(small):
    sc, world = small
    calm = run(sc, world, {"shocks": False})
    d = world.basin_names.index("Donbas")
    # the small scenario represses Donbas in September 1989; trust there falls during it
    sep1, oct1 = 62, 92
    change = calm.basin_out["trust"][oct1, :, d] - calm.basin_out["trust"][sep1, :, d]
    assert (change < 0).all()


def test_fatigue_off_keeps_undealt_strikes_going(small):
    sc, world = small
    on = run(sc, world, {"settlement": False})
    off = run(sc, world, {"settlement": False, "fatigue": False})
    d = on.basin_out["mines_on_strike"].sum(axis=2)
    d_off = off.basin_out["mines_on_strike"].sum(axis=2)
    assert (d_off[-1] >= d[-1]).all() and d_off[-1].sum() > d[-1].sum()


def test_shocks_off_ignores_the_price_rise(small):
    sc, world = small
    on = run(sc, world, {"contagion": False, "committees": False, "news": False, "onset": False})
    off = run(sc, world, {"contagion": False, "committees": False, "news": False, "onset": False, "shocks": False})
    day = (sc.start.replace(year=1990, month=1, day=10) - sc.start).days
    # the small scenario's shock of 10 January 1990 lowers trust by 0.1 everywhere
    drop_on = on.basin_out["trust"][day - 1] - on.basin_out["trust"][day]
    drop_off = off.basin_out["trust"][day - 1] - off.basin_out["trust"][day]
    assert np.all(drop_on > 0.05) and np.all(np.abs(drop_off) < 0.05)


def test_engine_equals_reference_on_the_real_network(baseline):
    import dataclasses

    from sim.inputs.posterior import draws_for
    from sim.model.model import StrikeModel

    sc, world = baseline
    sc = sc.with_changes(end=sc.start.replace(month=8, day=4))
    draw, _ = draws_for(sc, [31])  # the replicate's posterior draw, given to both implementations
    sc = dataclasses.replace(sc, params=draw[0] if draw else sc.params, posterior=None)
    eng = simulate(world, sc, [31])
    ref = StrikeModel(world, sc, 31).run()
    assert np.array_equal(eng.state.striking[0], [m.striking for m in ref.mines])
    assert np.array_equal(eng.state.c_active[0], [c.active for c in ref.committees])
    np.testing.assert_allclose(eng.state.trust[0], [m.trust for m in ref.mines], atol=1e-12, rtol=0)
    assert eng.state.ever.sum() > 300  # the July wave happened
