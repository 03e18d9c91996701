"""The compiled daily kernel (sim/kernel.py) takes the same decisions as the numpy rules (sim/rules.py) on the same draws."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from sim import kernel, rules
from sim.model import Engine
from sim.params import Mechanisms
from sim.rng import replicate_seeds
from sim.runner import world_for
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
RTOL = 1e-9  # the stated tolerance for floats (see the module docstring: numpy's SIMD exp vs the C library's)


def _twin_runs(sc, reps: int, days: int, mech: Mechanisms | None = None):
    """Advance the same replicates with the numpy rules and with the kernel, day by day; compare the whole state every day."""
    w = world_for(sc.data)
    a = Engine(w, sc, replicate_seeds(11, reps), rules="numpy")
    b = Engine(w, sc, replicate_seeds(11, reps), rules="numpy")
    if mech is not None:
        a.mech = b.mech = mech
    pm, mf = kernel.param_matrix(b.params, reps), kernel.mech_flags(b.mech)
    n, k = w.n, w.n_cities + w.n_basins
    for d in range(min(days, a.days)):
        a.apply_events()
        b.apply_events()
        tl = a.timeline
        draws = [
            np.stack([st.daily(name, d, size) for st in a.streams])
            for name, size in (("onset", n), ("ret", n), ("committee", k), ("stage", k), ("ally", k))
        ]
        args = (d, tl.repression[d], tl.cut[d], float(tl.news[d]), tl.movement[d], *draws)
        rules.step(a.state, w, a.params, a.mech, *args)
        kernel.step(b.state, w, pm, mf, *args)
        a.day += 1
        b.day += 1
        for name, x in a.state.__dict__.items():
            y = getattr(b.state, name)
            if x.dtype.kind in "biu":
                assert np.array_equal(x, y), (d, name)  # decisions: identical
            else:
                np.testing.assert_allclose(y, x, rtol=RTOL, atol=1e-12, err_msg=f"day {d}, {name}")
    return a, b


@pytest.mark.slow
@pytest.mark.skipif(not kernel.AVAILABLE, reason="numba not installed")
def test_kernel_equals_the_numpy_rules_over_1989_1990():
    sc = load_scenario(ROOT / "scenarios" / "baseline.toml").with_changes(end=date(1990, 12, 31))
    a, _ = _twin_runs(sc, 6, 549)  # posterior draws: parameters differ by replicate
    assert a.state.ever.any() and a.state.c_active.any() and (a.state.c_stage > 0).any()  # the rules were exercised


@pytest.mark.skipif(not kernel.AVAILABLE, reason="numba not installed")
@pytest.mark.parametrize("off", ["fatigue", "committees", "settlement", "escalation", "persistence", "news", "contagion"])
def test_kernel_equals_the_numpy_rules_with_a_mechanism_off(off):
    sc = load_scenario(ROOT / "scenarios" / "baseline.toml").with_changes(end=date(1989, 12, 31))
    _twin_runs(sc, 3, 150, Mechanisms().replace(**{off: False}))


def test_engine_uses_the_kernel_where_it_applies_and_the_results_agree():
    sc = load_scenario(ROOT / "scenarios" / "baseline.toml").with_changes(end=date(1989, 9, 30))
    w = world_for(sc.data)
    fast = Engine(w, sc, replicate_seeds(4, 4)).run()
    slow = Engine(w, sc, replicate_seeds(4, 4), rules="numpy").run()
    assert fast.rules == ("kernel" if kernel.AVAILABLE else "numpy") and slow.rules == "numpy"
    for name in fast.basin_out:
        np.testing.assert_allclose(fast.basin_out[name], slow.basin_out[name], rtol=RTOL, atol=1e-9, err_msg=name)
    reactive = sc.with_changes(params={"centre_reactive": 1.0})
    assert Engine(w, reactive, replicate_seeds(4, 2)).rules == "numpy"  # the reactive centre: numpy rules for the whole run


@pytest.mark.slow
@pytest.mark.skipif(not kernel.AVAILABLE, reason="numba not installed")
def test_kernel_equals_the_numpy_rules_with_the_counter_mechanisms_on():
    # radicalisation by refusal and the republics courting the refused (off in the baseline), where strikes go unanswered
    sc = load_scenario(ROOT / "scenarios" / "no_concessions.toml").with_changes(
        end=date(1990, 6, 30), params={"tau_refuse": 0.2, "court": 0.8}
    )
    a, _ = _twin_runs(sc, 4, 365)
    assert (a.state.c_alleg > 0).any()  # the courting moved some allegiance


@pytest.mark.skipif(not kernel.AVAILABLE, reason="numba not installed")
def test_fused_observation_equals_the_numpy_observables_bit_for_bit():
    from sim.metrics import BASIN_OBSERVABLES, REPUBLIC_OBSERVABLES, observe_basins, observe_republics
    from sim.network import REPUBLICS

    assert len(BASIN_OBSERVABLES) == kernel.N_BASIN_OBS and len(REPUBLIC_OBSERVABLES) == kernel.N_REPUBLIC_OBS
    sc = load_scenario(ROOT / "scenarios" / "no_concessions.toml").with_changes(params={"court": 0.9, "bind": 0.9})
    w = world_for(sc.data)
    eng = Engine(w, sc, replicate_seeds(3, 5))
    bo = np.zeros((kernel.N_BASIN_OBS, 5, w.n_basins))
    ro = np.zeros((kernel.N_REPUBLIC_OBS, 5, len(REPUBLICS)))
    seen = {"strikers": 0.0, "committees_political": 0.0, "allegiance": 0.0, "separatism_index": 0.0}
    for stop in (12, 40, 200, 500, eng.days):
        eng.run(until=stop)
        kernel.observe(eng.state, w, bo, ro)
        for j, (name, v) in enumerate(observe_basins(eng.state, w).items()):
            assert np.array_equal(bo[j], v), (stop, name)
            seen[name] = max(seen.get(name, 0.0), float(v.max()))
        for j, (name, v) in enumerate(observe_republics(eng.state, w).items()):
            assert np.array_equal(ro[j], v), (stop, name)
            seen[name] = max(seen.get(name, 0.0), float(v.max()))
    assert all(v > 0 for v in seen.values()), seen  # every kind of observable was exercised
