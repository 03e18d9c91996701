"""The day's observables compiled: `sim.model.metrics`'s basin and republic observables of a batch, in one pass.

The same sums in the same order as the numpy observables of `sim.model.metrics` (the specification),
so the values are bit-identical (tests/unit/test_kernel.py); the engine records them every day.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.model.arrays import world_arrays
from sim.model.state import State

N_BASIN_OBS = 15
N_REPUBLIC_OBS = 6


FIGURE_OBSERVABLES = {
    "basin": ("strikers", "mines_on_strike", "committees_city", "committees_basin", "committees_material", "committees_political",
              "committees_sovereignty", "promised", "implemented", "concessions"),
    "republic": ("strikers", "allegiance"),
}  # fmt: skip
"""What `observe(..., full=False)` records: the counts and the centre's promises by basin, strikers and allegiance by
republic (what a run's figures and summary read); the workforce shares, efficacy and trust need a sum of
their own over every enterprise and are left as they are."""


def observe(s: State, world, bo: np.ndarray, ro: np.ndarray, full: bool = True) -> None:
    """Fill bo (15, R, B) and ro (6, R, P) with `sim.model.metrics.observe_basins` and `observe_republics` of state `s`.

    The same sums in the same order (each group summed from 0 in ascending enterprise order, as the
    sparse products of `World._group_sum`), so the values are bit-identical (tests/unit/test_kernel.py).
    The order of the rows is that of `BASIN_OBSERVABLES` and `REPUBLIC_OBSERVABLES`. `full=False`
    fills only the rows of `FIGURE_OBSERVABLES` (the same values) and leaves the others untouched.
    """
    _observe(s, world_arrays(world), bo, ro, full)


@njit(cache=True, error_model="numpy", nogil=True)
def _observe(s, w, bo, ro, full):  # pragma: no cover (compiled)
    work = scratch(s, w)
    for r in range(s.striking.shape[0]):
        observe_one(s, w, r, bo, ro, full, work)


@njit(cache=True, nogil=True)
def scratch(s, w):  # pragma: no cover (compiled)
    """The observation's work arrays (basin, committee and republic sums, two flags by committee), made once for many calls."""
    nk, nb, npr = s.c_active.shape[1], w.wf_by_basin.shape[0], w.wf_by_republic.shape[0]
    return np.zeros((7, nb)), np.zeros((5, nb)), np.zeros((6, npr)), np.empty(nk, dtype=np.bool_), np.empty(nk, dtype=np.bool_)


@njit(cache=True, error_model="numpy", nogil=True)
def observe_one(s, w, r, bo, ro, full, work):  # pragma: no cover (compiled)
    """Replicate r's observables of the day into bo[:, r] and ro[:, r] (the compiled day calls it as it ends the replicate's day)."""
    n = s.striking.shape[1]
    nk = s.c_active.shape[1]
    nb = w.wf_by_basin.shape[0]
    npr = w.wf_by_republic.shape[0]
    mb, cb, rp, sov, back = work
    mb[:] = 0.0
    cb[:] = 0.0
    rp[:] = 0.0
    for k in range(nk):
        sov[k] = s.c_active[r, k] and s.c_stage[r, k] == 2
        back[k] = s.c_active[r, k] and s.c_alleg[r, k] >= 0.5
    towns = not full and w.whole
    if towns:  # the figures' sums only: the strikers' (the others add 0.0), the backed workforce by town
        _strikers_and_backing(s, w, r, mb, rp, back)
    # a basin's (republic's) sums run in registers over a run of its enterprises, taken up from and put
    # back into mb (rp) at the run's ends: the same additions in the same order, whatever the enterprises' order
    cur, cur_p = -1, -1
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = 0.0
    q0 = q1 = q2 = q3 = q4 = q5 = 0.0
    for i in range(0 if towns else n):
        b = w.basin[i]
        if b != cur:
            if cur >= 0:
                _put(mb, cur, (a0, a1, a2, a3, a4, a5, a6))
            cur = b
            a0, a1, a2, a3, a4, a5, a6 = mb[0, b], mb[1, b], mb[2, b], mb[3, b], mb[4, b], mb[5, b], mb[6, b]
        p = w.republic[i]
        if p != cur_p:
            if cur_p >= 0:
                _put(rp, cur_p, (q0, q1, q2, q3, q4, q5))
            cur_p = p
            q0, q1, q2, q3, q4, q5 = rp[0, p], rp[1, p], rp[2, p], rp[3, p], rp[4, p], rp[5, p]
        wi = w.wf[i]
        on = s.striking[r, i]
        out = (s.out_share[r, i] if on else 0.0) * wi
        a0 += out
        a1 += 1.0 if on else 0.0
        q0 += out
        q5 += wi if (back[w.city[i]] or back[w.nc + b]) else 0.0
        if full:
            st = s.stage[r, i]
            s0 = wi if st == 0 else 0.0
            s1 = wi if st == 1 else 0.0
            s2 = wi if st == 2 else 0.0
            a2 += s0
            a3 += s1
            a4 += s2
            a5 += s.eff[r, i] * wi
            a6 += s.trust[r, i] * wi
            q1 += wi if (sov[w.city[i]] or sov[w.nc + b]) else 0.0
            q2 += s0
            q3 += s1
            q4 += s2
    if cur >= 0:
        _put(mb, cur, (a0, a1, a2, a3, a4, a5, a6))
        _put(rp, cur_p, (q0, q1, q2, q3, q4, q5))
    for k in range(nk):
        if s.c_active[r, k]:
            b = w.k_basin[k]
            cb[0 if k < w.nc else 1, b] += 1.0
            cb[2 + s.c_stage[r, k], b] += 1.0
    for b in range(nb):
        bo[0, r, b] = mb[0, b]
        bo[1, r, b] = mb[1, b]
        for j in range(5):
            bo[2 + j, r, b] = cb[j, b]
        if full:
            bo[7, r, b] = mb[2, b] / w.wf_by_basin[b]
            bo[8, r, b] = mb[3, b] / w.wf_by_basin[b]
            bo[9, r, b] = mb[4, b] / w.wf_by_basin[b]
            bo[10, r, b] = mb[5, b] / w.wf_by_basin[b]
            bo[11, r, b] = mb[6, b] / w.wf_by_basin[b]
        bo[12, r, b] = s.promised[r, b]
        bo[13, r, b] = s.implemented[r, b]
        bo[14, r, b] = s.concessions[r, b]
    for p in range(npr):
        ok = w.wf_by_republic[p] > 0
        ro[1, r, p] = rp[0, p]
        if full:
            ro[0, r, p] = rp[1, p] / w.wf_by_republic[p] if ok else 0.0
            ro[2, r, p] = rp[2, p] / w.wf_by_republic[p] if ok else 0.0
            ro[3, r, p] = rp[3, p] / w.wf_by_republic[p] if ok else 0.0
            ro[4, r, p] = rp[4, p] / w.wf_by_republic[p] if ok else 0.0
        ro[5, r, p] = rp[5, p] / w.wf_by_republic[p] if ok else 0.0


@njit(cache=True, nogil=True, inline="always")
def _strikers_and_backing(s, w, r, mb, rp, back):  # pragma: no cover (compiled)
    """Strikers and enterprises on strike by basin, strikers and backed workforce by republic, into mb and rp (zeroed).

    The same floats as the enterprise-by-enterprise sums: an enterprise at work adds 0.0 to them (left
    out), the strikers are added in ascending order; the backed workforce is added town by town, which
    gives the same float only for a world whose workforce sums are exact in any order (`WorldArrays.whole`).
    """
    for i in range(s.striking.shape[1]):
        if s.striking[r, i]:
            out = s.out_share[r, i] * w.wf[i]
            mb[0, w.basin[i]] += out
            mb[1, w.basin[i]] += 1.0
            rp[0, w.republic[i]] += out
    for c in range(w.nc):
        if (back[c] or back[w.nc + w.city_basin[c]]) and w.city_republic[c] >= 0:
            rp[5, w.city_republic[c]] += w.wf_by_area[c]


@njit(cache=True, nogil=True, inline="always")
def _put(out, col, sums):  # pragma: no cover (compiled)
    """Store a run's running sums (a tuple) back into column `col` of `out`."""
    for j in range(len(sums)):
        out[j, col] = sums[j]
