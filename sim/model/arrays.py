"""The world's static arrays as the compiled code reads them (`world_arrays`), with the tie tables of the compiled day.

Computed once per world and cached on it. The tables let the compiled day (`sim.model.kernel`) read an
enterprise's tie shares by the count of its ties on strike instead of summing them tie by tie, with the
same floats as the per-agent model's sums (`_tie_tables`).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import scipy.sparse as sp
from numba import njit

WorldArrays = namedtuple(
    "WorldArrays",
    "basin city republic wf pat alone a_ptr a_idx city_basin k_basin n_by_area towns_per_basin n_by_basin wf_by_area "
    "wf_by_basin wf_by_republic basin_ethnic basin_republic nc t_ptr t_tab whole city_republic",
)
"""The static arrays of a world that the compiled code reads (`whole`: see `_whole`)."""


def world_arrays(world) -> WorldArrays:
    """The static arrays of the world that the compiled code reads (computed once per world and cached on it)."""
    cached = getattr(world, "_kernel_arrays", None)
    if cached is None:
        a = world.a_levels

        def arr(x, dtype):
            return np.ascontiguousarray(x, dtype=dtype)

        cached = WorldArrays(
            basin=arr(world.basin, np.int64),
            city=arr(world.city, np.int64),
            republic=arr(world.republic, np.int64),
            wf=arr(world.workforce, float),
            pat=arr(world.paternalism, float),
            alone=arr(world.alone, np.bool_),
            a_ptr=arr(a.indptr, np.int64),
            a_idx=arr(a.indices, np.int64),
            city_basin=arr(world.city_basin, np.int64),
            k_basin=arr(world.k_basin, np.int64),
            n_by_area=arr(world.n_by_area, float),
            towns_per_basin=arr(world.towns_per_basin, float),
            n_by_basin=arr(world.n_by_basin, float),
            wf_by_area=arr(world.workforce_by_area, float),
            wf_by_basin=arr(world.workforce_by_basin, float),
            wf_by_republic=arr(world.workforce_by_republic, float),
            basin_ethnic=arr(world.basin_ethnic, float),
            basin_republic=arr(world.basin_republic, np.int64),
            nc=int(world.n_cities),
            **_whole(world),
            **_tie_tables(world),
        )
        object.__setattr__(world, "_kernel_arrays", cached)
    return cached


def _whole(world) -> dict:
    """`whole`: whether a sum of enterprises' workforce is the same float in any order, and a town's enterprises are of one republic.

    Whole numbers of workers, with a total below 2^53: every partial sum is a whole number a double holds
    exactly, so a republic's workforce can be added town by town (`sim.model.observation`) and give the
    enterprise-by-enterprise sum of the specification. Otherwise the observation adds enterprise by enterprise.
    `city_republic`: each town's republic (that of its last enterprise; -1 for a town without one).
    """
    wf, city, republic = np.asarray(world.workforce, float), np.asarray(world.city, np.int64), np.asarray(world.republic, np.int64)
    city_republic = np.full(world.n_cities, -1, dtype=np.int64)
    city_republic[city] = republic
    exact = bool(np.all(wf >= 0) and np.all(wf == np.floor(wf)) and wf.sum() < 2.0**53)
    return {"whole": exact and np.array_equal(city_republic[city], republic), "city_republic": city_republic}


def _tie_tables(world) -> dict:
    """Tie shares as look-ups: a row whose ties all weigh the same sums to a number fixed by how many of them strike.

    The per-agent model sums `weight * x` over an enterprise's ties in order, x being 0 or 1: adding
    `weight * 0` leaves the sum unchanged, so with one weight a row the sum is `weight` added k times,
    k the ties on strike. `t_tab[t_ptr[row] + k]` holds that number for k = 0..degree, made by the same
    additions (so it is the same float). The compiled day counts k instead of summing: for a town tie,
    the town's strikers less the enterprise's own strike (town ties join every pair of a town's
    enterprises); for a basin or delegate tie, each enterprise on strike adds one to its ties' rows
    (the ties run both ways). The ties `sim.inputs.network.build_ties` makes have these properties;
    a world whose ties lack one is refused here rather than computed otherwise.
    """
    a = world.a_levels
    ptr, val = np.asarray(a.indptr, np.int64), np.asarray(a.data, float)
    rows = a.shape[0]
    t_ptr = ptr + np.arange(rows + 1, dtype=np.int64)
    t_tab = np.zeros(int(t_ptr[-1]))
    uniform = _fill_tables(ptr, val, t_ptr, t_tab)
    city, n = np.asarray(world.city, np.int64), world.n
    ac = world.a_city
    deg = np.diff(ac.indptr)
    row = np.repeat(np.arange(n), deg)
    size = np.bincount(city, minlength=world.n_cities)
    whole_town = np.array_equal(deg, size[city] - 1) and bool(np.all(city[ac.indices] == city[row])) and bool(np.all(ac.indices != row))
    both_ways = True
    for lv in (world.a_basin, world.a_deleg):
        pat = sp.csr_matrix((np.ones(lv.nnz), lv.indices, lv.indptr), shape=lv.shape)
        both_ways = both_ways and (pat != pat.T).nnz == 0
    town_basin = np.array_equal(np.asarray(world.city_basin)[city], np.asarray(world.basin))
    for ok, what in (
        (uniform, "every tie of an enterprise at one level must weigh the same"),
        (whole_town, "town ties must join every pair of enterprises of a town"),
        (both_ways, "basin and delegate ties must run both ways"),
        (town_basin, "an enterprise's basin must be its town's"),
    ):
        if not ok:
            raise ValueError(f"the compiled day cannot run this world: {what}")
    return {"t_ptr": t_ptr, "t_tab": t_tab}


@njit(cache=True)
def _fill_tables(ptr, val, t_ptr, t_tab):  # pragma: no cover (compiled)
    """Fill each row's table (see `_tie_tables`); false if a row's ties do not all weigh the same."""
    uniform = True
    for row in range(ptr.shape[0] - 1):
        lo, hi = ptr[row], ptr[row + 1]
        acc = 0.0
        t_tab[t_ptr[row]] = acc
        for q in range(lo, hi):
            uniform = uniform and val[q] == val[lo]
            acc += val[lo] * 1.0
            t_tab[t_ptr[row] + 1 + q - lo] = acc
    return uniform
