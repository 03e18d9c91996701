"""Sensitivity analysis: the wiring of SALib (known Sobol indices), PRIM on a known box, and the command end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import experiments, report
from sim.analysis import sensitivity as sens

ROOT = Path(__file__).resolve().parents[2]


def ishigami(values: list[dict[str, float]]) -> pd.DataFrame:
    """Ishigami's function (a = 7, b = 0.1) on [-pi, pi]^3: known Sobol indices."""
    x1, x2, x3 = (np.array([v[k] for v in values]) for k in ("x1", "x2", "x3"))
    y = np.sin(x1) + 7 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)
    return pd.DataFrame({"point": np.arange(len(values)), "ishigami": y, "x2_only": np.sin(x2)})


FACTORS = [
    sens.Factor("x1", "wage", -np.pi, np.pi, "linear", "test"),
    sens.Factor("x2", "ecology", -np.pi, np.pi, "linear", "test"),
    sens.Factor("x3", "privilege", -np.pi, np.pi, "linear", "test"),
]


def test_sobol_wiring_gives_the_known_indices_on_the_right_factors_and_groups():
    unit = sens.sobol_sample(FACTORS, 2048, seed=1)
    ys = ishigami(sens.to_values(FACTORS, unit))
    t = sens.sobol_table(FACTORS, ys, seed=1).set_index(["outcome", "parameter"])
    # Ishigami (a = 7, b = 0.1): S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244
    for p, s1, st in (("x1", 0.314, 0.558), ("x2", 0.442, 0.442), ("x3", 0.0, 0.244)):
        assert t.loc[("ishigami", p), "S1"] == pytest.approx(s1, abs=0.05), p
        assert t.loc[("ishigami", p), "ST"] == pytest.approx(st, abs=0.05), p
    assert t.loc[("ishigami", "x3"), "group"] == "privilege" and t.loc[("ishigami", "x1"), "group"] == "wage"
    # a second outcome that only x2 moves: its index lands on x2, not on its neighbours
    assert t.loc[("x2_only", "x2"), "ST"] > 0.95 and t.loc[("x2_only", "x1"), "ST"] < 0.05
    assert (t["S1_conf"] >= 0).all()


def test_morris_wiring_ranks_the_factor_that_matters():
    unit = sens.morris_sample(FACTORS, 20, seed=2)
    ys = ishigami(sens.to_values(FACTORS, unit))
    m = sens.morris_table(FACTORS, unit, ys, seed=2)
    x2 = m[m["outcome"] == "x2_only"].set_index("parameter")
    assert x2.loc["x2", "mu_star"] > 0.5 and x2.loc["x1", "mu_star"] == pytest.approx(0) and x2.loc["x3", "mu_star"] == pytest.approx(0)
    assert sens.top_factors(m[m["outcome"] == "x2_only"], 1) == ["x2"]


def test_log_factors_are_sampled_log_uniformly():
    f = [sens.Factor("k", "committees", 0.01, 1.0, "log", "test")]
    vals = [v["k"] for v in sens.to_values(f, np.array([[0.0], [0.5], [1.0]]))]
    assert vals == pytest.approx([0.01, 0.1, 1.0])


def test_prim_finds_a_known_box():
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.random((2000, 4)), columns=["a", "b", "c", "d"])
    y = ((x["a"] > 0.7) & (x["b"] < 0.4)).to_numpy()  # the flips live in a box on a and b only
    box = sens.prim(x, y)
    assert set(box["limits"]) >= {"a", "b"}
    assert box["limits"]["a"][0] == pytest.approx(0.7, abs=0.06) and box["limits"]["b"][1] == pytest.approx(0.4, abs=0.06)
    assert box["density"] > 0.8 and box["coverage"] >= 0.5
    assert sens.inside_box(x, box["limits"]).mean() == pytest.approx(box["support"])
    none = sens.prim(x, np.zeros(len(x), dtype=bool))
    assert none["limits"] == {} and none["coverage"] == 0


def test_knockout_verdicts_name_the_mechanisms_a_claim_needs():
    ko = pd.DataFrame(
        {
            "mechanism": ["none", "trust", "efficacy", "news"],
            "verdict_separatism_rsfsr": ["supported", "supported", "undetermined", "supported"],
        }
    )
    changed, kept = report.needs(ko, "separatism_rsfsr")
    assert changed == ["efficacy"] and kept == pytest.approx(2 / 3)
    assert {c[0] for c in sens.knockout_configs()} >= {"none", "trust", "efficacy", "efficacy+trust"}


@pytest.fixture(scope="module")
def sens_folder(small_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("sens")
    shutil.copytree(small_dir, root, dirs_exist_ok=True)  # a scenario names files beside it or in the repository only
    long = root / "long.toml"
    long.write_text(f'base = "{(root / "small.toml").as_posix()}"\nname = "small"\nend = "1991-12-31"\n')
    nc = root / "nc.toml"
    nc.write_text(
        f'base = "{(root / "small.toml").as_posix()}"\nname = "no_concessions"\nend = "1991-12-31"\n[[events_drop]]\nkind = "concession"\n'
    )
    out = root / "res"
    cmd = ["sensitivity", "--budget", "test", "--scenario", str(long), "--arm", str(nc), "--suite", str(long), str(nc), "--priors", ""]
    r = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *cmd, "--out", str(out), "-q", "-j", "1"], capture_output=True, text=True, timeout=900
    )
    assert r.returncode == 0, r.stderr[-3000:]
    (folder,) = [p for p in (out / "sensitivity").iterdir() if not p.name.startswith(".")]
    return folder, long, nc, out


@pytest.mark.slow
def test_sensitivity_command_writes_tables_figures_and_summary(sens_folder):
    folder, *_ = sens_folder
    for t in ("factors", "morris", "sobol", "knockouts", "robustness"):
        assert (folder / f"{t}.parquet").is_file(), t
    for f in ("morris", "sobol", "knockouts", "robustness"):
        assert (folder / "figures" / f"{f}.png").is_file() and (folder / "figures" / f"{f}.svg").is_file(), f
    m = pd.read_parquet(folder / "morris.parquet")
    assert set(m["outcome"]) >= {"july_peak_strikers", "concession_effect_RSFSR"} and set(m["group"]) >= {"wage", "contagion", "centre"}
    ko = pd.read_parquet(folder / "knockouts.parquet")
    assert list(ko["mechanism"])[:2] == ["none", "onset"] and "verdict_separatism_rsfsr" in ko
    # the knock-outs count the informative hits, as validate's headline does (they counted every hit, uninformative ones too)
    assert (ko["targets_good_90"] <= ko["targets_inside_90"]).all() and (ko["targets_scored"] > 0).all()
    assert "90% band and informative" in (folder / "summary.md").read_text()
    man = json.loads((folder / "manifest.json").read_text())
    assert set(man["robustness"]) == {"RSFSR", "Ukraine"} and "summary.md" in {p.name for p in folder.iterdir()}


@pytest.mark.slow
def test_thesis_report_reads_the_sensitivity_results_back(sens_folder, tmp_path):
    folder, long, nc, _ = sens_folder
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "compare",
            str(long),
            str(nc),
            "-n",
            "2",
            "--out",
            str(tmp_path),
            "-q",
            "-j",
            "1",
            "--no-figures",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    ko = pd.read_parquet(folder / "knockouts.parquet")
    verdicts = experiments.judge(pd.read_parquet(next((tmp_path / "compare").iterdir()) / "outcomes.parquet"), "small")
    man = json.loads((folder / "manifest.json").read_text())
    sens_info = {"folder": str(folder.name), "budget": "test", "knockouts": ko, "robustness": man["robustness"]}
    meta = {"command": "x", "git_commit": "y", "replicates": 2, "seed": 1, "parameters": "own"}
    text = report.report(
        verdicts,
        experiments.paired_effects(pd.read_parquet(next((tmp_path / "compare").iterdir()) / "outcomes.parquet"), "small"),
        [],
        meta,
        [],
        sens_info,
    )
    assert "## What each verdict rests on" in text and folder.name in text
    row = next(line for line in text.splitlines() if line.startswith("| separatism_rsfsr |"))
    changed, _ = report.needs(ko, "separatism_rsfsr")
    assert all(c in row for c in changed)
    assert "No sensitivity run was found" in report.report(verdicts, pd.DataFrame(columns=["arm", "outcome"]), [], meta, [], None)


@pytest.mark.slow
def test_thesis_finds_the_newest_sensitivity_folder_or_the_one_named(sens_folder, tmp_path):
    from sim.api.arms import sensitivity_for_report

    folder, _, _, out = sens_folder
    found = sensitivity_for_report(None, out)
    assert found["knockouts"].equals(pd.read_parquet(folder / "knockouts.parquet")) and set(found["robustness"]) == {"RSFSR", "Ukraine"}
    assert sensitivity_for_report(None, tmp_path) is None
    assert sensitivity_for_report("", out) is None
    with pytest.raises(Exception, match="not a finished sensitivity folder"):
        sensitivity_for_report(str(tmp_path), out)
