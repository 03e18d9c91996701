"""The Mesa model (sim/model/model.py) on Mesa's clock; the batched engine: batching, determinism and invariants."""

import numpy as np
import pytest

from sim.inputs.rng import replicate_seeds
from sim.model.engine import Engine, simulate
from sim.model.model import Basin, Centre, Enterprise, StrikeCommittee, StrikeModel


def test_agentset_queries_read_the_model(small):
    sc, world = small
    model = StrikeModel(world, sc, 7)
    model.run_for(15)
    on = model.agents_by_type[Enterprise].select(lambda m: m.striking)
    assert len(on) == int(model.state().striking[0].sum()) > 0
    assert len(model.agents_by_type[StrikeCommittee].select(lambda c: c.active)) == int(model.state().c_active[0].sum())
    assert model.agents_by_type[Centre].to_list()[0] is model.centre and len(model.agents_by_type[Basin]) == world.n_basins


def test_batch_equals_single_runs(small):
    sc, world = small
    seeds = replicate_seeds(9, 3)
    batch = simulate(world, sc, seeds)
    for r, seed in enumerate(seeds):
        one = simulate(world, sc, [seed])
        for name in batch.basin_out:
            np.testing.assert_array_equal(batch.basin_out[name][:, r], one.basin_out[name][:, 0], err_msg=name)


@pytest.mark.slow
def test_batch_of_parameter_draws_equals_single_runs(small):
    """R replicates with R different parameter sets, advanced together, equal R single runs."""
    import dataclasses

    from sim.inputs.params import Params

    sc, world = small
    seeds = replicate_seeds(5, 4)
    rng = np.random.default_rng(3)
    draws = []
    for _ in seeds:  # every batchable parameter varies, within its range
        ch = {}
        for f in dataclasses.fields(Params):
            lo, hi, v = f.metadata["lo"], f.metadata["hi"], f.default
            ch[f.name] = float(np.clip(v * rng.uniform(0.7, 1.3), lo, hi)) if v else v
        draws.append(sc.params.replace(**ch))
    batch = simulate(world, sc, seeds, draws)
    assert isinstance(batch.params.w_city, np.ndarray) and batch.params.w_city.shape == (4, 1)
    for r, seed in enumerate(seeds):
        one = simulate(world, sc, [seed], draws[r])
        for name in batch.basin_out:
            np.testing.assert_array_equal(batch.basin_out[name][:, r], one.basin_out[name][:, 0], err_msg=name)
        for name in batch.rep_out:
            np.testing.assert_array_equal(batch.rep_out[name][:, r], one.rep_out[name][:, 0], err_msg=name)
    assert batch.basin_out["strikers"].sum() > 0


def test_same_seed_same_result_other_seed_differs(small):
    sc, world = small
    a = simulate(world, sc, [101]).basin_out["strikers"]
    b = simulate(world, sc, [101]).basin_out["strikers"]
    c = simulate(world, sc, [102]).basin_out["strikers"]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.slow
def test_invariants_over_random_parameters(small):
    sc, world = small
    rng = np.random.default_rng(0)
    for _ in range(5):
        over = {
            "w_city": float(rng.uniform(0, 4)),
            "k_basin": float(rng.uniform(0, 3)),
            "spark": float(rng.uniform(0, 0.005)),
            "tau_concede": float(rng.uniform(-0.5, 0.5)),
            "esc0": float(rng.uniform(0, 0.01)),
        }
        eng = Engine(world, sc.with_changes(params=over), replicate_seeds(int(rng.integers(1000)), 3)).run()
        s, out = eng.state, eng.basin_out
        wf = world.workforce_by_basin
        assert (out["strikers"] <= wf + 1e-6).all()
        assert (out["mines_on_strike"] <= np.bincount(world.basin)).all()
        for k in ("share_material", "share_political", "share_sovereignty", "efficacy", "trust"):
            assert ((out[k] >= -1e-12) & (out[k] <= 1 + 1e-12)).all(), k
        np.testing.assert_allclose(out["share_material"] + out["share_political"] + out["share_sovereignty"], 1.0)
        for arr in list(out.values()) + list(eng.rep_out.values()):
            assert np.isfinite(arr).all()
        assert ((s.c_stage >= 0) & (s.c_stage <= 2)).all()
        assert (s.implemented <= s.promised + 1e-12).all()


def test_mesa_clock_run_for_equals_stepping(small):
    sc, world = small
    a = StrikeModel(world, sc, 5)
    a.run_for(40)  # Mesa's clock: dated events fire as Mesa events between steps
    b = StrikeModel(world, sc, 5)
    for _ in range(40):
        b.step()
    assert a.steps == b.steps == 40 and str(a.date) == "1989-08-09"
    for x, y in zip(a.state(), b.state(), strict=True):
        np.testing.assert_array_equal(x, y)
    assert sum(basin.concessions for basin in a.basins) > 0  # the concession of 20 July has happened
