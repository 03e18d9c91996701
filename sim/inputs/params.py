"""Model parameters and mechanism switches: frozen dataclasses, one documented field each.

Every field carries its unit, the mechanism it belongs to, its allowed range and its source
(`source: <citation>`, `calibrated` or `assumption: <reason>`). The README's parameter table is
generated from these fields (`python run.py params`), so documentation cannot drift from code.
Unknown keys and out-of-range values are errors (`replace_checked`).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.inputs.errors import InputError


def p(
    default: float,
    unit: str,
    group: str,
    lo: float,
    hi: float,
    source: str,
    doc: str,
) -> Any:
    """Declare one parameter with its documentation (a dataclass field with metadata)."""
    meta = {"unit": unit, "group": group, "lo": lo, "hi": hi, "source": source, "doc": doc}
    return field(default=default, metadata=meta)


A = "assumption"
VA = f"{A}: no source sizes it, no 1989-1990 target informs it: fixed, not fitted (issue 29)"
CAL = (
    "calibrated: ABC-SMC posterior in calibration/fitted/ (prior range and reason in calibration/priors.toml); "
    'scenarios with parameters = "posterior" draw it per replicate, this hand-set default is used otherwise'
)
CAL2 = (
    "calibrated (stage 2, on 1989-1990 figures given the July 1989 posterior): ABC-SMC posterior in calibration/fitted/ (prior range "
    'and reason in calibration/priors_1989_1990.toml); scenarios with parameters = "posterior" draw it per replicate; this default '
    "(the mechanism off or neutral, which reproduces the earlier model) is used otherwise"
)


@dataclass(frozen=True)
class Params:
    """Numerical parameters of the daily rules (see docs/model.md for the equations)."""

    # --- 1. grievance-driven onset: readiness z = b_griev*(G - g_ref) - b_pat*pat - ... ---
    w_wage: float = p(
        0.45,
        "weight",
        "onset",
        0,
        1,
        f"{A}: wages led the Kuzbass demand list (essay, seed 000)",
        "weight of the wage grievance in the weighted grievance G",
    )
    w_ecology: float = p(
        0.30,
        "weight",
        "onset",
        0,
        1,
        f"{A}: ecology and supplies second on the demand lists (essay)",
        "weight of the ecology grievance in G",
    )
    w_privilege: float = p(
        0.25, "weight", "onset", 0, 1, f"{A}: privileges prominent in Donbas demands (essay)", "weight of the privilege grievance in G"
    )
    g_ref: float = p(0.52, "grievance", "onset", 0, 1, CAL, "grievance at which readiness is one half, all else neutral")
    b_griev: float = p(20, "1/grievance", "onset", 0, 40, CAL, "slope of readiness in the weighted grievance")
    b_pat: float = p(
        2,
        "1/unit",
        "onset",
        0,
        20,
        f"{A}: 82% would yield to the administration (Izvestiya 1988 survey, essay)",
        "how much paternalism lowers readiness",
    )
    b_rep: float = p(2, "1/unit", "onset", 0, 20, A, "how much expected repression lowers readiness")
    b_eff: float = p(3.0, "1/unit", "onset", 0, 20, A, "how much efficacy (belief that striking works) raises readiness")
    b_trust: float = p(2.0, "1/unit", "onset", 0, 20, A, "how much trust in the centre lowers readiness")
    spark: float = p(
        2e-5,
        "1/day",
        "onset",
        0,
        0.01,
        f"{A}: isolated strikes before July 1989 (Osinniki, Feb 1989; encyclopedia extract) were rare",
        "spontaneous daily onset rate of a fully ready mine",
    )
    fear0: float = p(0.3, "unit", "onset", 0, 1, A, "expected repression when the centre is at full perceived strength and not repressing")
    # --- 2. contagion over the network ---
    w_city: float = p(1.6, "1/day", "contagion", 0, 10, CAL, "hazard from the share of same-city enterprises on strike")
    w_basin: float = p(
        0.8, "1/day", "contagion", 0, 10, CAL, "hazard from the share of linked enterprises elsewhere in the basin on strike"
    )
    w_delegate: float = p(0.3, "1/day", "contagion", 0, 10, CAL, "hazard from the share of linked enterprises in other basins on strike")
    # --- 3. committee mobilisation ---
    form_share: float = p(
        0.25,
        "share",
        "committees",
        0,
        1,
        f"{A}: Mezhdurechensk elected its committee once its five mines were out (essay)",
        "share of a town's enterprises on strike at which its committee forms",
    )
    form_count: float = p(
        3.0,
        "enterprises",
        "committees",
        1,
        100,
        f"{A}: a large town elected its committee once a few enterprises were out",
        "enterprises on strike at which a town committee forms, whatever the share",
    )
    form_towns: float = p(
        0.3,
        "share",
        "committees",
        0,
        1,
        f"{A}: the Kuzbass regional committee united town committees (essay)",
        "share of a basin's towns with an active committee at which the basin committee forms",
    )
    k_city: float = p(1.0, "1/day", "committees", 0, 10, CAL, "hazard from an active town committee calling its enterprises out")
    k_basin: float = p(0.5, "1/day", "committees", 0, 10, CAL, "hazard from an active basin committee calling a general strike")
    # --- 4. news channel ---
    w_news: float = p(0.002, "1/day", "news", 0, 5, CAL, "hazard from national coverage at full saturation")
    news_scale: float = p(
        150000.0,
        "strikers",
        "news",
        1000,
        1e6,
        f"{A}: coverage saturates at a wave of Kuzbass size",
        "strikers union-wide at which coverage saturates",
    )
    glasnost: float = p(
        1.0, "unit", "news", 0, 1, "source: glasnost in force since 1986 (essay); a scenario can weaken it", "openness of national coverage"
    )
    # --- 5. negotiation and settlement ---
    order_lag: float = p(
        1.0,
        "days",
        "settlement",
        0,
        30,
        "source: deal of 17 July, return recommended on the 18th (essay)",
        "days between a deal and the committee's order to return",
    )
    r_obey: float = p(0.15, "1/day", "settlement", 0, 5, CAL, "daily return hazard of a trusting enterprise under a return order")
    r_peer: float = p(
        8.0,
        "1/day",
        "settlement",
        0,
        20,
        CAL,
        "return hazard from the squared share of same-town enterprises back at work (conformity: a return spreads once most are back; assumption)",
    )
    trust_hold: float = p(0.55, "trust", "settlement", 0, 1, CAL, "trust below which an enterprise ignores a return order")
    deal_truce: float = p(
        30.0,
        "days",
        "settlement",
        0,
        720,
        f"{A}: the return after a deal took days, not months",
        "days after a deal during which its return order stands",
    )
    react_days: float = p(14.0, "days", "settlement", 1, 365, f"{A}", "days a basin strike lasts before the reactive centre concedes")
    react_share: float = p(0.2, "share", "settlement", 0, 1, A, "share of a basin's enterprises on strike that the reactive centre answers")
    react_relief: float = p(0.05, "grievance", "settlement", 0, 1, A, "material relief promised by a reactive concession")
    impl_share: float = p(
        0.4,
        "share",
        "settlement",
        0,
        1,
        "source: Resolution 608 was implemented slowly and in part (essay; MODEL.md)",
        "share of a promise the centre eventually carries out (default for concessions)",
    )
    impl_days: float = p(365.0, "days", "settlement", 1, 3650, A, "time scale on which a promise is carried out (default)")
    deadline_days: float = p(150.0, "days", "settlement", 1, 3650, A, "days after a concession when unkept parts count as broken (default)")
    # --- 6. efficacy feedback ---
    eff0: float = p(
        0.2, "unit", "efficacy", 0, 1, f"{A}: few strikes had won before July 1989", "initial efficacy (belief that striking works)"
    )
    eta_win: float = p(0.5, "unit", "efficacy", 0, 1, A, "efficacy gain in the basin that wins a concession (share of the gap to 1)")
    eta_rep: float = p(0.5, "ratio", "efficacy", 0, 1, A, "gain elsewhere in the same republic, relative to the winner's basin")
    eta_far: float = p(0.3, "ratio", "efficacy", 0, 1, A, "gain in other republics, relative to the winner's basin")
    eta_fail: float = p(0.1, "unit", "efficacy", 0, 1, A, "efficacy lost when a strike ends without a deal")
    eff_decay: float = p(
        1.0 / 720,
        "1/day",
        "efficacy",
        0,
        0.1,
        f"{A}: memories of a win fade over about two years",
        "daily relaxation of efficacy towards eff0",
    )
    # --- 7. legitimacy and trust ---
    trust0: float = p(0.5, "unit", "trust", 0, 1, A, "initial trust in the centre")
    trust_sd: float = p(0.12, "unit", "trust", 0, 0.5, A, "spread of initial trust across enterprises")
    tau_concede: float = p(
        0.05,
        "unit",
        "trust",
        -1,
        1,
        f"{A}: sign left free for calibration (MODEL.md)",
        "trust change in a basin that receives a concession",
    )
    tau_broken: float = p(0.004, "1/day", "trust", 0, 0.1, A, "daily trust loss per unit of promise unkept after its deadline")
    tau_kept: float = p(0.3, "unit", "trust", 0, 1, A, "trust gain per unit of relief actually implemented")
    tau_refuse: float = p(
        0.0,
        "unit",
        "trust",
        0,
        0.5,
        f"{CAL2}. The counter-mechanism of the concessions' effects (radicalisation by refusal: a strike the centre leaves "
        "unanswered turns the workforce against it); sized by the 1989-1990 stance rows (demand stage of the Pechora, Kuzbass, "
        "Donbas and USSR workforce, issue 29); no source read says whether a refused strike radicalised",
        "trust in the centre lost by an enterprise whose strike ends without a deal",
    )
    tau_rep: float = p(0.02, "1/day", "trust", 0, 0.5, A, "daily trust loss under full repression")
    strength_concede: float = p(0.1, "unit", "trust", 0, 1, A, "drop in the centre's perceived strength per concession")
    strength_rep: float = p(0.005, "1/day", "trust", 0, 0.1, A, "daily gain in perceived strength under full repression")
    expect: float = p(0.8, "ratio", "trust", 0, 1, A, "share of a promised relief that a fully trusting workforce counts as already won")
    push_days: float = p(
        3650.0,
        "days",
        "committees",
        0,
        3650,
        f"{CAL2}. Before calibration: off (3650 days: a committee always calls its area out, as before) until the 1989-1990 calibration sizes it; a new committee mobilises its area for weeks (the 1989 strikes lasted one to three weeks); an established one "
        "brings mines out by dated strike calls (MODEL.md: committees call dated strikes)",
        "days after its formation during which a committee calls its area out whenever a strike is on there",
    )
    channel: float = p(
        0.0,
        "share",
        "committees",
        0,
        1,
        f"{CAL2}. Before calibration: off (0) by default until the 1989-1990 calibration sizes it; after 1989 the committees turned protest into dated calls (the warning strike of 11 July 1990, the March 1991 "
        "strike) rather than wildcat walk-outs; 0 gives spontaneous contagion as in July 1989; for calibration on 1989-1990 to size",
        "share by which an established committee (past its first push_days) damps spontaneous onset, contagion and news in its area",
    )
    k_call: float = p(
        3.0,
        "1/day",
        "committees",
        0,
        50,
        f"{CAL2}. Reason for the range: a call of one's own committee is the strongest push there is; turnout still scales with readiness and cost",
        "strike hazard (per unit readiness) added by a strike call of the enterprise's active town or basin committee",
    )
    call_span: float = p(
        30.0,
        "days",
        "committees",
        1,
        3650,
        f"{A}: a call that wins nothing loses its pull over weeks (the open-ended strike of March 1991 lasted about two months)",
        "time scale over which the pull of a strike call fades: k_call * exp(-days since the call / call_span)",
    )
    call_floor: float = p(
        0.2,
        "share",
        "committees",
        0,
        1,
        f"{CAL2}. Reason for the range: an open-ended strike is called off once it has collapsed",
        "share of a basin's enterprises on strike below which an open-ended call lapses (from the call's eighth day)",
    )
    r_call_end: float = p(
        3.0,
        "1/day",
        "committees",
        0,
        50,
        f"{CAL2}. Reason for the range: a one-day (warning) strike ends when its day is over",
        "return hazard of the basin's strikers during the week after a strike call of fixed length has run out",
    )
    # --- 8. committee persistence and authority ---
    dissolve: float = p(
        0.02,
        "1/day",
        "persistence",
        0,
        1,
        f"{CAL2}. Reason for the range: many committees lasted into 1990-91 (essay)",
        "daily dissolution hazard of an idle committee without authority",
    )
    persist_won: float = p(0.6, "ratio", "persistence", 0, 1, A, "reduction of that hazard for committees that won")
    auth_gain: float = p(
        0.003,
        "1/day",
        "persistence",
        0,
        1,
        "source: committees took over supply and distribution (essay, Mandel)",
        "daily authority gain of an active committee that won",
    )
    # --- 9. demand escalation ---
    esc0: float = p(
        0.0002,
        "1/day",
        "escalation",
        0,
        0.1,
        f"{A}: hand-set so that Donbas committees turn political by autumn 1989 and sovereignty demands come in 1990-91 (essay); not fitted",
        "base daily rate at which an active committee moves up a demand stage",
    )
    g_distrust: float = p(2.0, "1/unit", "escalation", 0, 10, A, "log-rate effect of distrust of the centre")
    g_eff: float = p(1.0, "1/unit", "escalation", 0, 10, A, "log-rate effect of efficacy")
    g_broken: float = p(3.0, "1/unit", "escalation", 0, 20, A, "log-rate effect of unkept promises")
    g_auth: float = p(1.5, "1/unit", "escalation", 0, 10, A, "log-rate effect of committee authority")
    g_move: float = p(2.0, "1/unit", "escalation", 0, 10, A, "log-rate effect of an alliance with a national movement")
    g_ethnic: float = p(
        0.0,
        "1/unit",
        "escalation",
        0,
        10,
        "dropped (0): the essay's ethnic gap between Russian managers and Ukrainian miners has no source for managers' nationality "
        "by basin, the Donbas mining workforce was itself largely Russian-speaking (1989 census), and the data page's alternative "
        "rule reverses the order of the basins (scenarios/data/grievances.md); kept as a lever a scenario may set",
        "log-rate effect of the management's ethnic gap on the step to sovereignty (0: off in the baseline)",
    )
    bind: float = p(
        0.5,
        "share",
        "escalation",
        0,
        1,
        f"{A}: a concession binds a committee's allegiance to the authority that made it (MODEL.md; the essay's 'concessions to "
        "regional actors'); size left for calibration",
        "share of the way a concession moves the allegiance of the committees of its basins towards its maker (Union or republic)",
    )
    a_move: float = p(
        0.01,
        "1/day",
        "escalation",
        0,
        1,
        f"{A}: committees allied with a national movement come to back their republic over months",
        "daily drift of an allied committee's allegiance towards its republic, per unit strength of the movement",
    )
    court: float = p(
        0.0,
        "share",
        "escalation",
        0,
        1,
        f"{CAL2}. The counter-mechanism of `bind` (the republics courting the refused: a strike the centre leaves unanswered "
        "drives its committees to the republic's leaders); sized by the 1989-1990 allegiance rows (the Ukrainian SSR at the end "
        "of 1989, the Kuzbass in October 1990, issue 29); no 1990 source read on the Ukrainian committees' stance",
        "share of the way a strike that ends without a deal moves its committees' allegiance towards the republic "
        "(per unit of the area's workforce that returned without a deal that day)",
    )
    de_esc: float = p(0.001, "1/day", "escalation", 0, 0.1, A, "daily rate at which a trusting committee steps back a stage")
    ally_rate: float = p(0.01, "1/day", "escalation", 0, 1, A, "daily rate of alliance with a movement of strength 1")
    # --- 10. fatigue and resources ---
    fat_grace: float = p(
        10.0,
        "days",
        "fatigue",
        0,
        120,
        f"{A}: strike funds were small; most 1989 strikes lasted under two weeks",
        "days on strike before fatigue starts",
    )
    fat_rate: float = p(0.05, "1/day^2", "fatigue", 0, 1, A, "growth of the return hazard per day past the grace period")
    fund_auth: float = p(
        0.5,
        "ratio",
        "fatigue",
        0,
        1,
        "source: committees organised supplies during strikes (essay)",
        "fatigue reduction from full committee authority",
    )
    cost_rate: float = p(
        0.0,
        "1/day",
        "fatigue",
        0,
        1,
        f"{CAL2}. Before calibration: off (0) by default, which keeps the calibrated July 1989 fit, until the 1989-1990 calibration sizes it (1/30 ends an unanswered strike in weeks); strikers went unpaid (pay for strike days was itself a demand in 1989: essay, after Mandel) and household savings "
        "and supplies lasted weeks, not months",
        "daily growth of an enterprise's cost of striking (lost pay, spent savings) towards 1 while it is out",
    )
    cost_recover: float = p(
        1.0 / 180,
        "1/day",
        "fatigue",
        0,
        1,
        f"{CAL2}. Reason for the range: savings and supplies are rebuilt over months of work",
        "daily recovery of the cost of striking towards 0 while at work",
    )
    r_cost: float = p(
        0.3,
        "1/day",
        "fatigue",
        0,
        5,
        f"{CAL2}. Reason for the range: with everything spent a workforce drifts back within days",
        "return hazard at full cost of striking (it grows with the square of the cost: savings run out late, then fast)",
    )
    b_cost: float = p(
        3.0,
        "1/unit",
        "fatigue",
        0,
        20,
        f"{A}: a workforce that has just spent its savings is less ready to walk out again",
        "readiness (logit) lost per unit of the cost of striking",
    )
    refractory: float = p(
        0.0,
        "days",
        "fatigue",
        0,
        730,
        f"{CAL2}. Before calibration: off (0) by default until the 1989-1990 calibration sizes it; after a strike a workforce does not walk out again by itself for weeks; only its committee's call can bring it out",
        "days after a strike that ended without a deal during which the enterprise strikes only at a committee's call",
    )
    wage_drift: float = p(
        0.08,
        "1/year",
        "onset",
        0,
        1,
        "source: coal pay rose at half the national rate 1986-90 (Mandel, in the essay)",
        "yearly growth of the wage grievance as prices outran pay",
    )
    # --- output ---
    griev_sd: float = p(
        0.1,
        "grievance",
        "onset",
        0,
        0.5,
        f"{A}: enterprises of one basin differ (pay, pits vs mines)",
        "spread of enterprise grievances around their basin's level",
    )
    out_share: float = p(
        0.84,
        "share",
        "onset",
        0.1,
        1,
        "source: 177,000 strikers of a workforce of ~220,000 with almost every enterprise out (targets, basins_1989.csv)",
        "mean share of an enterprise's workforce out when it strikes",
    )

    # --- vote-scale allegiance: an observation, not a rule of the day (sim/model/vote.py; stances: shares backing the republic) ---
    vote_spill: float = p(1.0, "ratio", "vote", 0, 5, VA, "multiplier of the miners-and-families share of an oblast's adults")
    vote_drift: float = p(1 / 180, "1/day", "vote", 0, 1, VA, "daily pull of a dissolved committee's workforce back to its oblast")
    vote_titular: float = p(0.30, "share", "vote", 0, 1, VA, "July 1989 stance of the titular nationality (Ukrainian SSR)")
    vote_russian: float = p(0.05, "share", "vote", 0, 1, VA, "July 1989 stance of the Russians (Ukrainian SSR)")
    vote_others: float = p(0.10, "share", "vote", 0, 1, VA, "July 1989 stance of the other nationalities (Ukrainian SSR)")
    vote_council: float = p(0.20, "share", "vote", 0, 1, VA, "stance added where the Democratic Bloc won the council, March 1990")
    vote_ukraine: float = p(
        0.25, "share", "vote", 0, 1, f"{A}: the Democratic Bloc's 111 of 450 seats, 1990", "stance, oblast of no census data"
    )
    vote_rsfsr: float = p(
        0.17, "share", "vote", 0, 1, f"{A}: Democratic Russia's 0.14-0.19 of seats, 1990", "July 1989 stance, RSFSR oblast"
    )
    vote_other_rep: float = p(0.10, "share", "vote", 0, 1, VA, "July 1989 stance of an oblast of the other republics")
    vote_shock_sovereignty: float = p(0.05, "share", "vote", -1, 1, VA, "stance added by the republic's declaration of sovereignty")
    vote_shock_treaty: float = p(0.03, "share", "vote", -1, 1, VA, "added by Ukraine's no-union-treaty vote of 17 October 1990")
    vote_shock_coup: float = p(0.10, "share", "vote", -1, 1, VA, "added by the collapse of the August 1991 coup")
    vote_shock_independence: float = p(0.10, "share", "vote", -1, 1, VA, "added by Ukraine's Act of Independence, 24 August 1991")

    def replace(self, **changes: Any) -> Params:
        """Return a copy with `changes`, checked for unknown keys and ranges."""
        return replace_checked(self, changes, "params")


@dataclass(frozen=True)
class Mechanisms:
    """Switches for the eleven mechanisms of MODEL.md and the centre's own policy; `False` removes a mechanism's effect."""

    onset: bool = True
    contagion: bool = True
    committees: bool = True
    news: bool = True
    settlement: bool = True
    efficacy: bool = True
    trust: bool = True
    persistence: bool = True
    escalation: bool = True
    fatigue: bool = True
    shocks: bool = True
    reactive_centre: bool = True
    """The centre concedes by itself to a long, large strike not in the timeline (`react_days`, `react_share`,
    `react_relief`). Assumption: the centre met demands in most later strikes (the essay). The historical
    baseline turns it off: there the centre concedes only on the dated deals of its timeline."""

    def replace(self, **changes: Any) -> Mechanisms:
        """Return a copy with `changes`, checked for unknown keys and types."""
        return replace_checked(self, changes, "mechanisms")


def stack_params(draws: Sequence[Params]) -> Params:
    """One `Params` for a batch of replicates, each with its own parameter set.

    Fields equal in every draw stay scalars; a field that differs becomes an (R, 1) array (one row
    per replicate), which the rules broadcast against their (R, n) state arrays. So R draws advance
    together exactly as R single runs would.
    """
    import numpy as np

    if len(draws) == 1:
        return draws[0]
    changes = {}
    for f in dataclasses.fields(Params):
        col = np.array([getattr(d, f.name) for d in draws], dtype=float)
        if np.all(col == col[0]):
            continue
        changes[f.name] = col[:, None]
    return dataclasses.replace(draws[0], **changes)


def replace_checked(obj: Any, changes: dict[str, Any], where: str) -> Any:
    """Copy a frozen dataclass with `changes`, raising InputError on unknown keys or bad values."""
    fields = {f.name: f for f in dataclasses.fields(obj)}
    clean = {}
    for key, value in changes.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=3)
            hint = (
                f"; did you mean {' or '.join(repr(c) for c in close)}?"
                if close
                else f"; see `python run.py params` for the {len(fields)} names"
            )
            raise InputError(f"unknown key '{key}' in [{where}]{hint}", key=key)
        f = fields[key]
        if f.type in ("bool", bool):
            if not isinstance(value, bool):
                raise InputError(f"[{where}] {key} must be true or false, got {value!r}", key=key)
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"[{where}] {key} must be a number, got {value!r}", key=key)
            lo, hi = f.metadata["lo"], f.metadata["hi"]
            if not (lo <= value <= hi):
                raise InputError(f"[{where}] {key} = {value} is out of range [{lo}, {hi}]", key=key)
            value = float(value)
        clean[key] = value
    return dataclasses.replace(obj, **clean)


def param_table() -> list[dict[str, Any]]:
    """Rows (name, default, unit, mechanism, range, meaning, source) for the README's table."""
    rows = []
    for f in dataclasses.fields(Params):
        m = f.metadata
        rows.append(
            {
                "name": f.name,
                "default": f.default,
                "unit": m["unit"],
                "mechanism": m["group"],
                "range": f"{m['lo']:g} to {m['hi']:g}",
                "meaning": m["doc"],
                "source": m["source"],
            }
        )
    return rows
