"""Validation counts informative hits: interval rows judged by their figure, one uninformative rule, the headline."""

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from sim.analysis.targets import headline, load_targets, score, target_areas
from sim.api.common import counted, scores_text
from sim.run.runner import world_for

ROOT = Path(__file__).resolve().parents[2]
HEADER = "date,basin,place,measure,value,low,high,kind,source,confidence\n"
WORLD = world_for(ROOT / "scenarios" / "data")
START = date(1989, 7, 10)


def scored(tmp_path, body, mines, strikers=lambda a, r, i: 1000 * (r + 1), days=5, series=False):
    """Score `body` against 10 replicates: mines(area, replicate, day) enterprises and strikers(...) persons on strike.

    With `series`, also the simulated table (the run's `target_series`).
    """
    p = tmp_path / "t.csv"
    p.write_text(HEADER + body, encoding="utf-8")
    ts = load_targets(p)
    areas, _, _ = target_areas(ts, WORLD)
    rows = [
        {"replicate": r, "date": d, "area": a.label, "mines_on_strike": mines(a, r, i), "strikers": strikers(a, r, i), "allegiance": 0.0}
        for a in areas
        for r in range(10)
        for i, d in enumerate(pd.date_range(START, periods=days))
    ]
    out = score(ts, pd.DataFrame(rows), WORLD, START).set_index("line")
    return (out, pd.DataFrame(rows)) if series else out


def test_an_interval_row_is_judged_by_its_figure_not_by_touching_the_band(tmp_path):
    """Mezhdurechensk, 12 July 1989: 12,000 (10,000-14,000) above the 95th percentile is outside, though the range overlaps."""
    s = scored(
        tmp_path,
        "1989-07-12,Kuzbass,,strikers,9800,9000,11000,interval,s,high\n"  # the value given, above the band's 9,550
        "1989-07-12,Kuzbass,,strikers,,4000,6000,interval,s,high\n"  # midpoint 5,000: inside the 25-75% band
        "1989-07-12,Kuzbass,,strikers,,9000,20000,interval,s,high\n"  # midpoint 14,500: above the band, which touches the range
        "1989-07-12,Pechora,,mines_on_strike,,0,2,interval,s,high\n",  # every replicate 0: the band lies within the range
        mines=lambda a, r, i: 0 if a.label == "Pechora" else 5,
    )
    assert s.loc[2, "sim_p95"] == pytest.approx(9550)
    assert not s.loc[2, "inside_90"] and s.loc[2, "overlap_90"]
    assert s.loc[3, "inside_50"] and s.loc[3, "inside_90"]
    assert not s.loc[4, "inside_90"] and s.loc[4, "overlap_90"]
    assert s.loc[5, "inside_90"] and s.loc[5, "inside_50"] and s.loc[5, "informative"]


def test_one_uninformative_rule_for_counts_of_mines_and_of_strikers(tmp_path):
    """Donetsk oblast, 21 July 1989: mines 110 [0 to 225] and strikers 90,000 [0 to 207,000] are both uninformative."""
    s = scored(
        tmp_path,
        "1989-07-12,Donbas,,mines_on_strike,,100,121,interval,s,approx\n"
        "1989-07-12,Donbas,,strikers,,80000,100000,interval,s,approx\n"
        "1989-07-12,Kuzbass,,strikers,,4000,6000,interval,s,high\n",  # a band from 1,450 up: says something
        mines=lambda a, r, i: 28 * max(r - 1, 0),  # two replicates with none: the band reaches 0
        strikers=lambda a, r, i: 26000 * max(r - 1, 0) if a.label == "Donbas" else 1000 * (r + 1),
    )
    assert s.loc[[2, 3], "inside_90"].all()
    assert not s.loc[2, "informative"] and not s.loc[3, "informative"]
    assert "reaches 0" in s.loc[2, "uninformative_why"] and "reaches 0" in s.loc[3, "uninformative_why"]
    assert s.loc[4, "informative"] and s.loc[4, "uninformative_why"] == ""


def test_an_event_that_often_never_happens_is_uninformative(tmp_path):
    """A first strike on the day in 8 replicates and never in 2: the band ignores the 2, so the hit says little."""
    s = scored(
        tmp_path,
        "1989-07-11,Pechora,,first_strike,1,,,event,s,high\n1989-07-11,Karaganda,,first_strike,1,,,event,s,high\n",
        mines=lambda a, r, i: 0 if (i < 1 or (a.label == "Pechora" and r < 2)) else 3,
    )
    assert s.loc[2, "inside_90"] and not s.loc[2, "informative"] and "never happens in 20%" in s.loc[2, "uninformative_why"]
    assert s.loc[3, "inside_90"] and s.loc[3, "informative"]


def test_the_headline_counts_informative_hits_and_lists_the_rest(tmp_path):
    s = scored(
        tmp_path,
        "1989-07-12,Donbas,,mines_on_strike,,100,121,interval,s,approx\n"  # inside, uninformative
        "1989-07-12,Kuzbass,,strikers,,4000,6000,interval,s,high\n"  # inside, informative
        "1989-07-12,Kuzbass,,strikers,9800,9000,11000,interval,s,high\n",  # outside (overlaps)
        mines=lambda a, r, i: 28 * max(r - 1, 0),
    ).reset_index()
    assert headline(s).startswith("1 of 3 scored targets inside the 90% band and informative")
    assert "1 inside but uninformative, 1 outside" in headline(s)
    assert "by the overlap rule for intervals: 3 inside the 90% band" in headline(s)
    text = scores_text(s)
    assert "9,800 (9,000-11,000)" in text  # the figure judged, with its range
    assert "inside the 90% band but uninformative" in text
    assert re.search(r"1989-07-12 Donbas mines_on_strike: the band reaches 0", text)


def test_a_quantile_between_replicates_is_not_shown_as_zero():
    """`12 [0 to 37]  NO` for a row at 0 read as a contradiction: the band began at 0.45."""
    assert [counted(v) for v in (0.45, 8.4, 12.0, 207_708.0, 0.0)] == ["0.45", "8.4", "12", "207,708", "0"]


@pytest.mark.slow
def test_validate_command_headline_counts_informative_hits(tmp_path):
    """`python run.py validate --targets calibration/targets/1989_1990.csv -n 20` once called every hit a hit (23 of 23)."""
    out = subprocess.run(
        [sys.executable, "run.py", "validate", "--targets", "calibration/targets/1989_1990.csv", "-n", "20", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert out.returncode == 0, out.stderr
    n = len(load_targets(ROOT / "calibration" / "targets" / "1989_1990.csv"))  # every row of the file is scored
    m = re.search(
        rf"^(\d+) of {n} scored targets inside the 90% band and informative .*; (\d+) inside but uninformative, (\d+) outside",
        out.stdout,
        re.M,
    )
    assert m, out.stdout
    good, bad, outside = map(int, m.groups())
    assert good + bad + outside == n and bad > 0 and good < n
    assert "inside the 90% band but uninformative" in out.stdout
    assert "skill" in out.stdout  # the skill against the prior predictive stays


def test_the_validation_figure_marks_uninformative_hits_and_counts_informative_ones(tmp_path):
    from sim.figures.figures import _target_series
    from sim.figures.plots import close
    from sim.figures.plots_analysis import plot_targets

    s, ser = scored(
        tmp_path,
        "1989-07-12,Donbas,,mines_on_strike,,100,121,interval,s,approx\n1989-07-12,Kuzbass,,strikers,,4000,6000,interval,s,high\n",
        mines=lambda a, r, i: 28 * max(r - 1, 0),
        series=True,
    )
    s = s.reset_index()
    fig = plot_targets(s, _target_series(s, ser), "baseline", 10, "Validation on t.csv")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert any("Donbas" in t and "UNINFORMATIVE: the band reaches 0" in t for t in titles), titles
    assert any("Kuzbass" in t and "UNINFORMATIVE" not in t for t in titles), titles
    assert "1 of 2 inside the 90% band and informative, 1 inside but uninformative, 0 outside" in fig._suptitle.get_text()
    close(fig)
