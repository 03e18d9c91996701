"""No verdict rests on an arm whose strike never ends (issue 18)."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from sim.inputs.rng import replicate_seeds
from sim.model.engine import simulate
from sim.model.scenario import load_scenario
from sim.run.runner import world_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_every_thesis_arm_ends_its_1989_strike():
    """Every arm of the thesis suite: the median union-wide strikers on 1 January 1990 are below 10% of its July 1989 peak."""
    from sim.api import THESIS_SUITE

    reps = 12
    for f in THESIS_SUITE:
        sc = load_scenario(ROOT / "scenarios" / f)
        sc = sc.with_changes(end=date(1990, 1, 1))
        eng = simulate(world_for(sc.data), sc, replicate_seeds(7, reps))
        union = eng.basin_out["strikers"].sum(axis=2)  # (days, R)
        july = union[: (date(1989, 8, 1) - sc.start).days].max(axis=0)
        jan = union[-1]
        assert np.median(jan) < 0.1 * np.median(july), (f, np.median(jan), np.median(july))
