"""Friction for a reader: `compare` says what the lever did, the help of `calibrate` names its default stage, and the
installed command calls itself by its own name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import run
from sim.api.arms import ArmsResult, versus

ROOT = Path(__file__).resolve().parents[2]


def _effect(arm: str, outcome: str, mean: float, lo: float, hi: float) -> pd.Series:
    return pd.Series({"arm": arm, "outcome": outcome, "mean": mean, "mean_lo": lo, "mean_hi": hi})


def test_compare_states_the_effect_of_the_lever_with_its_sign():
    """`python run.py compare scenarios/baseline.toml scenarios/no_concessions.toml` printed "baseline minus arm ...
    -218,894 persons", which a reader had to invert: it now says what the lever did, with the signed number and its definition."""
    line = versus(_effect("no_concessions", "july_peak_strikers", -218_894.0, -290_000.0, -150_000.0), "baseline")
    assert line.startswith("no_concessions: the lever lowered peak strikers, July-August 1989 by 218,894 persons")
    assert "effect of the lever = baseline minus no_concessions = -218,894" in line
    assert "90% bootstrap interval -290,000 to -150,000" in line
    raised = versus(_effect("weak_news", "separatism_Ukraine_1991", 0.12, 0.05, 0.2), "baseline")
    assert "the lever raised separatism index" in raised and "= +0.12" in raised and "interval +0.05 to +0.2" in raised
    res = ArmsResult(
        Path("results/x"),
        reference="baseline",
        arms=2,
        replicates=20,
        effects=pd.DataFrame([_effect("a", "july_peak_strikers", 1.0, 0.5, 2.0)]),
    )
    assert "positive means the historical lever" in res.text()  # the one wording, said once above the lines


def test_compare_and_thesis_print_the_same_words():
    eff = pd.DataFrame([_effect("no_concessions", "july_peak_strikers", -218_894.0, -290_000.0, -150_000.0)])
    res = ArmsResult(Path("results/x"), reference="baseline", arms=2, replicates=20, effects=eff)
    said = res.text().splitlines()[-1].strip()
    verdicts = eff.assign(claim="concessions_calm", verdict="supported")
    thesis = ArmsResult(Path("results/x"), reference="baseline", arms=2, replicates=20, effects=eff, verdicts=verdicts)
    assert said in thesis.text() and "supported" in thesis.text()
    alone = versus(_effect("(baseline alone)", "donbas_minus_kuzbass_political_1990", 0.3, 0.2, 0.4), "baseline")
    assert alone.startswith("Donbas minus Kuzbass political demands, 1990: +0.3 share in baseline")


def test_the_parser_takes_the_invoked_name():
    assert run.build_parser("miners-strike").format_usage().startswith("usage: miners-strike")
    assert run.build_parser().format_usage().startswith("usage: run.py")


@pytest.mark.slow
def test_installed_command_help_says_its_own_name_and_calibrate_its_default_stage():
    """`miners-strike --help` printed `usage: run.py`; `calibrate --help` said July 1989 though stage 2 is the default."""
    exe = Path(sys.executable).parent / "miners-strike"
    if not exe.exists():
        pytest.skip("the package is not installed as a command in this environment")
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("usage: miners-strike"), r.stdout[:200]
    bad = subprocess.run([str(exe), "run", "--bogus"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("miners-strike: error:")
    top = subprocess.run([sys.executable, "run.py", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert top.stdout.startswith("usage: run.py")
    words = " ".join(top.stdout.split())
    summary = words[words.index(" calibrate fit") : words.index(" validate ")]
    assert "July 1989" not in summary and "stage 2" in summary, summary
    cal = subprocess.run([sys.executable, "run.py", "calibrate", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "July 1989 targets" not in cal.stdout and "stage 2" in " ".join(cal.stdout.split())
