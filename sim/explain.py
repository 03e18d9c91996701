"""Why did this enterprise strike? The terms of every decision of one town's enterprises on one day.

`explain` runs the per-agent model (`sim.model`, the same rules, seeds and parameter draws as
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

from dataclasses import dataclass
from datetime import date

import pandas as pd

from sim.errors import InputError
from sim.model import StrikeModel
from sim.rng import replicate_seeds
from sim.runner import world_for
from sim.scenario import Scenario

ONSET_TERMS = ("spark", "contagion_town", "contagion_basin", "contagion_delegates", "news", "committee_push")
"""Terms of the onset hazard that the damping of an established committee multiplies (then the call is added)."""
RETURN_TERMS = ("return_order", "peers_back", "fatigue", "cost_of_striking", "call_over")
"""Terms of the return hazard (summed)."""
READINESS_TERMS = ("z_grievance", "z_paternalism", "z_repression", "z_efficacy", "z_trust", "z_cost")
"""Terms of readiness's log-odds (summed; readiness = 1 / (1 + exp(-z)))."""


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


def draw(ex: Explanation, ax=None):
    """The figure of an explanation: each enterprise's hazard terms, its probability and whether it acted (`sim.plots.plot_explain`)."""
    from sim.plots import plot_explain

    terms = [t for t in (*ONSET_TERMS, "committee_call", *RETURN_TERMS) if t in ex.enterprises]
    title = f"Why they struck or went back: {ex.town}, {ex.day} (replicate {ex.replicate}, {ex.scenario})"
    return plot_explain(ex.enterprises, terms, set(ONSET_TERMS), title, ax=ax)
