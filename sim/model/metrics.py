"""Named observables, shared by the data collection, the plots and (later) calibration.

Daily observables take the state of R replicates and return (R, B) arrays by basin or (R, P) by
republic. Derived outcomes take the tidy daily tables written to results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.inputs.network import STAGES, World
from sim.model.state import State

BASIN_OBSERVABLES: dict[str, str] = {
    "strikers": "workers on strike (persons)",
    "mines_on_strike": "enterprises (mines, pits, plants) on strike",
    "committees_city": "active town strike committees",
    "committees_basin": "active basin (regional) strike committee (0 or 1)",
    "committees_material": "active committees (town and basin) at the material stage",
    "committees_political": "active committees at the political stage",
    "committees_sovereignty": "active committees at the sovereignty stage",
    "share_material": "share of the workforce whose demands are at the material stage (or none)",
    "share_political": "share of the workforce at the political stage",
    "share_sovereignty": "share of the workforce at the sovereignty stage",
    "efficacy": "workforce-weighted mean efficacy",
    "trust": "workforce-weighted mean trust in the centre",
    "promised": "relief promised by the centre (grievance units, cumulative)",
    "implemented": "relief carried out (grievance units, cumulative)",
    "concessions": "concessions made so far",
}
"""Daily observables by basin: name -> meaning (all computed together by `observe_basins`)."""

REPUBLIC_OBSERVABLES: dict[str, str] = {
    "separatism_index": "share of the republic's mining workforce whose active committee is at the sovereignty stage",
    "strikers": "workers on strike (persons)",
    "share_material": "share of the republic's mining workforce at the material stage (or none)",
    "share_political": "share at the political stage",
    "share_sovereignty": "share at the sovereignty stage (the workforce's own stage, kept after its committee is gone)",
    "allegiance": "share of the republic's mining workforce whose active town or basin committee backs the republic against the Union "
    "(allegiance >= 0.5; moved by concessions of the centre and of the republic, and by alliance with a national movement)",
}
"""Daily observables by republic: name -> meaning (computed by `observe_republics`)."""


def _sovereign(s: State, w: World) -> np.ndarray:
    """(R, n) True where the town or basin committee of an enterprise is active at stage 2."""
    sov = s.c_active & (s.c_stage == 2)
    return sov[:, w.city] | sov[:, w.n_cities + w.basin]


def observe_basins(s: State, w: World) -> dict[str, np.ndarray]:
    """All basin observables of R replicates at once: name -> (R, B).

    Enterprise quantities are summed by basin in one sparse product, committee counts in another,
    each in a fixed order (see `World._group_sum`), so a replicate's values do not depend on its batch.
    """
    wf = w.workforce
    cols = np.stack(
        [s.striking * s.out_share * wf, s.striking, (s.stage == 0) * wf, (s.stage == 1) * wf, (s.stage == 2) * wf, s.eff * wf, s.trust * wf]
    ).astype(float)
    v, r, n = cols.shape
    mb = w.by_basin(cols.reshape(v * r, n)).reshape(v, r, -1)
    act = s.c_active
    town = np.zeros(act.shape, bool)
    town[:, : w.n_cities] = True
    ccols = np.stack([act & town, act & ~town, act & (s.c_stage == 0), act & (s.c_stage == 1), act & (s.c_stage == 2)]).astype(float)
    cv = ccols.shape[0]
    cb = w.areas_by_basin(ccols.reshape(cv * r, -1)).reshape(cv, r, -1)
    wfb = w.workforce_by_basin
    return {
        "strikers": mb[0],
        "mines_on_strike": mb[1],
        "committees_city": cb[0],
        "committees_basin": cb[1],
        "committees_material": cb[2],
        "committees_political": cb[3],
        "committees_sovereignty": cb[4],
        "share_material": mb[2] / wfb,
        "share_political": mb[3] / wfb,
        "share_sovereignty": mb[4] / wfb,
        "efficacy": mb[5] / wfb,
        "trust": mb[6] / wfb,
        "promised": s.promised.copy(),
        "implemented": s.implemented.copy(),
        "concessions": s.concessions.copy(),
    }


ALLEGIANCE_DATES = ("1991-03-17", "1991-08-24", "1991-12-01")
"""Dates on which allegiance is also recorded by town and oblast: the Union referendum, after the coup, the Ukrainian referendum."""


def backing(s: State, w: World) -> np.ndarray:
    """(R, n) True where the town or basin committee of an enterprise is active and backs its republic against the Union."""
    back = s.c_active & (s.c_alleg >= 0.5)
    return back[:, w.city] | back[:, w.n_cities + w.basin]


def observe_republics(s: State, w: World) -> dict[str, np.ndarray]:
    """All republic observables of R replicates at once: name -> (R, P)."""
    wf = w.workforce
    cols = np.stack(
        [
            s.striking * s.out_share * wf,
            _sovereign(s, w) * wf,
            (s.stage == 0) * wf,
            (s.stage == 1) * wf,
            (s.stage == 2) * wf,
            backing(s, w) * wf,
        ]
    ).astype(float)
    v, r, n = cols.shape
    out = w.by_republic(cols.reshape(v * r, n)).reshape(v, r, -1)
    den = w.workforce_by_republic

    def share(x: np.ndarray) -> np.ndarray:
        return np.divide(x, den, out=np.zeros_like(x), where=den > 0)

    return {
        "separatism_index": share(out[1]),
        "strikers": out[0],
        "share_material": share(out[2]),
        "share_political": share(out[3]),
        "share_sovereignty": share(out[4]),
        "allegiance": share(out[5]),
    }


def strikers(s: State, w: World) -> np.ndarray:
    """Workers on strike, by basin (persons)."""
    return observe_basins(s, w)["strikers"]


def mines_on_strike(s: State, w: World) -> np.ndarray:
    """Enterprises (mines, pits, plants) on strike, by basin."""
    return observe_basins(s, w)["mines_on_strike"]


def committees_by_stage(s: State, w: World) -> np.ndarray:
    """Active committees by demand stage (material, political, sovereignty), summed over basins: (R, 3)."""
    o = observe_basins(s, w)
    return np.stack([o[f"committees_{st}"].sum(axis=1) for st in STAGES], axis=1)


# ---- derived outcomes on tidy tables -------------------------------------------------------


def wave_bounds(active: np.ndarray) -> tuple[int | None, int | None]:
    """Index of the first active day, and of the first inactive day after it (None if absent)."""
    if not active.any():
        return None, None
    first = int(active.argmax())
    back = np.flatnonzero(~active[first:])
    return first, (first + int(back[0]) if back.size else None)


def first_and_last(daily: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    """Each basin's first day with an enterprise on strike and first day back to none, per replicate.

    Args:
        daily: the tidy basin table (replicate, date, basin, mines_on_strike, ...).
        start: ISO date opening the window.
        end: ISO date closing the window.
    """
    win = daily[(daily["date"] >= start) & (daily["date"] <= end)]
    out = []
    for (rep, basin), g in win.groupby(["replicate", "basin"], sort=True):
        dates = g["date"].to_numpy()
        i, j = wave_bounds(g["mines_on_strike"].to_numpy() > 0)
        first = dates[i] if i is not None else pd.NaT
        last = dates[j] if j is not None else pd.NaT
        out.append({"replicate": rep, "basin": basin, "first_strike": first, "return": last})
    return pd.DataFrame(out)


def band(daily: pd.DataFrame, column: str, lo: float = 0.05, hi: float = 0.95) -> pd.DataFrame:
    """Median and [lo, hi] quantiles of `column` across replicates, by date and basin."""
    g = daily.groupby(["date", "basin"])[column]
    return pd.DataFrame({"median": g.median(), "lo": g.quantile(lo), "hi": g.quantile(hi)}).reset_index()


# ---- outcomes of a run: one number per replicate (experiments, report, plots) ----------------


@dataclass(frozen=True)
class Run:
    """What an outcome reads: a finished run's daily arrays and its calendar.

    Attributes:
        basin: basin observable -> (days, R, B).
        republic: republic observable -> (days, R, P).
        dates: (days,) numpy datetime64[D] of each simulated day.
        basin_names: names of the B basins.
        republics: names of the P republics.
    """

    basin: dict[str, np.ndarray]
    republic: dict[str, np.ndarray]
    dates: np.ndarray
    basin_names: tuple[str, ...]
    republics: tuple[str, ...]

    def window(self, start: str, end: str) -> np.ndarray:
        """Boolean mask of the days from `start` to `end` (ISO dates, inclusive)."""
        return (self.dates >= np.datetime64(start)) & (self.dates <= np.datetime64(end))

    def last(self, end: str) -> int:
        """Index of the last simulated day on or before `end`."""
        return int(np.flatnonzero(self.dates <= np.datetime64(end))[-1])


@dataclass(frozen=True)
class Outcome:
    """A named outcome: one value per replicate."""

    name: str
    doc: str
    unit: str
    fn: Callable[[Run], np.ndarray]
    binary: bool = False
    until: str | None = None  # the last date it reads: a run that stops earlier does not report it


WAVE_THRESHOLD = 20_000
"""Union-wide strikers above which a day belongs to a strike wave (assumption: the 1990-91 strikes
named in the essay involved tens of thousands or more)."""


def _over_days(x: np.ndarray) -> np.ndarray:
    """(days, ...) -> (...): the sum over days, one day after another, whatever the number of replicates.

    (numpy sums a single replicate's contiguous column pairwise, and several replicates day after day:
    a replicate run alone would differ in the last bits from the same replicate run in a batch.)
    """
    return np.cumsum(x, axis=0)[-1] if len(x) else x.sum(axis=0)


def _union(run: Run, name: str) -> np.ndarray:
    return run.basin[name].sum(axis=2)  # (days, R)


def _waves(run: Run) -> np.ndarray:
    on = _union(run, "strikers")[run.window("1990-01-01", "1991-12-31")] > WAVE_THRESHOLD
    starts = on[1:] & ~on[:-1]
    return (starts.sum(axis=0) + on[0]).astype(float)


def _political_share(run: Run) -> np.ndarray:
    d = run.last("1991-12-31")
    c = {st: run.basin[f"committees_{st}"][d].sum(axis=1) for st in STAGES}
    total = c["material"] + c["political"] + c["sovereignty"]
    return np.divide(c["political"] + c["sovereignty"], total, out=np.zeros_like(total), where=total > 0)


def _demand_gap(run: Run) -> np.ndarray:
    w = run.window("1990-01-01", "1990-12-31")
    k, d = run.basin_names.index("Kuzbass"), run.basin_names.index("Donbas")
    pol = run.basin["share_political"] + run.basin["share_sovereignty"]
    days = int(w.sum())
    return _over_days(pol[w][:, :, d]) / days - _over_days(pol[w][:, :, k]) / days  # the mean over days


def _allegiance(republic: str, when: str) -> Callable[[Run], np.ndarray]:
    def fn(run: Run) -> np.ndarray:
        return run.republic["allegiance"][run.last(when), :, run.republics.index(republic)]

    return fn


def _separatism(republic: str) -> Callable[[Run], np.ndarray]:
    def fn(run: Run) -> np.ndarray:
        return run.republic["separatism_index"][run.last("1991-12-31"), :, run.republics.index(republic)]

    return fn


def _vote(republic: str, when: str) -> Callable[[Run], np.ndarray]:
    def fn(run: Run) -> np.ndarray:
        v = run.republic.get("vote")  # recorded by the engine's vote tracker (sim.model.vote); absent: not computed
        if v is None:
            return np.full(run.republic["allegiance"].shape[1], np.nan)
        return v[run.last(when), :, run.republics.index(republic)]

    return fn


VOTE_DATES = (
    ("mar1991", "1991-03-17", "17 Mar 1991"),
    ("aug1991", "1991-08-24", "24 Aug 1991"),
    ("dec1991", "1991-12-01", "1 Dec 1991"),
)
"""The dates the vote-scale outcomes are read: the Union referendum, after the coup, the Ukrainian referendum."""
VOTE_REPUBLICS = (("RSFSR", "RSFSR"), ("Ukraine", "Ukrainian SSR"))
"""Republics with a vote-scale outcome: those with a mining oblast whose 1989 adults are sourced (the Kazakh SSR has none)."""

OUTCOMES: dict[str, Outcome] = {
    o.name: o
    for o in (
        Outcome(
            "july_peak_strikers",
            "largest union-wide number of strikers on one day, July-August 1989",
            "persons",
            lambda r: _union(r, "strikers")[r.window("1989-07-01", "1989-08-31")].max(axis=0),
        ),
        Outcome(
            "donbas_struck_july",
            "1 if any Donbas enterprise struck in July 1989 after the 10th, else 0",
            "0/1",
            lambda r: (
                r.basin["mines_on_strike"][r.window("1989-07-11", "1989-07-31"), :, r.basin_names.index("Donbas")].max(axis=0) > 0
            ).astype(float),
            binary=True,
        ),
        Outcome(
            "striker_days_1990_91",
            "union-wide striker-days, 1990-1991 (the later strike waves), in millions",
            "million person-days",
            lambda r: _over_days(_union(r, "strikers")[r.window("1990-01-01", "1991-12-31")]) / 1e6,
            until="1991-12-31",
        ),
        Outcome(
            "waves_1990_91",
            f"strike waves in 1990-1991: spells of days with over {WAVE_THRESHOLD:,} strikers union-wide",
            "waves",
            _waves,
            until="1991-12-31",
        ),
        Outcome(
            "largest_wave_1990_91",
            "largest union-wide number of strikers on one day, 1990-1991",
            "persons",
            lambda r: _union(r, "strikers")[r.window("1990-01-01", "1991-12-31")].max(axis=0),
            until="1991-12-31",
        ),
        Outcome(
            "committees_1991",
            "strike committees (town and basin) active on an average day of 1991: committee persistence",
            "committees",
            lambda r: (_union(r, "committees_city") + _union(r, "committees_basin"))[r.window("1991-01-01", "1991-12-31")].mean(axis=0),
            until="1991-12-31",
        ),
        Outcome(
            "political_share_1991",
            "share of active committees at the political or sovereignty stage on 31 December 1991",
            "share",
            _political_share,
            until="1991-12-31",
        ),
        Outcome(
            "donbas_minus_kuzbass_political_1990",
            "Donbas minus Kuzbass share of the workforce at the political or sovereignty stage, mean over 1990",
            "share",
            _demand_gap,
            until="1990-12-31",
        ),
        Outcome(
            "separatism_RSFSR_1991",
            "separatism index of the RSFSR on 31 December 1991",
            "index (share)",
            _separatism("RSFSR"),
            until="1991-12-31",
        ),
        Outcome(
            "separatism_Ukraine_1991",
            "separatism index of the Ukrainian SSR on 31 December 1991",
            "index (share)",
            _separatism("Ukrainian SSR"),
            until="1991-12-31",
        ),
        Outcome(
            "separatism_Kazakhstan_1991",
            "separatism index of the Kazakh SSR on 31 December 1991",
            "index (share)",
            _separatism("Kazakh SSR"),
            until="1991-12-31",
        ),
        *(
            Outcome(
                f"allegiance_{short}_{tag}",
                f"share of the {rep}'s mining workforce whose committee backs the republic against the Union, {label}",
                "share",
                _allegiance(rep, day),
                until=day,
            )
            for short, rep in (("RSFSR", "RSFSR"), ("Ukraine", "Ukrainian SSR"))
            for tag, day, label in (
                ("mar1991", "1991-03-17", "17 March 1991 (the Union referendum)"),
                ("aug1991", "1991-08-24", "24 August 1991 (after the coup; Ukraine's declaration of independence)"),
            )
        ),
        Outcome(
            "allegiance_RSFSR_1991",
            "share of the RSFSR's mining workforce whose committee backs the republic against the Union, 1 December 1991",
            "share",
            _allegiance("RSFSR", "1991-12-01"),
            until="1991-12-01",
        ),
        Outcome(
            "allegiance_Ukraine_1991",
            "share of the Ukrainian SSR's mining workforce whose committee backs the republic against the Union, "
            "1 December 1991 (the day of the Ukrainian referendum)",
            "share",
            _allegiance("Ukrainian SSR", "1991-12-01"),
            until="1991-12-01",
        ),
        *(
            Outcome(
                f"vote_republic_{short}_{tag}",
                f"share of the {rep}'s adults backing the republic against the Union on the scale of a vote (sim/model/vote.py: "
                f"the mean stance, no cut-off; its mining oblasts with a sourced 1989 population, adult-weighted), {label}",
                "share",
                _vote(rep, day),
                until=day,
            )
            for short, rep in VOTE_REPUBLICS
            for tag, day, label in VOTE_DATES
        ),
    )
}
"""Named outcomes, shared by experiments, the thesis report and the plots."""

OUTCOME_LABELS = {
    "july_peak_strikers": "Peak strikers, July-August 1989",
    "donbas_struck_july": "Donbas struck in July 1989 (0/1)",
    "striker_days_1990_91": "Striker-days 1990-91",
    "waves_1990_91": "Strike waves 1990-91",
    "largest_wave_1990_91": "Largest strike day 1990-91",
    "committees_1991": "Committees active in 1991",
    "political_share_1991": "Committees with political demands, end of 1991",
    "donbas_minus_kuzbass_political_1990": "Donbas minus Kuzbass political demands, 1990",
    "separatism_RSFSR_1991": "Separatism index, RSFSR, end of 1991",
    "separatism_Ukraine_1991": "Separatism index, Ukraine, end of 1991",
    "separatism_Kazakhstan_1991": "Separatism index, Kazakhstan, end of 1991",
    "allegiance_RSFSR_mar1991": "Backing the republic, RSFSR, 17 Mar 1991",
    "allegiance_RSFSR_aug1991": "Backing the republic, RSFSR, 24 Aug 1991",
    "allegiance_Ukraine_mar1991": "Backing the republic, Ukraine, 17 Mar 1991",
    "allegiance_Ukraine_aug1991": "Backing the republic, Ukraine, 24 Aug 1991",
    "allegiance_RSFSR_1991": "Backing the republic, RSFSR, 1 Dec 1991",
    "allegiance_Ukraine_1991": "Backing the republic, Ukraine, 1 Dec 1991",
    **{f"vote_republic_{short}_{tag}": f"Vote scale, {short}, {label}" for short, _ in VOTE_REPUBLICS for tag, _, label in VOTE_DATES},
}
"""A human name for every outcome (figures and reports); a test keeps it complete."""


def outcomes(run: Run) -> dict[str, np.ndarray]:
    """Every outcome of a run that covers its window and that its data can compute: name -> (R,) values.

    A vote-scale outcome is left out where the run has no vote series or its republic no oblast with sourced adults (all NaN).
    """
    out = {}
    end = run.dates[-1]
    for name, o in OUTCOMES.items():
        if o.until is None or end >= np.datetime64(o.until):
            v = np.asarray(o.fn(run), dtype=float)
            if not (name.startswith("vote_") and np.isnan(v).all()):
                out[name] = v
    return out
