"""The search of the priors for a parameter set that reverses a claim (sim/analysis/flips.py): it finds a flip where the
structure allows one, a claim it cannot reverse keeps the label its numbers give (the search is reported beside it),
and it costs what is asked (runs counted)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from sim.analysis import experiments, flips, report
from sim.analysis.sensitivity import Factor, lever
from sim.api.arms import QUICK
from sim.run.runner import run_arms
from tests.unit.test_experiments import META, long_small  # noqa: F401 (fixture)

SEPARATISM = experiments.Claim(
    "separatism_rsfsr", "concessions fuelled sovereignty demands (RSFSR)", "no_concessions", "separatism_RSFSR_1991", +1, "reads", rope=0.01
)
# the efficacy channel (a concession raises efficacy, which raises escalation) against the trust channel (a concession
# may raise trust, which lowers it): each over a range from off to strong, so the search can find either winning
FACTORS = [
    Factor("tau_concede", "test", -0.6, 0.6, "linear", "test"),
    Factor("eta_win", "test", 0.0, 1.0, "linear", "test"),
    Factor("eta_rep", "test", 0.0, 1.0, "linear", "test"),
    Factor("eta_far", "test", 0.0, 1.0, "linear", "test"),
    Factor("persist_won", "test", 0.0, 1.0, "linear", "test"),
    Factor("auth_gain", "test", 0.0, 0.006, "linear", "test"),
]


def test_latin_hypercube_fills_every_stratum_once():
    u = flips.latin_hypercube(10, 3, seed=4)
    assert u.shape == (10, 3) and ((u >= 0) & (u < 1)).all()
    for d in range(3):
        assert sorted((u[:, d] * 10).astype(int)) == list(range(10))
    assert np.array_equal(u, flips.latin_hypercube(10, 3, seed=4))


@pytest.mark.slow
def test_search_shows_a_flip_where_the_structure_allows_one(long_small):  # noqa: F811
    base, arm = long_small
    found = flips.search(base, {"no_concessions": arm}, (SEPARATISM,), FACTORS, points=12, replicates=3, confirm=24, seed=3, workers=1)
    (row,) = found.itertuples()
    assert row.share_points_opposite > 0 and row.flip_shown, row
    assert row.confirm_hi < 0 and "tau_concede" in row.point  # the flip is confirmed on fresh replicates and the point is named
    tables, _ = run_arms([base, arm], 20, 5, workers=1)
    v = experiments.judge(tables.outcomes, "base", (SEPARATISM,), flips=found).iloc[0]
    assert v["can_flip"] and v["verdict"] != "true by construction" and "sign flips at" in v["flip_evidence"]


@pytest.mark.slow
def test_a_claim_the_search_cannot_reverse_keeps_the_label_its_numbers_give(long_small):  # noqa: F811
    # the arm without the first strike: the July peak of the reference can only be larger (spontaneous strikes aside),
    # whatever the parameters: the search finds no reversal, and says so, but the label is the one the paired effects
    # give, with the search or without it (issue 30: "true by construction" with the search, "supported" without)
    base, _ = long_small
    quiet = base.with_changes(params={"spark": 0.0}, name="quiet")
    ref = base.with_changes(params={"spark": 0.0})
    no_seed = quiet.with_changes(events=[e for e in quiet.events if type(e).__name__ != "SeedStrike"])
    claim = experiments.Claim("first", "the first strike made the wave", "quiet", "july_peak_strikers", +1, "reads", rope=100.0)
    found = flips.search(ref, {"quiet": no_seed}, (claim,), FACTORS[:3], points=6, replicates=2, confirm=6, seed=1, workers=1)
    (row,) = found.itertuples()
    assert row.share_points_predicted == 1.0 and not row.flip_shown
    tables, _ = run_arms([ref, no_seed], 12, 5, workers=1)
    v = experiments.judge(tables.outcomes, "base", (claim,), flips=found).iloc[0]
    alone = experiments.judge(tables.outcomes, "base", (claim,)).iloc[0]
    assert v["verdict"] == alone["verdict"] == "supported" and v["can_flip"] and v["construction"] == ""
    assert "none gives the opposite sign" in v["flip_evidence"] and alone["flip_evidence"] == ""
    text = report.report(v.to_frame().T, experiments.paired_effects(tables.outcomes, "base"), [], META, [])
    assert "not found: no searched set gives the opposite sign" in text


class Counted:
    """Engine, counting the runs (replicates) it is asked for and the days each batch runs."""

    def __init__(self, engine):
        self.engine, self.runs, self.ends = engine, 0, []

    def __call__(self, world, scenario, seeds, params=None, **kw):
        self.runs += len(seeds)
        self.ends.append((scenario.name, scenario.end))
        return self.engine(world, scenario, seeds, params, **kw)


@pytest.mark.slow
def test_the_search_costs_what_is_asked(long_small, monkeypatch):  # noqa: F811
    # counted, not timed: the screening makes points x (arms + 1) x replicates runs, the confirmation at most one round per
    # candidate (one per 8 points) of `confirm` runs for the reference and for the arm; an arm about July 1989 stops in August
    base, arm = long_small
    weak = base.with_changes(params={"glasnost": 0.05}, name="weak")
    claims = (SEPARATISM, experiments.Claim("glasnost", "news spread it", "weak", "july_peak_strikers", +1, "reads", rope=1.0))
    got = {}
    quick = tuple(QUICK[k] for k in ("flip_points", "flip_replicates", "flip_confirm"))  # `thesis --quick`'s search: (8, 1, 8)
    for points, replicates, confirm in ((8, 1, 3), (16, 1, 3), (8, 2, 3), quick):
        counter = Counted(flips.Engine)
        monkeypatch.setattr(flips, "Engine", counter)
        found = flips.search(base, {"no_concessions": arm, "weak": weak}, claims, FACTORS, points, replicates, confirm, seed=3, workers=1)
        screen, conf = int(found["runs_screen"].iloc[0]), int(found["runs_confirm"].iloc[0])
        assert screen + conf == counter.runs and screen == points * 3 * replicates  # 3: the reference and two arms
        rounds = flips.candidates_for(points)
        assert conf % confirm == 0 and conf <= rounds * 2 * len(claims) * confirm  # per round: a reference and an arm per claim
        assert found["candidates"].max() <= rounds and (found["confirm_replicates"] == confirm).all()
        assert {end for name, end in counter.ends if name == "weak"} == {date(1989, 8, 31)}  # the July claim's arm stops in August
        assert {end for name, end in counter.ends if name != "weak"} == {base.end}
        got[points, replicates, confirm] = screen, conf
    assert (
        got[16, 1, 3][0] == 2 * got[8, 1, 3][0] == 2 * got[quick][0] == got[8, 2, 3][0]
    )  # twice the points or replicates: twice the screening
    assert flips.candidates_for(8) == 1 < flips.candidates_for(16) == 2 < flips.candidates_for(128) == 3
    assert [flips.confirm_for(n) for n in (2, 20, 60, 200, 1000)] == [8, 8, 15, 32, 32]  # scaled to the replicates asked


def test_a_search_point_leaves_the_arms_lever_alone(long_small):  # noqa: F811
    # weak news sets `glasnost` as its lever; a point that also varies glasnost must not undo the lever in the arm
    base, _ = long_small
    weak = base.with_changes(params={"glasnost": 0.05}, name="weak")
    assert lever(weak, base) == {"glasnost"} and lever(base, base) == set()
    claim = experiments.Claim("glasnost", "news spread the strike", "weak", "july_peak_strikers", +1, "reads", rope=1.0)
    fs = [Factor("glasnost", "test", 0.5, 1.0, "linear", "test"), Factor("w_news", "test", 0.001, 0.05, "linear", "test")]
    found = flips.search(base, {"weak": weak}, (claim,), fs, points=4, replicates=2, confirm=2, seed=2, workers=1)
    assert found["share_points_predicted"].iloc[0] + found["share_points_opposite"].iloc[0] > 0  # the arms differ at every point


def test_the_search_says_how_the_sign_depends_on_the_counter_mechanisms():
    fs = [
        Factor("court", "t", 0, 1, "linear", "t"),
        Factor("x", "t", 0, 1, "linear", "t"),
        Factor("tau_refuse", "t", 0, 0.3, "linear", "t"),
    ]
    unit = np.array([[0.1, 0.9, 0.2], [0.4, 0.1, 0.3], [0.8, 0.5, 0.9], [0.7, 0.5, 0.6], [0.6, 0.5, 0.6], [0.2, 0.5, 0.7]])
    eff = np.array([1.0, 2.0, -1.0, -0.5, 0.3, -2.0])  # weak (rows 0, 1): both predicted; strong (rows 2-4): one of three
    said = flips.counters_split(fs, unit, eff)
    assert "(court, tau_refuse)" in said and "100% of the 2 with them all in the lower half" in said
    assert "33% of the 3 with them all in the upper half" in said
    assert flips.counters_split(fs[1:2], unit[:, 1:2], eff) == ""  # the search did not vary them
