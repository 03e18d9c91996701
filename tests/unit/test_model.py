"""EngineModel (Mesa) against the batched engine; batching, determinism and invariants."""

import numpy as np
import pytest

from sim.agents import Centre, Committee, Mine
from sim.model import Engine, EngineModel, simulate
from sim.rng import replicate_seeds


def test_mesa_model_equals_engine(small):
    sc, world = small
    seed = replicate_seeds(3, 1)[0]
    model = EngineModel(sc, seed, world=world)
    while model.running:
        model.step()
    eng = simulate(world, sc, [seed])
    for name in eng.basin_out:
        np.testing.assert_array_equal(model.engine.basin_out[name], eng.basin_out[name], err_msg=name)
    assert model.steps == sc.days
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == sc.days + 1 and df["mines_on_strike"].max() > 0  # once a day, and day 0
    assert df["mines_on_strike"].iloc[0] == 0  # day 0: the state before the first day (no strike yet)


def test_agents_are_mesa_agents_and_views(small):
    sc, world = small
    model = EngineModel(sc, 7, world=world)
    mines = model.agents_by_type[Mine]
    assert len(mines) == world.n
    assert len(model.agents_by_type[Committee]) == world.n_cities + world.n_basins
    assert len(model.agents_by_type[Centre]) == 1
    for _ in range(15):
        model.step()
    on = mines.select(lambda m: m.striking)
    assert len(on) == int(model.state.striking[0].sum()) > 0
    m = on.to_list()[0]
    assert m.cell in model.space.all_cells.cells and m.basin in world.basin_names
    assert abs(m.strikers - m.workforce * model.state.out_share[0, m.index]) < 1e-9
    m.striking = False  # a view writes through to the arrays
    assert not model.state.striking[0, m.index]


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

    from sim.params import SCALAR_ONLY, Params

    sc, world = small
    seeds = replicate_seeds(5, 4)
    rng = np.random.default_rng(3)
    draws = []
    for _ in seeds:  # every batchable parameter varies, within its range
        ch = {}
        for f in dataclasses.fields(Params):
            if f.name in SCALAR_ONLY:
                continue
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
    a = EngineModel(sc, 5, world=world)
    a.run_for(40)  # Mesa's clock: dated events fire as Mesa events between steps
    b = EngineModel(sc, 5, world=world)
    for _ in range(40):
        b.step()
    assert a.steps == b.steps == 40 and str(a.date) == "1989-08-09"
    np.testing.assert_array_equal(a.state.striking, b.state.striking)
    np.testing.assert_array_equal(a.engine.basin_out["concessions"], b.engine.basin_out["concessions"])
    assert a.engine.basin_out["concessions"][39].sum() > 0  # the concession of 20 July has happened
