"""Stance measures of a targets file (issue 29): demand-stage shares and committees by area, recorded and scored."""

from datetime import date

import numpy as np
import pytest

from sim.analysis.targets import LEVELS, SHARES, load_targets, score, target_areas
from sim.inputs.errors import InputError
from sim.inputs.rng import replicate_seeds
from sim.model.engine import AREA_OBSERVABLES, Engine
from sim.model.stance import STANCE_COUNTS, STANCE_MEASURES, STANCE_SHARES
from sim.run.runner import run_ensemble

HEADER = "date,basin,place,measure,value,low,high,kind,source,confidence\n"


def test_stance_measures_are_levels_the_engine_records():
    assert set(STANCE_MEASURES) <= set(LEVELS) and set(STANCE_MEASURES) <= set(AREA_OBSERVABLES)
    assert set(STANCE_SHARES) <= set(SHARES) and not set(STANCE_COUNTS) & set(SHARES)


def test_a_stance_share_outside_0_1_names_the_line(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(HEADER + "1990-06-15,USSR,,share_political_or_beyond,,0.5,1.5,interval,s,approx\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_targets(p)
    assert "line 2" in str(exc.value) and "share" in str(exc.value)


def test_area_stance_equals_the_basin_observables(small):
    """A basin's area series of stance measures equals the basin observables of the same run, day by day."""
    sc, world = small
    sc = sc.with_changes(mechanisms={"escalation": True, "committees": True})
    basin = 0
    towns = tuple(int(i) for i in np.flatnonzero(world.city_basin == basin))
    eng = Engine(world, sc, replicate_seeds(7, 3), areas=[towns]).run(until=200)
    b = {k: v[:200, :, basin] for k, v in eng.basin_out.items()}
    a = {k: v[:200, :, 0] for k, v in eng.area_out.items()}
    np.testing.assert_allclose(a["share_political_or_beyond"], b["share_political"] + b["share_sovereignty"], atol=1e-12)
    np.testing.assert_allclose(a["share_sovereignty"], b["share_sovereignty"], atol=1e-12)
    np.testing.assert_array_equal(a["committees_city"], b["committees_city"])
    np.testing.assert_array_equal(a["committees_basin"], b["committees_basin"])


def test_stance_rows_are_scored(small, tmp_path):
    sc, world = small
    name = world.basin_names[0]
    p = tmp_path / "t.csv"
    p.write_text(
        HEADER
        + f"1989-09-01,{name},,share_political_or_beyond,,0,0.5,interval,s,approx\n"
        + f"1989-09-01,{name},,share_sovereignty,,0,0.3,interval,s,approx\n"
        + f"1989-09-01,{name},,committees_basin,,1,1,interval,s,approx\n"
        + f"1989-09-01,{name},,committees_city,,1,,interval,s,approx\n",
        encoding="utf-8",
    )
    targets = load_targets(p)
    tables, _ = run_ensemble(sc.with_changes(end=date(1989, 12, 31)), 4, 11, workers=1, areas=target_areas(targets, world)[0])
    s = score(targets, tables.areas, world, sc.start)
    assert s["scored"].all(), s["reason"].tolist()
    assert ((s["sim_p05"] >= 0) & (s["sim_p95"] <= [1, 1, 1, len(target_areas(targets, world)[0][0].towns)])).all()
