"""The data tables: sources on every row, totals kept, mines.csv up to date with its rule."""

import csv
from pathlib import Path

import numpy as np
import pytest

from sim.inputs.datafiles import load_inputs
from sim.inputs.network import _apportion, derive_mines

DATA = Path(__file__).resolve().parents[2] / "scenarios" / "data"


def rows(name):
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_row_has_a_source():
    for name, cols in (
        ("basins.csv", ["source", "plants_source"]),
        ("cities.csv", ["source"]),
        ("movements.csv", ["source"]),
        ("mines.csv", ["source"]),
        ("grievances.csv", ["wage_source", "ecology_source", "privilege_source", "ethnic_gap_source", "paternalism_source"]),
    ):
        for i, r in enumerate(rows(name), start=2):
            for c in cols:
                assert r[c].strip(), f"{name} line {i}: empty {c}"


def test_mines_csv_is_what_the_rule_derives():
    t = load_inputs(DATA)
    derived = derive_mines(t["basins"], t["cities"])
    committed = rows("mines.csv")
    assert len(derived) == len(committed)
    for d, c in zip(derived, committed, strict=True):
        assert (d["name"], d["basin"], d["city"], d["kind"], str(d["workforce"])) == (
            c["name"],
            c["basin"],
            c["city"],
            c["kind"],
            c["workforce"],
        )


def test_derivation_keeps_basin_totals_and_known_town_counts():
    t = load_inputs(DATA)
    mines = derive_mines(t["basins"], t["cities"])
    for b in t["basins"]:
        ms = [m for m in mines if m["basin"] == b["basin"]]
        assert sum(m["kind"] == "underground" for m in ms) == b["mines_underground"]
        assert sum(m["kind"] == "open_pit" for m in ms) == b["open_pits"]
        assert sum(m["kind"] == "plant" for m in ms) == b["plants"]
        assert sum(m["workforce"] for m in ms) == b["workforce"]
    for c in t["cities"]:
        if not np.isnan(c["mines_known"]):
            n = sum(m["kind"] == "underground" and m["city"] == c["city"] and m["basin"] == c["basin"] for m in mines)
            assert n == c["mines_known"], c["city"]
    assert 900 <= len(mines) <= 1300  # several hundred mines and pits plus other enterprises


def test_apportion_is_exact_and_proportional():
    out = _apportion(10, np.array([1.0, 1.0, 2.0]))
    assert out.sum() == 10 and out.tolist() in ([3, 2, 5], [2, 3, 5])
    assert _apportion(0, np.array([1.0, 2.0])).tolist() == [0, 0]


@pytest.mark.slow
def test_readme_parameter_table_is_current():
    import subprocess
    import sys

    root = DATA.parents[1]
    table = subprocess.run([sys.executable, str(root / "run.py"), "params"], capture_output=True, text=True, check=True).stdout
    readme = (root / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- params:start -->") + len("<!-- params:start -->")
    end = readme.index("<!-- params:end -->")
    assert readme[start:end].strip() == table.strip(), "README parameter table is stale: run `python run.py params --readme`"


def test_no_1991_vote_sets_a_movement_strength():
    """What voters did in 1991 (referendums, popular elections) is the forecast, never an input: no movements.csv row reads one."""
    root = Path(__file__).resolve().parents[2]
    rows = list(csv.DictReader((root / "scenarios" / "data" / "movements.csv").open(encoding="utf-8")))
    assert len(rows) > 20
    for r in rows:
        if r["date"] >= "1991-01-01":
            event = r["event"].lower()
            assert not any(w in event for w in ("referendum", "presidential election", "% yes", "elected rsfsr president")), r
        # no value of 1989-1990 set from a 1991 vote either (a source may name one only to say it is not used)
        source = r["source"].lower()
        assert "measured in march 1991" not in source and ("1991 referendum" not in source or "may not use" in source), r
