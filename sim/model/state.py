"""The model's state, declared once: every variable with its owner, type, initial value and meaning.

`VARIABLES` is the one list. From it come the array state of a batch of R replicates (`State`, a
named tuple of arrays that the compiled kernel takes by name), its initialisation (`init_state`),
and the equality test between the kernel and the per-agent Mesa model (`tests/unit/test_reference.py`
reads every variable from the agents through `AGENT_ATTR`). A new variable is one line here, a rule
in the kernel (`sim.model.kernel`) and a rule in its agent (`sim.model.model`).

Owners, and the axis of the variable in the batch state (R replicates first):
- "mine": one per enterprise, (R, n), the `Enterprise` agents; "mine3": (R, n, 3), the three grievances;
- "committee": one per town and per basin (town committees first), (R, K), the `StrikeCommittee` agents;
- "basin": one per basin, (R, B), the `Basin` agents (the centre's promises to the basin, its strike calls);
- "centre": one per replicate, (R,), the `Centre` agent.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from typing import Any

import numpy as np

NO_DEAL = -(10**6)
"""`deal_day` of a basin that has had no deal."""

CALL_BACK_DAYS = 7.0
"""Days after a call of fixed length during which its strikers get the return push `r_call_end` (assumption: a week)."""


@dataclass(frozen=True)
class Variable:
    """One state variable: name in the batch state, owner (axis), numpy type, initial value, meaning."""

    name: str
    owner: str
    dtype: Any
    init: float
    doc: str

    @property
    def attr(self) -> str:
        """The agent attribute that holds it (committee variables drop their `c_` prefix)."""
        return self.name[2:] if self.owner == "committee" else self.name


VARIABLES: tuple[Variable, ...] = (
    Variable("striking", "mine", np.bool_, 0, "on strike"),
    Variable("days_on", "mine", np.float64, 0, "days in the current strike"),
    Variable("ever", "mine", np.bool_, 0, "has struck since the start"),
    Variable("out_share", "mine", np.float64, 0, "share of the workforce out when striking (drawn)"),
    Variable("griev", "mine3", np.float64, 0, "grievances: wages, ecology, privileges (drawn)"),
    Variable("eff", "mine", np.float64, 0, "efficacy: belief that striking works (starts at eff0)"),
    Variable("trust", "mine", np.float64, 0, "trust in the centre (drawn)"),
    Variable("stage", "mine", np.int8, 0, "demand stage of the workforce (0 material, 1 political, 2 sovereignty)"),
    Variable("cost", "mine", np.float64, 0, "cost of striking so far (lost pay, spent savings), 0-1"),
    Variable("days_off", "mine", np.float64, 1e6, "days since it returned from a strike that won nothing (large: never)"),
    Variable("c_active", "committee", np.bool_, 0, "the committee exists"),
    Variable("c_auth", "committee", np.float64, 0, "authority (dual power)"),
    Variable("c_stage", "committee", np.int8, 0, "demand stage"),
    Variable("c_won", "committee", np.bool_, 0, "it won a concession"),
    Variable("c_allied", "committee", np.bool_, 0, "allied with its republic's national movement"),
    Variable("c_age", "committee", np.float64, 0, "days since it formed (0 when not active)"),
    Variable("c_alleg", "committee", np.float64, 0, "allegiance: 0 backs the Union, 1 backs its republic"),
    Variable("c_deal_day", "committee", np.int64, NO_DEAL, "day of the last deal with its town alone (town committees)"),
    Variable("promised", "basin", np.float64, 0, "material relief promised (grievance units)"),
    Variable("implemented", "basin", np.float64, 0, "relief carried out"),
    Variable("impl_cap", "basin", np.float64, 0, "relief that will eventually be carried out"),
    Variable("impl_rate", "basin", np.float64, 0, "pace of carrying it out (1/days)"),
    Variable("deadline", "basin", np.float64, np.inf, "day after which unkept promises count as broken"),
    Variable("deal_day", "basin", np.int64, NO_DEAL, "day of the last deal"),
    Variable("concessions", "basin", np.float64, 0, "concessions made"),
    Variable("run_days", "basin", np.float64, 0, "consecutive days of a large strike (the reactive centre)"),
    Variable("call_left", "basin", np.float64, 0, "days left of a strike call in force (inf: open-ended; 0: none)"),
    Variable("call_pol", "basin", np.bool_, 0, "the call in force has political demands"),
    Variable("call_ended", "basin", np.float64, 0, "days left of the week after a call of fixed length ran out"),
    Variable("call_age", "basin", np.float64, 0, "days since the call in force began"),
    Variable("strength", "centre", np.float64, 1.0, "perceived strength of the centre"),
)

State = namedtuple("State", [v.name for v in VARIABLES])
"""The state of R replicates: one array per variable of `VARIABLES`, in that order; rules write in place."""


def copy_state(s: State) -> State:
    """A deep copy of a state."""
    return State(*(a.copy() for a in s))


def _shape(owner: str, r: int, n: int, k: int, b: int) -> tuple[int, ...]:
    return {"mine": (r, n), "mine3": (r, n, 3), "committee": (r, k), "basin": (r, b), "centre": (r,)}[owner]


def empty_state(r: int, n: int, k: int, b: int) -> State:
    """Every variable at its declared initial value, for R replicates of n enterprises, K committees, B basins."""
    return State(*(np.full(_shape(v.owner, r, n, k, b), v.init, dtype=v.dtype) for v in VARIABLES))


def probit(u: np.ndarray) -> np.ndarray:
    """Standard normal quantiles of uniform draws (clipped away from 0 and 1)."""
    from scipy.special import ndtri

    return ndtri(np.clip(u, 1e-12, 1 - 1e-12))


def init_state(world: Any, params: Any, u_init: np.ndarray) -> State:
    """Initial state of R replicates from the uniform draws `u_init` (R, n, 5) of the `init` stream.

    Draws: three for grievance jitter, one for trust, one for the share out (see `Enterprise.__init__`).
    """
    r = u_init.shape[0]
    s = empty_state(r, world.n, world.n_cities + world.n_basins, world.n_basins)
    z = probit(u_init)
    s.griev[:] = np.clip(world.grievance[None] + np.reshape(params.griev_sd, (-1, 1, 1)) * z[..., :3], 0.0, 1.0)
    s.trust[:] = np.clip(params.trust0 + params.trust_sd * z[..., 3], 0.0, 1.0)
    s.out_share[:] = np.clip(params.out_share + 0.08 * z[..., 4], 0.1, 1.0)
    s.eff[:] = np.broadcast_to(params.eff0, (r, world.n))
    return s
