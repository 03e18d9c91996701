"""`explain`: the terms of each decision add up to the hazard and probability the decision used (sim/analysis/explain.py)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from sim.analysis import explain
from sim.inputs.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def _check_adds_up(ex: explain.Explanation) -> set[str]:
    kinds = set()
    for _, r in ex.enterprises.iterrows():
        kinds.add(r["decision"])
        if r["decision"] == "onset":
            z = 0.0
            for t in explain.READINESS_TERMS[:-1]:
                z = z + r[t]
            z = z + r["z_cost"]
            assert z == r["z"] and r["readiness"] == 1.0 / (1.0 + math.exp(-z))
            assert explain.onset_hazard(r) == r["hazard"]
            p = 0.0 if r["held_by_return_order"] else 1.0 - math.exp(-r["readiness"] * r["hazard"])
        else:
            lam = 0.0
            for t in explain.RETURN_TERMS:
                lam = lam + r[t]
            assert lam == r["hazard"]
            p = 1.0 - math.exp(-lam)
        assert p == r["probability"] and bool(r["acted"]) == (r["draw"] < p)
    return kinds


def test_terms_add_up_to_the_hazard_the_decision_used(small):
    sc, world = small
    town = world.city_names[int(world.city[0])]
    seen = set()
    for day in (date(1989, 7, 12), date(1989, 7, 16), date(1989, 7, 24)):
        ex = explain.explain(sc, day, town, replicate=1)
        assert len(ex.enterprises) == int((world.city == world.city_names.index(town)).sum())
        seen |= _check_adds_up(ex)
        assert set(ex.committees["committee"]) == {f"town: {town}", f"basin: {world.basin_names[int(world.city_basin[0])]}"}
    assert seen == {"onset", "return"}  # both kinds of decision were explained


def test_explain_names_a_bad_town_or_date(small):
    sc, _ = small
    with pytest.raises(InputError, match="no town 'Atlantis'"):
        explain.explain(sc, date(1989, 7, 12), "Atlantis")
    with pytest.raises(InputError, match="outside the scenario"):
        explain.explain(sc, date(1995, 1, 1), sc.events[0].city if hasattr(sc.events[0], "city") else "x")


@pytest.mark.slow
def test_explain_command_answers_in_words_and_draws_them(tmp_path):
    """The README's example: once 21 columns, 300 characters wide, probabilities as 9.5e-06, on a day nothing happened."""
    r = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "explain", "scenarios/baseline.toml", "--date", "1989-07-15", "--town", "Prokopyevsk",
         "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Prokopyevsk, 15 July 1989: replicate 0 of baseline")
    assert re.search(r"\b\d+ of the \d+ enterprises at work struck on 15 July 1989, mainly because of", r.stdout.replace("\n  ", " "))
    assert "The town committee (Prokopyevsk)" in r.stdout and "The basin committee (Kuzbass)" in r.stdout
    assert max(len(line) for line in lines) <= 100
    assert "z_grievance" not in r.stdout and "e-0" not in r.stdout and "contagion_town" not in r.stdout
    (folder,) = (tmp_path / "explain").iterdir()
    assert (folder / "figures" / "explain.png").is_file() and (folder / "enterprises.parquet").is_file()
    bad = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "explain", "scenarios/baseline.toml", "--date", "1989-07-12", "--town", "Prokopevsk",
         "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1 and "Prokopevsk" in bad.stderr
