"""The daily rules fused into one compiled pass per replicate (numba): the fast path of `sim.rules.step`.

`sim.rules.step` is the readable specification: about 150 numpy operations over (replicates x
enterprises) arrays, each a pass over memory with Python overhead between them. `step` here does the
same day in one compiled loop per replicate, with the same draws (the same named streams), the same
operations in the same order, and order-fixed sums (ascending element order, as `World._group_sum`).

Equality with the numpy rules: every decision is the same on the same draws; floats agree to a
stated tolerance, not bit for bit, because numpy's `exp` for float64 uses SIMD code (AVX-512) whose
last bit differs from the C library's `exp` that compiled code calls in about 5% of arguments
(measured). `tests/unit/test_kernel.py` checks identical decisions and floats within 1e-9 (relative)
over a 549-day run. A batch's results still do not depend on its size, chunking or workers: each
replicate is computed alone, in a fixed order.

Not covered (the engine falls back to the numpy rules for the whole run): the reactive centre
(`centre_reactive >= 0.5`), whose concessions act inside the day. Compiled kernels are cached on
disk (numba's `cache=True`, next to this file), so a command pays compilation once per install.
"""

from __future__ import annotations

import math

import numpy as np

try:  # numba is a dependency; the numpy rules remain the reference if it cannot be imported
    from numba import njit

    AVAILABLE = True
except ImportError:  # pragma: no cover
    AVAILABLE = False

from sim.params import Mechanisms, Params

PARAMS = (
    "deal_truce", "order_lag", "glasnost", "news_scale", "w_wage", "w_ecology", "w_privilege", "expect", "fear0",
    "b_griev", "g_ref", "b_pat", "b_rep", "b_eff", "eff0", "b_trust", "trust0", "b_cost", "w_city", "w_basin",
    "w_delegate", "push_days", "k_city", "k_basin", "k_call", "call_span", "refractory", "channel", "spark",
    "w_news", "trust_hold", "r_obey", "r_peer", "fat_grace", "fat_rate", "fund_auth", "r_cost", "r_call_end",
    "cost_rate", "cost_recover", "eta_fail", "eff_decay", "form_share", "form_count", "form_towns", "dissolve",
    "persist_won", "auth_gain", "esc0", "g_distrust", "g_eff", "g_broken", "g_auth", "g_move", "g_ethnic",
    "de_esc", "ally_rate", "a_move", "call_floor", "wage_drift", "tau_kept", "tau_broken", "tau_rep", "strength_rep",
    "tau_refuse", "court",
)  # fmt: skip
"""The parameters the daily rules read, in the column order of `param_matrix`."""
P = {name: i for i, name in enumerate(PARAMS)}
MECHS = ("onset", "contagion", "committees", "news", "settlement", "efficacy", "trust", "persistence", "escalation", "fatigue")


def param_matrix(p: Params, r: int) -> np.ndarray:
    """(R, len(PARAMS)) the parameters of a batch, one row per replicate (scalars repeated)."""
    return np.stack([np.broadcast_to(np.asarray(getattr(p, n), dtype=float).reshape(-1), (r,)) for n in PARAMS], axis=1).copy()


def mech_flags(m: Mechanisms) -> np.ndarray:
    """The mechanism switches the daily rules read, as a boolean array in `MECHS` order."""
    return np.array([getattr(m, k) for k in MECHS], dtype=np.bool_)


def usable(p: Params) -> bool:
    """True when the kernel implements every rule these parameters switch on (not the reactive centre)."""
    return AVAILABLE and float(np.max(np.asarray(p.centre_reactive, dtype=float))) < 0.5


def world_arrays(world) -> tuple:
    """The static arrays of the world that the kernel reads (computed once per world and cached on it)."""
    cached = getattr(world, "_kernel_arrays", None)
    if cached is None:
        a = world.a_levels
        cached = (
            np.ascontiguousarray(world.basin, dtype=np.int64),
            np.ascontiguousarray(world.city, dtype=np.int64),
            np.ascontiguousarray(world.workforce, dtype=float),
            np.ascontiguousarray(world.paternalism, dtype=float),
            np.ascontiguousarray(world.alone, dtype=np.bool_),
            np.ascontiguousarray(a.indptr, dtype=np.int64),
            np.ascontiguousarray(a.indices, dtype=np.int64),
            np.ascontiguousarray(a.data, dtype=float),
            np.ascontiguousarray(world.city_basin, dtype=np.int64),
            np.ascontiguousarray(world.k_basin, dtype=np.int64),
            np.ascontiguousarray(world.n_by_area, dtype=float),
            np.ascontiguousarray(world.towns_per_basin, dtype=float),
            np.ascontiguousarray(world.n_by_basin, dtype=float),
            np.ascontiguousarray(world.workforce_by_area, dtype=float),
            np.ascontiguousarray(world.basin_ethnic, dtype=float),
            np.ascontiguousarray(world.basin_republic, dtype=np.int64),
        )
        object.__setattr__(world, "_kernel_arrays", cached)
    return cached


def step(
    s, world, pm: np.ndarray, mech: np.ndarray, day: int, repression, cut, news_level: float, movement, u_on, u_ret, u_comm, u_stage, u_ally
) -> None:
    """Advance every replicate of state `s` by one day, in place, as `sim.rules.step` does.

    Arguments as there, with the parameters as `param_matrix` and the switches as `mech_flags`.
    """
    _step(
        s.striking, s.days_on, s.ever, s.out_share, s.griev, s.eff, s.trust, s.stage, s.c_active, s.c_auth, s.c_stage, s.c_won,
        s.c_allied, s.promised, s.implemented, s.impl_cap, s.impl_rate, s.deadline, s.deal_day, s.strength, s.cost, s.days_off,
        s.c_age, s.c_alleg, s.call_left, s.call_pol, s.call_ended, s.call_age,
        *world_arrays(world), world.n_cities,
        pm, mech, day, np.ascontiguousarray(repression, dtype=float), np.ascontiguousarray(cut, dtype=float), float(news_level),
        np.ascontiguousarray(movement, dtype=float), u_on, u_ret, u_comm, u_stage, u_ally,
    )  # fmt: skip


def _kernel(
    striking, days_on, ever, out_share, griev, eff, trust, stage, c_active, c_auth, c_stage, c_won, c_allied, promised,
    implemented, impl_cap, impl_rate, deadline, deal_day, strength, cost, days_off, c_age, c_alleg, call_left, call_pol,
    call_ended, call_age,
    basin, city, wf, pat, alone, a_ptr, a_idx, a_val, city_basin, k_basin, n_by_area, towns_per_basin, n_by_basin,
    wf_by_area, basin_ethnic, basin_republic, nc,
    pm, mech, day, repression, cut, news_level, movement, u_on, u_ret, u_comm, u_stage, u_ally,
):  # fmt: skip
    onset, contagion, committees, news_on, settlement, efficacy, trust_on, persistence, escalation, fatigue = (
        mech[0], mech[1], mech[2], mech[3], mech[4], mech[5], mech[6], mech[7], mech[8], mech[9],
    )  # fmt: skip
    nrep, n = striking.shape
    nk = c_active.shape[1]
    nb = promised.shape[1]
    rep_max = repression[0]
    for b in range(nb):
        rep_max = max(rep_max, repression[b])
    any_strike = False
    for r in range(nrep):
        for i in range(n):
            if striking[r, i]:
                any_strike = True
    truce = np.empty(nb, dtype=np.bool_)
    ordered = np.empty(nb, dtype=np.bool_)
    pending = np.empty(nb)
    shares = np.zeros((3, n))
    xs = np.zeros(n)
    busy = np.zeros(nk)
    callout = np.empty(nk, dtype=np.bool_)
    calling = np.empty(nk, dtype=np.bool_)
    est = np.empty(nk, dtype=np.bool_)
    pull = np.empty(nb)
    p_on = np.empty(n)
    p_ret = np.empty(n)
    failed = np.empty(n, dtype=np.bool_)
    counts = np.zeros(nk)
    form = np.empty(nk, dtype=np.bool_)
    new = np.empty(nk, dtype=np.bool_)
    forb = np.zeros(nb)
    tk = np.zeros(nk)
    ek = np.zeros(nk)
    fk = np.zeros(nk)
    broken = np.empty(nb)
    gain = np.empty(nb)
    for r in range(nrep):
        pr = pm[r]
        for b in range(nb):
            truce[b] = (day >= deal_day[r, b]) and (day < deal_day[r, b] + pr[0])
            ordered[b] = truce[b] and (day >= deal_day[r, b] + pr[1])
            pending[b] = max(promised[r, b] - implemented[r, b], 0.0)
        tot = 0.0
        for i in range(n):
            tot += (1.0 if striking[r, i] else 0.0) * out_share[r, i] * wf[i]
        news = pr[2] * news_level * min(1.0, tot / pr[3])
        # tie shares: one pass over the stacked CSR rows (town, basin, delegate), summed in row order
        for i in range(n):
            xs[i] = 1.0 if striking[r, i] else 0.0
        for lvl in range(3):
            for i in range(n):
                acc = 0.0
                if any_strike:
                    row = lvl * n + i
                    for q in range(a_ptr[row], a_ptr[row + 1]):
                        acc += a_val[q] * xs[a_idx[q]]
                shares[lvl, i] = acc
        for k in range(nk):
            busy[k] = 0.0
        for i in range(n):
            busy[city[i]] += 1.0 if striking[r, i] else 0.0
        for i in range(n):
            busy[nc + basin[i]] += 1.0 if striking[r, i] else 0.0
        for k in range(nk):
            kb = k_basin[k]
            callout[k] = c_active[r, k] and busy[k] > 0 and (not truce[kb]) and c_age[r, k] < pr[21]
            calling[k] = c_active[r, k] and call_left[r, kb] > 0 and ((not call_pol[r, kb]) or c_stage[r, k] >= 1)
            est[k] = c_active[r, k] and c_age[r, k] >= pr[21]
        for b in range(nb):
            pull[b] = pr[24] * math.exp(-call_age[r, b] / pr[25])
        total_w = pr[4] + pr[5] + pr[6]
        for i in range(n):
            b = basin[i]
            ci = city[i]
            bi = nc + b
            # only the decision an enterprise can take today is computed: onset if at work, return if out
            # (the other probability is never read; skipping it changes no value)
            if not striking[r, i]:
                g = griev[r, i, 0] * (pr[4] / total_w) + griev[r, i, 1] * (pr[5] / total_w) + griev[r, i, 2] * (pr[6] / total_w)
                g_eff = g - implemented[r, b] - pr[7] * trust[r, i] * pending[b]
                fear = strength[r] * pr[8] + repression[b]
                z = (
                    pr[9] * (g_eff - pr[10])
                    - pr[11] * pat[i]
                    - pr[12] * fear
                    + pr[13] * (eff[r, i] - pr[14])
                    - pr[15] * (trust[r, i] - pr[16])
                )
                if fatigue:
                    z = z - pr[17] * cost[r, i]
                ready = 1.0 / (1.0 + math.exp(-z))
                expo = pr[18] * (1 - cut[0]) * shares[0, i] + pr[19] * (1 - cut[1]) * shares[1, i] + pr[20] * (1 - cut[2]) * shares[2, i]
                push = pr[22] * (1.0 if callout[ci] else 0.0) + pr[23] * (1.0 if callout[bi] else 0.0)
                call = pull[b] * (1.0 if (calling[ci] or calling[bi]) else 0.0) * (1 - cost[r, i])
                lam = 0.0
                if onset:
                    lam = lam + pr[28]
                if contagion:
                    lam = lam + expo
                if news_on:
                    lam = lam + pr[29] * news
                if committees:
                    lam = lam + push
                    lam = lam * ((1 - pr[27]) if (est[ci] or est[bi]) else 1.0)
                if fatigue and not (days_off[r, i] >= pr[26]):
                    lam = 0.0
                if committees:
                    lam = lam + call
                pon = 1.0 - math.exp(-ready * lam)
                if settlement and ordered[b] and trust[r, i] >= pr[30]:
                    pon = 0.0
                p_on[i] = pon
                p_ret[i] = 0.0
                continue
            p_on[i] = 0.0
            lr = 0.0
            if settlement:
                working = 1.0 - shares[0, i]
                if alone[i]:
                    working = 1.0
                obey = 1.0 if trust[r, i] >= pr[30] else 0.0
                lr = lr + (1.0 if ordered[b] else 0.0) * (pr[31] * obey + pr[32] * (working * working))
            if fatigue:
                auth_city = c_auth[r, ci] * (1.0 if c_active[r, ci] else 0.0)
                over = max(days_on[r, i] - pr[33], 0.0)
                lr = lr + pr[34] * over * (1 - pr[35] * auth_city) + pr[36] * (cost[r, i] * cost[r, i])
            if committees:
                lr = lr + pr[37] * (1.0 if call_ended[r, b] > 0 else 0.0)
            p_ret[i] = 1.0 - math.exp(-lr)
        for i in range(n):
            b = basin[i]
            was = striking[r, i]
            start = (not was) and u_on[r, i] < p_on[i]
            stop = was and u_ret[r, i] < p_ret[i]
            failed[i] = stop and not ordered[b]
            now = (was or start) and not stop
            striking[r, i] = now
            if start:
                ever[r, i] = True
            days_on[r, i] = days_on[r, i] + 1 if now else 0.0
            days_off[r, i] = 0.0 if failed[i] else days_off[r, i] + 1
            if fatigue:
                cost[r, i] = cost[r, i] + pr[38] * (1 - cost[r, i]) if now else cost[r, i] * (1 - pr[39])
            if efficacy:
                e = max(eff[r, i] - pr[40], 0.0) if failed[i] else eff[r, i]
                eff[r, i] = e + pr[41] * (pr[14] - e)
            if trust_on and failed[i]:
                trust[r, i] = min(max(trust[r, i] - pr[64], 0.0), 1.0)
        # committees
        for k in range(nk):
            counts[k] = 0.0
        for i in range(n):
            counts[city[i]] += 1.0 if striking[r, i] else 0.0
        for i in range(n):
            counts[nc + basin[i]] += 1.0 if striking[r, i] else 0.0
        if committees:
            for b in range(nb):
                forb[b] = 0.0
            for c in range(nc):
                cshare = counts[c] / max(n_by_area[c], 1e-12)
                form[c] = (cshare >= pr[42]) or (counts[c] >= pr[43])
                forb[city_basin[c]] += 1.0 if (c_active[r, c] or form[c]) else 0.0
            for b in range(nb):
                form[nc + b] = forb[b] / towns_per_basin[b] >= pr[44]
            for k in range(nk):
                idle = c_active[r, k] and counts[k] == 0
                if persistence:
                    haz = pr[45] * (1 - c_auth[r, k]) * (1 - pr[46] * (1.0 if c_won[r, k] else 0.0))
                    gone = idle and u_comm[r, k] < 1 - math.exp(-haz)
                else:
                    gone = idle
                new[k] = form[k] and not c_active[r, k]
                act = (c_active[r, k] and not gone) or new[k]
                c_active[r, k] = act
                c_won[r, k] = c_won[r, k] and act
                c_allied[r, k] = c_allied[r, k] and act
                if not act:
                    c_stage[r, k] = 0
                    c_auth[r, k] = 0.0
                    c_alleg[r, k] = 0.0
                    c_age[r, k] = 0.0
                else:
                    c_age[r, k] = c_age[r, k] + 1
                if new[k] and call_left[r, k_basin[k]] > 0:
                    c_age[r, k] = max(c_age[r, k], pr[21])
                if persistence and act and c_won[r, k]:
                    c_auth[r, k] = c_auth[r, k] + pr[47] * (1 - c_auth[r, k])
            if escalation:  # (a replicate without active committees is left unchanged by it)
                for k in range(nk):
                    tk[k] = 0.0
                    ek[k] = 0.0
                    fk[k] = 0.0
                for i in range(n):
                    tk[city[i]] += trust[r, i] * wf[i]
                    ek[city[i]] += eff[r, i] * wf[i]
                    fk[city[i]] += (1.0 if failed[i] else 0.0) * wf[i]
                for i in range(n):
                    tk[nc + basin[i]] += trust[r, i] * wf[i]
                    ek[nc + basin[i]] += eff[r, i] * wf[i]
                    fk[nc + basin[i]] += (1.0 if failed[i] else 0.0) * wf[i]
                for k in range(nk):  # the republics court the refused
                    if c_active[r, k]:
                        c_alleg[r, k] = c_alleg[r, k] + pr[65] * (fk[k] / max(wf_by_area[k], 1e-12)) * (1 - c_alleg[r, k])
                for b in range(nb):
                    broken[b] = max(promised[r, b] - implemented[r, b], 0.0) if day > deadline[r, b] else 0.0
                for k in range(nk):
                    kb = k_basin[k]
                    t_k = tk[k] / max(wf_by_area[k], 1e-12)
                    e_k = ek[k] / max(wf_by_area[k], 1e-12)
                    move = movement[basin_republic[kb]]
                    eth = basin_ethnic[kb]
                    lam_up = pr[48] * math.exp(
                        pr[49] * (1 - t_k)
                        + pr[50] * e_k
                        + pr[51] * broken[kb]
                        + pr[52] * c_auth[r, k]
                        + pr[53] * (1.0 if c_allied[r, k] else 0.0) * move
                        + pr[54] * eth * (1.0 if c_stage[r, k] == 1 else 0.0)
                    )
                    lam_dn = pr[55] * t_k
                    a = c_active[r, k]
                    up = a and c_stage[r, k] < 2 and u_stage[r, k] < 1 - math.exp(-lam_up)
                    dn = a and c_stage[r, k] > 0 and (not up) and u_stage[r, k] > math.exp(-lam_dn)
                    c_stage[r, k] = c_stage[r, k] + (1 if up else 0) - (1 if dn else 0)
                    ally = a and (not c_allied[r, k]) and c_stage[r, k] >= 1 and u_ally[r, k] < 1 - math.exp(-pr[56] * move)
                    if ally:
                        c_allied[r, k] = True
                    if a and c_allied[r, k]:
                        c_alleg[r, k] = c_alleg[r, k] + pr[57] * move * (1 - c_alleg[r, k])
            for i in range(n):
                ci = city[i]
                bi = nc + basin[i]
                ks = max(c_stage[r, ci] if c_active[r, ci] else -1, c_stage[r, bi] if c_active[r, bi] else -1)
                if ks >= 0 and ks > stage[r, i]:
                    stage[r, i] = ks
        # calls run out
        for b in range(nb):
            share_b = counts[nc + b] / n_by_basin[b]
            cl = call_left[r, b]
            if math.isinf(cl) and call_age[r, b] >= 7 and share_b < pr[58]:
                cl = 0.0
            call_ended[r, b] = 7.0 if (cl > 0 and cl <= 1) else max(call_ended[r, b] - 1, 0.0)
            call_age[r, b] = call_age[r, b] + 1 if cl > 0 else 0.0
            call_left[r, b] = max(cl - 1, 0.0)
        # slow dynamics: prices, promises, repression
        for i in range(n):
            griev[r, i, 0] = min(griev[r, i, 0] + pr[59] / 365.0, 1.0)
        if settlement:
            for b in range(nb):
                gain[b] = max(impl_cap[r, b] - implemented[r, b], 0.0) * impl_rate[r, b]
                implemented[r, b] = implemented[r, b] + gain[b]
            if trust_on:
                for b in range(nb):
                    unk = max(promised[r, b] - implemented[r, b], 0.0) if day > deadline[r, b] else 0.0
                    broken[b] = pr[60] * gain[b] - pr[61] * unk
                for i in range(n):
                    trust[r, i] = min(max(trust[r, i] + broken[basin[i]], 0.0), 1.0)
        if trust_on:
            for i in range(n):
                trust[r, i] = min(max(trust[r, i] - pr[62] * repression[basin[i]], 0.0), 1.0)
            strength[r] = min(max(strength[r] + pr[63] * rep_max, 0.0), 1.0)


_step = njit(cache=True, error_model="numpy")(_kernel) if AVAILABLE else _kernel  # numpy's division semantics


# --- the day's observables, fused (sim/metrics.py's observe_basins and observe_republics, in one pass) ---

N_BASIN_OBS = 15
N_REPUBLIC_OBS = 6


def observe(s, world, bo: np.ndarray, ro: np.ndarray) -> None:
    """Fill bo (15, R, B) and ro (6, R, P) with `sim.metrics.observe_basins` and `observe_republics` of state `s`.

    The same sums in the same order (each group summed from 0 in ascending enterprise order, as the
    sparse products of `World._group_sum`), so the values are bit-identical (tests/unit/test_kernel.py).
    The order of the rows is that of `BASIN_OBSERVABLES` and `REPUBLIC_OBSERVABLES`.
    """
    basin, city, wf = world_arrays(world)[:3]
    extra = getattr(world, "_kernel_observe", None)
    if extra is None:
        extra = (
            np.ascontiguousarray(world.republic, dtype=np.int64),
            np.ascontiguousarray(world.k_basin, dtype=np.int64),
            np.ascontiguousarray(world.workforce_by_basin, dtype=float),
            np.ascontiguousarray(world.workforce_by_republic, dtype=float),
        )
        object.__setattr__(world, "_kernel_observe", extra)
    _observe_c(
        s.striking, s.out_share, s.stage, s.eff, s.trust, s.c_active, s.c_stage, s.c_alleg, s.promised, s.implemented,
        s.concessions, basin, city, wf, *extra, world.n_cities, bo, ro,
    )  # fmt: skip


def _observe(
    striking, out_share, stage, eff, trust, c_active, c_stage, c_alleg, promised, implemented, concessions,
    basin, city, wf, republic, k_basin, wfb, wfp, nc, bo, ro,
):  # fmt: skip
    nrep, n = striking.shape
    nk = c_active.shape[1]
    nb = wfb.shape[0]
    npr = wfp.shape[0]
    mb = np.zeros((7, nb))
    cb = np.zeros((5, nb))
    rp = np.zeros((6, npr))
    sov = np.empty(nk, dtype=np.bool_)
    back = np.empty(nk, dtype=np.bool_)
    for r in range(nrep):
        mb[:] = 0.0
        cb[:] = 0.0
        rp[:] = 0.0
        for k in range(nk):
            sov[k] = c_active[r, k] and c_stage[r, k] == 2
            back[k] = c_active[r, k] and c_alleg[r, k] >= 0.5
        for i in range(n):
            b = basin[i]
            p = republic[i]
            w = wf[i]
            st = stage[r, i]
            out = (out_share[r, i] if striking[r, i] else 0.0) * w
            s0 = w if st == 0 else 0.0
            s1 = w if st == 1 else 0.0
            s2 = w if st == 2 else 0.0
            mb[0, b] += out
            mb[1, b] += 1.0 if striking[r, i] else 0.0
            mb[2, b] += s0
            mb[3, b] += s1
            mb[4, b] += s2
            mb[5, b] += eff[r, i] * w
            mb[6, b] += trust[r, i] * w
            rp[0, p] += out
            rp[1, p] += w if (sov[city[i]] or sov[nc + b]) else 0.0
            rp[2, p] += s0
            rp[3, p] += s1
            rp[4, p] += s2
            rp[5, p] += w if (back[city[i]] or back[nc + b]) else 0.0
        for k in range(nk):
            if c_active[r, k]:
                b = k_basin[k]
                cb[0 if k < nc else 1, b] += 1.0
                cb[2 + c_stage[r, k], b] += 1.0
        for b in range(nb):
            bo[0, r, b] = mb[0, b]
            bo[1, r, b] = mb[1, b]
            for j in range(5):
                bo[2 + j, r, b] = cb[j, b]
            bo[7, r, b] = mb[2, b] / wfb[b]
            bo[8, r, b] = mb[3, b] / wfb[b]
            bo[9, r, b] = mb[4, b] / wfb[b]
            bo[10, r, b] = mb[5, b] / wfb[b]
            bo[11, r, b] = mb[6, b] / wfb[b]
            bo[12, r, b] = promised[r, b]
            bo[13, r, b] = implemented[r, b]
            bo[14, r, b] = concessions[r, b]
        for p in range(npr):
            ok = wfp[p] > 0
            ro[0, r, p] = rp[1, p] / wfp[p] if ok else 0.0
            ro[1, r, p] = rp[0, p]
            ro[2, r, p] = rp[2, p] / wfp[p] if ok else 0.0
            ro[3, r, p] = rp[3, p] / wfp[p] if ok else 0.0
            ro[4, r, p] = rp[4, p] / wfp[p] if ok else 0.0
            ro[5, r, p] = rp[5, p] / wfp[p] if ok else 0.0


_observe_c = njit(cache=True, error_model="numpy")(_observe) if AVAILABLE else _observe
