"""Calibration: priors, distances per target kind, probes aligned with the scores, seeded ABC-SMC."""

from __future__ import annotations

import dataclasses
import math
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import calibration as cal
from sim.analysis import smc
from sim.analysis.targets import Target, distance, load_targets, score
from sim.inputs.errors import InputError
from sim.inputs.posterior import draws_for, load_posterior
from sim.inputs.rng import replicate_seeds
from sim.model.engine import Engine, simulate
from sim.run.runner import executor_map, run_ensemble, tidy, world_for

ROOT = Path(__file__).resolve().parents[2]


def target(measure="mines_on_strike", kind="interval", value=math.nan, low=math.nan, high=math.nan, confidence="high", day="1989-07-15"):
    return Target(1, date.fromisoformat(day), "Kuzbass", "", measure, value, low, high, kind, "test", confidence)


def test_distance_per_kind():
    t = target(low=150, high=170)  # interval: 0 inside, one width (20) off = 1
    np.testing.assert_allclose(distance(t, np.array([150, 160, 170, 190, 130])), [0, 0, 0, 1, 1])
    over = target(low=400_000)  # "over 400,000": open above, scaled by 10% of the bound
    np.testing.assert_allclose(distance(over, np.array([500_000, 360_000])), [0, 1])
    p = target(kind="point", value=5, confidence="approx")  # point: met within max(20%, 1 count): [4, 6], width 2
    np.testing.assert_allclose(distance(p, np.array([5, 6, 4, 8, 0])), [0, 0, 0, 1, 2])
    e = target(measure="first_strike", kind="event")  # event: met within one day (high confidence)
    np.testing.assert_allclose(distance(e, np.array([0, 1, -1, 3, np.nan])), [0, 0, 0, 2, 10])


def test_priors_file_checked(tmp_path):
    setup = cal.load_priors(ROOT / "calibration" / "priors.toml")
    assert len(setup.priors) >= 8 and all(p.reason for p in setup.priors)
    assert setup.end == date(1989, 7, 31) and setup.targets.is_file() and setup.scenario.is_file()
    good = (ROOT / "calibration" / "priors.toml").read_text(encoding="utf-8")
    bad = {
        "w_citty": ("[params.w_city]", "[params.w_citty]"),
        "needs": ("lo = 0.3\nhi = 6.0", "lo = 0.3\nhi = 60.0"),
        "reason": ('reason = "same-town', 'note = "same-town'),
        "end": ('end = "1989-07-31"', 'end = "31 July"'),
    }
    for expect, (old, new) in bad.items():
        f = tmp_path / "priors.toml"
        f.write_text(good.replace(old, new, 1), encoding="utf-8")
        with pytest.raises(InputError) as exc:
            cal.load_priors(f)
        assert str(f) in str(exc.value) and expect.split()[0] in str(exc.value), str(exc.value)


def test_probes_read_the_same_values_as_the_scores(baseline):
    """The fast path of the calibration (engine arrays) and the scores (tidy tables) agree target by target."""
    sc, world = baseline
    sc = dataclasses.replace(sc.with_changes(end=date(1989, 7, 31)), posterior=None)
    targets = load_targets(ROOT / "calibration" / "targets" / "july1989.csv")
    seeds = replicate_seeds(3, 6)
    pr, skipped, areas = cal.probes(targets, world, sc)
    assert [t.measure for t, _ in skipped] == ["event_return_recommended"]
    eng = Engine(world, sc, seeds, areas=[a.towns for a in areas]).run()
    vals = cal.observe(eng, pr)
    scores = score(targets, tidy(eng, list(range(6)), tuple(a.label for a in areas)).areas, world, sc.start)
    for j, p in enumerate(pr):
        row = scores[scores["line"] == p.target.line].iloc[0]
        assert np.nanmedian(vals[:, j]) == pytest.approx(row["sim_median"]), p.target
        assert np.median(distance(p.target, vals[:, j])) == pytest.approx(row["distance_median"])


def test_area_series_equal_the_town_and_basin_tables(baseline):
    """A recorded area is the sum of its towns (the town table) and a whole basin equals the basin table."""
    sc, world = baseline
    sc = dataclasses.replace(sc.with_changes(end=date(1989, 7, 31)), posterior=None)
    kuz = world.basin_names.index("Kuzbass")
    towns = tuple(int(i) for i in np.flatnonzero(world.city_basin == kuz))
    eng = Engine(world, sc, replicate_seeds(5, 3), areas=[towns, towns[:2]]).run()
    t = tidy(eng, [0, 1, 2], ("Kuzbass", "two towns"))
    a = t.areas.set_index(["area", "replicate", "date"])
    b = t.basin[t.basin["basin"] == "Kuzbass"].set_index(["replicate", "date"])
    np.testing.assert_array_equal(a.loc["Kuzbass", "mines_on_strike"].to_numpy(), b["mines_on_strike"].to_numpy())
    np.testing.assert_allclose(a.loc["Kuzbass", "strikers"].to_numpy(), b["strikers"].to_numpy(), atol=1)
    names = [world.city_names[i] for i in towns[:2]]
    two = t.town[t.town["town"].isin(names)].groupby(["replicate", "date"])["mines_on_strike"].sum()
    np.testing.assert_array_equal(a.loc["two towns", "mines_on_strike"].to_numpy(), two.to_numpy())


def _tiny_abc(small, tmp_path, map_, name):
    sc, world = small
    sc = sc.with_changes(end=date(1989, 7, 31))
    truth = simulate(world, sc, [42])
    k = world.basin_names.index("Kuzbass")
    m = truth.basin_out["mines_on_strike"][:, 0, k]
    rows = [f"1989-07-{d:02d},Kuzbass,,mines_on_strike,,{m[d - 1] - 1},{m[d - 1] + 1},interval,synthetic,high" for d in (13, 16, 20)]
    tf = tmp_path / f"{name}.csv"
    tf.write_text("date,basin,place,measure,value,low,high,kind,source,confidence\n" + "\n".join(rows) + "\n", encoding="utf-8")
    shutil.copy(sc.path, tmp_path / "small.toml")  # a priors file names files beside it or in the repository only
    pf = tmp_path / f"{name}.toml"
    pf.write_text(
        f'[setup]\nscenario = "small.toml"\nend = "1989-07-31"\ntargets = "{tf.name}"\n'
        '[params.w_city]\nlo = 0.3\nhi = 6\nscale = "log"\nreason = "test"\n'
        '[params.r_obey]\nlo = 0.02\nhi = 1\nscale = "log"\nreason = "test"\n',
        encoding="utf-8",
    )
    setup = cal.load_priors(pf)
    h = smc.run_abc(setup, sc, load_targets(tf), smc.Budget(population=12, generations=2), 5, tmp_path / f"{name}.db", map_=map_)
    return cal.posterior_table(h, setup), smc.populations_table(h)


@pytest.mark.slow
def test_abc_is_seeded_whatever_the_number_of_processes(small, tmp_path):
    serial, pops1 = _tiny_abc(small, tmp_path, map, "serial")
    with executor_map(2, chunksize=3) as map_:
        parallel, pops2 = _tiny_abc(small, tmp_path, map_, "parallel")
    pd.testing.assert_frame_equal(serial, parallel)
    assert list(pops1["simulations"]) == list(pops2["simulations"])
    assert len(serial) == 12 and serial["weight"].sum() == pytest.approx(1.0)


def test_posterior_draws_follow_the_seed_and_keep_explicit_levers(tmp_path, small):
    sc, _ = small
    f = tmp_path / "post.parquet"
    pd.DataFrame({"w_city": [0.5, 1.0, 2.0], "r_obey": [0.1, 0.2, 0.3], "weight": [0.0, 1.0, 3.0]}).to_parquet(f)
    post = load_posterior(f)
    seeds = replicate_seeds(1, 400)
    idx = post.index_for(seeds)
    assert 0 not in set(idx)  # weight 0 is never drawn
    assert 0.65 < np.mean(idx == 2) < 0.85  # weight 3 of 4
    assert list(post.index_for(seeds[:5])) == list(idx[:5])  # a replicate's draw depends only on its seed
    arm = dataclasses.replace(sc.with_changes(params={"w_city": 3.0}), posterior=f, parameters="post.parquet")
    params, _ = draws_for(arm, seeds[:20])
    assert {p.w_city for p in params} == {3.0}  # set in the scenario: kept
    assert {p.r_obey for p in params} <= {0.2, 0.3}
    tables, _ = run_ensemble(arm, 3, 1, workers=1)
    assert tables.basin["strikers"].max() > 0
    # the engine itself draws for a posterior scenario: same as passing the draws by hand
    world = world_for(arm.data)
    auto = simulate(world, arm, seeds[:3])
    by_hand = simulate(world, dataclasses.replace(arm, posterior=None), seeds[:3], params[:3])
    np.testing.assert_array_equal(auto.basin_out["strikers"], by_hand.basin_out["strikers"])


def test_broken_posterior_files_are_one_line_errors(tmp_path):
    cases = {
        "weight": pd.DataFrame({"w_city": [1.0]}),
        "not a model parameter": pd.DataFrame({"w_cty": [1.0], "weight": [1.0]}),
        "outside": pd.DataFrame({"w_city": [99.0], "weight": [1.0]}),
        "weights must": pd.DataFrame({"w_city": [1.0], "weight": [-1.0]}),
    }
    for expect, df in cases.items():
        f = tmp_path / "p.parquet"
        df.to_parquet(f)
        with pytest.raises(InputError, match=expect):
            load_posterior(f)
    f = tmp_path / "broken.parquet"
    f.write_bytes(b"not parquet")
    with pytest.raises(InputError, match="Parquet"):
        load_posterior(f)


def test_world_cache_is_used(baseline):
    sc, _ = baseline
    assert world_for(sc.data) is world_for(sc.data)


def test_calibrated_parameters_are_the_priors_of_the_stages():
    """A parameter documented as calibrated has a prior in one calibration stage, and every prior's parameter says so."""
    from sim.inputs.params import param_table

    documented = {r["name"] for r in param_table() if r["source"].startswith("calibrated")}
    stages = [cal.load_priors(ROOT / "calibration" / f) for f in cal.PRIOR_FILES]
    fitted = [p.name for s in stages for p in s.priors]
    assert len(fitted) == len(set(fitted))  # no parameter in two stages
    assert documented == set(fitted)
    assert stages[1].given is not None and stages[1].given.name == stages[0].install.name  # stage 2 is fitted given stage 1
