"""Why did this enterprise strike? The terms of every decision of one town's enterprises on one day.

`explain` runs the per-agent model (`sim.model.model`, the same rules, seeds and parameter draws as
the batched engine's replicate) up to the given day and reads, for each enterprise of the town, the
terms of that day's decision: if it was at work, the readiness to strike (the log-odds terms of
grievance, paternalism, repression, efficacy, trust and cost) and the onset hazard (spark,
contagion from the town, the basin and the delegates, news, the committee's push and call, the
damping by an established committee, the refractory period, a return order holding it back); if it
was out, the return hazard (the return order, peers back at work, fatigue, the cost of striking,
the end of a call). The probability is 1 - exp(-readiness * hazard) for onset and 1 - exp(-hazard)
for return; the decision is taken when the day's draw falls below it. The town and basin
committees are shown with their stage, allegiance and the terms of that day's escalation step.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from datetime import date

import pandas as pd

from sim.inputs.errors import InputError
from sim.inputs.network import STAGES
from sim.inputs.rng import replicate_seeds
from sim.model.model import StrikeModel
from sim.model.scenario import Scenario
from sim.run.runner import world_for

ONSET_TERMS = ("spark", "contagion_town", "contagion_basin", "contagion_delegates", "news", "committee_push")
"""Terms of the onset hazard that the damping of an established committee multiplies (then the call is added)."""
RETURN_TERMS = ("return_order", "peers_back", "fatigue", "cost_of_striking", "call_over")
"""Terms of the return hazard (summed)."""
READINESS_TERMS = ("z_grievance", "z_paternalism", "z_repression", "z_efficacy", "z_trust", "z_cost")
"""Terms of readiness's log-odds (summed; readiness = 1 / (1 + exp(-z)))."""

NAMES = {
    "spark": ("spark", "a spontaneous spark"),
    "contagion_town": ("town contagion", "strikes at other enterprises of the town"),
    "contagion_basin": ("basin contagion", "strikes elsewhere in the basin"),
    "contagion_delegates": ("delegates", "delegates from striking basins"),
    "news": ("news", "news of strikes elsewhere"),
    "committee_push": ("committee push", "the strike committees' agitation"),
    "committee_call": ("committee call", "the committee's call to strike"),
    "return_order": ("return order", "the order to return after a settlement"),
    "peers_back": ("peers back", "workmates back at work after a settlement"),
    "fatigue": ("fatigue", "fatigue"),
    "cost_of_striking": ("cost", "the cost of striking"),
    "call_over": ("call over", "the end of the committee's call"),
    "z_grievance": ("grievance", "grievance net of relief"),
    "z_paternalism": ("paternalism", "paternalism"),
    "z_repression": ("repression", "repression"),
    "z_efficacy": ("efficacy", "efficacy"),
    "z_trust": ("trust", "trust"),
    "z_cost": ("cost", "the cost of striking"),
}
"""Each term in words: a short label (tables, the figure's legend) and a phrase (the sentences)."""
STAGE_WORDS = dict(
    enumerate(
        f"{s} ({g})"
        for s, g in zip(STAGES, ("pay, supplies, housing", "local control, the officials' removal", "backing the republic"), strict=True)
    )
)
"""The demand stages in words (docs/model.md)."""


@dataclass(frozen=True)
class Explanation:
    """What `explain` found.

    Attributes:
        scenario: the scenario's name.
        day: the date explained.
        town: the town.
        replicate: the replicate index (its seed and parameter draw are those of the engine's replicate).
        seed: the replicate's seed.
        enterprises: one row per enterprise of the town: name, workforce, decision (onset or return), the
            terms, hazard, probability, draw, acted.
        committees: the town's and its basin's committee: active, stage, allegiance, and that day's
            escalation terms.
    """

    scenario: str
    day: date
    town: str
    replicate: int
    seed: int
    enterprises: pd.DataFrame
    committees: pd.DataFrame


def explain(scenario: Scenario, day: date, town: str, replicate: int = 0) -> Explanation:
    """The terms of the decisions of `town`'s enterprises and committees on `day`, in replicate `replicate`.

    Raises:
        InputError: an unknown town (with the names it knows) or a date outside the scenario.
    """
    world = world_for(scenario.data)
    if town not in world.city_names:
        close = [c for c in world.city_names if c.lower().startswith(town[:3].lower())]
        hint = f"; did you mean {', '.join(close[:5])}?" if close else ""
        raise InputError(f"--town: no town {town!r} in {scenario.data}{hint}", key="town")
    d = (day - scenario.start).days
    if not 0 <= d < scenario.days:
        raise InputError(f"--date {day} lies outside the scenario ({scenario.start} to {scenario.end})", key="date")
    if replicate < 0:
        raise InputError(f"--replicate must be >= 0, got {replicate}", key="replicate")
    seed = replicate_seeds(scenario.seed, replicate + 1)[replicate]
    # the replicate's seed and posterior draw; the decisions of day d are the last taken
    model = StrikeModel(world, scenario, seed, explain=True).run(until=d + 1)
    c = world.city_names.index(town)
    rows = []
    for m in model.mines:
        if m.city != c:
            continue
        rows.append({"enterprise": str(world.mine_name[m.i]), "workforce": float(world.workforce[m.i]), **m.why})
    ent = pd.DataFrame(rows)
    crow = []
    for k, label in (
        (c, f"town: {town}"),
        (world.n_cities + int(world.city_basin[c]), f"basin: {world.basin_names[int(world.city_basin[c])]}"),
    ):
        com = model.committees[k]
        crow.append(
            {
                "committee": label,
                "active": com.active,
                "stage": com.stage,
                "allegiance": com.alleg,
                "age_days": com.age,
                **(com.why if com.active else {}),
            }
        )
    return Explanation(scenario.name, day, town, replicate, seed, ent, pd.DataFrame(crow))


def onset_hazard(row: pd.Series) -> float:
    """The onset hazard rebuilt from a row's terms (as the model adds them up)."""
    if row["refractory"]:
        lam = 0.0
    else:
        lam = 0.0
        for t in ONSET_TERMS:
            lam = lam + row[t]
        lam = lam * row["channelled"]
    return lam + row["committee_call"]


def percent(p: float) -> str:
    """A probability for a reader: 0, under 0.01%, two significant digits below 10%, whole percent above."""
    if not p > 0:
        return "0%"
    if p < 1e-4:
        return "<0.01%"
    return f"{p:.0%}" if p >= 0.095 else f"{100 * p:.2g}%"


def pushes(row: pd.Series) -> dict[str, float]:
    """A decision's hazard split into its terms, as the decision used them (the damped onset terms after `channelled`)."""
    if row["decision"] == "return":
        return {t: float(row[t]) for t in RETURN_TERMS}
    damp = 0.0 if row["refractory"] else float(row["channelled"])
    return {**{t: float(row[t]) * damp for t in ONSET_TERMS}, "committee_call": float(row["committee_call"])}


def main_push(rows: pd.DataFrame) -> tuple[str, float]:
    """The term that carries most of the summed hazard of `rows`, and its share of that hazard ("", 0 when there is none)."""
    total: dict[str, float] = {}
    for _, r in rows.iterrows():
        for t, v in pushes(r).items():
            total[t] = total.get(t, 0.0) + v
    whole = sum(total.values())
    if not total or whole <= 0:
        return "", 0.0
    top = max(total, key=total.get)
    return top, total[top] / whole


def long_date(d: date) -> str:
    """15 July 1989."""
    return f"{d.day} {d.strftime('%B')} {d.year}"


def _decisions(part: pd.DataFrame, day: str, kind: str) -> str:
    """One sentence on one kind of decision (`onset` or `return`) of the town's enterprises."""
    did = part[part["acted"].astype(bool)]
    verb, where = ("struck", "at work") if kind == "onset" else ("went back to work", "on strike")
    if len(did):
        term, share = main_push(did)
        why = f", mainly because of {NAMES[term][1]} ({share:.0%} of their pushes)" if term else ""
        who = f"{len(did)} of the {len(part)} enterprises" if len(part) > 1 else "The one enterprise"
        return f"{who} {where} {verb} on {day}{why}."
    best = part.loc[part["probability"].idxmax()]
    term, _ = main_push(part)
    push = f"; the strongest push, summed over them, was {NAMES[term][1]}" if term else "; nothing pushed them"
    if len(part) == 1:
        push = f"; its strongest push was {NAMES[term][1]}" if term else ""
        return f"The one enterprise {where} did not {'strike' if kind == 'onset' else 'go back'} on {day}: its chance was {percent(best['probability'])}{push}."
    return f"None of the {len(part)} enterprises {where} {verb} on {day}: the largest chance was {percent(best['probability'])} ({best['enterprise']}){push}."


def sentences(ex: Explanation) -> list[str]:
    """What happened in the town that day and why, in words: one sentence per kind of decision, then readiness and the damping."""
    e, day = ex.enterprises, long_date(ex.day)
    if not len(e):
        return [f"{ex.town} has no enterprises."]
    out = []
    work, out_ = e[e["decision"] == "onset"], e[e["decision"] == "return"]
    for part, kind in ((work, "onset"), (out_, "return")):
        if len(part):
            out.append(_decisions(part, day, kind))
    if len(work):
        z = {t: float(work[t].mean()) for t in READINESS_TERMS}
        up = [f"{NAMES[t][1]} ({v:+.1f})" for t, v in sorted(z.items(), key=lambda kv: -kv[1]) if v >= 0.05]
        down = [f"{NAMES[t][1]} ({v:+.1f})" for t, v in sorted(z.items(), key=lambda kv: kv[1]) if v <= -0.05]
        out.append(
            f"Readiness to strike (the share of a push that turns into a strike) averaged {percent(work['readiness'].mean())}, "
            f"from {percent(work['readiness'].min())} to {percent(work['readiness'].max())}"
            + (f"; on the log-odds scale raised by {', '.join(up)}" if up else "")
            + (f"{' and' if up else ';'} lowered by {', '.join(down)}" if down else "")
            + "."
        )
        damped = work[(work["channelled"] < 1) & ~work["refractory"].astype(bool)]
        if len(damped):
            out.append(
                f"An established strike committee channels protest into its own calls: for {len(damped)} enterprises the pushes "
                f"other than its call count at {percent(float(damped['channelled'].iloc[0]))} of their strength ('channelled')."
            )
        n_ref, n_held = int(work["refractory"].astype(bool).sum()), int(work["held_by_return_order"].astype(bool).sum())
        if n_ref:
            out.append(
                f"{n_ref} enterprises are in their refractory period after a failed strike: only a committee's call brings them out."
            )
        if n_held:
            out.append(f"{n_held} enterprises were held at work by a return order (their workforce trusts the settlement).")
    return out


def committee_lines(ex: Explanation) -> list[str]:
    """The town's and basin's committee at the end of the day, in words."""
    out = []
    for _, c in ex.committees.iterrows():
        level, name = c["committee"].split(": ", 1)
        head = f"The {level} committee ({name})"
        if not c["active"]:
            out.append(f"{head} has not formed (or has dissolved).")
            continue
        age = "formed today" if int(c["age_days"]) <= 1 else f"has been active for {int(c['age_days'])} days"
        line = (
            f"{head} {age}, its demands at the {STAGE_WORDS[int(c['stage'])]} stage, "
            f"its allegiance to the republic against the Union {percent(c['allegiance'])}"
        )
        if isinstance(c.get("moved"), str):
            moved = {"up": "rose", "down": "fell", "stayed": "stayed"}[c["moved"]]
            line += (
                f"; its demands {moved} today (chance of rising {percent(1 - math.exp(-c['rate_up']))}, "
                f"of falling {percent(1 - math.exp(-c['rate_down']))} a day)"
            )
        out.append(line + ".")
    return out


def outcome(r: pd.Series) -> str:
    """What an enterprise did that day, in words."""
    if r["decision"] == "return":
        return "went back" if r["acted"] else "stayed out"
    if r["held_by_return_order"]:
        return "held by order"
    return "struck" if r["acted"] else "stayed at work"


def table(ex: Explanation) -> list[str]:
    """One line per enterprise (at most 100 characters): its state, readiness, chance that day, main push and what it did."""
    e = ex.enterprises
    w = max([len("enterprise"), *(len(str(n)) for n in e["enterprise"])]) if len(e) else 10
    lines = [f"{'enterprise':{w}s}  {'state':8s} {'readiness':>9s} {'chance':>7s}  {'main push':15s} outcome"]
    for _, r in e.iterrows():
        state = "at work" if r["decision"] == "onset" else "striking"
        ready = percent(r["readiness"]) if r["decision"] == "onset" else ""
        term, _ = main_push(pd.DataFrame([r]))
        lines.append(
            f"{r['enterprise']:{w}s}  {state:8s} {ready:>9s} {percent(r['probability']):>7s}  {NAMES[term][0] if term else 'none':15s} {outcome(r):14s}".rstrip()
        )
    return lines


def report(ex: Explanation) -> str:
    """The explanation for a reader: sentences first, then the committees and one line per enterprise."""
    head = f"{ex.town}, {long_date(ex.day)}: replicate {ex.replicate} of {ex.scenario} (seed {ex.seed}), {len(ex.enterprises)} enterprises."
    lines = [*textwrap.wrap(head, WIDTH), ""]
    for text in sentences(ex) + committee_lines(ex):
        lines += textwrap.wrap(text, WIDTH, subsequent_indent="  ")
    lines += ["", *table(ex), ""]
    lines += textwrap.wrap(
        "readiness: the share of a push that turns into a strike (1 / (1 + exp(-log-odds))); chance: the probability of "
        "striking (at work) or of going back (on strike) that day; main push: the largest term of that day's hazard "
        "(every term is in enterprises.parquet).",
        WIDTH,
    )
    return "\n".join(lines)


WIDTH = 100
"""Widest line of `report`."""
