"""Historical targets files: dated observations to score the model against (read and checked).

Format (see `calibration/targets/README.md`): UTF-8 CSV with columns
`date,basin,place,measure,value,low,high,kind,source,confidence`. `kind` is `point` (value
required), `interval` (low and high required; a bound may be left empty for "over N" or "under N")
or `event` (a dated happening). A row the loader cannot read is an error naming the file and line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.metrics import wave_bounds
from sim.network import read_csv
from sim.scenario import HORIZON

COLUMNS = ("date", "basin", "place", "measure", "value", "low", "high", "kind", "source", "confidence")
KINDS = ("point", "interval", "event")
MAX_COUNT = 10_000_000
"""Largest count a target may give (assumption: the whole Soviet coal industry employed about 1.2 million; larger is a typing slip)."""


@dataclass(frozen=True)
class Target:
    """One historical observation."""

    line: int
    date: date
    basin: str
    place: str
    measure: str
    value: float
    low: float
    high: float
    kind: str
    source: str
    confidence: str


def _num(raw: str, col: str, file: str, line: int) -> float:
    raw = raw.strip().replace(",", "") if raw else ""
    if not raw:
        return math.nan
    try:
        v = float(raw)
    except ValueError:
        raise InputError(f"column '{col}' must be a number, got {raw!r}", file=file, line=line, key=col) from None
    if not math.isfinite(v):
        raise InputError(f"column '{col}' must be finite, got {raw!r}", file=file, line=line, key=col)
    return v


def load_targets(path: str | Path) -> list[Target]:
    """Read and check a targets file.

    Raises:
        InputError: naming the file and line for a missing column, a bad date, text in a number,
            an unknown kind, or a point/interval without its value/bounds.
    """
    path = Path(path)
    name = str(path)
    types = {"date": date, **{c: str for c in COLUMNS if c != "date"}}
    out = []
    for row in read_csv(path, types, what="targets file"):
        line = row["_line"]
        kind = row["kind"]
        if kind not in KINDS:
            raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", file=name, line=line, key="kind")
        t = Target(
            line=line,
            date=row["date"],
            basin=row["basin"],
            place=row["place"],
            measure=row["measure"],
            value=_num(row["value"], "value", name, line),
            low=_num(row["low"], "low", name, line),
            high=_num(row["high"], "high", name, line),
            kind=kind,
            source=row["source"],
            confidence=row["confidence"],
        )
        if not t.basin or not t.measure:
            raise InputError("basin and measure are required", file=name, line=line, key="basin" if not t.basin else "measure")
        if kind == "point" and math.isnan(t.value):
            raise InputError("a point target needs a value", file=name, line=line, key="value")
        if kind == "interval" and math.isnan(t.low) and math.isnan(t.high):
            raise InputError("an interval target needs low, high or both", file=name, line=line, key="low")
        if not HORIZON[0] <= t.date <= HORIZON[1]:
            raise InputError(
                f"date {t.date} is outside the years the model covers ({HORIZON[0]} to {HORIZON[1]})", file=name, line=line, key="date"
            )
        for col in ("value", "low", "high"):
            v = getattr(t, col)
            if not math.isnan(v) and not 0 <= v <= MAX_COUNT:
                raise InputError(f"{col} = {v:g} must be a count in [0, {MAX_COUNT:,}]", file=name, line=line, key=col)
        if kind == "interval" and t.low > t.high:
            raise InputError(f"low {t.low:g} is above high {t.high:g}", file=name, line=line, key="low")
        out.append(t)
    return out


REPUBLIC_NAMES = ("RSFSR", "Ukrainian SSR", "Kazakh SSR", "USSR")
MEASURES = ("mines_on_strike", "strikers", "first_strike", "last_day")
COUNTS = ("mines_on_strike", "strikers")


@dataclass(frozen=True)
class Area:
    """Where a target lies in the model: basins (summed) or towns (summed)."""

    level: str  # "basin" or "town"
    names: tuple[str, ...]


def resolve(t: Target, basin_republic: dict[str, str], towns: list[tuple[str, str, str]]) -> tuple[Area | None, str]:
    """The model area a target refers to, or (None, reason) when the model cannot resolve it.

    Args:
        t: the target.
        basin_republic: basin name -> republic name.
        towns: (town, basin, oblast) of every town.

    A basin (or republic, or USSR) with an empty place is a basin-level sum; a place that names a
    town of the basin (`Town` or `Town (detail)`), or an oblast of its towns, is a sum over towns.
    """
    if t.measure not in MEASURES:
        return None, f"measure '{t.measure}' is not a model output"
    if t.basin in REPUBLIC_NAMES:
        if t.place:
            return None, f"place '{t.place}' is finer than a republic-level target can be resolved"
        names = tuple(b for b, r in basin_republic.items() if t.basin in ("USSR", r))
        return Area("basin", names), ""
    if t.basin not in basin_republic:
        return None, f"unknown basin or republic '{t.basin}'"
    if not t.place:
        return Area("basin", (t.basin,)), ""
    tw = [(n, o) for n, b, o in towns if b == t.basin]
    place = t.place.lower()
    if t.place in {o for _, o in tw}:
        return Area("town", tuple(n for n, o in tw if o == t.place)), ""
    names = tuple(n for n, _ in tw if place == n.lower() or place.startswith(f"{n.lower()} ("))
    if names:
        return Area("town", names), ""
    return None, f"place '{t.place}' is finer than the model or not one of its towns or oblasts"


def series(t: Target, basin: pd.DataFrame, town: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    """The simulated daily series (replicate, date, mines_on_strike, strikers) that a target refers to.

    Resolution as in `resolve`; town tables cover the calibration window only. Returns
    (None, reason) when the model cannot resolve the target.
    """
    cols = list(COUNTS)
    basin_rep = dict(zip(basin["basin"], basin["republic"], strict=True)) if len(basin) else {}
    towns = list(town[["town", "basin", "oblast"]].drop_duplicates().itertuples(index=False, name=None)) if len(town) else []
    area, why = resolve(t, basin_rep, towns)
    if area is None:
        return None, why
    if area.level == "basin":
        rows = basin[basin["basin"].isin(area.names)]
    else:
        rows = town[town["town"].isin(area.names)]
        if rows.empty:
            return None, "date outside the town tables' window"
    return rows.groupby(["replicate", "date"], as_index=False)[cols].sum(), ""


# --- goodness of fit: one distance per target kind, 0 inside the target, 1 = one tolerance off ---

POINT_TOLERANCE = {"high": 0.1, "approx": 0.2}
"""A point target is met within this share of its value (at least one count): assumption."""
EVENT_TOLERANCE_DAYS = {"high": 1.0, "approx": 2.0}
"""A dated event is met within this many days: assumption (dates of 1989 reports vary by a day)."""
MISSING_EVENT = 10.0
"""Distance of an event that never happens in a replicate (as if ten tolerances off)."""


def bounds(t: Target) -> tuple[float, float]:
    """The range of simulated counts that meets a count target.

    An interval is met inside [low, high] (a missing bound is open: "over 400,000"); a point within
    its tolerance (`POINT_TOLERANCE`, at least one count).
    """
    if t.kind == "interval":
        return (t.low if np.isfinite(t.low) else -np.inf, t.high if np.isfinite(t.high) else np.inf)
    tol = max(POINT_TOLERANCE.get(t.confidence, 0.2) * abs(t.value), 1.0)
    return t.value - tol, t.value + tol


def count_scale(t: Target) -> float:
    """The count that one unit of distance stands for: the target's width, at least 10% of it and 1."""
    lo, hi = bounds(t)
    finite = [abs(v) for v in (lo, hi) if np.isfinite(v)]
    width = hi - lo if np.isfinite(hi - lo) else 0.0
    return max(width, 0.1 * max(finite), 1.0)


def count_distance(t: Target, x: np.ndarray) -> np.ndarray:
    """Distance of simulated counts `x` (one per replicate) from a point or interval target."""
    lo, hi = bounds(t)
    x = np.asarray(x, dtype=float)
    return np.maximum(np.maximum(lo - x, x - hi), 0.0) / count_scale(t)


def event_distance(t: Target, days_off: np.ndarray) -> np.ndarray:
    """Distance of simulated event dates (days after the target's date, NaN if it never happens)."""
    d = np.asarray(days_off, dtype=float)
    tol = EVENT_TOLERANCE_DAYS.get(t.confidence, 2.0)
    return np.where(np.isnan(d), MISSING_EVENT, np.maximum(np.abs(d) - tol, 0.0))


def distance(t: Target, values: np.ndarray) -> np.ndarray:
    """Per-replicate distance of a target's simulated values (counts, or event days off)."""
    return count_distance(t, values) if t.measure in COUNTS else event_distance(t, values)


def score(targets: list[Target], basin: pd.DataFrame, town: pd.DataFrame) -> pd.DataFrame:
    """Score every target row against the simulated ensemble.

    For counts: the simulated median and 10%, 25%, 75%, 90% quantiles across replicates on the
    target's date. For `first_strike` and `last_day`: the same for the date, as days after the
    target date (0 means on the day). `inside_90` / `inside_50`: the target (its value, or any part of
    its interval) lies inside the 10-90% / 25-75% band. `within_1.5x`: the value (or the interval's
    nearest bound) is within a factor 1.5 of the median. `distance_median`: the median across
    replicates of the target's distance (`distance`: 0 when met). Unresolvable rows are kept with
    the reason.
    """
    out = []
    for t in targets:
        rec = {
            "line": t.line,
            "date": t.date.isoformat(),
            "basin": t.basin,
            "place": t.place,
            "measure": t.measure,
            "kind": t.kind,
            "value": t.value,
            "low": t.low,
            "high": t.high,
        }
        s, why = series(t, basin, town)
        if s is None:
            out.append({**rec, "scored": False, "reason": why})
            continue
        ts = pd.Timestamp(t.date)
        if t.measure in COUNTS:
            vals = s[s["date"] == ts][t.measure].to_numpy(dtype=float)
            lo_t, hi_t = (
                (t.value, t.value)
                if t.kind != "interval"
                else (t.low if np.isfinite(t.low) else -np.inf, t.high if np.isfinite(t.high) else np.inf)
            )
        else:
            vals = np.array([_event_day(g, t.measure, ts) for _, g in s.groupby("replicate")], dtype=float)
            lo_t = hi_t = 0.0
        if vals.size == 0:
            out.append({**rec, "scored": False, "reason": "date outside the simulated horizon"})
            continue
        q = np.nanquantile(vals, [0.1, 0.25, 0.5, 0.75, 0.9]) if np.isfinite(vals).any() else np.full(5, np.nan)
        med = q[2]
        near = min(max(med, lo_t), hi_t)  # the target point nearest the median
        ratio = max(med, near) / max(min(med, near), 1e-9) if med > 0 and near > 0 else (1.0 if med == near else np.inf)
        out.append(
            {
                **rec,
                "scored": True,
                "reason": "",
                "sim_p10": q[0],
                "sim_p25": q[1],
                "sim_median": med,
                "sim_p75": q[3],
                "sim_p90": q[4],
                "inside_90": bool(hi_t >= q[0] and lo_t <= q[4]),
                "inside_50": bool(hi_t >= q[1] and lo_t <= q[3]),
                "within_1.5x": bool(ratio <= 1.5),
                "distance_median": float(np.median(distance(t, vals))),
                "replicates": int(vals.size),
            }
        )
    # every column even when no row could be scored, so summaries and figures read the same table
    return pd.DataFrame(out, columns=SCORE_COLUMNS).astype({"scored": bool})


SCORE_COLUMNS = [
    "line", "date", "basin", "place", "measure", "kind", "value", "low", "high", "scored", "reason",
    "sim_p10", "sim_p25", "sim_median", "sim_p75", "sim_p90", "inside_90", "inside_50", "within_1.5x",
    "distance_median", "replicates",
]  # fmt: skip
"""Columns of `score`'s table, in order."""


def _event_day(g: pd.DataFrame, measure: str, target: pd.Timestamp) -> float:
    """Days from the target date to the simulated event (first strike, or end of the wave)."""
    on = g.sort_values("date")
    first, back = wave_bounds(on["mines_on_strike"].to_numpy() > 0)
    i = first if measure == "first_strike" else back
    return np.nan if i is None else float((pd.Timestamp(on["date"].to_numpy()[i]) - target).days)
