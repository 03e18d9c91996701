"""The model's day for a batch of replicates, compiled (numba): the one fast path every command runs.

The per-agent Mesa model (`sim.model.model.StrikeModel`) is the specification: agents holding the rules,
one decision at a time. This module does the same day in one compiled loop per replicate, with the
same draws (the same named streams), the same operations in the same order, and order-fixed sums
(ascending element order, as `World._group_sum`), so the two agree decision for decision and float
for float (`tests/unit/test_reference.py`, over the whole state, with every mechanism on and each off).

Everything is addressed by name: the state is `sim.model.state.State` (the variables declared once in
`sim.model.state.VARIABLES`), the parameters one record per replicate with a field per `Params` field
(`param_records`), the mechanism switches a named tuple of `Mechanisms` (`switches`), and the
world's static arrays a named tuple (`world_arrays`). A batch's results do not depend on its size,
chunking or workers: each replicate is computed alone, in a fixed order. Compiled code is cached on
disk (numba's `cache=True`, next to this file), so a command pays compilation once per install.
"""

from __future__ import annotations

import dataclasses
import math
from collections import namedtuple

import numpy as np
from numba import njit

from sim.inputs import process
from sim.inputs.params import Mechanisms, Params
from sim.model.state import CALL_BACK_DAYS, State

PARAMS = tuple(f.name for f in dataclasses.fields(Params))
"""Every parameter, in the field order of the per-replicate records."""
PARAM_DTYPE = np.dtype([(name, np.float64) for name in PARAMS])

Switches = namedtuple("Switches", [f.name for f in dataclasses.fields(Mechanisms)])
"""The mechanism switches, by name, as the compiled code reads them."""

WorldArrays = namedtuple(
    "WorldArrays",
    "basin city republic wf pat alone a_ptr a_idx a_val city_basin k_basin n_by_area towns_per_basin n_by_basin wf_by_area "
    "wf_by_basin wf_by_republic basin_ethnic basin_republic nc local",
)
"""The static arrays of a world that the compiled code reads."""


_LAST: list = []
"""The last parameter set turned into records and its records (a run's levers ask for the same set again and again)."""


def param_records(p: Params, r: int) -> np.ndarray:
    """(R,) one record of every parameter per replicate (a scalar parameter is repeated); read-only."""
    if _LAST and _LAST[0] is p and len(_LAST[1]) == r:
        return _LAST[1]
    rec = np.zeros(r, dtype=PARAM_DTYPE)
    for name in PARAMS:
        rec[name] = np.broadcast_to(np.asarray(getattr(p, name), dtype=float).reshape(-1), (r,))
    rec.flags.writeable = False
    _LAST[:] = [p, rec]
    return rec


def switches(m: Mechanisms) -> Switches:
    """The mechanism switches of `m`, as the compiled code reads them."""
    return Switches(**{k: bool(v) for k, v in dataclasses.asdict(m).items()})


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
            a_val=arr(a.data, float),
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
            local=_ties_are_local(world),
        )
        object.__setattr__(world, "_kernel_arrays", cached)
    return cached


def _ties_are_local(world) -> bool:
    """True when every town tie stays in its town and every basin tie in its basin.

    Then a town (basin) with no striker contributes a share of exactly 0 to its enterprises' town (basin)
    ties, and the kernel need not sum them.
    """
    city, basin = np.asarray(world.city), np.asarray(world.basin)
    for a, area in ((world.a_city, city), (world.a_basin, basin)):
        rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
        if not np.array_equal(area[rows], area[a.indices]):
            return False
    return True


def step(
    s: State,
    world,
    pm: np.ndarray,
    m: Switches,
    day: int,
    repression,
    cut,
    news_level: float,
    movement,
    u_on,
    u_ret,
    u_comm,
    u_stage,
    u_ally,
    threads: int = 1,
) -> None:
    """Advance every replicate of state `s` by one day, in place (the day's events already applied).

    Args:
        s: the state of R replicates.
        world: the static world.
        pm: (R,) parameter records (`param_records`).
        m: the mechanism switches (`switches`).
        day: day index from the scenario start.
        repression: (B,) repression level today.
        cut: (3,) share cut from each tie level today.
        news_level: multiplier of national coverage today (glasnost lever).
        movement: (republics,) national movement strength today.
        u_on: (R, n) draws of the onset stream.
        u_ret: (R, n) draws of the return stream.
        u_comm: (R, K) draws of the committee stream (dissolution).
        u_stage: (R, K) draws of the stage stream (escalation).
        u_ally: (R, K) draws of the alliance stream.
        threads: threads the replicates are split over (`by_rows`).
    """
    wa, rep, cut = world_arrays(world), np.ascontiguousarray(repression, dtype=float), np.ascontiguousarray(cut, dtype=float)
    mov, news = np.ascontiguousarray(movement, dtype=float), float(news_level)

    def part(rows: slice) -> None:
        _step(
            rows_of(s, rows), wa, pm[rows], m, day, rep, cut, news, mov, u_on[rows], u_ret[rows], u_comm[rows], u_stage[rows], u_ally[rows]
        )

    process.by_rows(threads, len(pm), part)


def rows_of(s: State, rows: slice) -> State:
    """The replicates `rows` of state `s` (views: the rules write through them)."""
    return s if rows == slice(None) else State(*(a[rows] for a in s))


def concede(
    s: State,
    world,
    p: Params,
    m: Mechanisms,
    rb: np.ndarray,
    day: int,
    relief: float,
    political: float,
    share,
    days,
    deadline,
    by_republic: bool = False,
    town: int = -1,
) -> None:
    """Apply one concession of the centre (or of a republic), in place, to the basins marked in each replicate.

    Args:
        s: the state.
        world: the world.
        p: parameters.
        m: mechanism switches.
        rb: (R, B) bool, the basins conceded to in each replicate (one decision per replicate).
        day: day index of the concession.
        relief: material relief promised (grievance units).
        political: political concession (self-financing, local control) in [0, 1].
        share: share of the promise that will be carried out (a number, or one per replicate).
        days: time scale of carrying it out, days (likewise).
        deadline: days after which unkept parts count as broken (likewise).
        by_republic: the concession is a republic government's: it binds the allegiance of the basins'
            committees to the republic instead of the Union, and changes neither trust in the centre
            nor its perceived strength.
        town: a town concession (`rb` marks the town's basin): the promise is the basin's, the truce and
            return order, the win, trust and authority only the town's (its committee's `c_deal_day`).
    """
    r = rb.shape[0]
    pm, sw, wa = param_records(p, r), switches(m), world_arrays(world)

    def each(x):
        return np.broadcast_to(np.asarray(x, dtype=float).reshape(-1), (r,))

    share, days, deadline = each(share), each(days), each(deadline)
    rb = np.ascontiguousarray(rb, dtype=np.bool_)
    for i in range(r):
        if rb[i].any():
            _concede_one(
                s, wa, pm[i], sw, i, rb[i], day, float(relief), float(political), share[i], days[i], deadline[i], by_republic, town
            )


@njit(cache=True, error_model="numpy", nogil=True)
def _concede_one(s, w, p, m, r, due, day, relief, political, share, days, deadline, by_republic, town):  # pragma: no cover (compiled)
    """One concession to the basins `due` (B,) of replicate r, or to one town of them if `town` >= 0 (see `concede`)."""
    if not m.settlement:
        return
    nb = due.shape[0]
    for b in range(nb):
        if due[b]:
            s.promised[r, b] = s.promised[r, b] + relief
            s.impl_cap[r, b] = s.impl_cap[r, b] + share * relief
            s.impl_rate[r, b] = 1.0 / days
            s.deadline[r, b] = day + deadline
            if town < 0:
                s.deal_day[r, b] = day
            s.concessions[r, b] = s.concessions[r, b] + 1.0
    if town >= 0:
        s.c_deal_day[r, town] = day
    n = s.eff.shape[1]
    if m.efficacy:
        reps = np.zeros(w.wf_by_republic.shape[0], dtype=np.bool_)  # the republics of the basins conceded to
        for b in range(nb):
            if due[b]:
                reps[w.basin_republic[b]] = True
        for i in range(n):
            won = due[w.basin[i]] if town < 0 else w.city[i] == town
            k = 1.0 if won else (p.eta_rep if reps[w.republic[i]] else p.eta_far)
            s.eff[r, i] = s.eff[r, i] + p.eta_win * k * (1 - s.eff[r, i])
    if m.trust and not by_republic:
        for i in range(n):
            if due[w.basin[i]] if town < 0 else w.city[i] == town:
                s.trust[r, i] = min(max(s.trust[r, i] + p.tau_concede, 0.0), 1.0)
        s.strength[r] = min(max(s.strength[r] - p.strength_concede, 0.0), 1.0)
    for k in range(s.c_active.shape[1]):
        answered = due[w.k_basin[k]] if town < 0 else k == town
        if answered and s.c_active[r, k]:  # the committees the concession answered
            s.c_won[r, k] = True
            s.c_auth[r, k] = min(max(s.c_auth[r, k] + 0.5 * political, 0.0), 1.0)
            # the concession binds their allegiance to its maker
            if by_republic:
                s.c_alleg[r, k] = s.c_alleg[r, k] + p.bind * (1 - s.c_alleg[r, k])
            else:
                s.c_alleg[r, k] = s.c_alleg[r, k] * (1 - p.bind)
    for b in range(nb if town < 0 else 0):
        if due[b]:
            s.call_left[r, b] = 0.0  # a deal ends the calls in force there: its return order takes over


@njit(cache=True, error_model="numpy", nogil=True)  # numpy's division semantics; threads run it side by side
def _step(s, w, pm, m, day, repression, cut, news_level, movement, u_on, u_ret, u_comm, u_stage, u_ally):  # pragma: no cover (compiled)
    nrep, n = s.striking.shape
    nk = s.c_active.shape[1]
    nb = s.promised.shape[1]
    rep_max = repression[0]
    for b in range(nb):
        rep_max = max(rep_max, repression[b])
    any_strike = False
    for r in range(nrep):
        for i in range(n):
            if s.striking[r, i]:
                any_strike = True
    truce = np.empty(nb, dtype=np.bool_)
    ordered = np.empty(nb, dtype=np.bool_)
    t_truce = np.empty(nk, dtype=np.bool_)  # a town's own deal (its committee's c_deal_day): truce and return order
    t_order = np.empty(nk, dtype=np.bool_)
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
    due = np.empty(nb, dtype=np.bool_)
    for r in range(nrep):
        p = pm[r]
        for b in range(nb):
            truce[b] = (day >= s.deal_day[r, b]) and (day < s.deal_day[r, b] + p.deal_truce)
            ordered[b] = truce[b] and (day >= s.deal_day[r, b] + p.order_lag)
            pending[b] = max(s.promised[r, b] - s.implemented[r, b], 0.0)
        for k in range(nk):
            t_truce[k] = (day >= s.c_deal_day[r, k]) and (day < s.c_deal_day[r, k] + p.deal_truce)
            t_order[k] = t_truce[k] and (day >= s.c_deal_day[r, k] + p.order_lag)
        # one pass: strikers for the news, striking enterprises by town and basin, the strike indicator
        # (each sum in ascending enterprise order, as separate passes would)
        tot = 0.0
        for k in range(nk):
            busy[k] = 0.0
        for i in range(n):
            x = 1.0 if s.striking[r, i] else 0.0
            tot += x * s.out_share[r, i] * w.wf[i]
            busy[w.city[i]] += x
            busy[w.nc + w.basin[i]] += x
            xs[i] = x
        news = p.glasnost * news_level * min(1.0, tot / p.news_scale)
        out_r = False
        for b in range(nb):
            out_r = out_r or busy[w.nc + b] > 0
        # tie shares: one pass over the stacked CSR rows (town, basin, delegate), summed in row order;
        # a row whose ties all lie in a town (or basin, or replicate) with no striker is a sum of zeros: 0.0
        for lvl in range(3):
            for i in range(n):
                acc = 0.0
                if lvl == 0:
                    live = busy[w.city[i]] > 0 or not w.local
                elif lvl == 1:
                    live = busy[w.nc + w.basin[i]] > 0 or not w.local
                else:
                    live = out_r
                if any_strike and live:
                    row = lvl * n + i
                    for q in range(w.a_ptr[row], w.a_ptr[row + 1]):
                        acc += w.a_val[q] * xs[w.a_idx[q]]
                shares[lvl, i] = acc
        for k in range(nk):
            kb = w.k_basin[k]
            callout[k] = s.c_active[r, k] and busy[k] > 0 and not (truce[kb] or t_truce[k]) and s.c_age[r, k] < p.push_days
            calling[k] = s.c_active[r, k] and s.call_left[r, kb] > 0 and ((not s.call_pol[r, kb]) or s.c_stage[r, k] >= 1)
            est[k] = s.c_active[r, k] and s.c_age[r, k] >= p.push_days
        for b in range(nb):
            pull[b] = p.k_call * math.exp(-s.call_age[r, b] / p.call_span)
        total_w = p.w_wage + p.w_ecology + p.w_privilege
        for i in range(n):
            b = w.basin[i]
            ci = w.city[i]
            bi = w.nc + b
            told = ordered[b] or t_order[ci]  # a return order of its basin's deal or its town's own
            # only the decision an enterprise can take today is computed: onset if at work, return if out
            # (the other probability is never read; skipping it changes no value)
            if not s.striking[r, i]:
                expo = (
                    p.w_city * (1 - cut[0]) * shares[0, i]
                    + p.w_basin * (1 - cut[1]) * shares[1, i]
                    + p.w_delegate * (1 - cut[2]) * shares[2, i]
                )
                push = p.k_city * (1.0 if callout[ci] else 0.0) + p.k_basin * (1.0 if callout[bi] else 0.0)
                call = pull[b] * (1.0 if (calling[ci] or calling[bi]) else 0.0) * (1 - s.cost[r, i])
                lam = 0.0
                if m.onset:
                    lam = lam + p.spark
                if m.contagion:
                    lam = lam + expo
                if m.news:
                    lam = lam + p.w_news * news
                if m.committees:
                    lam = lam + push
                    lam = lam * ((1 - p.channel) if (est[ci] or est[bi]) else 1.0)
                if m.fatigue and not (s.days_off[r, i] >= p.refractory):
                    lam = 0.0
                if m.committees:
                    lam = lam + call
                p_ret[i] = 0.0
                if (m.settlement and told and s.trust[r, i] >= p.trust_hold) or u_on[r, i] >= lam * (1 + 1e-12) + 1e-15:
                    # held back by a return order; or a draw above 1 - exp(-readiness * lam) <= lam, which no
                    # readiness in (0, 1) can reach: the decision (no strike) is known without the exponentials
                    p_on[i] = 0.0
                    continue
                g = (
                    s.griev[r, i, 0] * (p.w_wage / total_w)
                    + s.griev[r, i, 1] * (p.w_ecology / total_w)
                    + s.griev[r, i, 2] * (p.w_privilege / total_w)
                )
                g_eff = g - s.implemented[r, b] - p.expect * s.trust[r, i] * pending[b]
                fear = s.strength[r] * p.fear0 + repression[b]
                z = (
                    p.b_griev * (g_eff - p.g_ref)
                    - p.b_pat * w.pat[i]
                    - p.b_rep * fear
                    + p.b_eff * (s.eff[r, i] - p.eff0)
                    - p.b_trust * (s.trust[r, i] - p.trust0)
                )
                if m.fatigue:
                    z = z - p.b_cost * s.cost[r, i]
                ready = 1.0 / (1.0 + math.exp(-z))
                p_on[i] = 1.0 - math.exp(-ready * lam)
                continue
            p_on[i] = 0.0
            lr = 0.0
            if m.settlement:
                working = 1.0 - shares[0, i]
                if w.alone[i]:
                    working = 1.0
                obey = 1.0 if s.trust[r, i] >= p.trust_hold else 0.0
                lr = lr + (1.0 if told else 0.0) * (p.r_obey * obey + p.r_peer * (working * working))
            if m.fatigue:
                auth_city = s.c_auth[r, ci] * (1.0 if s.c_active[r, ci] else 0.0)
                over = max(s.days_on[r, i] - p.fat_grace, 0.0)
                lr = lr + p.fat_rate * over * (1 - p.fund_auth * auth_city) + p.r_cost * (s.cost[r, i] * s.cost[r, i])
            if m.committees:
                lr = lr + p.r_call_end * (1.0 if s.call_ended[r, b] > 0 else 0.0)
            # 1 - exp(-lr) <= lr: a draw above it cannot end the strike (the decision is known without the exponential)
            p_ret[i] = 0.0 if u_ret[r, i] >= lr * (1 + 1e-12) + 1e-15 else 1.0 - math.exp(-lr)
        for i in range(n):
            b = w.basin[i]
            was = s.striking[r, i]
            start = (not was) and u_on[r, i] < p_on[i]
            stop = was and u_ret[r, i] < p_ret[i]
            failed[i] = stop and not (ordered[b] or t_order[w.city[i]])
            now = (was or start) and not stop
            s.striking[r, i] = now
            if start:
                s.ever[r, i] = True
            s.days_on[r, i] = s.days_on[r, i] + 1 if now else 0.0
            s.days_off[r, i] = 0.0 if failed[i] else s.days_off[r, i] + 1
            if m.fatigue:
                s.cost[r, i] = s.cost[r, i] + p.cost_rate * (1 - s.cost[r, i]) if now else s.cost[r, i] * (1 - p.cost_recover)
            if m.efficacy:
                e = max(s.eff[r, i] - p.eta_fail, 0.0) if failed[i] else s.eff[r, i]
                s.eff[r, i] = e + p.eff_decay * (p.eff0 - e)
            if m.trust and failed[i]:
                s.trust[r, i] = min(max(s.trust[r, i] - p.tau_refuse, 0.0), 1.0)
        # committees
        for k in range(nk):
            counts[k] = 0.0
        for i in range(n):
            counts[w.city[i]] += 1.0 if s.striking[r, i] else 0.0
        for i in range(n):
            counts[w.nc + w.basin[i]] += 1.0 if s.striking[r, i] else 0.0
        if m.committees:
            for b in range(nb):
                forb[b] = 0.0
            for c in range(w.nc):
                cshare = counts[c] / max(w.n_by_area[c], 1e-12)
                form[c] = (cshare >= p.form_share) or (counts[c] >= p.form_count)
                forb[w.city_basin[c]] += 1.0 if (s.c_active[r, c] or form[c]) else 0.0
            for b in range(nb):
                form[w.nc + b] = forb[b] / w.towns_per_basin[b] >= p.form_towns
            for k in range(nk):
                idle = s.c_active[r, k] and counts[k] == 0
                if m.persistence:
                    haz = p.dissolve * (1 - s.c_auth[r, k]) * (1 - p.persist_won * (1.0 if s.c_won[r, k] else 0.0))
                    gone = idle and u_comm[r, k] < 1 - math.exp(-haz)
                else:
                    gone = idle
                new[k] = form[k] and not s.c_active[r, k]
                act = (s.c_active[r, k] and not gone) or new[k]
                s.c_active[r, k] = act
                s.c_won[r, k] = s.c_won[r, k] and act
                s.c_allied[r, k] = s.c_allied[r, k] and act
                if not act:
                    s.c_stage[r, k] = 0
                    s.c_auth[r, k] = 0.0
                    s.c_alleg[r, k] = 0.0
                    s.c_age[r, k] = 0.0
                else:
                    s.c_age[r, k] = s.c_age[r, k] + 1
                if new[k] and s.call_left[r, w.k_basin[k]] > 0:
                    s.c_age[r, k] = max(s.c_age[r, k], p.push_days)
                if m.persistence and act and s.c_won[r, k]:
                    s.c_auth[r, k] = s.c_auth[r, k] + p.auth_gain * (1 - s.c_auth[r, k])
            any_c = False
            for k in range(nk):
                any_c = any_c or s.c_active[r, k]
            if m.escalation and any_c:  # (a replicate without active committees is left unchanged by it)
                for k in range(nk):
                    tk[k] = 0.0
                    ek[k] = 0.0
                    fk[k] = 0.0
                for i in range(n):
                    tk[w.city[i]] += s.trust[r, i] * w.wf[i]
                    ek[w.city[i]] += s.eff[r, i] * w.wf[i]
                    fk[w.city[i]] += (1.0 if failed[i] else 0.0) * w.wf[i]
                for i in range(n):
                    tk[w.nc + w.basin[i]] += s.trust[r, i] * w.wf[i]
                    ek[w.nc + w.basin[i]] += s.eff[r, i] * w.wf[i]
                    fk[w.nc + w.basin[i]] += (1.0 if failed[i] else 0.0) * w.wf[i]
                for k in range(nk):  # the republics court the refused
                    if s.c_active[r, k]:
                        s.c_alleg[r, k] = s.c_alleg[r, k] + p.court * (fk[k] / max(w.wf_by_area[k], 1e-12)) * (1 - s.c_alleg[r, k])
                for b in range(nb):
                    broken[b] = max(s.promised[r, b] - s.implemented[r, b], 0.0) if day > s.deadline[r, b] else 0.0
                for k in range(nk):
                    kb = w.k_basin[k]
                    t_k = tk[k] / max(w.wf_by_area[k], 1e-12)
                    e_k = ek[k] / max(w.wf_by_area[k], 1e-12)
                    move = movement[w.basin_republic[kb]]
                    eth = w.basin_ethnic[kb]
                    lam_up = p.esc0 * math.exp(
                        p.g_distrust * (1 - t_k)
                        + p.g_eff * e_k
                        + p.g_broken * broken[kb]
                        + p.g_auth * s.c_auth[r, k]
                        + p.g_move * (1.0 if s.c_allied[r, k] else 0.0) * move
                        + p.g_ethnic * eth * (1.0 if s.c_stage[r, k] == 1 else 0.0)
                    )
                    lam_dn = p.de_esc * t_k
                    a = s.c_active[r, k]
                    up = a and s.c_stage[r, k] < 2 and u_stage[r, k] < 1 - math.exp(-lam_up)
                    dn = a and s.c_stage[r, k] > 0 and (not up) and u_stage[r, k] > math.exp(-lam_dn)
                    s.c_stage[r, k] = s.c_stage[r, k] + (1 if up else 0) - (1 if dn else 0)
                    ally = a and (not s.c_allied[r, k]) and s.c_stage[r, k] >= 1 and u_ally[r, k] < 1 - math.exp(-p.ally_rate * move)
                    if ally:
                        s.c_allied[r, k] = True
                    if a and s.c_allied[r, k]:
                        s.c_alleg[r, k] = s.c_alleg[r, k] + p.a_move * move * (1 - s.c_alleg[r, k])
            for i in range(n if any_c else 0):  # (no active committee: no workforce takes up demands)
                ci = w.city[i]
                bi = w.nc + w.basin[i]
                ks = max(s.c_stage[r, ci] if s.c_active[r, ci] else -1, s.c_stage[r, bi] if s.c_active[r, bi] else -1)
                if ks >= 0 and ks > s.stage[r, i]:
                    s.stage[r, i] = ks
        # calls run out
        for b in range(nb):
            share_b = counts[w.nc + b] / w.n_by_basin[b]
            cl = s.call_left[r, b]
            if math.isinf(cl) and s.call_age[r, b] >= 7 and share_b < p.call_floor:
                cl = 0.0
            s.call_ended[r, b] = CALL_BACK_DAYS if (cl > 0 and cl <= 1) else max(s.call_ended[r, b] - 1, 0.0)
            s.call_age[r, b] = s.call_age[r, b] + 1 if cl > 0 else 0.0
            s.call_left[r, b] = max(cl - 1, 0.0)
        # slow dynamics: prices, promises, repression
        for i in range(n):
            s.griev[r, i, 0] = min(s.griev[r, i, 0] + p.wage_drift / 365.0, 1.0)
        if m.settlement:
            for b in range(nb):
                gain[b] = max(s.impl_cap[r, b] - s.implemented[r, b], 0.0) * s.impl_rate[r, b]
                s.implemented[r, b] = s.implemented[r, b] + gain[b]
            if m.trust:
                for b in range(nb):
                    unk = max(s.promised[r, b] - s.implemented[r, b], 0.0) if day > s.deadline[r, b] else 0.0
                    broken[b] = p.tau_kept * gain[b] - p.tau_broken * unk
                for i in range(n):
                    s.trust[r, i] = min(max(s.trust[r, i] + broken[w.basin[i]], 0.0), 1.0)
        if m.trust:
            for i in range(n):
                s.trust[r, i] = min(max(s.trust[r, i] - p.tau_rep * repression[w.basin[i]], 0.0), 1.0)
            s.strength[r] = min(max(s.strength[r] + p.strength_rep * rep_max, 0.0), 1.0)
        # the reactive centre concedes to a long, large strike outside any truce (deals are made only
        # here, so the truce computed at the start of the day still holds)
        if m.settlement and m.reactive_centre:
            anydue = False
            for b in range(nb):
                share_b = counts[w.nc + b] / w.n_by_basin[b]
                s.run_days[r, b] = s.run_days[r, b] + 1 if share_b >= p.react_share else 0.0
                due[b] = s.run_days[r, b] >= p.react_days and not truce[b]
                anydue = anydue or due[b]
            if anydue:  # one decision a day: the centre answers every long strike of the day together
                _concede_one(s, w, p, m, r, due, day, p.react_relief, 0.0, p.impl_share, p.impl_days, p.deadline_days, False, -1)
                for b in range(nb):
                    if due[b]:
                        s.run_days[r, b] = 0.0
