"""Directional lo/hi checks of key parameters on the July 1989 wave (statistical, seeded).

Each test runs the July-August window with a parameter at a low and a high value on the same
replicate seeds (common random numbers) and checks the direction of the effect on a named outcome,
with a margin of several standard errors of the paired difference.
"""

from datetime import date

import numpy as np
import pytest

from sim.inputs.rng import replicate_seeds
from sim.model.engine import simulate

pytestmark = pytest.mark.slow

SEEDS = replicate_seeds(77, 16)
END = date(1989, 8, 31)


def outcome(sc, world, params, name, basin="Kuzbass", day=None):
    eng = simulate(world, sc.with_changes(params=params, end=END), SEEDS)
    b = world.basin_names.index(basin)
    series = eng.basin_out[name][:, :, b]
    if day is None:
        return series.sum(axis=0)  # e.g. striker-days over the window
    return series[(date.fromisoformat(day) - sc.start).days]


def paired_increase(lo, hi, k=3.0):
    d = np.asarray(hi, float) - np.asarray(lo, float)
    se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else 0.0
    return d.mean() > k * se and d.mean() > 0


@pytest.mark.parametrize(
    ("param", "lo", "hi", "measure", "basin", "day", "sign"),
    [
        ("w_city", 0.4, 3.0, "mines_on_strike", "Kuzbass", "1989-07-13", +1),
        ("b_pat", 0.5, 4.0, "strikers", "Kuzbass", None, -1),
        ("k_basin", 0.0, 1.5, "mines_on_strike", "Kuzbass", "1989-07-14", +1),
        ("w_news", 0.0005, 0.01, "strikers", "Donbas", None, +1),
        ("r_peer", 2.0, 16.0, "mines_on_strike", "Kuzbass", "1989-07-21", -1),
        ("trust_hold", 0.3, 0.75, "mines_on_strike", "Kuzbass", "1989-07-21", +1),
        ("g_ref", 0.45, 0.6, "strikers", "Donbas", None, -1),
    ],
)
def test_parameter_direction(baseline, param, lo, hi, measure, basin, day, sign):
    sc, world = baseline
    a = outcome(sc, world, {param: lo}, measure, basin, day)
    b = outcome(sc, world, {param: hi}, measure, basin, day)
    assert paired_increase(a, b) if sign > 0 else paired_increase(b, a), f"{param}: {a.mean():.0f} (lo) vs {b.mean():.0f} (hi)"
