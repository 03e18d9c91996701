"""`run.py calibrate` and `run.py validate` end to end (small budgets), and their bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.analysis.targets import load_targets

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ROOT / "calibration" / "targets" / "july1989.csv"


def run(args, ok=True):
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=ROOT, timeout=1200)
    if ok:
        assert r.returncode == 0, r.stderr[-3000:]
    return r


def test_calibrate_small_budget_writes_posterior_predictive_and_figures(tmp_path):
    """The default calibration is stage 2 (1989-1990), fitted given stage 1: its combined posterior keeps stage 1's rows."""
    out = tmp_path / "res"
    run(["calibrate", "--budget", "small", "--population", "16", "--generations", "2", "--predictive", "12", "--out", str(out), "--quiet"])
    (folder,) = [p for p in (out / "calibration").iterdir() if not p.name.startswith(".")]
    stage = pd.read_parquet(folder / "posterior_stage.parquet")
    assert len(stage) == 16 and abs(stage["weight"].sum() - 1) < 1e-9
    assert {"cost_rate", "k_call", "dissolve"} <= set(stage.columns) and "w_city" not in stage.columns
    post = pd.read_parquet(folder / "posterior.parquet")
    first = pd.read_parquet(ROOT / "calibration" / "fitted" / "posterior_july1989.parquet")
    assert len(post) == len(first)  # every stage-1 row, unchanged, with a stage-2 particle attached
    pd.testing.assert_frame_equal(post[list(first.columns)], first)
    assert set(post["cost_rate"]) <= set(stage["cost_rate"])
    pops = pd.read_parquet(folder / "populations.parquet")
    assert list(pops["population"]) == [0, 1] and (pops["epsilon"].diff().dropna() <= 0).all()
    check = pd.read_parquet(folder / "targets_check.parquet")
    rows = load_targets(ROOT / "calibration" / "targets" / "1989_1990.csv")  # every row of the stage's targets file is scored
    assert check["scored"].sum() == len(rows) == len(check) and check.loc[check["scored"], "replicates"].eq(12).all()
    for fig in ("posterior_predictive", "marginal_posteriors"):
        assert (folder / "figures" / f"{fig}.png").is_file() and (folder / "figures" / f"{fig}.svg").is_file()
    man = json.loads((folder / "manifest.json").read_text())
    assert man["budget"]["population"] == 16 and (folder / "abc.db").is_file()
    assert [p["population"] for p in man["populations"]] == [0, 1]  # acceptance and ESS by population (issue 28)
    assert [p["ess"] for p in man["populations"]] == [round(v, 1) for v in pops["ess"]] and man["final_ess"] == round(
        pops["ess"].iloc[-1], 1
    )
    assert all(0 < p["acceptance"] <= 1 for p in man["populations"])
    assert man["given_posterior"] == "calibration/fitted/posterior_july1989.parquet"
    assert not (ROOT / "calibration" / "fitted" / "posterior.parquet").stat().st_mtime > folder.stat().st_mtime  # no --install


def test_validate_prints_the_table_and_writes_it(tmp_path):
    out = tmp_path / "res"
    r = run(["validate", "--targets", str(TARGETS), "--replicates", "8", "--out", str(out)])
    assert "inside the 90% band" in r.stdout and "not scored" in r.stdout
    (folder,) = [p for p in (out / "validate").iterdir() if not p.name.startswith(".")]
    check = pd.read_parquet(folder / "targets_check.parquet")
    assert len(check) == 11 and set(check["verdict"]) <= {f"inside {b}%{u}" for b in (50, 90) for u in ("", " (uninformative)")} | {
        "outside",
        "not scored",
    }
    assert "weighted interval score" in r.stdout and "prior predictive" in r.stdout  # the skill against the reference
    ref = pd.read_parquet(folder / "reference_check.parquet")
    assert len(ref) == 11 and ref["wis"].notna().sum() == check["wis"].notna().sum() == 10
    assert (folder / "figures" / "validation.png").is_file()
    man = json.loads((folder / "manifest.json").read_text())
    assert man["parameters"] == "posterior" and man["posterior_sha256"]


def test_malformed_targets_file_is_one_line_naming_the_line(tmp_path):
    good = TARGETS.read_text(encoding="utf-8").splitlines()
    cases = {
        "missing column": [good[0].replace(",confidence", ""), *[",".join(x.split(",")[:-1]) for x in good[1:2]]],
        "bad date": [good[0], good[1].replace("1989-07-10", "10 July 1989", 1)],
        "text in a number": [good[0], good[4].replace("158,150,170", "158,about 150,170", 1)],
    }
    for name, lines in cases.items():
        f = tmp_path / f"{name.replace(' ', '_')}.csv"
        f.write_text("\n".join(lines) + "\n", encoding="utf-8")
        r = run(["validate", "--targets", str(f), "--replicates", "2", "--out", str(tmp_path / "res")], ok=False)
        assert r.returncode != 0, name
        err = r.stderr.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in r.stderr, err
        assert f.name in err and ("line" in err or "column" in err), err
    assert not (tmp_path / "res").exists() or not any((tmp_path / "res").rglob("manifest.json"))


def test_calibrate_bad_priors_is_one_line(tmp_path):
    f = tmp_path / "priors.toml"
    f.write_text(
        (ROOT / "calibration" / "priors.toml").read_text(encoding="utf-8").replace("[params.w_city]", "[params.w_citty]"), encoding="utf-8"
    )
    r = run(["calibrate", "--priors", str(f), "--out", str(tmp_path / "res")], ok=False)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "w_citty" in r.stderr
