"""Paired arms: common random numbers, forks, effects, verdicts that follow the numbers, the commands."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import experiments, report
from sim.inputs.rng import replicate_seeds
from sim.model.engine import Engine, simulate
from sim.model.scenario import load_scenario
from sim.run.runner import run_arms

ROOT = Path(__file__).resolve().parents[2]

LONG = """
name = "base"
start = "1989-07-01"
end = "1991-12-31"
data = "data"

[[events]]
kind = "seed_strike"
date = "1989-07-10"
city = "Mezhdurechensk"
count = 1

[[events]]
kind = "concession"
date = "1989-07-20"
relief = 0.15
political = 0.3
"""

NO_CONCESSIONS = """
base = "base.toml"
name = "no_concessions"

[mechanisms]
reactive_centre = false

[[events_drop]]
kind = "concession"
"""


@pytest.fixture(scope="module")
def long_small(small_dir):
    (small_dir / "base.toml").write_text(LONG, encoding="utf-8")
    (small_dir / "no_concessions.toml").write_text(NO_CONCESSIONS, encoding="utf-8")
    return load_scenario(small_dir / "base.toml"), load_scenario(small_dir / "no_concessions.toml")


def test_common_random_numbers_identical_before_the_lever(small):
    """An arm that differs only by a lever on date D has exactly the baseline's trajectories before D."""
    sc, world = small
    d = date(1989, 7, 16)
    arm = sc.with_changes(name="late_repression")
    from sim.model.interventions import Repression

    arm = arm.with_changes(events=(*arm.events, Repression(kind="repression", start=d, end=date(1989, 9, 1), level=0.8)))
    seeds = replicate_seeds(12, 5)
    a, b = simulate(world, sc, seeds), simulate(world, arm, seeds)
    k = (d - sc.start).days
    for name in a.basin_out:
        np.testing.assert_array_equal(a.basin_out[name][:k], b.basin_out[name][:k], err_msg=name)
    assert not np.array_equal(a.basin_out["strikers"][k:], b.basin_out["strikers"][k:])  # the lever acts


def test_fork_shares_history_then_parts(small):
    """With a fork, an arm whose lever acts from the start shares the reference's history up to the fork."""
    sc, world = small
    weak = sc.with_changes(params={"w_city": 6.0, "k_city": 3.0}, name="weak")
    seeds = replicate_seeds(3, 4)
    k = (date(1989, 7, 14) - sc.start).days
    shared = Engine(world, sc, seeds).run(until=k)
    forked = shared.fork(weak).run()
    ref = simulate(world, sc, seeds)
    alone = simulate(world, weak, seeds)
    np.testing.assert_array_equal(forked.basin_out["strikers"][:k], ref.basin_out["strikers"][:k])
    assert not np.array_equal(alone.basin_out["strikers"][:k], ref.basin_out["strikers"][:k])  # without the fork it differs early
    cont = Engine(world, sc, seeds).run(until=k).fork(sc).run()  # forking into the same scenario changes nothing
    np.testing.assert_array_equal(cont.basin_out["strikers"], ref.basin_out["strikers"])


def test_paired_effects_and_flips():
    out = pd.DataFrame(
        {
            "arm": ["base"] * 4 + ["x"] * 4,
            "replicate": [0, 1, 2, 3] * 2,
            "seed": [10, 11, 12, 13] * 2,
            "donbas_struck_july": [1, 1, 1, 0, 0, 1, 0, 0],
            "july_peak_strikers": [10.0, 20.0, 30.0, 40.0, 5.0, 5.0, 5.0, 5.0],
        }
    )
    e = experiments.paired_effects(out, "base").set_index("outcome")
    assert e.loc["july_peak_strikers", "mean"] == pytest.approx(20.0)
    assert e.loc["july_peak_strikers", "share_positive"] == 1.0
    assert e.loc["donbas_struck_july", "flip_off"] == pytest.approx(0.5)  # struck in the baseline, not in the arm
    assert e.loc["donbas_struck_july", "flip_on"] == 0.0
    bad = out.copy()
    bad.loc[bad["arm"] == "x", "seed"] = [1, 2, 3, 4]
    with pytest.raises(ValueError, match="not paired"):
        experiments.paired_effects(bad, "base")


META = {"command": "c", "git_commit": "g", "replicates": 6, "seed": 1, "parameters": "defaults"}


def test_verdicts_follow_the_interval():
    assert experiments.verdict(0.1, 0.3, +1) == "supported"
    assert experiments.verdict(-0.3, -0.1, +1) == "contradicted"
    assert experiments.verdict(-0.1, 0.3, +1) == "undetermined"
    assert experiments.verdict(-0.3, -0.1, -1) == "supported"


def test_thresholds_are_in_their_outcomes_units():
    """A threshold is a size in the outcome's unit: never larger than the outcome's plausible range (a unit slip would be)."""
    from sim.model.metrics import OUTCOMES

    for c in experiments.CLAIMS:
        unit = OUTCOMES[c.outcome].unit
        assert c.rope > 0 and c.rope_reason, c.key
        if unit in ("share", "index (share)") or "share" in unit:
            assert c.rope < 0.5, (c.key, unit)
        if unit.startswith("million"):
            assert c.rope <= 10, (c.key, unit)  # the 1990-91 totals are tens of millions


def test_effects_inside_the_threshold_are_negligible_and_construction_is_never_supported():
    assert experiments.verdict(0.01, 0.04, +1, rope=0.05) == "negligible"  # clearly non-zero, yet too small to matter
    assert experiments.verdict(-0.04, 0.04, -1, rope=0.05) == "negligible"
    assert experiments.verdict(0.02, 0.3, +1, rope=0.05) == "undetermined"  # might matter, might not
    assert experiments.verdict(0.06, 0.3, +1, rope=0.05) == "supported"
    assert experiments.verdict(-0.3, -0.06, +1, rope=0.05) == "contradicted"
    assert experiments.verdict(0.06, 0.3, +1, rope=0.05, construction=True) == "true by construction"


def test_a_claim_that_cannot_flip_is_reported_as_true_by_construction():
    """A claim on an outcome the arm can only lower (by construction) is judged so, with its argument in the report."""
    out = pd.DataFrame(
        {
            "arm": ["base"] * 6 + ["x"] * 6,
            "replicate": list(range(6)) * 2,
            "seed": list(range(6)) * 2,
            "july_peak_strikers": [10.0, 12.0, 11.0, 13.0, 12.0, 14.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
        }
    )
    free = experiments.Claim("free", "A claim that could have failed.", "x", "july_peak_strikers", +1, "reads", rope=1.0)
    fixed = experiments.Claim(
        "fixed",
        "A claim fixed by the rules.",
        "x",
        "july_peak_strikers",
        +1,
        "reads",
        rope=1.0,
        construction="the arm only removes strikes",
    )
    v = experiments.judge(out, "base", (free, fixed)).set_index("claim")
    assert v.loc["free", "verdict"] == "supported" and v.loc["fixed", "verdict"] == "true by construction"
    assert not v.loc["fixed", "can_flip"] and v.loc["free", "can_flip"]
    text = report.report(v.reset_index(), experiments.paired_effects(out, "base"), [], META, [])
    assert "True by construction**: the arm only removes strikes" in text and "threshold 1" in text


def test_the_posterior_probability_of_the_predicted_sign_on_a_constructed_example():
    """Pairs that drew the same posterior row are averaged first; each row counts with its share of the draws."""
    from sim.inputs.posterior import sign_share

    effects = np.array([1.0, -3.0, 2.0, 2.0, -1.0, 0.5, 4.0, -4.0])
    rows = np.array([7, 7, 3, 3, 5, 9, 2, 2])  # row 7: mean -1 (2 draws), 3: +2 (2), 5: -1 (1), 9: +0.5 (1), 2: 0 (2)
    assert sign_share(effects, rows, +1) == pytest.approx(3 / 8)  # rows 3 and 9: 3 of the 8 draws
    assert sign_share(effects, rows, -1) == pytest.approx(3 / 8)  # rows 7 and 5; row 2's mean effect of 0 counts for neither
    assert sign_share(effects, np.arange(8), +1) == pytest.approx(np.mean(effects > 0))  # one draw per row: the share of pairs
    with pytest.raises(ValueError):
        sign_share(effects, rows[:5], +1)
    out = pd.DataFrame(
        {
            "arm": ["base"] * 8 + ["x"] * 8,
            "replicate": list(range(8)) * 2,
            "seed": list(range(8)) * 2,
            "july_peak_strikers": np.concatenate([10.0 + effects, np.full(8, 10.0)]),
        }
    )
    claim = experiments.Claim("c", "A claim.", "x", "july_peak_strikers", -1, "reads", rope=1.0)
    v = experiments.judge(out, "base", (claim,), posterior_rows=rows).iloc[0]
    assert v["posterior_probability"] == pytest.approx(3 / 8) and v["share_predicted"] == pytest.approx(3 / 8)
    assert np.isnan(experiments.judge(out, "base", (claim,)).iloc[0]["posterior_probability"])  # no posterior: none
    text = report.report(
        experiments.judge(out, "base", (claim,), posterior_rows=rows), experiments.paired_effects(out, "base"), [], META, []
    )
    assert "posterior probability of the predicted sign" in text and "| 38% |" in text


def test_quick_parses_into_the_preset_and_given_options_win():
    """`thesis --quick`: 20 replicates, 8 parameter sets; anything given explicitly wins; the confirmation scales with -n."""
    import run as cli
    from sim.api.arms import thesis_options

    def resolved(*words):
        a = cli.parse(["thesis", *words])
        o, flip = thesis_options(a.quick, a.flip_points, a.flip_replicates, a.flip_confirm, None, {"replicates": a.replicates})
        return o.replicates, *flip

    assert resolved("--quick") == (20, 8, 1, 8)
    assert resolved("--quick", "-n", "40", "--flip-points", "16", "--flip-replicates", "2") == (40, 16, 2, 8)
    assert resolved() == (200, 32, 2, 32)
    assert resolved("-n", "40") == (40, 32, 2, 10)
    assert resolved("-n", "40", "--flip-confirm", "3", "--flip-points", "0") == (40, 0, 2, 3)


@pytest.mark.slow
def test_report_can_contradict_the_thesis(long_small):
    """When concessions raise trust more than efficacy, the separatism effect of concessions changes sign and so does the verdict."""
    base, arm = long_small
    claims = (
        experiments.Claim(
            "separatism_rsfsr", "concessions fuelled sovereignty demands (RSFSR)", "no_concessions", "separatism_RSFSR_1991", +1, "reads"
        ),
    )
    found = {}
    for label, ch in {
        "efficacy": {},
        "trust": {"tau_concede": 0.6, "eta_win": 0.0, "eta_rep": 0.0, "eta_far": 0.0, "persist_won": 0.0, "auth_gain": 0.0},
    }.items():
        arms = [base.with_changes(params=ch), arm.with_changes(params=ch)]
        tables, _ = run_arms(arms, 60, 5, workers=1)
        v = experiments.judge(tables.outcomes, "base", claims).iloc[0]
        found[label] = (v["mean"], v["verdict"])
    (m1, v1), (m2, v2) = found["efficacy"], found["trust"]
    assert m1 > 0 > m2, found
    assert v1 != v2 and v2 == "contradicted", found


@pytest.mark.slow
def test_compare_command_shares_seeds_and_report_is_reproducible(tmp_path, long_small):
    base, arm = long_small
    out = tmp_path / "res"

    def run(*args):
        r = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=ROOT, timeout=900)
        assert r.returncode == 0, r.stderr[-2000:]
        return r

    run("compare", base.path, arm.path, "-n", "6", "--seed", "3", "--out", str(out), "-q", "-j", "2")
    (folder,) = list((out / "compare").iterdir())
    man = json.loads((folder / "manifest.json").read_text())
    assert (
        man["seeds_shared_by_arms"] and len(man["replicate_seeds"]) == 6 and [a["name"] for a in man["arms"]] == ["base", "no_concessions"]
    )
    o = pd.read_parquet(folder / "outcomes.parquet")
    assert (o[o["arm"] == "base"]["seed"].to_numpy() == o[o["arm"] == "no_concessions"]["seed"].to_numpy()).all()
    assert (folder / "figures" / "forest_effects.png").is_file()
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "compare", base.path], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "at least two" in r.stderr


@pytest.mark.slow
def test_thesis_reports_are_identical_for_the_same_seed(tmp_path):
    """Two thesis runs with the same seed write byte-identical reports and tables; arms share seeds."""
    out = tmp_path / "res"
    for _ in range(2):  # the same command twice (the command line is part of the report)
        r = subprocess.run(
            [
                sys.executable,
                str(ROOT / "run.py"),
                "thesis",
                "-n",
                "2",
                "--seed",
                "5",
                "--out",
                str(out),
                "-q",
                "-j",
                "2",
                "--no-figures",
                "--flip-points",
                "2",
                "--flip-replicates",
                "1",
                "--flip-confirm",
                "2",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=900,
        )
        assert r.returncode == 0, r.stderr[-2000:]
    a, b = sorted((out / "thesis").iterdir())
    assert (a / "report.md").read_bytes() == (b / "report.md").read_bytes()
    assert "## Verdicts" in (a / "report.md").read_text()
    for t in ("outcomes", "effects", "verdicts"):
        pd.testing.assert_frame_equal(pd.read_parquet(a / f"{t}.parquet"), pd.read_parquet(b / f"{t}.parquet"))
    man = json.loads((a / "manifest.json").read_text())
    assert man["seeds_shared_by_arms"] and len(man["arms"]) == 12 and man["parameters"] == "posterior"
    o = pd.read_parquet(a / "outcomes.parquet")
    assert o.groupby("arm")["seed"].apply(tuple).nunique() == 1  # every arm ran the same seeds
