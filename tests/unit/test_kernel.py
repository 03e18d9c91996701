"""The compiled day (sim/model/kernel.py): what it reads is named, its observation equals sim.model.metrics, levers share its concession.

That it equals the per-agent model, variable for variable, is tests/unit/test_reference.py.
"""

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from sim.inputs.errors import InputError
from sim.inputs.params import Mechanisms, Params
from sim.inputs.rng import replicate_seeds
from sim.model import kernel, observation
from sim.model.engine import Engine
from sim.model.scenario import load_scenario
from sim.run.runner import world_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_kernel_reads_parameters_state_and_switches_by_name():
    """No parameter, state array or switch is addressed by position: every subscript of a record, tuple or switch is an attribute."""
    tree = ast.parse((ROOT / "sim" / "model" / "kernel.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            named = node.value.id not in ("p", "pr", "m", "mech", "s", "w")  # (pm[r] picks a replicate's record)
            assert named, f"line {node.lineno}: {node.value.id}[...] by position"
    assert tuple(f.name for f in dataclasses.fields(Params)) == kernel.PARAMS  # every parameter, declared once in sim/inputs/params.py
    assert kernel.Switches._fields == tuple(f.name for f in dataclasses.fields(Mechanisms))


def test_param_records_hold_each_replicates_values_by_name():
    draws = [Params().replace(w_city=0.1 * (i + 1)) for i in range(3)]
    from sim.inputs.params import stack_params

    rec = kernel.param_records(stack_params(draws), 3)
    assert rec["w_city"].tolist() == [0.1, 0.2, 0.30000000000000004] and (rec["spark"] == Params().spark).all()


def test_the_old_reactive_switch_in_params_is_one_line_naming_its_new_place(tmp_path):
    (tmp_path / "x.toml").write_text(
        f'base = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\nname = "x"\n[params]\ncentre_reactive = 1\n'
    )
    with pytest.raises(InputError, match=r"reactive_centre"):
        load_scenario(tmp_path / "x.toml")


def test_a_lever_concession_and_the_reactive_centre_share_one_compiled_concession(small):
    """A dated concession and the reactive centre's both act through `kernel.concede`'s compiled step: same day, same basins, same state."""
    sc, world = small
    quiet = sc.with_changes(events=tuple(e for e in sc.events if e.kind != "concession"), mechanisms={"reactive_centre": False})
    a = Engine(world, quiet, replicate_seeds(1, 2)).run(until=40)
    b = Engine(world, quiet, replicate_seeds(1, 2)).run(until=40)
    rb = np.zeros((2, world.n_basins), bool)
    rb[:, 0] = True
    p = a.params
    kernel.concede(a.state, world, p, a.mech, rb, 40, p.react_relief, 0.0, p.impl_share, p.impl_days, p.deadline_days)
    kernel._concede_one(b.state, kernel.world_arrays(world), kernel.param_records(p, 2)[0], kernel.switches(b.mech), 0, rb[0], 40,
                        p.react_relief, 0.0, p.impl_share, p.impl_days, p.deadline_days, False, -1)  # fmt: skip
    kernel._concede_one(b.state, kernel.world_arrays(world), kernel.param_records(p, 2)[1], kernel.switches(b.mech), 1, rb[1], 40,
                        p.react_relief, 0.0, p.impl_share, p.impl_days, p.deadline_days, False, -1)  # fmt: skip
    for name, x, y in zip(a.state._fields, a.state, b.state, strict=True):
        assert np.array_equal(x, y), name
    assert (a.state.promised[:, 0] == p.react_relief).all() and (a.state.deal_day[:, 0] == 40).all()


def test_fused_observation_equals_the_numpy_observables_bit_for_bit():
    from sim.inputs.network import REPUBLICS
    from sim.model.metrics import BASIN_OBSERVABLES, REPUBLIC_OBSERVABLES, observe_basins, observe_republics

    assert len(BASIN_OBSERVABLES) == observation.N_BASIN_OBS and len(REPUBLIC_OBSERVABLES) == observation.N_REPUBLIC_OBS
    sc = load_scenario(ROOT / "scenarios" / "no_concessions.toml").with_changes(params={"court": 0.9, "bind": 0.9})
    w = world_for(sc.data)
    eng = Engine(w, sc, replicate_seeds(3, 5))
    bo = np.zeros((observation.N_BASIN_OBS, 5, w.n_basins))
    ro = np.zeros((observation.N_REPUBLIC_OBS, 5, len(REPUBLICS)))
    seen = {"strikers": 0.0, "committees_political": 0.0, "allegiance": 0.0, "separatism_index": 0.0}
    for stop in (12, 40, 200, 500, eng.days):
        eng.run(until=stop)
        observation.observe(eng.state, w, bo, ro)
        for j, (name, v) in enumerate(observe_basins(eng.state, w).items()):
            assert np.array_equal(bo[j], v), (stop, name)
            seen[name] = max(seen.get(name, 0.0), float(v.max()))
        for j, (name, v) in enumerate(observe_republics(eng.state, w).items()):
            assert np.array_equal(ro[j], v), (stop, name)
            seen[name] = max(seen.get(name, 0.0), float(v.max()))
    assert all(v > 0 for v in seen.values()), seen  # every kind of observable was exercised
