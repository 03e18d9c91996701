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
from sim.model import cache, draws, observation
from sim.model.arrays import world_arrays
from sim.model.state import CALL_BACK_DAYS, State

_NO_BLOCK = np.zeros((1, 0, 0))
"""The observables' blocks of a day not observed (never written)."""

PARAMS = tuple(f.name for f in dataclasses.fields(Params))
"""Every parameter, in the field order of the per-replicate records."""
PARAM_DTYPE = np.dtype([(name, np.float64) for name in PARAMS])

Switches = namedtuple("Switches", [f.name for f in dataclasses.fields(Mechanisms)])
"""The mechanism switches, by name, as the compiled code reads them."""

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
    rs: np.ndarray,
    jt: np.ndarray,
    threads: int = 1,
    observe: tuple[np.ndarray, np.ndarray, bool] | None = None,
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
        rs: (R, 5, 4) the states of each replicate's decision streams (`sim.model.draws.states`), at today's
            first number; each moves past today's numbers (onset and return: n each; committee, stage and
            alliance: K each).
        jt: the generator's jumps (`sim.model.draws.jumps`, for at least n numbers).
        threads: threads the replicates are split over (`by_rows`).
        observe: (bo, ro, full): the day's observables of each replicate go into bo (15, R, B) and ro (6, R, P) as
            its day ends (`sim.model.observation.observe_one`, while its state is in the core's cache); None: not observed.
    """
    bo, ro, full = observe if observe is not None else (_NO_BLOCK, _NO_BLOCK, False)
    wa, rep, cut = world_arrays(world), np.ascontiguousarray(repression, dtype=float), np.ascontiguousarray(cut, dtype=float)
    mov, news = np.ascontiguousarray(movement, dtype=float), float(news_level)

    def part(rows: slice) -> None:
        _step(
            rows_of(s, rows), wa, pm[rows], m, day, rep, cut, news, mov, rs[rows], jt,
            observe is not None, bo[:, rows], ro[:, rows], full,
        )  # fmt: skip

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


@njit(cache=True, nogil=True, inline="always")
def _hit(u, x):  # pragma: no cover (compiled)
    """Whether draw u falls below 1 - exp(-x), the exponential computed only where it can matter (scalars only: inlined, free)."""
    # 1 - exp(-x) <= x: a draw above x (with a margin above the rounding of either side) misses it whatever exp gives
    return u < x * (1 + 1e-12) + 1e-15 and u < 1 - math.exp(-x)


@njit(cache=True, nogil=True, inline="always")
def _onset_rate(m, spark, expo, w_news, push, chan, rested, call):  # pragma: no cover (compiled)
    """An enterprise's onset rate from its terms, in the order of the rules (a switch of `m` off leaves its term out)."""
    # spark, ties' exposure, news, committees' push (times the channel); 0 while it recovers from a failed strike; the call
    lam = 0.0
    if m.onset:
        lam = lam + spark
    if m.contagion:
        lam = lam + expo
    if m.news:
        lam = lam + w_news
    if m.committees:
        lam = lam + push
        lam = lam * chan
    if m.fatigue and not rested:
        lam = 0.0
    if m.committees:
        lam = lam + call
    return lam


@njit(cache=True, error_model="numpy", nogil=True)  # numpy's division semantics; threads run it side by side
def _step(s, w, pm, m, day, repression, cut, news_level, movement, rs, jt, obs, bo, ro, full):  # pragma: no cover (compiled)
    # A replicate's day in passes over its enterprises: (1) who is on strike, and today's draws; (2) the ties
    # on strike of each enterprise (from the strikers' ties only); (3) each enterprise's decision, then the
    # updates (passes without branches), then trust, efficacy and refusals summed by town and basin; the
    # committees; (4) demands taken up, trust. Every sum runs in ascending enterprise order, as the
    # per-agent model's, so each value is the same float.
    nrep, n = s.striking.shape
    nk = s.c_active.shape[1]
    nb = s.promised.shape[1]
    nc = w.nc
    rep_max = repression[0]
    for b in range(nb):
        rep_max = max(rep_max, repression[b])
    # scratch, by basin (nb), by town and basin committee (nk, towns first) and by enterprise (n), zeroed once
    fb, fk_, xb, xk = np.zeros((4, nb), np.bool_), np.zeros((8, nk), np.bool_), np.zeros((5, nb)), np.zeros((8, nk))
    truce, ordered, due, moves = fb[0], fb[1], fb[2], fb[3]
    t_truce, t_order, callout, calling, est, told_t, form, new = fk_[0], fk_[1], fk_[2], fk_[3], fk_[4], fk_[5], fk_[6], fk_[7]
    pending, pull, forb, broken, gain = xb[0], xb[1], xb[2], xb[3], xb[4]
    push_t, call_t, chan_t, lam_q, bound_q, tk, ek, fk = xk[0], xk[1], xk[2], xk[3], xk[4], xk[5], xk[6], xk[7]
    ik, ie, fl = np.zeros((3, nk), np.int64), np.zeros((4, n), np.int64), np.zeros(n, np.bool_)  # fl: failed today
    # busy: enterprises on strike by town and basin at the start of the day, counts: after the decisions;
    # on: the strikers at the start of the day, ascending; tie_b, tie_d: basin and delegate ties on strike; fails: the
    # enterprises that failed today, ascending
    busy, counts, ks_t, on, tie_b, tie_d, fails = ik[0], ik[1], ik[2], ie[0], ie[1], ie[2], ie[3]
    work = observation.scratch(s, w)
    u_on, u_ret, u_comm, u_stage, u_ally = np.empty(n), np.empty(n), np.empty(nk), np.empty(nk), np.empty(nk)  # today's draws
    for r in range(nrep):
        p = pm[r]
        for b in range(nb):
            truce[b] = (day >= s.deal_day[r, b]) and (day < s.deal_day[r, b] + p.deal_truce)
            ordered[b] = truce[b] and (day >= s.deal_day[r, b] + p.order_lag)
            pending[b] = max(s.promised[r, b] - s.implemented[r, b], 0.0)
        for k in range(nk):  # a town's own deal (its committee's c_deal_day): truce and return order
            t_truce[k] = (day >= s.c_deal_day[r, k]) and (day < s.c_deal_day[r, k] + p.deal_truce)
            t_order[k] = t_truce[k] and (day >= s.c_deal_day[r, k] + p.order_lag)
        # (1) strikers for the news (an enterprise at work adds 0.0 and is skipped), striking enterprises
        # by town and basin (integer counts, exact), the list of strikers
        tot = 0.0
        busy[:] = 0
        n_on = 0
        for i in range(n):
            if s.striking[r, i]:
                tot += s.out_share[r, i] * w.wf[i]
                busy[w.city[i]] += 1
                busy[nc + w.basin[i]] += 1
                on[n_on] = i
                n_on += 1
        news = p.glasnost * news_level * min(1.0, tot / p.news_scale)
        # today's draws (`sim.model.draws`, numpy's numbers): onset of every enterprise (only those at work read
        # theirs), return of the strikers (the others' numbers jumped over), the three committee streams
        draws.fill(rs[r, 0], u_on, jt)
        draws.fill_at(rs[r, 1], on[:n_on], u_ret, n, jt)
        draws.fill(rs[r, 2], u_comm, jt)
        draws.fill(rs[r, 3], u_stage, jt)
        draws.fill(rs[r, 4], u_ally, jt)
        # (2) basin and delegate ties on strike: each striker adds one to its ties' rows (a count: any order);
        # a tie share is then its row's table at that count (`_tie_tables`)
        tie_b[:] = 0
        tie_d[:] = 0
        for j in on[:n_on]:
            for q in range(w.a_ptr[n + j], w.a_ptr[n + j + 1]):
                tie_b[w.a_idx[q]] += 1
            for q in range(w.a_ptr[2 * n + j], w.a_ptr[2 * n + j + 1]):
                tie_d[w.a_idx[q]] += 1
        for k in range(nk):
            kb = w.k_basin[k]
            callout[k] = s.c_active[r, k] and busy[k] > 0 and not (truce[kb] or t_truce[k]) and s.c_age[r, k] < p.push_days
            calling[k] = s.c_active[r, k] and s.call_left[r, kb] > 0 and ((not s.call_pol[r, kb]) or s.c_stage[r, k] >= 1)
            est[k] = s.c_active[r, k] and s.c_age[r, k] >= p.push_days
        for b in range(nb):
            pull[b] = p.k_call * math.exp(-s.call_age[r, b] / p.call_span)
        # what an enterprise's town and basin committees and deals make of its day, by town (an
        # enterprise's basin is its town's): each term as the enterprise's formula groups it
        for c in range(nc):
            cb = w.city_basin[c]
            told_t[c] = ordered[cb] or t_order[c]  # a return order of the basin's deal or the town's own
            push_t[c] = p.k_city * (1.0 if callout[c] else 0.0) + p.k_basin * (1.0 if callout[nc + cb] else 0.0)
            call_t[c] = pull[cb] * (1.0 if (calling[c] or calling[nc + cb]) else 0.0)
            chan_t[c] = (1 - p.channel) if (est[c] or est[nc + cb]) else 1.0
        total_w = p.w_wage + p.w_ecology + p.w_privilege
        # the day's constants of the replicate, in locals (each product as the formula groups it)
        x_city = p.w_city * (1 - cut[0])
        x_basin = p.w_basin * (1 - cut[1])
        x_deleg = p.w_delegate * (1 - cut[2])
        w_news = p.w_news * news
        for c in range(nc):  # an enterprise's onset rate with no tie on strike and no call, by town (see below)
            lq = _onset_rate(m, p.spark, x_city * 0.0 + x_basin * 0.0 + x_deleg * 0.0, w_news, push_t[c], chan_t[c], True, 0.0)
            lam_q[c] = lq
            # the bound on an at-work enterprise's draws of a quiet town (no striker, no call), -1 for any other
            bound_q[c] = lq * (1 + 1e-12) + 1e-15 if busy[c] == 0 and call_t[c] == 0.0 else -1.0
        f_wage, f_eco, f_priv = p.w_wage / total_w, p.w_ecology / total_w, p.w_privilege / total_w
        strength_fear = s.strength[r] * p.fear0
        cost_keep = 1 - p.cost_recover
        drift = p.wage_drift / 365.0
        cost_rate, eta_fail, eff_decay, eff0 = p.cost_rate, p.eta_fail, p.eff_decay, p.eff0
        sums = m.committees and m.escalation
        for k in range(nk):
            counts[k] = busy[k]
            tk[k] = 0.0
            ek[k] = 0.0
            fk[k] = 0.0
        # (3) each enterprise decides. Only the decision it can take today is computed: onset if at work,
        # return if out (the other probability is never read; skipping it changes no value)
        n_fail = 0
        for i in range(n):
            ci = w.city[i]
            b = w.basin[i]
            told = told_t[ci]
            was = s.striking[r, i]
            start = False
            stop = False
            if not was:
                # a draw above 1 - exp(-readiness * lam) <= lam, which no readiness in (0, 1) can reach: the
                # decision (no strike) is known without the exponentials, whether or not a return order holds it
                if bound_q[ci] >= 0.0 and tie_b[i] == 0 and tie_d[i] == 0:
                    # no tie on strike and no call: its town's rate (every share 0.0, the call term +0.0)
                    lam = lam_q[ci]
                    bound = bound_q[ci]
                    if m.fatigue and not (s.days_off[r, i] >= p.refractory):
                        lam = 0.0
                        bound = 1e-15  # 0.0 * (1 + 1e-12) + 1e-15
                else:
                    share_c = w.t_tab[w.t_ptr[i] + busy[ci]]  # town ties: every other enterprise of the town
                    share_b = w.t_tab[w.t_ptr[n + i] + tie_b[i]]
                    share_d = w.t_tab[w.t_ptr[2 * n + i] + tie_d[i]]
                    expo = x_city * share_c + x_basin * share_b + x_deleg * share_d
                    rested = s.days_off[r, i] >= p.refractory
                    lam = _onset_rate(m, p.spark, expo, w_news, push_t[ci], chan_t[ci], rested, call_t[ci] * (1 - s.cost[r, i]))
                    bound = lam * (1 + 1e-12) + 1e-15
                if u_on[i] < bound and not (m.settlement and told and s.trust[r, i] >= p.trust_hold):  # (held back by a return order)
                    g = s.griev[r, i, 0] * f_wage + s.griev[r, i, 1] * f_eco + s.griev[r, i, 2] * f_priv
                    g_eff = g - s.implemented[r, b] - p.expect * s.trust[r, i] * pending[b]
                    fear = strength_fear + repression[b]
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
                    start = u_on[i] < 1.0 - math.exp(-ready * lam)
            else:
                lr = 0.0
                if m.settlement:
                    working = 1.0 - w.t_tab[w.t_ptr[i] + busy[ci] - 1]  # its town ties' share: the other strikers of its town
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
                # 1 - exp(-lr) <= lr: a draw above it cannot end the strike (known without the exponential)
                stop = _hit(u_ret[i], lr)
            # the decision taken: who is on strike, who struck for the first time, who failed (returned unordered)
            failed = stop and not told
            now = (was or start) and not stop
            if now != was:
                s.striking[r, i] = now
                d = 1 if now else -1
                counts[ci] += d
                counts[nc + b] += d
            if start:
                s.ever[r, i] = True
            if failed:
                fails[n_fail] = i
                n_fail += 1
                fl[i] = True
        # then every enterprise is updated, each variable from its own value and the day's decision (no rule
        # reads another enterprise's), in passes without branches that the core runs several enterprises at a time
        for i in range(n):
            s.days_on[r, i] = s.days_on[r, i] + 1 if s.striking[r, i] else 0.0
            s.days_off[r, i] = 0.0 if fl[i] else s.days_off[r, i] + 1
        for i in range(n):
            s.griev[r, i, 0] = min(s.griev[r, i, 0] + drift, 1.0)  # step (4)'s drift, here: nothing reads it in between
        if m.fatigue:
            for i in range(n):
                c = s.cost[r, i]
                s.cost[r, i] = c + cost_rate * (1 - c) if s.striking[r, i] else c * cost_keep
        if m.efficacy:
            for i in range(n):
                e = max(s.eff[r, i] - eta_fail, 0.0) if fl[i] else s.eff[r, i]
                s.eff[r, i] = e + eff_decay * (eff0 - e)
        for i in fails[:n_fail]:
            if m.trust:
                s.trust[r, i] = min(max(s.trust[r, i] - p.tau_refuse, 0.0), 1.0)
            fl[i] = False
        # trust, efficacy and refused workforce by town and basin, for the committees (in ascending order; a
        # town's or basin's sums carried in registers over a run of its enterprises and put back at its ends)
        cur_c, cur_b = -1, -1
        tc = ec = tb = eb = 0.0
        for i in range(n if sums else 0):
            ci = w.city[i]
            b = w.basin[i]
            if ci != cur_c:
                if cur_c >= 0:
                    tk[cur_c], ek[cur_c] = tc, ec
                cur_c = ci
                tc, ec = tk[ci], ek[ci]
            if nc + b != cur_b:
                if cur_b >= 0:
                    tk[cur_b], ek[cur_b] = tb, eb
                cur_b = nc + b
                tb, eb = tk[cur_b], ek[cur_b]
            wi = w.wf[i]
            tw = s.trust[r, i] * wi
            ew = s.eff[r, i] * wi
            tc += tw
            ec += ew
            tb += tw
            eb += ew
        if cur_c >= 0:
            tk[cur_c], ek[cur_c] = tc, ec
            tk[cur_b], ek[cur_b] = tb, eb
        for i in fails[: n_fail if sums else 0]:
            fk[w.city[i]] += w.wf[i]
            fk[nc + w.basin[i]] += w.wf[i]
        # committees
        any_c = False
        if m.committees:
            for b in range(nb):
                forb[b] = 0.0
            for c in range(nc):
                cshare = counts[c] / max(w.n_by_area[c], 1e-12)
                form[c] = (cshare >= p.form_share) or (counts[c] >= p.form_count)
                forb[w.city_basin[c]] += 1.0 if (s.c_active[r, c] or form[c]) else 0.0
            for b in range(nb):
                form[nc + b] = forb[b] / w.towns_per_basin[b] >= p.form_towns
            for k in range(nk):
                idle = s.c_active[r, k] and counts[k] == 0
                if m.persistence:
                    # (1 - exp(-haz) <= haz: a draw above haz keeps the committee without the exponential)
                    haz = p.dissolve * (1 - s.c_auth[r, k]) * (1 - p.persist_won * (1.0 if s.c_won[r, k] else 0.0))
                    gone = idle and _hit(u_comm[k], haz)
                else:
                    gone = idle
                new[k] = form[k] and not s.c_active[r, k]
                a = (s.c_active[r, k] and not gone) or new[k]
                s.c_active[r, k] = a
                s.c_won[r, k] = s.c_won[r, k] and a
                s.c_allied[r, k] = s.c_allied[r, k] and a
                if not a:
                    s.c_stage[r, k] = 0
                    s.c_auth[r, k] = 0.0
                    s.c_alleg[r, k] = 0.0
                    s.c_age[r, k] = 0.0
                else:
                    s.c_age[r, k] = s.c_age[r, k] + 1
                if new[k] and s.call_left[r, w.k_basin[k]] > 0:
                    s.c_age[r, k] = max(s.c_age[r, k], p.push_days)
                if m.persistence and a and s.c_won[r, k]:
                    s.c_auth[r, k] = s.c_auth[r, k] + p.auth_gain * (1 - s.c_auth[r, k])
                any_c = any_c or a
            if m.escalation and any_c:  # (a replicate without active committees is left unchanged by it)
                for b in range(nb):
                    broken[b] = max(s.promised[r, b] - s.implemented[r, b], 0.0) if day > s.deadline[r, b] else 0.0
                for k in range(nk):
                    if not s.c_active[r, k]:
                        continue  # an inactive committee neither turns, moves nor allies
                    wfk = max(w.wf_by_area[k], 1e-12)
                    # the republics court the refused
                    s.c_alleg[r, k] = s.c_alleg[r, k] + p.court * (fk[k] / wfk) * (1 - s.c_alleg[r, k])
                    kb = w.k_basin[k]
                    t_k = tk[k] / wfk
                    e_k = ek[k] / wfk
                    move = movement[w.basin_republic[kb]]
                    eth = w.basin_ethnic[kb]
                    # each exponential only where the draw could fall on either side: 1 - exp(-x) <= x, and
                    # exp(-x) >= 1 - x (with a margin above the rounding of either side)
                    up = False
                    if s.c_stage[r, k] < 2:
                        lam_up = p.esc0 * math.exp(
                            p.g_distrust * (1 - t_k)
                            + p.g_eff * e_k
                            + p.g_broken * broken[kb]
                            + p.g_auth * s.c_auth[r, k]
                            + p.g_move * (1.0 if s.c_allied[r, k] else 0.0) * move
                            + p.g_ethnic * eth * (1.0 if s.c_stage[r, k] == 1 else 0.0)
                        )
                        up = _hit(u_stage[k], lam_up)
                    lam_dn = p.de_esc * t_k
                    dn = s.c_stage[r, k] > 0 and (not up) and u_stage[k] > (1 - lam_dn) - 1e-15 and u_stage[k] > math.exp(-lam_dn)
                    s.c_stage[r, k] = s.c_stage[r, k] + (1 if up else 0) - (1 if dn else 0)
                    ally = (not s.c_allied[r, k]) and s.c_stage[r, k] >= 1 and _hit(u_ally[k], p.ally_rate * move)
                    if ally:
                        s.c_allied[r, k] = True
                    if s.c_allied[r, k]:
                        s.c_alleg[r, k] = s.c_alleg[r, k] + p.a_move * move * (1 - s.c_alleg[r, k])
        # the workforce takes up its committees' demands: the higher stage of its active town and basin committees
        top = 0
        for c in range(nc if any_c else 0):  # (no active committee: no workforce takes up demands)
            bk = nc + w.city_basin[c]
            ks_t[c] = max(s.c_stage[r, c] if s.c_active[r, c] else -1, s.c_stage[r, bk] if s.c_active[r, bk] else -1)
            top = max(top, ks_t[c])
        # calls run out
        for b in range(nb):
            share_b = counts[nc + b] / w.n_by_basin[b]
            cl = s.call_left[r, b]
            if math.isinf(cl) and s.call_age[r, b] >= 7 and share_b < p.call_floor:
                cl = 0.0
            s.call_ended[r, b] = CALL_BACK_DAYS if (cl > 0 and cl <= 1) else max(s.call_ended[r, b] - 1, 0.0)
            s.call_age[r, b] = s.call_age[r, b] + 1 if cl > 0 else 0.0
            s.call_left[r, b] = max(cl - 1, 0.0)
        # slow dynamics: prices, promises, repression (the basins first)
        if m.settlement:
            for b in range(nb):
                gain[b] = max(s.impl_cap[r, b] - s.implemented[r, b], 0.0) * s.impl_rate[r, b]
                s.implemented[r, b] = s.implemented[r, b] + gain[b]
            if m.trust:
                for b in range(nb):
                    unk = max(s.promised[r, b] - s.implemented[r, b], 0.0) if day > s.deadline[r, b] else 0.0
                    broken[b] = p.tau_kept * gain[b] - p.tau_broken * unk
        # (4) each enterprise: demands taken up (a stage of 0 raises no one's), trust (its updates in the order
        # of the rules; the grievances' drift was added in (3)); only if a stage or a trust can move
        kept = m.settlement and m.trust
        trusts = False
        for b in range(nb):
            moves[b] = (kept and broken[b] != 0.0) or p.tau_rep * repression[b] != 0.0
            trusts = trusts or (m.trust and moves[b])
        for i in range(n if top > 0 else 0):  # (each a pass without branches, as the updates of (3))
            s.stage[r, i] = max(s.stage[r, i], ks_t[w.city[i]])
        tau_rep = p.tau_rep
        for i in range(n if trusts else 0):
            b = w.basin[i]
            t = s.trust[r, i]
            v = min(max(t + broken[b], 0.0), 1.0) if kept else t
            v = min(max(v - tau_rep * repression[b], 0.0), 1.0)
            s.trust[r, i] = v if moves[b] else t  # (a trust in [0, 1] that gains and loses 0.0 is left as it is)
        if m.trust:
            s.strength[r] = min(max(s.strength[r] + p.strength_rep * rep_max, 0.0), 1.0)
        # the reactive centre concedes to a long, large strike outside any truce (deals are made only
        # here, so the truce computed at the start of the day still holds)
        if m.settlement and m.reactive_centre:
            anydue = False
            for b in range(nb):
                share_b = counts[nc + b] / w.n_by_basin[b]
                s.run_days[r, b] = s.run_days[r, b] + 1 if share_b >= p.react_share else 0.0
                due[b] = s.run_days[r, b] >= p.react_days and not truce[b]
                anydue = anydue or due[b]
            if anydue:  # one decision a day: the centre answers every long strike of the day together
                _concede_one(s, w, p, m, r, due, day, p.react_relief, 0.0, p.impl_share, p.impl_days, p.deadline_days, False, -1)
                for b in range(nb):
                    if due[b]:
                        s.run_days[r, b] = 0.0
        if obs:  # the replicate's observables of the day, while its state is in the core's cache
            observation.observe_one(s, w, r, bo, ro, full, work)


cache.drop_stale(_step)  # (this module's cached code, if a module it calls changed since it was cached)
