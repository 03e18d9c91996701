"""Synthetic truth: ABC-SMC recovers known parameters from data simulated by the model itself.

The real network (July 1989) with known parameters plays history: the median over 16 replicates of
its daily Kuzbass counts (a typical course, not one replicate's luck), as intervals of +-10%, are the
targets; ABC-SMC over two parameters with wide priors must put the truth inside the posterior's 90%
interval and learn something (a narrower interval than the prior).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from sim.analysis import calibration as cal
from sim.analysis import smc
from sim.analysis.targets import load_targets
from sim.inputs.rng import replicate_seeds
from sim.model.engine import simulate
from sim.run.runner import executor_map

pytestmark = pytest.mark.slow

TRUTH = {"w_city": 1.2, "r_obey": 0.25}
DAYS = (11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22)


def test_abc_recovers_known_parameters(baseline, tmp_path: Path):
    sc, world = baseline
    sc = dataclasses.replace(sc.with_changes(end=date(1989, 7, 31), params=TRUTH), posterior=None)
    truth = simulate(world, sc, replicate_seeds(20240601, 16))
    k = world.basin_names.index("Kuzbass")
    m = np.median(truth.basin_out["mines_on_strike"][:, :, k], axis=1)
    rows = []
    for d in DAYS:
        v = m[d - 1]
        lo, hi = max(v - max(2, 0.1 * v), 0), v + max(2, 0.1 * v)
        rows.append(f"1989-07-{d:02d},Kuzbass,,mines_on_strike,{v:g},{lo:g},{hi:g},interval,synthetic truth,high")
    tf = tmp_path / "synthetic.csv"
    tf.write_text("date,basin,place,measure,value,low,high,kind,source,confidence\n" + "\n".join(rows) + "\n", encoding="utf-8")
    pf = tmp_path / "priors.toml"
    pf.write_text(
        f'[setup]\nscenario = "{Path(sc.path).as_posix()}"\nend = "1989-07-31"\ntargets = "synthetic.csv"\n'
        '[params.w_city]\nlo = 0.3\nhi = 6.0\nscale = "log"\nreason = "test"\n'
        '[params.r_obey]\nlo = 0.02\nhi = 1.0\nscale = "log"\nreason = "test"\n',
        encoding="utf-8",
    )
    setup = cal.load_priors(pf)
    with executor_map(2, chunksize=4) as map_:
        h = smc.run_abc(setup, sc, load_targets(tf), smc.Budget(population=60, generations=7), 11, tmp_path / "abc.db", map_=map_)
    post = cal.posterior_table(h, setup)
    summ = cal.summary(post, setup).set_index("parameter")
    for name, v in TRUTH.items():
        p05, p95 = summ.loc[name, "p05"], summ.loc[name, "p95"]
        assert p05 <= v <= p95, f"{name}: truth {v} outside the posterior's 90% interval [{p05:.3g}, {p95:.3g}]"
        prior = next(p for p in setup.priors if p.name == name)
        assert math.log(p95 / p05) < 0.6 * math.log(prior.hi / prior.lo), f"{name}: the targets taught ABC little"
    assert np.isfinite(post.to_numpy()).all()
