"""Historical targets files: dated observations to score the model against (read and checked).

Format (see `calibration/targets/README.md`): UTF-8 CSV with columns
`date,basin,place,measure,value,low,high,kind,source,confidence`. `kind` is `point` (value
required), `interval` (low and high required; a bound may be left empty for "over N" or "under N")
or `event` (a dated happening). A row the loader cannot read is an error naming the file and line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from sim.inputs.datafiles import REPUBLICS, read_csv
from sim.inputs.errors import InputError
from sim.model import stance
from sim.model.metrics import wave_bounds
from sim.model.scenario import HORIZON
from sim.model.vote import VOTE_MEASURES, town_republics

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
    window_days: float = math.nan  # event targets: days before `date` the window opens (NaN: WINDOW_DAYS)


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
            window_days=_num(row.get("window_days", ""), "window_days", name, line),
        )
        if not t.basin or not t.measure:
            raise InputError("basin and measure are required", file=name, line=line, key="basin" if not t.basin else "measure")
        if t.confidence not in CONFIDENCE:
            raise InputError(
                f"confidence must be one of {', '.join(CONFIDENCE)}, got {t.confidence!r}", file=name, line=line, key="confidence"
            )
        if (kind == "event") != (t.measure in EVENTS) and t.measure in MEASURES:  # a measure the model makes has one kind
            want = "event" if t.measure in EVENTS else "point or interval"
            raise InputError(f"a {t.measure} row is of kind {want}, got {kind!r}", file=name, line=line, key="kind")
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
        if not math.isnan(t.window_days) and not (
            t.measure in EVENTS and 0 <= t.window_days <= 1000 and t.window_days == int(t.window_days)
        ):
            raise InputError(
                "window_days must be a whole number of days in [0, 1000], on first_strike or last_day rows only",
                file=name,
                line=line,
                key="window_days",
            )
        if t.measure in SHARES:
            for col in ("value", "low", "high"):
                if not math.isnan(getattr(t, col)) and not 0 <= getattr(t, col) <= 1:
                    raise InputError(
                        f"{col} of a {t.measure} target is a share in [0, 1], got {getattr(t, col):g}", file=name, line=line, key=col
                    )
        if kind == "interval" and t.low > t.high:
            raise InputError(f"low {t.low:g} is above high {t.high:g}", file=name, line=line, key="low")
        out.append(t)
    return out


LEVELS = ("mines_on_strike", "strikers", "allegiance", *stance.STANCE_MEASURES)
"""Measures read on the target's date: enterprises on strike, strikers (persons), allegiance (the
share, 0 to 1, of the area's workforce whose town or basin committee backs its republic against the
Union), and the area's stance (`sim.model.stance`: shares at the political stage or beyond and at the
sovereignty stage, active town and basin committees)."""
EVENTS = ("first_strike", "last_day")
"""Measures that are dates: the first day on strike, and the first day back to none, in the target's window."""
MEASURES = LEVELS + EVENTS + tuple(VOTE_MEASURES)  # the vote-scale ones are scored by sim.analysis.vote_scale
SHARES = ("allegiance", *stance.STANCE_SHARES, *VOTE_MEASURES)
WINDOW_DAYS = 30
"""Default window of an event target: a `first_strike` or `last_day` target dated D is scored against the
first such event on or after D - WINDOW_DAYS (a `window_days` column overrides it per row)."""


@dataclass(frozen=True)
class Area:
    """Where a target lies in the model: a set of towns (summed), labelled as the first target that named it."""

    label: str
    towns: tuple[int, ...]


def _alternatives(name: str) -> set[str]:
    """Lower-case names an oblast goes by: 'Luhansk (Voroshilovgrad) oblast' -> {'luhansk', 'voroshilovgrad'}."""
    s = re.sub(r"\b(oblasts?|provinces?)\b", "", name.lower()).strip()
    m = re.fullmatch(r"(.*?)\s*\((.*)\)\s*", s)
    return {m.group(1).strip(), m.group(2).strip()} if m else {s}


def resolve(t: Target, world) -> tuple[Area | None, str]:
    """The towns a target refers to, or (None, the reason) when the model cannot resolve it.

    `basin` names a basin, a republic, `USSR`, or a basin within a republic (`Donbas (Ukrainian SSR)`);
    `place` narrows it to a town (`Mezhdurechensk`, `Mezhdurechensk (Shevyakov mine)`: the bracket is a
    detail), an oblast (`Donetsk oblast`) or a list of oblasts (`Lviv and Volyn oblasts`,
    `Voroshilovgrad (Luhansk) and Dnipropetrovsk oblasts`: either name of a renamed oblast).
    """
    if t.measure not in MEASURES or t.measure in VOTE_MEASURES:
        why = "a vote-scale measure, read from the vote table" if t.measure in VOTE_MEASURES else "not a model output"
        return None, f"measure '{t.measure}' is {why} (measures: {', '.join(MEASURES)})"
    reps = town_republics(world)
    basins = list(world.basin_names)
    m = re.fullmatch(r"(.*?)\s*\((.*)\)", t.basin)
    if t.basin == "USSR":
        cand = np.arange(world.n_cities)
    elif t.basin in REPUBLICS:
        cand = np.flatnonzero(reps == REPUBLICS.index(t.basin))
    elif t.basin in basins:
        cand = np.flatnonzero(world.city_basin == basins.index(t.basin))
    elif m and m.group(1) in basins and m.group(2) in REPUBLICS:
        b, r = basins.index(m.group(1)), REPUBLICS.index(m.group(2))
        cand = np.flatnonzero((world.city_basin == b) & (reps == r))
        if cand.size == 0:
            return None, f"the model has no towns of the {m.group(1)} basin in the {m.group(2)}"
    else:
        return None, f"unknown basin or republic '{t.basin}'"
    if cand.size == 0:
        return None, f"the model has no mining towns in '{t.basin}'"
    label = t.basin + (f" / {t.place}" if t.place else "")
    if not t.place:
        return Area(label, tuple(int(i) for i in cand)), ""
    place = t.place.strip().lower()
    names = [world.city_names[i].lower() for i in cand]
    hit = [int(i) for i, n in zip(cand, names, strict=True) if place == n]
    if not hit:
        hit = [int(i) for i, n in zip(cand, names, strict=True) if place.startswith(f"{n} (")]
    if hit:
        return Area(label, tuple(hit)), ""
    parts = [p for p in re.split(r"\s*(?:,|;|\band\b)\s*", re.sub(r"\boblasts\b", "", t.place, flags=re.I)) if p.strip()]
    towns: set[int] = set()
    for part in parts:
        alts = _alternatives(part)
        found = [int(i) for i in cand if _alternatives(world.city_oblast[i]) & alts]
        if not found:
            return None, f"place '{t.place}': '{part.strip()}' is not a town of '{t.basin}' nor an oblast with its mining towns"
        towns.update(found)
    return Area(label, tuple(sorted(towns))), ""


def target_areas(targets: list[Target], world) -> tuple[list[Area], dict[int, int], dict[int, str]]:
    """The distinct areas of a targets file; each scorable row's area index (by line); each other row's reason."""
    areas: list[Area] = []
    where: dict[tuple[int, ...], int] = {}
    index, reasons = {}, {}
    for t in targets:
        area, why = resolve(t, world)
        if area is None:
            reasons[t.line] = why
            continue
        if area.towns not in where:
            where[area.towns] = len(areas)
            areas.append(area)
        index[t.line] = where[area.towns]
    return areas, index, reasons


def event_day(mines: np.ndarray, measure: str, start: int) -> float:
    """Day index of a target's event in one replicate's daily enterprises on strike (NaN if none).

    The first day on strike (`first_strike`) or the first day back to none after it (`last_day`),
    looking only at days from `start` on (the target's window): a strike already on at `start` has
    its first day at `start`.
    """
    first, back = wave_bounds(np.asarray(mines)[max(start, 0) :] > 0)
    i = first if measure == "first_strike" else back
    return np.nan if i is None else float(max(start, 0) + i)


def window_start(t: Target) -> date:
    """First date an event target looks at: its date minus its window (default `WINDOW_DAYS`)."""
    return t.date - timedelta(days=WINDOW_DAYS if math.isnan(t.window_days) else int(t.window_days))


def values_for(t: Target, area_series: pd.DataFrame, start: date) -> np.ndarray:
    """One simulated value per replicate: the measure on the target's date, or the event as days after it.

    Args:
        t: the target.
        area_series: the area's daily rows (replicate, date, mines_on_strike, strikers, allegiance).
        start: the first simulated date.
    """
    ts = pd.Timestamp(t.date)
    if t.measure in LEVELS:
        return area_series.loc[area_series["date"] == ts, t.measure].to_numpy(dtype=float)
    first = (window_start(t) - start).days
    target_day = (t.date - start).days
    out = []
    for _, g in area_series.groupby("replicate", sort=True):
        out.append(event_day(g.sort_values("date")["mines_on_strike"].to_numpy(), t.measure, first) - target_day)
    return np.asarray(out, dtype=float)


# --- goodness of fit: one distance per target kind, 0 inside the target, 1 = one tolerance off ---

CONFIDENCE = ("high", "approx")  # how sure a row's source is (calibration/targets/README.md): its tolerance
POINT_TOLERANCE = {"high": 0.1, "approx": 0.2}
"""A point target is met within this share of its value (at least one count, or 0.01 of a share): assumption."""
EVENT_TOLERANCE_DAYS = {"high": 1.0, "approx": 2.0}
"""A dated event is met within this many days: assumption (dates of 1989 reports vary by a day)."""
MISSING_EVENT = 10.0
"""Distance of an event that never happens in a replicate (as if ten tolerances off)."""


def _unit(t: Target) -> float:
    """The smallest difference that counts: one enterprise or person, or 0.01 of a share."""
    return 0.01 if t.measure in SHARES else 1.0


def bounds(t: Target) -> tuple[float, float]:
    """The range of simulated values that meets a count target.

    An interval is met inside [low, high] (a missing bound is open: "over 400,000"); a point within
    its tolerance (`POINT_TOLERANCE`, at least one count).
    """
    if t.kind == "interval":
        return (t.low if np.isfinite(t.low) else -np.inf, t.high if np.isfinite(t.high) else np.inf)
    tol = max(POINT_TOLERANCE.get(t.confidence, 0.2) * abs(t.value), _unit(t))
    return t.value - tol, t.value + tol


def count_scale(t: Target) -> float:
    """The value that one unit of distance stands for: the target's width, at least 10% of it and one unit."""
    lo, hi = bounds(t)
    finite = [abs(v) for v in (lo, hi) if np.isfinite(v)]
    width = hi - lo if np.isfinite(hi - lo) else 0.0
    return max(width, 0.1 * max(finite), _unit(t))


def count_distance(t: Target, x: np.ndarray) -> np.ndarray:
    """Distance of simulated values `x` (one per replicate) from a point or interval target."""
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
    return count_distance(t, values) if t.measure in LEVELS else event_distance(t, values)


# --- proper scores ---

WIS_ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Central intervals of the weighted interval score: the (1 - alpha) intervals of the COVID-19 forecast hubs."""


def interval_score(lo: float, hi: float, y: float, alpha: float) -> float:
    """Interval score of a central (1 - alpha) interval [lo, hi] for the observation y (Gneiting and Raftery 2007)."""
    return (hi - lo) + 2.0 / alpha * max(lo - y, 0.0) + 2.0 / alpha * max(y - hi, 0.0)


def weighted_interval_score(samples: np.ndarray, y: float, alphas: tuple[float, ...] = WIS_ALPHAS) -> float:
    """Weighted interval score of an ensemble for the observation y (Bracher et al. 2021, PLoS Comput Biol 17:e1008618).

    WIS = (|y - median| / 2 + sum_k alpha_k / 2 * IS_alpha_k) / (K + 1/2), with each interval taken
    from the ensemble's quantiles; a proper score in the measure's units (0 is perfect, lower is better).
    A replicate whose event never happens (NaN) counts as `MISSING_EVENT` days off, late.
    """
    x = np.asarray(samples, dtype=float)
    x = np.where(np.isnan(x), MISSING_EVENT * 10, x)  # an event that never comes: far off, late
    total = 0.5 * abs(y - float(np.quantile(x, 0.5)))
    for a in alphas:
        lo, hi = np.quantile(x, [a / 2, 1 - a / 2])
        total += a / 2 * interval_score(float(lo), float(hi), y, a)
    return total / (len(alphas) + 0.5)


def observed(t: Target) -> float:
    """The figure a row is judged by (bands, proper score and the factor 1.5).

    A point's value; an event's 0 days off; for an interval, the `value` given with it ("12,000,
    between 10,000 and 14,000"), else its midpoint, else (an open interval, "at least 400,000") its
    one bound. A row is inside a band when this figure is (`inside`): the band has to hold where the
    row puts the truth, not merely touch its range.
    """
    if t.measure in EVENTS:
        return 0.0
    if t.kind != "interval" or math.isfinite(t.value):
        return t.value
    lo, hi = bounds(t)
    if np.isfinite(lo) and np.isfinite(hi):
        return (lo + hi) / 2
    return float(lo if np.isfinite(lo) else hi)


def inside(t: Target, lo: float, hi: float) -> bool:
    """Whether a row lies inside the band [lo, hi]: the band holds its figure (`observed`), or lies wholly in its range.

    The second case is an interval row the model pins down more finely than the history does (0 to
    2 mines, and every replicate has none). An interval that merely touches the band is not inside
    (10,000 to 14,000 strikers, the figure 12,000, the band ending at 11,632); that looser rule is
    `overlaps`, kept as the columns `overlap_90` / `overlap_50`.
    """
    if lo <= observed(t) <= hi:
        return True
    if t.measure in EVENTS or t.kind != "interval":
        return False
    a, b = bounds(t)
    return bool(a <= lo and hi <= b)


def overlaps(t: Target, lo: float, hi: float) -> bool:
    """Whether any part of the row's figure (a point, or the whole interval) lies in the band [lo, hi]."""
    if t.measure in EVENTS or t.kind != "interval":
        return bool(lo <= observed(t) <= hi)
    a, b = bounds(t)
    return bool(a <= hi and b >= lo)


def capacity(t: Target, area: Area, world) -> float:
    """Largest value the measure can take in the area: its enterprises, its workforce, a share of 1, its committees, or the window in days."""
    if t.measure in EVENTS:
        return float(WINDOW_DAYS if math.isnan(t.window_days) else t.window_days) * 2
    if t.measure in stance.STANCE_MEASURES:
        return stance.capacity(t.measure, np.asarray(area.towns), world)
    if t.measure in SHARES:
        return 1.0
    towns = np.asarray(area.towns)
    in_area = np.isin(world.city, towns)
    return float(in_area.sum() if t.measure == "mines_on_strike" else world.workforce[in_area].sum())


UNINFORMATIVE_SHARE = 0.9
"""A 90% band wider than this share of what the area could hold says nothing (assumption)."""


def uninformative(t: Target, q05: float, q95: float, never: float, cap: float) -> str:
    """Why a 90% band says nothing about the row, or "" if it says something. One rule for every measure.

    A band is uninformative when it would also have held the opposite history, or nearly anything:
    - it reaches "nothing happened" while the row says something did: a count or share whose band
      reaches 0 (its 5% quantile is 0) while the row's whole range is above 0, or an event that
      never happens (in the window or after it, to the run's end) in more than 5% of replicates;
    - or it spans more than `UNINFORMATIVE_SHARE` of what the area could hold (`capacity`: every
      enterprise, the whole workforce, a share of 1, twice the event window).

    Args:
        t: the target.
        q05: the band's lower end (events: days after the target's date).
        q95: the band's upper end.
        never: the share of replicates in which an event never happens (0 for a count).
        cap: `capacity` of the row's area.
    """
    if t.measure in EVENTS:
        if never > 0.05:
            return f"the event never happens in {never:.0%} of replicates (more than 5%)"
    else:
        low = bounds(t)[0] if t.kind == "interval" else t.value
        if q05 <= 0 < low:
            return f"the band reaches 0 ({stance.nothing(t.measure)}) though every figure of the row is above 0"
    if q95 - q05 > UNINFORMATIVE_SHARE * cap:
        if t.measure in EVENTS:
            return f"the band spans {q95 - q05:,.0f} days, more than {UNINFORMATIVE_SHARE:.0%} of twice the {cap / 2:,.0f}-day window"
        of = {"mines_on_strike": f"the area's {cap:,.0f} enterprises", "strikers": f"the area's workforce of {cap:,.0f}"}
        of |= {k: f"the area's {cap:,.0f} possible committees" for k in stance.STANCE_COUNTS}
        return f"the band spans {(q95 - q05) / cap:.0%} of {of.get(t.measure, 'the range 0 to 1')}"
    return ""


def tally(scores: pd.DataFrame) -> dict[str, int]:
    """Counts of the scored rows, by verdict.

    `scored`, `good` (inside the 90% band and informative), `good_50` (of them inside the 50% band),
    `uninformative` (inside, the band saying nothing), `outside`, and `overlap_90` (inside by the
    overlap rule for intervals; -1 for a table without that column).
    """
    s = scores[scores["scored"]]
    hit, info = s["inside_90"].astype(bool), s["informative"].astype(bool)
    return {
        "scored": len(s),
        "good": int((hit & info).sum()),
        "good_50": int((hit & info & s["inside_50"].astype(bool)).sum()),
        "uninformative": int((hit & ~info).sum()),
        "outside": int((~hit).sum()),
        "overlap_90": int(s["overlap_90"].astype(bool).sum()) if "overlap_90" in s else -1,
    }


def headline(scores: pd.DataFrame) -> str:
    """The validation's headline: rows inside the 90% band whose band says something, of the rows scored.

    Hits whose band is uninformative (`uninformative`) and misses are counted apart; so is the looser
    overlap rule for interval rows (`overlaps`).
    """
    n = tally(scores)
    if not n["scored"]:
        return f"none of the {len(scores)} targets could be scored"
    return (
        f"{n['good']} of {n['scored']} scored targets inside the 90% band and informative ({n['good_50']} of them inside the 50% band); "
        f"{n['uninformative']} inside but uninformative, {n['outside']} outside"
        + (f" (by the overlap rule for intervals: {n['overlap_90']} inside the 90% band)" if n["overlap_90"] >= 0 else "")
    )


def uninformative_rows(scores: pd.DataFrame) -> list[str]:
    """One line per hit whose band says nothing: date, place, measure and why."""
    s = scores[scores["scored"] & scores["inside_90"].astype(bool) & ~scores["informative"].astype(bool)]
    return [
        f"  {r['date']} {r['basin']}{', ' + r['place'] if r['place'] else ''} {r['measure']}: {r.get('uninformative_why') or 'uninformative'}"
        for _, r in s.iterrows()
    ]


def score(targets: list[Target], series: pd.DataFrame, world, start: date | None = None) -> pd.DataFrame:
    """Score every target row against the simulated ensemble.

    Args:
        targets: the rows of a targets file.
        series: the daily area table of the run (`sim.run.runner.Tables.areas`: replicate, date, area,
            mines_on_strike, strikers, allegiance), recorded for `target_areas(targets, world)`.
        world: the world the run used (to resolve places and size areas).
        start: the first simulated date (default: the first date in `series`).

    For measures read on a day: the simulated quantiles across replicates on the target's date. For
    `first_strike` and `last_day`: the same for the date of the first such event in the target's
    window, as days after the target date (0 means on the day). Bands: "90%" = 5-95%, "50%" = 25-75%
    of replicates. `inside_90` / `inside_50`: the row's figure (`observed`: a point's value; an
    interval's given value, else its midpoint, else its one bound) lies inside the band, or the band
    lies wholly inside the row's range (`inside`); `overlap_90` / `overlap_50`: any part of an
    interval does (`overlaps`, the looser rule).
    `within_1.5x`: the figure is within a factor 1.5 of the median. `wis`: the weighted interval
    score (`weighted_interval_score`) of that figure, and `wis_scaled` the same divided by the
    target's scale (`count_scale`; for events, one day), so rows add up. `informative` is False for a
    row inside its 90% band whose band says nothing (`uninformative`: it reaches "nothing happened"
    while the row says something did, or spans more than `UNINFORMATIVE_SHARE` of what the area
    could hold), with the reason in `uninformative_why`. `distance_median`:
    the median across replicates of the target's distance (`distance`: 0 when met). Rows the model
    cannot resolve are kept with the reason.
    """
    areas, index, reasons = target_areas(targets, world)
    by_area = dict(tuple(series.groupby("area", sort=False))) if len(series) else {}
    if start is None and len(series):
        start = pd.Timestamp(series["date"].min()).date()
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
        if t.line in reasons:
            out.append({**rec, "scored": False, "reason": reasons[t.line]})
            continue
        area = areas[index[t.line]]
        s = by_area.get(area.label)
        if s is None or start is None:
            out.append({**rec, "scored": False, "reason": "no simulated series for this area (the run did not record it)"})
            continue
        last = pd.Timestamp(s["date"].max()).date()
        if t.date < start or t.date > last:
            out.append({**rec, "scored": False, "reason": f"date outside the simulated days ({start} to {last})"})
            continue
        vals = values_for(t, s, start)
        q = np.nanquantile(vals, [0.05, 0.25, 0.5, 0.75, 0.95]) if np.isfinite(vals).any() else np.full(5, np.nan)
        med = q[2]
        y = observed(t)
        ratio = max(med, y) / max(min(med, y), 1e-9) if med > 0 and y > 0 else (1.0 if med == y else np.inf)
        inside_90 = inside(t, q[0], q[4])
        never = float(np.isnan(vals).mean()) if vals.size and t.measure in EVENTS else 0.0
        why = uninformative(t, q[0], q[4], never, capacity(t, area, world)) if inside_90 else ""
        scale = count_scale(t) if t.measure in LEVELS else 1.0
        wis = weighted_interval_score(vals, y)
        out.append(
            {
                **rec,
                "scored": True,
                "reason": "",
                "sim_p05": q[0],
                "sim_p25": q[1],
                "sim_median": med,
                "sim_p75": q[3],
                "sim_p95": q[4],
                "inside_90": inside_90,
                "inside_50": inside(t, q[1], q[3]),
                "within_1.5x": bool(ratio <= 1.5),
                "overlap_90": overlaps(t, q[0], q[4]),
                "overlap_50": overlaps(t, q[1], q[3]),
                "informative": not why,
                "uninformative_why": why,
                "wis": wis,
                "wis_scaled": wis / scale,
                "distance_median": float(np.median(distance(t, vals))),
                "replicates": int(vals.size),
                "area": area.label,
            }
        )
    # every column even when no row could be scored, so summaries and figures read the same table
    return pd.DataFrame(out, columns=SCORE_COLUMNS).astype({"scored": bool})


SCORE_COLUMNS = [
    "line", "date", "basin", "place", "measure", "kind", "value", "low", "high", "scored", "reason",
    "sim_p05", "sim_p25", "sim_median", "sim_p75", "sim_p95", "inside_90", "inside_50", "overlap_90", "overlap_50",
    "within_1.5x", "informative", "uninformative_why", "wis", "wis_scaled", "distance_median", "replicates", "area",
]  # fmt: skip
"""Columns of `score`'s table, in order."""


def skill(scores: pd.DataFrame, reference: pd.DataFrame) -> dict[str, float]:
    """Skill of a forecast against a reference forecast on the rows both scored.

    Returns the summed scaled weighted interval scores of each and the skill 1 - model / reference
    (1 is perfect, 0 no better than the reference, negative worse).
    """
    a = scores[scores["scored"]].set_index("line")["wis_scaled"]
    b = reference[reference["scored"]].set_index("line")["wis_scaled"]
    common = a.index.intersection(b.index)
    m, r = float(a[common].sum()), float(b[common].sum())
    return {"rows": len(common), "wis_model": m, "wis_reference": r, "skill": (1.0 - m / r) if r > 0 else math.nan}
