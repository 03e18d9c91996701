"""Targets files: loading errors name the line; scoring resolves basins, towns and oblasts."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.targets import load_targets, score

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


def fake_tables():
    dates = pd.date_range("1989-07-10", periods=5)
    basin = pd.DataFrame(
        [
            {
                "replicate": r,
                "date": d,
                "basin": b,
                "republic": "RSFSR",
                "mines_on_strike": 10 * (r + 1) if b == "Kuzbass" else 0,
                "strikers": 1000 * (r + 1),
            }
            for r in range(10)
            for d in dates
            for b in ("Kuzbass", "Donbas")
        ]
    )
    town = pd.DataFrame(
        [
            {
                "replicate": r,
                "date": d,
                "town": t,
                "basin": "Kuzbass",
                "oblast": "Kemerovo oblast",
                "mines_on_strike": r + (d.day >= 12),
                "strikers": 100,
            }
            for r in range(10)
            for d in dates
            for t in ("Mezhdurechensk", "Prokopyevsk")
        ]
    )
    return basin, town


def test_score_quantiles_bands_and_resolution(tmp_path):
    basin, town = fake_tables()
    p = write(
        tmp_path,
        "1989-07-12,Kuzbass,,mines_on_strike,55,,,point,s,high\n"
        "1989-07-12,Kuzbass,,mines_on_strike,500,400,600,interval,s,high\n"
        "1989-07-12,Kuzbass,Mezhdurechensk (a mine),mines_on_strike,5,,,point,s,high\n"
        "1989-07-12,Kuzbass,Kemerovo oblast,mines_on_strike,11,,,point,s,high\n"
        "1989-07-12,Kuzbass,Tashtagol,mines_on_strike,1,,,point,s,high\n"
        "1989-07-10,Kuzbass,,first_strike,1,,,event,s,high\n"
        "1989-07-12,Kuzbass,,event_x,1,,,event,s,high\n",
    )
    s = score(load_targets(p), basin, town).set_index("line")
    assert s.loc[2, "sim_median"] == 55 and s.loc[2, "inside_50"] and s.loc[2, "within_1.5x"]
    assert np.isclose(s.loc[2, "sim_p10"], np.quantile(np.arange(1, 11) * 10, 0.1))
    assert not s.loc[3, "inside_90"]
    assert s.loc[4, "sim_median"] == 5.5  # one town: replicate r has r + 1 enterprises out
    assert s.loc[5, "sim_median"] == 11.0  # oblast: both towns
    assert not s.loc[6, "scored"] and "finer" in s.loc[6, "reason"]
    assert s.loc[7, "sim_median"] == 0  # first strike on the target day
    assert not s.loc[8, "scored"] and "not a model output" in s.loc[8, "reason"]
