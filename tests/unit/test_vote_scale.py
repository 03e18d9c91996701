"""The vote-scale allegiance (issue 29): a weighted mean in [0, 1], parts that add up, adult-weighted republic totals,
a dissolved committee's workforce that keeps its stance, dated shocks, the printout of a run, and its input errors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from sim import api
from sim.analysis import vote_scale
from sim.analysis.targets import load_targets
from sim.inputs.errors import InputError
from sim.inputs.network import REPUBLICS, load_world
from sim.model.engine import Engine
from sim.model.metrics import outcomes
from sim.model.scenario import load_scenario
from sim.model.vote import VoteTracker
from sim.run.runner import tidy
from tests.conftest import small_base

OBLASTS = [  # the small world's three oblasts (test figures, not history)
    {"republic": "RSFSR", "oblast": "Kuzbass oblast", "adults_1989": 2_000_000, "miners_adult_share": 0.2},
    {"republic": "Ukrainian SSR", "oblast": "Donbas oblast", "adults_1989": 3_000_000, "miners_adult_share": 0.1},
    {"republic": "Kazakh SSR", "oblast": "Karaganda oblast", "adults_1989": "", "miners_adult_share": ""},
]
EXTRA = {"russian_share": 0.4, "titular_share": 0.5, "stance_indicator": "db_council_1990", "stance_value": 0}
SHOCKS = [
    {"date": "1989-09-01", "republic": "Ukrainian SSR", "kind": "sovereignty", "event": "test", "source": "test"},
    {"date": "1989-10-01", "republic": "RSFSR", "kind": "coup", "event": "test", "source": "test"},
]


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.fixture(scope="module")
def voting(small_dir, tmp_path_factory) -> Path:
    """A copy of the small world with an oblasts.csv and a vote_shocks.csv; its scenario's path."""
    where = tmp_path_factory.mktemp("vote")
    small_base(small_dir, where)
    _write(where / "data" / "oblasts.csv", [{**r, **EXTRA} for r in OBLASTS])
    _write(where / "data" / "vote_shocks.csv", SHOCKS)
    return where / "small.toml"


@pytest.fixture(scope="module")
def ran(voting):
    sc = load_scenario(voting)
    world = load_world(sc.data)
    eng = Engine(world, sc, [1, 2, 3]).run()
    return sc, world, eng, tidy(eng, [0, 1, 2])


def test_vote_is_a_weighted_mean_in_the_unit_interval_and_its_parts_add_up(ran):
    tables = ran[3]
    o = tables.oblast
    done = o[np.isfinite(o["vote"])]
    assert set(done["oblast"]) == {"Kuzbass oblast", "Donbas oblast"}  # Karaganda: no sourced adults, not computed
    assert o.loc[o["oblast"] == "Karaganda oblast", "vote"].isna().all()
    v, w, p, m = (done[c].to_numpy() for c in ("vote", "miners_weight", "population", "miners_stance"))
    assert np.allclose(v, (1 - w) * p + w * m)
    assert ((v >= np.minimum(p, m) - 1e-12) & (v <= np.maximum(p, m) + 1e-12)).all()
    assert ((v >= 0) & (v <= 1)).all()
    assert np.allclose(done["baseline"] + done["shocks"] + done["miners"], v)
    assert np.allclose(w, [0.2 if x == "Kuzbass oblast" else 0.1 for x in done["oblast"]])  # vote_spill = 1


def test_republic_totals_are_adult_weighted(ran):
    _, _, eng, tables = ran
    t = vote_scale.vote_table(tables.oblast)
    rep = t[t["level"] == "republic"]
    assert set(rep["republic"]) == {"RSFSR", "Ukrainian SSR"}
    for _, r in rep.iterrows():
        g = t[(t["level"] == "oblast") & (t["replicate"] == r["replicate"]) & (t["date"] == r["date"]) & (t["republic"] == r["republic"])]
        g = g[np.isfinite(g["vote"])]
        assert r["adults"] == g["adults"].sum()
        for c in ("vote", "baseline", "shocks", "miners"):
            assert r[c] == pytest.approx((g[c] * g["adults"]).sum() / g["adults"].sum())
    # the daily republic series the outcomes read is the same adult-weighted mean
    last = eng.days - 1
    ua = REPUBLICS.index("Ukrainian SSR")
    row = rep[(rep["republic"] == "Ukrainian SSR") & (rep["replicate"] == 0)].sort_values("date").iloc[-1]
    assert eng.vote.rep_vote[last, 0, ua] == pytest.approx(row["vote"])
    assert np.isnan(eng.vote.rep_vote[last, :, REPUBLICS.index("Kazakh SSR")]).all()


def test_a_dissolved_committee_keeps_its_stance_and_drifts_back(ran):
    sc, world, _, _ = ran
    for drift in (0.0, 0.1):
        params = sc.params.replace(vote_drift=drift)
        tr = VoteTracker(world, sc.start, 5, params, 1)
        k = world.n_cities
        active = np.zeros((1, k + world.n_basins), dtype=bool)
        alleg = np.zeros((1, k + world.n_basins))
        active[0, 0], alleg[0, 0] = True, 0.8
        tr.observe(0, active, alleg)
        assert tr.hs[0, 0] == 0.8
        active[0, 0], alleg[0, 0] = False, 0.0  # dissolved: the kernel resets its allegiance to 0
        tr.observe(1, active, alleg)
        pop = tr.population(1)[0, tr.town_key[0]]
        assert tr.hs[0, 0] == pytest.approx(0.8 + drift * (pop - 0.8))
        assert tr.hs[0, 0] > 0.5
        assert tr.hs[0, 1] == pytest.approx(tr.population(1)[0, tr.town_key[1]])  # never formed: its population's stance


def test_shocks_act_from_their_date_on_their_republic_only(ran):
    sc, world, _, _ = ran
    tr = VoteTracker(world, sc.start, 200, sc.params, 1)
    sept = (np.datetime64("1989-09-01") - np.datetime64(sc.start)).astype(int)
    ua = [j for j, k in enumerate(tr.keys) if k[0] == "Ukrainian SSR"]
    kz = [j for j, k in enumerate(tr.keys) if k[0] == "Kazakh SSR"]
    step = tr.population(sept) - tr.population(sept - 1)
    assert step[0, ua] == pytest.approx(sc.params.vote_shock_sovereignty)
    assert (step[0, kz] == 0).all()


def test_outcomes_read_the_vote_scale_on_the_dates_that_matter(voting, tmp_path):
    text = voting.read_text(encoding="utf-8").replace('end = "1990-06-30"', 'end = "1991-12-31"')
    small_base(voting.parent, tmp_path)
    (tmp_path / "long.toml").write_text(text.replace('name = "small"', 'name = "long"'), encoding="utf-8")
    sc = load_scenario(tmp_path / "long.toml")
    eng = Engine(load_world(sc.data), sc, [5, 6]).run()
    out = outcomes(eng.outcome_run())
    d = (np.datetime64("1991-12-01") - np.datetime64(sc.start)).astype(int)
    assert out["vote_republic_Ukraine_dec1991"] == pytest.approx(eng.vote.rep_vote[d, :, 1])
    assert {"vote_republic_RSFSR_mar1991", "vote_republic_Ukraine_aug1991"} <= set(out)
    assert not any(k.startswith("vote_republic_Kazakh") for k in out)
    assert ((out["vote_republic_Ukraine_dec1991"] >= 0) & (out["vote_republic_Ukraine_dec1991"] <= 1)).all()


def test_the_run_prints_the_vote_scale_table_and_writes_it(voting, tmp_path):
    res = api.run_scenario(voting, replicates=3, workers=1, out=tmp_path / "res", draw_figures=False, quiet=True, targets=None)
    txt = res.text()
    assert "vote-scale allegiance" in txt
    for name in ("Ukrainian SSR: Donbas oblast", "RSFSR: Kuzbass oblast", "Ukrainian SSR: TOTAL (adult-weighted)"):
        assert name in txt
    assert "Kazakh SSR: Karaganda oblast" in txt and "not computed" in txt
    import pandas as pd

    t = pd.read_parquet(res.folder / "vote_scale.parquet")
    assert {"baseline", "shocks", "miners", "vote", "level", "adults"} <= set(t.columns)
    assert np.allclose(t["baseline"] + t["shocks"] + t["miners"], t["vote"], equal_nan=True)


def test_a_targets_file_may_name_a_vote_measure(tmp_path, voting, ran):
    _, world, _, tables = ran
    f = tmp_path / "t.csv"
    f.write_text(
        "date,basin,place,measure,value,low,high,kind,source,confidence\n"
        "1990-06-30,Ukrainian SSR,Donbas oblast,vote_independence_yes,0.5,,,point,test,approx\n"
        "1990-06-30,RSFSR,,vote_union_yes,,0.2,0.9,interval,test,approx\n",
        encoding="utf-8",
    )
    tgts = load_targets(f)
    from sim.analysis.targets import score

    scores = vote_scale.score_votes(tgts, score(tgts, tables.areas, world), vote_scale.vote_table(tables.oblast))
    assert scores["scored"].all()
    assert scores["sim_median"].between(0, 1).all()
    bad = tmp_path / "bad.csv"
    bad.write_text(f.read_text(encoding="utf-8").replace(",0.5,", ",1.5,"), encoding="utf-8")
    with pytest.raises(InputError, match="share in"):
        load_targets(bad)


def test_a_bad_oblasts_file_is_one_line_naming_file_line_and_column(voting, tmp_path):
    small_base(voting.parent, tmp_path)
    rows = [{**r, **EXTRA} for r in OBLASTS]
    rows[1]["miners_adult_share"] = 1.7
    _write(tmp_path / "data" / "oblasts.csv", rows)
    with pytest.raises(InputError) as err:
        load_world(tmp_path / "data")
    assert "oblasts.csv" in str(err.value) and "line 3" in str(err.value) and "miners_adult_share" in str(err.value)
    _write(tmp_path / "data" / "oblasts.csv", [{**r, **EXTRA} for r in OBLASTS])
    _write(tmp_path / "data" / "vote_shocks.csv", [{**SHOCKS[0], "kind": "referendum"}])
    with pytest.raises(InputError, match="kind must be one of"):
        load_world(tmp_path / "data")


def test_validate_scores_a_vote_measure_and_writes_its_table(tmp_path, voting):
    f = tmp_path / "t.csv"
    f.write_text(
        "date,basin,place,measure,value,low,high,kind,source,confidence\n"
        "1990-06-30,Ukrainian SSR,,vote_independence_yes,0.5,,,point,test,approx\n",
        encoding="utf-8",
    )
    res = api.validate(f, scenario=voting, reference="none", replicates=3, workers=1, out=tmp_path / "res", draw_figures=False, quiet=True)
    import pandas as pd

    t = pd.read_parquet(res.folder / "targets_check.parquet")
    assert bool(t["scored"].iloc[0]) and 0 <= t["sim_median"].iloc[0] <= 1


@pytest.mark.slow
def test_run_py_prints_the_table_and_chunking_does_not_change_it(voting, tmp_path):
    """`python run.py run` on the small world prints the vote-scale table; one process or two give the same bytes."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    outs = []
    for workers in ("1", "2"):
        args = ["run", str(voting), "--replicates", "4", "--out", str(tmp_path / workers), "--workers", workers, "--no-figures"]
        r = subprocess.run([sys.executable, str(root / "run.py"), *args], capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr
        assert "vote-scale allegiance" in r.stdout and "Ukrainian SSR: Donbas oblast" in r.stdout
        outs.append(next((tmp_path / workers).glob("small/*/vote_scale.parquet")).read_bytes())
    assert outs[0] == outs[1]


def test_the_compiled_observation_equals_the_array_form_bit_for_bit(ran):
    """`VoteTracker.observe` (compiled) against the array form it replaced, on random committees, over days and a fork."""
    sc, world, _, _ = ran
    rng = np.random.default_rng(3)
    r, k, days = 4, world.n_cities + world.n_basins, 120
    tr = VoteTracker(world, sc.start, days, sc.params.replace(vote_drift=0.05), r)
    hs, ever = tr.population(0)[:, tr.town_key].copy(), np.zeros((r, world.n_cities), dtype=bool)
    rep = np.full((days, r, len(REPUBLICS)), np.nan)
    for d in range(days):
        active, alleg = rng.random((r, k)) < 0.3, rng.random((r, k))
        tr.observe(d, active, alleg)
        pop = tr.population(d)
        act, pt = active[:, : world.n_cities], pop[:, tr.town_key]
        ever |= act
        hs = np.where(act, alleg[:, : world.n_cities], np.where(ever, hs + tr.drift[:, None] * (pt - hs), pt))
        total = np.asarray(tr._mat @ hs.T).T
        m = np.where(tr.workforce > 0, total / np.maximum(tr.workforce, 1e-300), pop)
        assert np.array_equal(tr.M[d], m) and np.array_equal(tr.hs, hs)
        rep[d] = tr.republic_total(pop + tr.weight() * (m - pop))
        if d == 60:
            assert np.array_equal(tr.rep_vote[:61], rep[:61], equal_nan=True)
            tr.set_params(sc.params.replace(vote_spill=2.0))  # days before a fork keep the parameters they ran with
    assert np.array_equal(tr.rep_vote, rep, equal_nan=True)
