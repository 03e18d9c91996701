"""Allegiance on the scale of a vote, by oblast and republic: an observation of the run (issue 29).

For an oblast o on day t, the share of its adults who back their republic against the Union:

    V_o(t) = (1 - w_o) * P_o(t) + w_o * M_o(t),   w_o = min(1, vote_spill * m_o)

- `m_o`: miners and their adult families as a share of the oblast's adults (`oblasts.csv`); where it
  is not sourced (no 1989 population found) V_o is not computed (NaN) and the oblast is left out of its
  republic's total, never filled in.
- `P_o(t) = P_o(0) + the shocks dated on or before t` (clipped to [0, 1]): the rest of the population.
  `P_o(0)` from 1989-1990 data only: in the Ukrainian SSR the 1989 census composition weighted by a
  prior stance of each group, plus a prior step where the Democratic Bloc won the oblast council in
  March 1990; elsewhere (and in a Ukrainian oblast without census figures) a republic-level prior.
  The shocks are the dated decisions of `vote_shocks.csv`, sized by the `vote_shock_<kind>` parameters.
- `M_o(t)`: the workforce-weighted mean allegiance of the oblast's town committees, continuous (not a
  share above 0.5: issue 29 item 4). A town whose committee has never formed counts at `P_o(t)`; a
  dissolved committee's workforce keeps its last stance and is pulled back to `P_o(t)` at the daily
  rate `vote_drift` (the kernel resets a dissolved committee's allegiance to 0; this measure does not).

It reads the state after each day's step and never writes it: the kernel's decisions are untouched.
The parts a historian can inspect add up: `vote = baseline + shocks + miners`, with `baseline = P_o(0)`,
`shocks = P_o(t) - P_o(0)` and `miners = w_o * (M_o(t) - P_o(t))` (the miners' pull away from their
neighbours). Republic totals weight the oblasts by their adults of 1989: they cover the mining oblasts
with a sourced population only (the rest of a republic is not gathered).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import scipy.sparse as sp
from numba import njit

from sim.inputs.network import REPUBLICS, World
from sim.inputs.oblasts import SHOCK_KINDS, VoteInputs

PARTS = ("baseline", "shocks", "miners")
"""The parts of the vote-scale measure, which sum to it."""
VOTE_MEASURES = {
    "vote_independence_yes": "share of the adults backing their republic against the Union (the vote-scale allegiance)",
    "vote_union_yes": "share of the adults backing the Union (1 minus the vote-scale allegiance)",
}
"""Measures a targets file may name (scored by `sim.analysis.vote_scale`); the project holds no such file."""
VOTE_COLUMNS = ("miners_weight", "miners_stance", "population", *PARTS, "vote")
"""The columns `VoteTracker.parts` gives, in the order of the results table."""


def town_republics(world: World) -> np.ndarray:
    """Republic index of each town.

    That of its enterprises (towns of the "Other" basin lie in several republics), else of its basin
    (a town whose mines the data assign to a neighbouring town).
    """
    out = np.asarray(world.basin_republic, dtype=int)[world.city_basin].copy()
    out[world.city] = world.republic
    return out


def oblast_groups(world: World) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The (republic, oblast) pairs of the mining towns, sorted, and each town's index into them."""
    reps = town_republics(world)
    pairs = [(REPUBLICS[reps[c]], world.city_oblast[c]) for c in range(world.n_cities)]
    keys = sorted(set(pairs))
    where = {k: i for i, k in enumerate(keys)}
    return keys, np.array([where[p] for p in pairs], dtype=int)


def _col(params, name: str, r: int) -> np.ndarray:
    """A parameter as an (R,) array (a per-replicate parameter is an (R, 1) array, a shared one a scalar)."""
    return np.broadcast_to(np.asarray(getattr(params, name), dtype=float).reshape(-1), (r,)).copy()


def baseline(params, keys: list[tuple[str, str]], inputs: VoteInputs, r: int) -> np.ndarray:
    """P_o(0), (R, O): each oblast's stance before the strikes, from its 1989-1990 figures and the priors."""
    g = {n: _col(params, f"vote_{n}", r) for n in ("titular", "russian", "others", "council", "ukraine", "rsfsr", "other_rep")}
    out = np.zeros((r, len(keys)))
    for j, key in enumerate(keys):
        o = inputs.oblasts.get(key)
        if key[0] == "Ukrainian SSR":
            if o is not None and not (math.isnan(o.titular) or math.isnan(o.russian)):
                v = o.titular * g["titular"] + o.russian * g["russian"] + max(1.0 - o.titular - o.russian, 0.0) * g["others"]
            else:
                v = g["ukraine"]
            if o is not None and not math.isnan(o.council):
                v = v + o.council * g["council"]
        else:
            v = g["rsfsr"] if key[0] == "RSFSR" else g["other_rep"]
        out[:, j] = np.clip(v, 0.0, 1.0)
    return out


class VoteTracker:
    """The miners' households' stance by town, day by day, and the vote-scale measure it gives.

    Args:
        world: the world (its `vote` inputs: `oblasts.csv`, `vote_shocks.csv`).
        start: the first simulated date.
        days: days of the run.
        params: the batch's parameters.
        r: replicates.
    """

    def __init__(self, world: World, start: date, days: int, params, r: int) -> None:
        inputs = world.vote if world.vote is not None else VoteInputs({}, ())
        self.inputs, self.r, self.nc = inputs, r, world.n_cities
        self.keys, self.town_key = oblast_groups(world)
        wf_town = world.by_city(world.workforce[None, :])[0]
        n_o = len(self.keys)
        self._mat = sp.csr_matrix((wf_town, (self.town_key, np.arange(self.nc))), shape=(n_o, self.nc))
        self.workforce = np.asarray(self._mat.sum(axis=1)).ravel()
        obl = [inputs.oblasts.get(k) for k in self.keys]
        self.adults = np.array([o.adults if o is not None else math.nan for o in obl])
        self.m = np.array([o.miners_share if o is not None else math.nan for o in obl])
        self.republic = np.array([REPUBLICS.index(k[0]) for k in self.keys])
        self._counted = np.isfinite(self.adults) & np.isfinite(self.m)  # the oblasts a republic total covers
        self._weights = np.zeros((n_o, len(REPUBLICS)))  # each covered oblast's share of its republic's covered adults
        for p in range(len(REPUBLICS)):
            sel = self._counted & (self.republic == p)
            self._weights[sel, p] = self.adults[sel] / self.adults[sel].sum() if sel.any() else 0.0
        self._has = self._weights.sum(axis=0) > 0
        self.shocks = [((s.day - start).days, REPUBLICS.index(s.republic), s.kind) for s in inputs.shocks]
        self.set_params(params)
        self.hs = self.population(0)[:, self.town_key]  # stance of each town's miners' households
        self.ever = np.zeros((r, self.nc), dtype=bool)  # the town's committee has existed
        self.M = np.zeros((days, r, n_o))
        self._rep_vote = np.full((days, r, len(REPUBLICS)), np.nan)
        self._observed = self._totalled = 0  # days observed; days whose republic totals are computed

    @property
    def rep_vote(self) -> np.ndarray:
        """(days, R, P): the republic totals of the measure by day (NaN: a day not observed, or a republic with no covered oblast)."""
        self._total()
        return self._rep_vote

    def _total(self) -> None:
        """The republic totals of the days observed since the last call, under the current parameters, all days at once."""
        lo, hi = self._totalled, self._observed
        if hi <= lo:
            return
        pop = np.stack([self.population(d) for d in range(lo, hi)])  # (D, R, O); cached between two shocks
        v = pop + self.weight()[None] * (self.M[lo:hi] - pop)
        self._rep_vote[lo:hi] = self.republic_total(v.reshape(-1, v.shape[-1])).reshape(hi - lo, self.r, -1)
        self._totalled = hi

    def set_params(self, params) -> None:
        """Take the (new) parameters of the batch (a fork into another arm)."""
        if hasattr(self, "_rep_vote"):
            self._total()  # the days before the fork are totalled under the parameters they ran with
        self.p0 = baseline(params, self.keys, self.inputs, self.r)
        self.spill, self.drift = _col(params, "vote_spill", self.r), _col(params, "vote_drift", self.r)
        self.sizes = {k: _col(params, f"vote_shock_{k}", self.r) for k in SHOCK_KINDS}
        self._pop: tuple[int, np.ndarray] | None = None  # (shocks counted, P_o): P_o changes only on a shock's day

    def population(self, d: int) -> np.ndarray:
        """P_o on day index d, (R, O): the baseline plus every shock of the oblast's republic dated on or before it."""
        n = sum(day <= d for day, _, _ in self.shocks)  # the shocks are in date order
        held = self._pop  # (read once: threads at different days may replace it meanwhile)
        if held is None or held[0] != n:
            s = np.zeros_like(self.p0)
            for _, rep, kind in self.shocks[:n]:
                s += self.sizes[kind][:, None] * (self.republic == rep)[None, :]
            held = self._pop = (n, np.clip(self.p0 + s, 0.0, 1.0))
        return held[1]

    def observe(self, d: int, active: np.ndarray, alleg: np.ndarray, rows: slice = slice(None)) -> None:
        """Record day d of the replicates `rows` from their committees' state after its step (their `c_active`, `c_alleg`).

        Town committees come first in those arrays.

        Compiled (`_observe`): the same operations as the array form, each oblast summed from 0 in ascending
        town order (as the sparse product), so the values are the same bit for bit; the republic totals
        are taken later, over many days at once (`rep_vote`).
        """
        pop = self.population(d)[rows]
        m = self._mat
        _observe(
            active, alleg, pop, self.town_key, self.drift[rows], m.indptr, m.indices, m.data, self.workforce,
            self.hs[rows], self.ever[rows], self.M[d][rows],
        )  # fmt: skip
        self._observed = max(self._observed, d + 1)

    def weight(self) -> np.ndarray:
        """w_o = min(1, vote_spill * m_o), (R, O): the miners' households' weight in the oblast's vote (NaN where m_o is not sourced)."""
        return np.minimum(self.spill[:, None] * self.m[None, :], 1.0)

    def parts(self, d: int) -> dict[str, np.ndarray]:
        """The measure and its parts on day index d (already observed), each (R, O)."""
        pop = self.population(d)
        w = self.weight()
        miners = w * (self.M[d] - pop)  # the same sums as `observe` records in rep_vote
        return {
            "miners_weight": w,
            "miners_stance": self.M[d].copy(),
            "population": pop.copy(),
            "baseline": self.p0.copy(),
            "shocks": pop - self.p0,
            "miners": miners,
            "vote": pop + miners,
        }

    def republic_total(self, values: np.ndarray) -> np.ndarray:
        """(R, O) -> (R, P): the adult-weighted mean over each republic's oblasts with sourced adults and miners' share (NaN: none)."""
        out = np.einsum("ro,op->rp", np.where(self._counted, values, 0.0), self._weights)  # no BLAS: each row summed alone, in order
        out[:, ~self._has] = np.nan
        return out


@njit(cache=True, error_model="numpy", nogil=True)
def _observe(active, alleg, pop, town_key, drift, ptr, idx, val, workforce, hs, ever, out):  # pragma: no cover (compiled)
    """One day of `VoteTracker.observe` for every replicate: the households' stance `hs`, `ever`, and M_o into `out` (R, O)."""
    nrep, nc = hs.shape
    no = out.shape[1]
    for r in range(nrep):
        for c in range(nc):
            pt = pop[r, town_key[c]]
            if active[r, c]:
                ever[r, c] = True
                hs[r, c] = alleg[r, c]
            elif ever[r, c]:
                h = hs[r, c]
                hs[r, c] = h + drift[r] * (pt - h)
            else:
                hs[r, c] = pt
        for o in range(no):
            if workforce[o] > 0:
                t = 0.0
                for j in range(ptr[o], ptr[o + 1]):
                    t += val[j] * hs[r, idx[j]]
                out[r, o] = t / max(workforce[o], 1e-300)
            else:
                out[r, o] = pop[r, o]
