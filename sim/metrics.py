"""Named observables, shared by the data collection, the plots and (later) calibration.

Daily observables take the state of R replicates and return (R, B) arrays by basin or (R, P) by
republic. Derived outcomes take the tidy daily tables written to results.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sim.network import REPUBLICS, World
from sim.rules import State


def strikers(s: State, w: World) -> np.ndarray:
    """Workers on strike, by basin (persons)."""
    return w.agg(s.striking * s.out_share * w.workforce, w.onehot_b)


def mines_on_strike(s: State, w: World) -> np.ndarray:
    """Enterprises (mines, pits, plants) on strike, by basin."""
    return w.agg(s.striking, w.onehot_b)


def committees_city(s: State, w: World) -> np.ndarray:
    """Active town strike committees, by basin."""
    return w.agg(s.c_active[:, : w.n_cities], w.onehot_cb)


def committees_basin(s: State, w: World) -> np.ndarray:
    """Active basin (regional) strike committees, by basin (0 or 1)."""
    return s.c_active[:, w.n_cities :].astype(float)


def _committees_at(stage: int) -> Callable[[State, World], np.ndarray]:
    def f(s: State, w: World) -> np.ndarray:
        on = (s.c_active & (s.c_stage == stage)).astype(float)
        return w.agg(on[:, : w.n_cities], w.onehot_cb) + on[:, w.n_cities :]

    return f


committees_material = _committees_at(0)
committees_material.__doc__ = "Active committees (town and basin) at the material stage, by basin."
committees_political = _committees_at(1)
committees_political.__doc__ = "Active committees at the political stage, by basin."
committees_sovereignty = _committees_at(2)
committees_sovereignty.__doc__ = "Active committees at the sovereignty stage, by basin."


def _share_at(stage: int) -> Callable[[State, World], np.ndarray]:
    def f(s: State, w: World) -> np.ndarray:
        return w.agg((s.stage == stage) * w.workforce, w.onehot_b) / w.agg(w.workforce[None, :], w.onehot_b)

    return f


share_material = _share_at(0)
share_material.__doc__ = "Share of the basin's workforce whose demands are at the material stage (or none)."
share_political = _share_at(1)
share_political.__doc__ = "Share of the basin's workforce at the political stage."
share_sovereignty = _share_at(2)
share_sovereignty.__doc__ = "Share of the basin's workforce at the sovereignty stage."


def efficacy(s: State, w: World) -> np.ndarray:
    """Workforce-weighted mean efficacy by basin."""
    return w.agg(s.eff * w.workforce, w.onehot_b) / w.agg(w.workforce[None, :], w.onehot_b)


def trust(s: State, w: World) -> np.ndarray:
    """Workforce-weighted mean trust in the centre by basin."""
    return w.agg(s.trust * w.workforce, w.onehot_b) / w.agg(w.workforce[None, :], w.onehot_b)


def promised(s: State, w: World) -> np.ndarray:
    """Relief promised by the centre to the basin (grievance units, cumulative)."""
    return s.promised.copy()


def implemented(s: State, w: World) -> np.ndarray:
    """Relief carried out (grievance units, cumulative)."""
    return s.implemented.copy()


def concessions(s: State, w: World) -> np.ndarray:
    """Number of concessions made to the basin so far."""
    return s.concessions.copy()


BASIN_OBSERVABLES: dict[str, Callable[[State, World], np.ndarray]] = {
    "strikers": strikers,
    "mines_on_strike": mines_on_strike,
    "committees_city": committees_city,
    "committees_basin": committees_basin,
    "committees_material": committees_material,
    "committees_political": committees_political,
    "committees_sovereignty": committees_sovereignty,
    "share_material": share_material,
    "share_political": share_political,
    "share_sovereignty": share_sovereignty,
    "efficacy": efficacy,
    "trust": trust,
    "promised": promised,
    "implemented": implemented,
    "concessions": concessions,
}
"""Daily observables by basin: name -> function(state, world) -> (R, B)."""


def _republic_onehot(w: World) -> np.ndarray:
    oh = np.zeros((w.n, len(REPUBLICS)))
    oh[np.arange(w.n), w.republic] = 1
    return oh


def separatism_index(s: State, w: World) -> np.ndarray:
    """Share of each republic's mining workforce whose active committee is at the sovereignty stage.

    A worker counts when the town or basin committee of the enterprise is active at stage 2.
    """
    nc = w.n_cities
    sov = (s.c_active & (s.c_stage == 2)).astype(float)
    at = np.maximum(sov[:, w.city], sov[:, nc + w.basin])
    oh = _republic_onehot(w)
    den = w.workforce @ oh
    return np.divide((at * w.workforce) @ oh, den, out=np.zeros((s.striking.shape[0], den.size)), where=den > 0)


def strikers_republic(s: State, w: World) -> np.ndarray:
    """Workers on strike by republic (persons)."""
    return (s.striking * s.out_share * w.workforce) @ _republic_onehot(w)


REPUBLIC_OBSERVABLES: dict[str, Callable[[State, World], np.ndarray]] = {
    "separatism_index": separatism_index,
    "strikers": strikers_republic,
}
"""Daily observables by republic: name -> function(state, world) -> (R, P)."""


# ---- derived outcomes on tidy tables -------------------------------------------------------


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
        on = g["mines_on_strike"].to_numpy() > 0
        dates = g["date"].to_numpy()
        first = dates[on.argmax()] if on.any() else pd.NaT
        last = pd.NaT
        if on.any():
            after = np.flatnonzero(~on & (np.arange(on.size) > on.argmax()))
            last = dates[after[0]] if after.size else pd.NaT
        out.append({"replicate": rep, "basin": basin, "first_strike": first, "return": last})
    return pd.DataFrame(out)


def striker_days(daily: pd.DataFrame) -> pd.DataFrame:
    """Total striker-days by replicate and basin."""
    return daily.groupby(["replicate", "basin"], as_index=False)["strikers"].sum().rename(columns={"strikers": "striker_days"})


def band(daily: pd.DataFrame, column: str, lo: float = 0.1, hi: float = 0.9) -> pd.DataFrame:
    """Median and [lo, hi] quantiles of `column` across replicates, by date and basin."""
    g = daily.groupby(["date", "basin"])[column]
    return pd.DataFrame({"median": g.median(), "lo": g.quantile(lo), "hi": g.quantile(hi)}).reset_index()
