"""Targets files: loading errors name the line; scoring resolves basins, towns and oblasts."""

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.targets import Target, load_targets, resolve, score, target_areas, weighted_interval_score
from sim.inputs.errors import InputError
from sim.run.runner import world_for

ROOT = Path(__file__).resolve().parents[2]
HEADER = "date,basin,place,measure,value,low,high,kind,source,confidence\n"


def write(tmp_path, body, header=HEADER):
    p = tmp_path / "t.csv"
    p.write_text(header + body, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("body", "header", "needle"),
    [
        ("1989-07-15,Kuzbass,,strikers,1,,,point,s,high\n", "date,basin,measure,value,low,high,kind,source,confidence\n", "line 1"),
        ("1989-07-35,Kuzbass,,strikers,1,,,point,s,high\n", HEADER, "line 2"),
        ("1989-07-15,Kuzbass,,strikers,many,,,point,s,high\n1989-07-15,Kuzbass,,strikers,1,,,point,s,high\n", HEADER, "line 2"),
        ("1989-07-15,Kuzbass,,strikers,1,,,point,s,high\n1989-07-15,Kuzbass,,strikers,,,,point,s,high\n", HEADER, "line 3"),
        ("1989-07-15,Kuzbass,,strikers,1,5,2,interval,s,high\n", HEADER, "line 2"),
        ("1989-07-15,Kuzbass,,strikers,1,,,guess,s,high\n", HEADER, "kind"),
    ],
)
def test_bad_targets_name_the_line(tmp_path, body, header, needle):
    with pytest.raises(InputError) as exc:
        load_targets(write(tmp_path, body, header))
    assert "t.csv" in str(exc.value) and needle in str(exc.value)


def test_committed_targets_load():
    ts = load_targets(ROOT / "calibration" / "targets" / "july1989.csv")
    assert len(ts) >= 10 and {t.kind for t in ts} == {"point", "interval", "event"}


WORLD = world_for(ROOT / "scenarios" / "data")
START = date(1989, 7, 10)


def fake_series(targets, fn, days=5):
    """Area series for the areas of `targets`: fn(area, replicate, day index) enterprises on strike, 10 replicates."""
    areas, _, _ = target_areas(targets, WORLD)
    dates = pd.date_range(START, periods=days)
    return pd.DataFrame(
        [
            {"replicate": r, "date": d, "area": a.label, "mines_on_strike": fn(a, r, i), "strikers": 1000 * (r + 1), "allegiance": 0.1 * r}
            for a in areas
            for r in range(10)
            for i, d in enumerate(dates)
        ]
    )


def test_score_quantiles_bands_and_resolution(tmp_path):
    p = write(
        tmp_path,
        "1989-07-12,Kuzbass,,mines_on_strike,55,,,point,s,high\n"
        "1989-07-12,Kuzbass,,mines_on_strike,500,400,600,interval,s,high\n"
        "1989-07-12,Kuzbass,Mezhdurechensk (a mine),mines_on_strike,5,,,point,s,high\n"
        "1989-07-12,Kuzbass,Kemerovo oblast,mines_on_strike,11,,,point,s,high\n"
        "1989-07-12,Kuzbass,Tashtagol,mines_on_strike,1,,,point,s,high\n"
        "1989-07-10,Kuzbass,,first_strike,1,,,event,s,high\n"
        "1989-07-12,Kuzbass,,event_x,1,,,event,s,high\n"
        "1989-07-12,Kuzbass,,allegiance,,0.3,0.6,interval,s,high\n",
    )
    ts = load_targets(p)
    s = score(ts, fake_series(ts, lambda a, r, i: 10 * (r + 1) if len(a.towns) > 1 else r + 1), WORLD, START).set_index("line")
    assert s.loc[2, "sim_median"] == 55 and s.loc[2, "inside_50"] and s.loc[2, "within_1.5x"]
    assert np.isclose(s.loc[2, "sim_p05"], np.quantile(np.arange(1, 11) * 10, 0.05))  # "90% band" = 5-95%
    assert np.isclose(s.loc[2, "sim_p75"], np.quantile(np.arange(1, 11) * 10, 0.75))
    assert not s.loc[3, "inside_90"]
    assert s.loc[4, "sim_median"] == 5.5  # one town: replicate r has r + 1 enterprises out
    assert s.loc[5, "area"] == "Kuzbass" and s.loc[5, "sim_median"] == 55  # the oblast: all 13 towns, the same area as the basin
    assert not s.loc[6, "scored"] and "not a town" in s.loc[6, "reason"]
    assert s.loc[7, "sim_median"] == 0  # first strike on the target day
    assert not s.loc[8, "scored"] and "not a model output" in s.loc[8, "reason"]
    assert np.isclose(s.loc[9, "sim_median"], 0.45) and s.loc[9, "inside_50"]  # allegiance: a share


def _towns(basin):
    return {i for i, b in enumerate(WORLD.city_basin) if WORLD.basin_names[b] == basin}


@pytest.mark.parametrize(
    ("basin", "place", "expect"),
    [
        ("Ukrainian SSR", "Dnipropetrovsk, Lviv and Volyn oblasts", _towns("Western Donbas") | _towns("Lviv-Volyn")),
        ("Ukrainian SSR", "Lviv and Volyn oblasts", _towns("Lviv-Volyn")),
        (
            "Donbas",
            "Voroshilovgrad (Luhansk) and Dnipropetrovsk oblasts",  # Dnipropetrovsk has no Donbas towns: refused, not half-summed
            None,
        ),
        ("Ukrainian SSR", "Voroshilovgrad (Luhansk) and Dnipropetrovsk oblasts", None),  # resolved: checked below
        ("Donbas (Ukrainian SSR)", "", _towns("Donbas")),
        ("Donbas (RSFSR)", "", None),
        ("Other (Georgian SSR)", "", {i for i in _towns("Other") if WORLD.city_names[i] in ("Tkibuli", "Tkvarcheli")}),
        ("Kazakh SSR", "", _towns("Karaganda") | _towns("Ekibastuz") | {WORLD.city_names.index("Lenger")}),
        ("USSR", "", set(range(WORLD.n_cities))),
    ],
)
def test_places_resolve_to_towns(basin, place, expect):
    t = Target(1, date(1989, 7, 20), basin, place, "mines_on_strike", 1.0, math.nan, math.nan, "point", "s", "high")
    area, why = resolve(t, WORLD)
    if basin == "Ukrainian SSR" and place.startswith("Voroshilovgrad"):
        names = {WORLD.city_oblast[i] for i in area.towns}
        assert names == {"Luhansk (Voroshilovgrad) oblast", "Dnipropetrovsk oblast"}, names
        return
    if expect is None:
        assert area is None and why, why
        return
    assert area is not None, why
    assert set(area.towns) == expect


def test_event_targets_look_in_their_window(tmp_path):
    """A first strike or wave end is read from the target's window, not from the first wave of the run."""
    p = write(
        tmp_path,
        "1989-10-20,Pechora,,first_strike,1,,,event,s,high,\n"  # default window: 30 days before
        "1989-10-20,Pechora,,first_strike,1,,,event,s,high,200\n"  # a window that opens before the July wave
        "1989-10-31,Pechora,,last_day,1,,,event,s,high,\n"
        "1989-07-16,Pechora,,last_day,1,,,event,s,high,\n",
        header=HEADER.strip() + ",window_days\n",
    )
    ts = load_targets(p)
    # on strike on days 0-5 (10-15 July) and from day 102 (20 October) to day 112 (30 October)
    on = lambda a, r, i: 3 if i <= 5 or 102 <= i <= 112 else 0  # noqa: E731
    s = score(ts, fake_series(ts, on, days=140), WORLD, START).set_index("line")
    assert s.loc[2, "sim_median"] == 0
    assert s.loc[3, "sim_median"] == -102  # the July wave: 102 days before
    assert s.loc[4, "sim_median"] == 0  # back to none on 31 October
    assert s.loc[5, "sim_median"] == 0  # the July wave ends on the 16th


def test_weighted_interval_score_by_hand():
    """WIS of 0..10 for y = 12 with the 50% interval only: (|12 - 5| / 2 + 0.5 / 2 * IS) / 1.5, IS = 5 + 4 * 4.5."""
    x = np.arange(11.0)
    assert weighted_interval_score(x, 12.0, (0.5,)) == pytest.approx((3.5 + 0.25 * 23.0) / 1.5)
    assert weighted_interval_score(np.full(5, 3.0), 3.0) == 0.0
    # proper: the forecast centred on the truth scores better than a shifted one
    rng = np.random.default_rng(1)
    y = 100.0
    assert weighted_interval_score(rng.normal(100, 10, 400), y) < weighted_interval_score(rng.normal(130, 10, 400), y)


def test_uninformative_rows_are_flagged(tmp_path):
    p = write(
        tmp_path,
        "1989-07-12,Pechora,,mines_on_strike,,10,15,interval,s,high\n"
        "1989-07-12,Karaganda,,mines_on_strike,,10,15,interval,s,high\n"
        "1989-07-12,Kuzbass,,mines_on_strike,,10,15,interval,s,high\n",
    )
    ts = load_targets(p)
    cap = {a: int(np.isin(WORLD.city, list(_towns(a))).sum()) for a in ("Pechora", "Karaganda")}

    def fn(a, r, i):
        if a.label == "Pechora":  # median 0, yet the band reaches the target's midpoint
            return 0 if r < 6 else 13
        if a.label == "Karaganda":  # a band from none to every enterprise of the basin
            return round(r * cap["Karaganda"] / 9)
        return 11 + r % 3  # a tight band on the target

    s = score(ts, fake_series(ts, fn), WORLD, START).set_index("line")
    assert s["inside_90"].all()
    assert list(s["informative"]) == [False, False, True]
    assert (
        "reaches 0" in s.loc[2, "uninformative_why"] and "spans 9" in s.loc[3, "uninformative_why"] and s.loc[4, "uninformative_why"] == ""
    )


def test_calibration_targets_end_in_1990():
    """No 1991 figure sets anything: every calibration stage's targets and runs end by 31 December 1990."""
    from sim.analysis.calibration import PRIOR_FILES, load_priors

    for f in PRIOR_FILES:
        setup = load_priors(ROOT / "calibration" / f)
        assert setup.end <= date(1990, 12, 31), f
        rows = load_targets(setup.targets)
        assert rows and max(t.date for t in rows) <= date(1990, 12, 31), f


def test_no_unsupported_row_is_fitted():
    """A row no source supports (its `source` begins `unsupported`) is in no file a calibration stage fits (issue 27)."""
    from sim.analysis.calibration import PRIOR_FILES, load_priors

    for f in PRIOR_FILES:
        rows = load_targets(load_priors(ROOT / "calibration" / f).targets)
        bad = [f"{t.date} {t.basin} {t.measure}" for t in rows if t.source.strip().lower().startswith("unsupported")]
        assert not bad, f"{f} fits unsupported rows: {bad}"


def test_committed_1989_1990_targets_resolve_and_cite():
    ts = load_targets(ROOT / "calibration" / "targets" / "1989_1990.csv")
    _, _, reasons = target_areas(ts, WORLD)
    assert not reasons, reasons  # every row names a place the model has
    assert all(t.source.strip() and t.confidence in ("high", "approx") for t in ts)
