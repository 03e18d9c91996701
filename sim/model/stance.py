"""The stance of an area's miners and committees, recorded daily for the places a targets file names.

What the 1989-1990 stance rows of `calibration/targets/1989_1990.csv` are scored against (issue 29):
the share of the area's workforce whose demands have reached the political stage or beyond, or the
sovereignty stage (the workforce's own stage, kept after its committee is gone), and the number of
active town committees of the area and of active basin committees of its basins. The engine
(`sim.model.engine.Engine`) records these beside strikers, enterprises on strike and allegiance.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sim.inputs.network import World
from sim.model.state import State

STANCE_SHARES: dict[str, str] = {
    "share_political_or_beyond": "share of the area's workforce whose demands are at the political stage or beyond "
    "(political or sovereignty; a workforce's stage does not step back)",
    "share_sovereignty": "share of the area's workforce whose demands are at the sovereignty stage",
}
"""Workforce shares (0 to 1) of an area: name -> meaning."""

STANCE_COUNTS: dict[str, str] = {
    "committees_city": "active town strike committees among the area's towns",
    "committees_basin": "active basin (regional) strike committees of the basins the area's towns lie in",
}
"""Committee counts of an area: name -> meaning."""

STANCE_MEASURES = (*STANCE_SHARES, *STANCE_COUNTS)


def area_basins(area_mat: sp.csr_matrix, world: World) -> sp.csr_matrix:
    """(A, B) 1 where an area (rows of the (A, C) town membership `area_mat`) has a town in the basin."""
    onehot = sp.csr_matrix((np.ones(world.n_cities), (np.arange(world.n_cities), world.city_basin)), shape=(world.n_cities, world.n_basins))
    return ((area_mat @ onehot) > 0).astype(float).tocsr()


def by_town(state: State, world: World) -> dict[str, np.ndarray]:
    """(R, C) town sums behind every stance measure but `committees_basin` (that one: `basin_committees`).

    Workforce at a stage (summed over an area and divided by its workforce: the shares) and active town
    committees (summed: the counts).
    """
    wf = world.workforce
    return {
        "share_political_or_beyond": world.by_city((state.stage >= 1) * wf),
        "share_sovereignty": world.by_city((state.stage == 2) * wf),
        "committees_city": state.c_active[:, : world.n_cities].astype(float),
    }


def basin_committees(state: State, world: World, basins_mat: sp.csr_matrix) -> np.ndarray:
    """(R, A) active basin committees of the basins each area's towns lie in (`area_basins`)."""
    return np.asarray(basins_mat @ state.c_active[:, world.n_cities :].astype(float).T).T


def capacity(measure: str, towns: np.ndarray, world: World) -> float:
    """Largest value a stance measure can take in an area: a share of 1, its towns, or its basins."""
    if measure in STANCE_SHARES:
        return 1.0
    if measure == "committees_city":
        return float(len(towns))
    return float(np.unique(world.city_basin[np.asarray(towns)]).size)


def nothing(measure: str) -> str:
    """What a band reaching 0 means for a measure: no committee active, no one at the stage, or (counts of strikes) no strike."""
    return "none active" if measure in STANCE_COUNTS else "none at that stage" if measure in STANCE_SHARES else "no strike"
