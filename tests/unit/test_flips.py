"""The search of the priors for a parameter set that reverses a claim (sim/analysis/flips.py): it finds a flip where the
structure allows one, and a claim it cannot reverse is judged true by construction, never supported."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis import experiments, flips
from sim.analysis.sensitivity import Factor, lever
from sim.run.runner import run_arms
from tests.unit.test_experiments import long_small  # noqa: F401 (fixture)

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
def test_a_claim_the_search_cannot_reverse_is_true_by_construction(long_small):  # noqa: F811
    # the arm without the first strike: the July peak of the reference can only be larger (spontaneous strikes aside),
    # whatever the parameters: the search finds no reversal, and the verdict says so instead of "supported"
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
    assert v["verdict"] == "true by construction" and not v["can_flip"] and "no parameter set of the search" in v["construction"]


def test_a_search_point_leaves_the_arms_lever_alone(long_small):  # noqa: F811
    # weak news sets `glasnost` as its lever; a point that also varies glasnost must not undo the lever in the arm
    base, _ = long_small
    weak = base.with_changes(params={"glasnost": 0.05}, name="weak")
    assert lever(weak, base) == {"glasnost"} and lever(base, base) == set()
    claim = experiments.Claim("glasnost", "news spread the strike", "weak", "july_peak_strikers", +1, "reads", rope=1.0)
    fs = [Factor("glasnost", "test", 0.5, 1.0, "linear", "test"), Factor("w_news", "test", 0.001, 0.05, "linear", "test")]
    found = flips.search(base, {"weak": weak}, (claim,), fs, points=4, replicates=2, confirm=2, seed=2, workers=1)
    assert found["share_points_predicted"].iloc[0] + found["share_points_opposite"].iloc[0] > 0  # the arms differ at every point
