"""The daily rules as pure functions over arrays with a leading replicate axis.

Shapes: R replicates, n enterprises, K committees (one per town, then one per basin), B basins.
No Mesa, no files, no global randomness: uniform draws come in as arguments. `EngineModel` runs
these with R = 1; the ensemble runner with R > 1. Equations are in docs/model.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.network import World
from sim.params import Mechanisms, Params


@dataclass
class State:
    """Mutable state of R replicates (structure of arrays)."""

    striking: np.ndarray  # (R, n) bool
    days_on: np.ndarray  # (R, n) days in the current spell
    ever: np.ndarray  # (R, n) bool, ever struck
    out_share: np.ndarray  # (R, n) share of workforce out when striking
    griev: np.ndarray  # (R, n, 3) wage, ecology, privilege
    eff: np.ndarray  # (R, n) efficacy
    trust: np.ndarray  # (R, n) trust in the centre
    stage: np.ndarray  # (R, n) demand stage of the workforce (0, 1, 2)
    c_active: np.ndarray  # (R, K) bool
    c_auth: np.ndarray  # (R, K) authority
    c_stage: np.ndarray  # (R, K) demand stage
    c_won: np.ndarray  # (R, K) bool
    c_allied: np.ndarray  # (R, K) bool
    promised: np.ndarray  # (R, B) material relief promised
    implemented: np.ndarray  # (R, B) relief carried out
    impl_cap: np.ndarray  # (R, B) relief that will eventually be carried out
    impl_rate: np.ndarray  # (R, B) 1/days
    deadline: np.ndarray  # (R, B) day after which unkept promises count as broken
    deal_day: np.ndarray  # (R, B) day of the last deal, -10**6 if none
    concessions: np.ndarray  # (R, B) number of concessions made
    run_days: np.ndarray  # (R, B) consecutive days of a large strike (reactive centre)
    strength: np.ndarray  # (R,) perceived strength of the centre
    cost: np.ndarray  # (R, n) cost of striking so far (lost pay, spent savings), in [0, 1]
    days_off: np.ndarray  # (R, n) days since the enterprise last returned from a strike that ended without a deal (large: never)
    c_age: np.ndarray  # (R, K) days since the committee formed (0 when not active)
    c_alleg: np.ndarray  # (R, K) allegiance: 0 backs the Union, 1 backs its republic against the Union
    call_left: np.ndarray  # (R, B) days left of a strike call in force (inf: open-ended until a concession; 0: none)
    call_pol: np.ndarray  # (R, B) bool, the call in force has political demands
    call_ended: np.ndarray  # (R, B) days left of the week after a call of fixed length ran out (its strikers go back)
    call_age: np.ndarray  # (R, B) days since the call in force began

    def copy(self) -> State:
        """Deep copy."""
        return State(**{k: v.copy() for k, v in self.__dict__.items()})


NO_DEAL = -(10**6)

CALL_BACK_DAYS = 7.0
"""Days after a call of fixed length during which its strikers get the return push `r_call_end` (assumption: a week)."""


def committee_index(world: World) -> tuple[np.ndarray, np.ndarray]:
    """Committee of each enterprise: (town committee index, basin committee index) into K."""
    return world.city, world.n_cities + world.basin


def init_state(world: World, params: Params, u_init: np.ndarray) -> State:
    """Initial state from uniform draws `u_init` (R, n, 5) of the `init` stream.

    Draws: three for grievance jitter, one for trust, one for the share out.
    """
    r = u_init.shape[0]
    n, k, b = world.n, world.n_cities + world.n_basins, world.n_basins
    z = _probit(u_init)
    griev = np.clip(world.grievance[None] + np.reshape(params.griev_sd, (-1, 1, 1)) * z[..., :3], 0.0, 1.0)
    trust = np.clip(params.trust0 + params.trust_sd * z[..., 3], 0.0, 1.0)
    out = np.clip(params.out_share + 0.08 * z[..., 4], 0.1, 1.0)
    return State(
        striking=np.zeros((r, n), bool),
        days_on=np.zeros((r, n)),
        ever=np.zeros((r, n), bool),
        out_share=out,
        griev=griev,
        eff=np.broadcast_to(params.eff0, (r, n)).astype(float),
        trust=trust,
        stage=np.zeros((r, n), np.int8),
        c_active=np.zeros((r, k), bool),
        c_auth=np.zeros((r, k)),
        c_stage=np.zeros((r, k), np.int8),
        c_won=np.zeros((r, k), bool),
        c_allied=np.zeros((r, k), bool),
        promised=np.zeros((r, b)),
        implemented=np.zeros((r, b)),
        impl_cap=np.zeros((r, b)),
        impl_rate=np.zeros((r, b)),
        deadline=np.full((r, b), np.inf),
        deal_day=np.full((r, b), NO_DEAL),
        concessions=np.zeros((r, b)),
        run_days=np.zeros((r, b)),
        strength=np.ones(r),
        cost=np.zeros((r, n)),
        days_off=np.full((r, n), 1e6),
        c_age=np.zeros((r, k)),
        c_alleg=np.zeros((r, k)),
        call_left=np.zeros((r, b)),
        call_pol=np.zeros((r, b), bool),
        call_ended=np.zeros((r, b)),
        call_age=np.zeros((r, b)),
    )


def _probit(u: np.ndarray) -> np.ndarray:
    """Standard normal quantiles of uniform draws (clipped away from 0 and 1)."""
    from scipy.special import ndtri

    return ndtri(np.clip(u, 1e-12, 1 - 1e-12))


def per_replicate(x: float | np.ndarray) -> float | np.ndarray:
    """A parameter as a scalar or an (R,) vector, for terms with one value per replicate.

    Parameters that differ between the replicates of a batch are (R, 1) columns (see
    `sim.params.stack_params`); against (R,) quantities they must be flattened first.
    """
    return x.reshape(-1) if isinstance(x, np.ndarray) else x


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-z))


def weighted_grievance(griev: np.ndarray, p: Params) -> np.ndarray:
    """G in [0, 1]: the weighted mean of the three grievances (weights may differ by replicate)."""
    total = p.w_wage + p.w_ecology + p.w_privilege
    return griev[..., 0] * (p.w_wage / total) + griev[..., 1] * (p.w_ecology / total) + griev[..., 2] * (p.w_privilege / total)


def readiness(s: State, world: World, p: Params, repression: np.ndarray, m: Mechanisms | None = None) -> np.ndarray:
    """Susceptibility in (0, 1) of each enterprise to strike (mechanisms 1, 6, 7, 10).

    z = b_griev (G_eff - g_ref) - b_pat pat - b_rep (strength fear0 + repression)
        + b_eff (eff - eff0) - b_trust (trust - trust0) [- b_cost cost, with fatigue on],
    with G_eff = G - implemented - expect * trust * (promised - implemented) of the basin.
    """
    b = world.basin
    pending = np.maximum(s.promised - s.implemented, 0.0)[:, b]
    g_eff = weighted_grievance(s.griev, p) - s.implemented[:, b] - p.expect * s.trust * pending
    fear = s.strength[:, None] * p.fear0 + repression[b][None, :]
    z = (
        p.b_griev * (g_eff - p.g_ref)
        - p.b_pat * world.paternalism[None, :]
        - p.b_rep * fear
        + p.b_eff * (s.eff - p.eff0)
        - p.b_trust * (s.trust - p.trust0)
    )
    if m is not None and m.fatigue:
        z = z - p.b_cost * s.cost
    return sigmoid(z)


def tie_shares(striking: np.ndarray, world: World) -> np.ndarray:
    """(3, R, n) share of each enterprise's town, basin and delegate ties that are on strike."""
    r, n = striking.shape
    if not striking.any():
        return np.zeros((3, r, n))
    y = world.a_levels @ striking.T.astype(float)  # (3n, R): one sparse product for the three levels
    return y.reshape(3, n, r).transpose(0, 2, 1)


def exposure(shares: np.ndarray, p: Params, cut: np.ndarray) -> np.ndarray:
    """Network contagion pressure (mechanism 2): level weights times the shares of ties on strike."""
    return p.w_city * (1 - cut[0]) * shares[0] + p.w_basin * (1 - cut[1]) * shares[1] + p.w_delegate * (1 - cut[2]) * shares[2]


def in_truce(s: State, day: int, p: Params) -> np.ndarray:
    """(R, B) True while a basin is within `deal_truce` days of its last deal."""
    return (day >= s.deal_day) & (day < s.deal_day + p.deal_truce)


def unkept(s: State, day: int) -> np.ndarray:
    """(R, B) relief promised but not carried out, counted only once its deadline has passed."""
    return np.where(day > s.deadline, np.maximum(s.promised - s.implemented, 0.0), 0.0)


def ordered_back(s: State, day: int, p: Params) -> np.ndarray:
    """(R, B) True where the committees have ordered a return under a deal."""
    return in_truce(s, day, p) & (day >= s.deal_day + p.order_lag)


def onset_prob(
    ready: np.ndarray,
    expo: np.ndarray,
    news: np.ndarray,
    push: np.ndarray,
    p: Params,
    m: Mechanisms,
    can: np.ndarray | None = None,
    call: np.ndarray | None = None,
    damp: np.ndarray | None = None,
) -> np.ndarray:
    """Daily probability that a working enterprise strikes (Hedström-style hazard).

    hazard = readiness * (can * damp * (spark + contagion + w_news * news + committee push) + call),
    each term present only if its mechanism is on; `can` is False for an enterprise in its refractory
    period (it strikes only at its committee's call), `damp` is 1 - channel where an established
    committee channels protest into calls, `call` the push of a strike call in force;
    probability = 1 - exp(-hazard).
    """
    lam = np.zeros_like(ready)
    if m.onset:
        lam = lam + p.spark
    if m.contagion:
        lam = lam + expo
    if m.news:
        lam = lam + p.w_news * news[:, None]
    if m.committees:
        lam = lam + push
    if damp is not None:
        lam = lam * damp
    if can is not None:
        lam = np.where(can, lam, 0.0)
    if call is not None and m.committees:
        lam = lam + call
    return 1.0 - np.exp(-ready * lam)


def return_prob(
    s: State, world: World, p: Params, m: Mechanisms, ordered: np.ndarray, c_city_auth: np.ndarray, city_share: np.ndarray
) -> np.ndarray:
    """Daily probability that a striking enterprise returns to work (mechanisms 5 and 10).

    Under a return order: r_obey if its trust is at least trust_hold (hold-outs ignore the order)
    plus r_peer times the squared share of its town back at work. Fatigue: fat_rate per day past the
    grace period, less with committee authority (strike funds, supplies).
    """
    lam = np.zeros(s.striking.shape)
    if m.settlement:
        working = 1.0 - city_share
        working[:, world.alone] = 1.0
        obey = (s.trust >= p.trust_hold).astype(float)
        lam = lam + ordered[:, world.basin] * (p.r_obey * obey + p.r_peer * working**2)
    if m.fatigue:
        over = np.maximum(s.days_on - p.fat_grace, 0.0)
        lam = lam + p.fat_rate * over * (1 - p.fund_auth * c_city_auth) + p.r_cost * s.cost**2
    if m.committees:
        lam = lam + p.r_call_end * (s.call_ended[:, world.basin] > 0)
    return 1.0 - np.exp(-lam)


def concede(
    s: State,
    world: World,
    p: Params,
    m: Mechanisms,
    rb: np.ndarray,
    day: int,
    relief: float,
    political: float,
    share: float,
    days: float,
    deadline: float,
    by_republic: bool = False,
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
        share: share of the promise that will be carried out.
        days: time scale of carrying it out (days).
        deadline: days after which unkept parts count as broken.
        by_republic: the concession is a republic government's: it binds the allegiance of the basins'
            committees to the republic instead of the Union, and changes neither trust in the centre
            nor its perceived strength.
    """
    if not m.settlement or not rb.any():
        return
    rows = rb.any(axis=1)
    s.promised = np.where(rb, s.promised + relief, s.promised)
    s.impl_cap = np.where(rb, s.impl_cap + share * relief, s.impl_cap)
    s.impl_rate = np.where(rb, 1.0 / days, s.impl_rate)
    s.deadline = np.where(rb, day + deadline, s.deadline)
    s.deal_day = np.where(rb, day, s.deal_day)
    s.concessions = s.concessions + rb
    inb = rb[:, world.basin]  # (R, n) enterprises of the basins conceded to
    if m.efficacy:
        reps = (rb.astype(float) @ world.basin_to_republic) > 0  # (R, P) republics of those basins
        k = np.where(inb, 1.0, np.where(reps[:, world.republic], p.eta_rep, p.eta_far))
        s.eff = np.where(rows[:, None], s.eff + p.eta_win * k * (1 - s.eff), s.eff)
    if m.trust and not by_republic:
        s.trust = np.where(inb, np.clip(s.trust + p.tau_concede, 0, 1), s.trust)
        s.strength = np.where(rows, np.clip(s.strength - per_replicate(p.strength_concede), 0, 1), s.strength)
    won = rb[:, world.k_basin] & s.c_active
    s.c_won |= won
    s.c_auth = np.where(won, np.clip(s.c_auth + 0.5 * political, 0, 1), s.c_auth)
    # the concession binds the allegiance of the committees it answered to its maker
    s.c_alleg = np.where(won, s.c_alleg + p.bind * (1 - s.c_alleg) if by_republic else s.c_alleg * (1 - p.bind), s.c_alleg)
    s.call_left = np.where(rb, 0.0, s.call_left)  # a deal ends the calls in force there: its return order takes over


def area_mean(values: np.ndarray, world: World) -> np.ndarray:
    """(R, K) workforce-weighted mean of an enterprise quantity over each committee's area."""
    return world.by_area(values * world.workforce) / np.maximum(world.workforce_by_area, 1e-12)


def step(
    s: State,
    world: World,
    p: Params,
    m: Mechanisms,
    day: int,
    repression: np.ndarray,
    cut: np.ndarray,
    news_level: float,
    movement: np.ndarray,
    u_onset: np.ndarray,
    u_ret: np.ndarray,
    u_comm: np.ndarray,
    u_stage: np.ndarray,
    u_ally: np.ndarray,
) -> None:
    """Advance every replicate by one day, in place (events of the day already applied).

    Args:
        s: state after the previous day and today's events.
        world: the static world.
        p: parameters.
        m: mechanism switches.
        day: day index from the scenario start.
        repression: (B,) repression level today.
        cut: (3,) share cut from each tie level today.
        news_level: multiplier of national coverage today (glasnost lever).
        movement: (republics,) national movement strength today.
        u_onset: (R, n) draws of the onset stream.
        u_ret: (R, n) draws of the return stream.
        u_comm: (R, K) draws of the committee stream (dissolution).
        u_stage: (R, K) draws of the stage stream (escalation).
        u_ally: (R, K) draws of the alliance stream.
    """
    nc = world.n_cities
    ci, bi = committee_index(world)
    truce = in_truce(s, day, p)
    ordered = ordered_back(s, day, p)
    strikers = world.total(s.striking * s.out_share * world.workforce)
    news = per_replicate(p.glasnost) * news_level * np.minimum(1.0, strikers / per_replicate(p.news_scale))

    # decisions (simultaneous, from yesterday's state)
    ready = readiness(s, world, p, repression, m)
    shares = tie_shares(s.striking, world)
    expo = exposure(shares, p, cut)
    busy = world.by_area(s.striking) > 0  # areas with a strike on, before today's decisions
    # a new committee calls its area out while a strike is on there, unless a return order stands;
    # after its first push_days an established committee brings its area out only by a dated call
    callout = s.c_active & busy & ~truce[:, world.k_basin] & (s.c_age < p.push_days)
    push = p.k_city * callout[:, ci] + p.k_basin * callout[:, bi]
    # a dated strike call: followed by active committees of the called basins, a political call only
    # by those at the political stage or beyond (mechanism 3 with 9)
    kb = world.k_basin
    calling = s.c_active & (s.call_left[:, kb] > 0) & (~s.call_pol[:, kb] | (s.c_stage >= 1))
    pull = p.k_call * np.exp(-s.call_age / p.call_span)[:, world.basin]  # a call that wins nothing fades
    call = pull * (calling[:, ci] | calling[:, bi]) * (1 - s.cost)  # and an exhausted workforce no longer follows it
    can = (s.days_off >= p.refractory) if m.fatigue else None
    # an established committee channels its area's protest into dated calls
    est = s.c_active & (s.c_age >= p.push_days)
    damp = np.where(est[:, ci] | est[:, bi], 1 - p.channel, 1.0) if m.committees else None
    p_on = onset_prob(ready, expo, news, push, p, m, can, call, damp)
    if m.settlement:
        # under a return order only hold-outs (trust below trust_hold) may walk out
        p_on = np.where(ordered[:, world.basin] & (s.trust >= p.trust_hold), 0.0, p_on)
    auth_city = s.c_auth[:, ci] * s.c_active[:, ci]
    p_ret = return_prob(s, world, p, m, ordered, auth_city, shares[0])
    start = ~s.striking & (u_onset < p_on)
    stop = s.striking & (u_ret < p_ret)
    failed = stop & ~ordered[:, world.basin]
    s.striking = (s.striking | start) & ~stop
    s.ever |= start
    s.days_on = np.where(s.striking, s.days_on + 1, 0.0)
    s.days_off = np.where(failed, 0.0, s.days_off + 1)  # the refractory period follows a strike that won nothing
    if m.fatigue:
        s.cost = np.where(s.striking, s.cost + p.cost_rate * (1 - s.cost), s.cost * (1 - p.cost_recover))
    if m.efficacy:
        s.eff = np.where(failed, np.maximum(s.eff - p.eta_fail, 0.0), s.eff)
        s.eff = s.eff + p.eff_decay * (p.eff0 - s.eff)
    if m.trust:  # radicalisation by refusal: a strike left unanswered costs the centre trust
        s.trust = np.where(failed, np.clip(s.trust - p.tau_refuse, 0, 1), s.trust)

    # committees (mechanisms 3, 8, 9)
    counts = world.by_area(s.striking)  # enterprises on strike by area, after today's decisions
    if m.committees:
        city_count = counts[:, :nc]
        city_share = city_count / np.maximum(world.n_by_area[:nc], 1e-12)
        form_city = (city_share >= p.form_share) | (city_count >= p.form_count)
        for_b = (s.c_active[:, :nc] | form_city).astype(float)
        town_share = world.towns_by_basin(for_b) / world.towns_per_basin
        form = np.concatenate([form_city, town_share >= p.form_towns], axis=1)
        idle = s.c_active & (counts == 0)
        if m.persistence:
            haz = p.dissolve * (1 - s.c_auth) * (1 - p.persist_won * s.c_won)
            gone = idle & (u_comm < 1 - np.exp(-haz))
        else:
            gone = idle
        new = form & ~s.c_active
        s.c_active = (s.c_active & ~gone) | new
        s.c_won &= s.c_active
        s.c_allied &= s.c_active
        s.c_stage = np.where(s.c_active, s.c_stage, 0).astype(np.int8)  # a dissolved committee's stage is gone
        s.c_auth = np.where(s.c_active, s.c_auth, 0.0)
        s.c_alleg = np.where(s.c_active, s.c_alleg, 0.0)  # a new committee starts loyal to the Union
        s.c_age = np.where(s.c_active, s.c_age + 1, 0.0)
        # a committee formed under a dated call is one of the calling kind: it brings its area out by calls
        s.c_age = np.where(new & (s.call_left[:, world.k_basin] > 0), np.maximum(s.c_age, p.push_days), s.c_age)
        if m.persistence:
            grow = s.c_active & s.c_won
            s.c_auth = np.where(grow, s.c_auth + p.auth_gain * (1 - s.c_auth), s.c_auth)
        if m.escalation and s.c_active.any():
            _escalate(s, world, p, day, movement, u_stage, u_ally, failed)
        kstage = np.maximum(np.where(s.c_active[:, ci], s.c_stage[:, ci], -1), np.where(s.c_active[:, bi], s.c_stage[:, bi], -1))
        s.stage = np.where(kstage >= 0, np.maximum(s.stage, kstage), s.stage).astype(np.int8)

    # calls run out: a call of fixed length that ends today sends its strikers back tomorrow
    # an open-ended call lapses once its strike has collapsed (from its eighth day)
    share_b = counts[:, nc:] / world.n_by_basin
    lapse = np.isinf(s.call_left) & (s.call_age >= 7) & (share_b < p.call_floor)
    s.call_left = np.where(lapse, 0.0, s.call_left)
    s.call_ended = np.where((s.call_left > 0) & (s.call_left <= 1), CALL_BACK_DAYS, np.maximum(s.call_ended - 1, 0.0))
    s.call_age = np.where(s.call_left > 0, s.call_age + 1, 0.0)
    s.call_left = np.maximum(s.call_left - 1, 0.0)

    # slow dynamics: prices, promises, repression
    s.griev[..., 0] = np.minimum(s.griev[..., 0] + p.wage_drift / 365.0, 1.0)
    if m.settlement:
        gain = np.maximum(s.impl_cap - s.implemented, 0.0) * s.impl_rate
        s.implemented = s.implemented + gain
        if m.trust:
            dt = p.tau_kept * gain - p.tau_broken * unkept(s, day)
            s.trust = np.clip(s.trust + dt[:, world.basin], 0, 1)
    if m.trust:
        s.trust = np.clip(s.trust - p.tau_rep * repression[world.basin][None, :], 0, 1)
        s.strength = np.clip(s.strength + per_replicate(p.strength_rep) * repression.max(), 0, 1)

    # reactive centre: concede to a long, large strike outside any truce
    if m.settlement and p.centre_reactive >= 0.5:
        share = counts[:, nc:] / world.n_by_basin
        s.run_days = np.where(share >= p.react_share, s.run_days + 1, 0)
        due = (s.run_days >= p.react_days) & ~truce  # deals are only made here, so today's truce still holds
        if due.any():
            # one decision a day: the centre answers every long strike of the day together
            concede(s, world, p, m, due, day, p.react_relief, 0.0, p.impl_share, p.impl_days, p.deadline_days)
            s.run_days = np.where(due, 0, s.run_days)


def _escalate(
    s: State, world: World, p: Params, day: int, movement: np.ndarray, u_stage: np.ndarray, u_ally: np.ndarray, failed: np.ndarray
) -> None:
    """Demand-stage moves, alliances and allegiance of active committees (mechanism 9)."""
    # the republics court the refused: a strike that ends without a deal moves its committees towards the republic
    fshare = area_mean(failed.astype(float), world)
    s.c_alleg = np.where(s.c_active, s.c_alleg + p.court * fshare * (1 - s.c_alleg), s.c_alleg)
    trust = area_mean(s.trust, world)
    eff = area_mean(s.eff, world)
    kb = world.k_basin
    broken_b = unkept(s, day)
    rep_of_k = world.basin_republic[kb]
    move = movement[rep_of_k][None, :]
    eth = world.basin_ethnic[kb]
    lam_up = p.esc0 * np.exp(
        p.g_distrust * (1 - trust)
        + p.g_eff * eff
        + p.g_broken * broken_b[:, kb]
        + p.g_auth * s.c_auth
        + p.g_move * s.c_allied * move
        + p.g_ethnic * eth[None, :] * (s.c_stage == 1)
    )
    lam_dn = p.de_esc * trust
    up = s.c_active & (s.c_stage < 2) & (u_stage < 1 - np.exp(-lam_up))
    dn = s.c_active & (s.c_stage > 0) & ~up & (u_stage > np.exp(-lam_dn))
    s.c_stage = (s.c_stage + up - dn).astype(np.int8)
    ally = s.c_active & ~s.c_allied & (s.c_stage >= 1) & (u_ally < 1 - np.exp(-p.ally_rate * move))
    s.c_allied |= ally
    # allied committees come to back their republic, as fast as its movement is strong
    s.c_alleg = np.where(s.c_active & s.c_allied, s.c_alleg + p.a_move * move * (1 - s.c_alleg), s.c_alleg)
