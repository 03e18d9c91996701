"""Numerical guards over random parameter draws: no parameter set inside the declared ranges breaks the model's invariants.

Every Params field is drawn from its declared range (log-uniform where the range spans more than
two orders of magnitude), eight batches of eight replicates each with its own draw, over the small
world's first year. On every recorded day: strikers never exceed the workforce (of a basin, town or
republic), enterprises on strike never exceed the enterprises there, shares and indices stay in
[0, 1], counts are whole numbers, and no output is NaN or infinite.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.inputs.network import REPUBLICS, load_world
from sim.inputs.params import Params
from sim.model.engine import simulate
from sim.run.results import canonical
from sim.run.runner import tidy

COUNTS = ("strikers", "mines_on_strike", "committees_city", "committees_basin", "committees_material", "committees_political")
SHARES = ("share_material", "share_political", "share_sovereignty", "efficacy", "trust")


def random_params(rng: np.random.Generator, n: int) -> list[Params]:
    base = Params()
    out = []
    for _ in range(n):
        changes = {}
        for f in dataclasses.fields(Params):
            default = getattr(base, f.name)
            if isinstance(default, bool) or not isinstance(default, (int, float)):
                continue
            lo, hi = float(f.metadata["lo"]), float(f.metadata["hi"])
            if not np.isfinite(hi):
                hi = max(10 * abs(default), lo + 1)
            log = lo > 0 and hi / lo > 100
            v = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if log else float(rng.uniform(lo, hi))
            changes[f.name] = round(v) if isinstance(default, int) else v
        out.append(base.replace(**changes))
    return out


@pytest.mark.parametrize("draw", range(8))
def test_invariants_hold_for_random_parameter_draws(small, draw):
    sc, _ = small
    world = load_world(sc.data)
    rng = np.random.default_rng(1000 + draw)
    params = random_params(rng, 8)
    seeds = [int(s) for s in rng.integers(0, 2**31, 8)]
    engine = simulate(world, sc, seeds, params)

    # enumerations (enterprises, committees) are whole numbers in the engine's own arrays; strikers
    # there is workforce times participation, rounded to persons in the tables
    for name in COUNTS:
        a = engine.basin_out[name]
        assert np.isfinite(a).all() and (a >= 0).all(), name
        if name != "strikers":
            np.testing.assert_array_equal(a, np.rint(a), err_msg=name)

    t = tidy(engine, list(range(8)))
    for table, cols in ((t.basin, COUNTS), (t.republic, ("strikers",)), (t.town, ("strikers", "mines_on_strike"))):
        for col in cols:
            assert pd.api.types.is_integer_dtype(table[col]) and (table[col] >= 0).all(), col
    for table in (t.basin, t.republic, t.town):
        num = table.select_dtypes("number")
        assert np.isfinite(num.to_numpy(dtype=float)).all()  # no NaN, no infinity anywhere

    b = canonical(t.basin)  # names as the files hold them (strings; categoricals in memory)
    wf = pd.Series(world.workforce).groupby(np.asarray(world.basin_names)[world.basin]).sum()
    ent = pd.Series(1, index=range(world.n)).groupby(np.asarray(world.basin_names)[world.basin]).sum()
    assert (b["strikers"] <= b["basin"].map(wf) + 1e-6).all()
    assert (b["mines_on_strike"] <= b["basin"].map(ent)).all()
    assert (b["committees_material"] + b["committees_political"] + b["committees_sovereignty"] >= 0).all()
    for col in SHARES:
        assert b[col].between(0, 1).all(), col
    assert b[["share_material", "share_political", "share_sovereignty"]].sum(axis=1).le(1 + 1e-9).all()
    assert (b["implemented"] <= b["promised"] + 1e-9).all() and (b["promised"] >= 0).all()

    r = canonical(t.republic)
    rwf = pd.Series(world.workforce).groupby(np.asarray(REPUBLICS)[world.republic]).sum()
    assert r["separatism_index"].between(0, 1).all()
    assert (r["strikers"] <= r["republic"].map(rwf).fillna(0) + 1e-6).all()
    for col in ("share_material", "share_political", "share_sovereignty"):
        assert r[col].between(0, 1).all(), col

    town = canonical(t.town)
    key = np.asarray(world.city_names)[world.city]
    twf = pd.Series(world.workforce).groupby(key).sum()
    tent = pd.Series(1, index=range(world.n)).groupby(key).sum()
    assert (town["strikers"] <= town["town"].map(twf).fillna(0) + 1e-6).all()
    assert (town["mines_on_strike"] <= town["town"].map(tent).fillna(0)).all()
