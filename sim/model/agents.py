"""The agents of the Mesa model (`sim.model.model.StrikeModel`): they hold the day's rules, one decision at a time.

`Enterprise` (a `CellAgent` on its cell of the tie network), `StrikeCommittee` (one per town, one
per basin), `Basin` (the centre's promises to the basin, the strike calls in force there) and
`Centre` (its perceived strength, its concessions, its answer to long strikes). Each holds its own
state, named as the variables of `sim.model.state.VARIABLES`, and decides with Python floats from its
neighbours' states; the order of a day is `StrikeModel.step`'s.
"""

from __future__ import annotations

import math

import mesa
from mesa.discrete_space import CellAgent

from sim.model.interventions import Concession, RepublicConcession
from sim.model.state import CALL_BACK_DAYS, NO_DEAL, VARIABLES


def _probit(u: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(min(max(u, 1e-12), 1 - 1e-12)))


def _clip(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return min(max(x, lo), hi)


LEVELS = ("city", "basin", "delegate")
"""The three tie levels: the same town, the same basin, the delegates' channel between basins."""


class Enterprise(CellAgent):
    """One enterprise on its cell of the tie network, with its own state, deciding from its neighbours' states."""

    def __init__(self, model: mesa.Model, i: int, u: list[float], cell) -> None:
        super().__init__(model)
        w, p = model.world, model.p
        self.cell = cell
        self.i = i
        self.basin = int(w.basin[i])
        self.city = int(w.city[i])
        self.republic = int(w.republic[i])
        self.workforce = float(w.workforce[i])
        self.paternalism = float(w.paternalism[i])
        self.griev = [_clip(float(w.grievance[i, k]) + p.griev_sd * _probit(u[k])) for k in range(3)]
        self.trust = _clip(p.trust0 + p.trust_sd * _probit(u[3]))
        self.out_share = _clip(p.out_share + 0.08 * _probit(u[4]), 0.1, 1.0)
        self.eff = p.eff0
        self.failed = False
        self.striking = False
        self.ever = False
        self.days_on = 0.0
        self.days_off = 1e6
        self.cost = 0.0
        self.stage = 0
        self.nbrs: dict[str, list[tuple[Enterprise, float]]] = {}  # read from the cell's neighbourhood (`read_ties`)
        self.next_striking = False
        self.why: dict = {}  # the terms of the last decision (see the module docstring)

    def readiness_terms(self) -> tuple[float, dict[str, float] | None]:
        """Readiness to strike, and the terms of its log-odds when the model keeps them (`explain`; else None).

        Each term is signed (a - b is a + (-b) exactly), so the terms add up to the log-odds bit for bit.
        """
        m, p = self.model, self.model.p
        b = self.basin
        wsum = p.w_wage + p.w_ecology + p.w_privilege
        ws = (p.w_wage / wsum, p.w_ecology / wsum, p.w_privilege / wsum)
        g = self.griev[0] * ws[0] + self.griev[1] * ws[1] + self.griev[2] * ws[2]
        basin = m.basins[b]
        pending = max(basin.promised - basin.implemented, 0.0)
        g_eff = g - basin.implemented - p.expect * self.trust * pending
        fear = m.centre.strength * p.fear0 + m.repression[b]
        zg = p.b_griev * (g_eff - p.g_ref)
        zp = -(p.b_pat * self.paternalism)
        zr = -(p.b_rep * fear)
        ze = p.b_eff * (self.eff - p.eff0)
        zt = -(p.b_trust * (self.trust - p.trust0))
        zc = -(p.b_cost * self.cost) if m.mech.fatigue else 0.0
        z = zg + zp + zr + ze + zt
        if m.mech.fatigue:
            z = z + zc
        ready = 1.0 / (1.0 + math.exp(-z))
        if not m.explain:
            return ready, None
        return ready, {
            "grievance": g,
            "grievance_wage": self.griev[0],
            "grievance_ecology": self.griev[1],
            "grievance_privilege": self.griev[2],
            "grievance_net_of_relief": g_eff,
            "z_grievance": zg,
            "z_paternalism": zp,
            "z_repression": zr,
            "z_efficacy": ze,
            "z_trust": zt,
            "z_cost": zc,
            "z": z,
            "readiness": ready,
        }

    def read_ties(self) -> None:
        """Read the neighbours from the cell's neighbourhood on the network, by level, in the enterprise's summation order.

        Ties do not change during a run, so they are read once, when every enterprise is on its cell.
        """
        edges, found = self.model.space.G.edges, {level: [] for level in LEVELS}
        for cell in self.cell.neighborhood:
            for level, (weight, place) in edges[self.i, cell.coordinate]["ties"].items():
                found[level].append((place, cell.agents[0], weight))
        self.nbrs = {level: [(agent, weight) for _, agent, weight in sorted(ties, key=lambda t: t[0])] for level, ties in found.items()}

    def _share(self, level: str) -> float:
        """Weighted share of the neighbours at one tie level that are on strike."""
        total = 0.0
        for neighbour, w in self.nbrs[level]:
            total += w * float(neighbour.striking)
        return total

    def decide(self) -> None:
        """Choose tomorrow's state from today's (all agents decide before any commits), with today's draws of its streams."""
        m, p, mech = self.model, self.model.p, self.model.mech
        u_on, u_ret = float(m.u_on[self.i]), float(m.u_ret[self.i])
        ordered = m.ordered[self.basin] or m.town_ordered[self.city]  # the basin's deal or its town's own
        if not self.striking:
            ready, why = self.readiness_terms()
            c_city = p.w_city * (1 - m.cut[0]) * self._share("city")
            c_basin = p.w_basin * (1 - m.cut[1]) * self._share("basin")
            c_deleg = p.w_delegate * (1 - m.cut[2]) * self._share("delegate")
            expo = c_city + c_basin + c_deleg
            push = p.k_city * m.callout[self.city] + p.k_basin * m.callout[m.world.n_cities + self.basin]
            lam = 0.0
            if mech.onset:
                lam = lam + p.spark
            if mech.contagion:
                lam = lam + expo
            if mech.news:
                lam = lam + p.w_news * m.news
            if mech.committees:
                lam = lam + push
            damp, refractory, call = 1.0, False, 0.0
            if mech.committees:
                tc, bc = m.committees[self.city], m.committees[m.world.n_cities + self.basin]
                est = (tc.active and tc.age >= p.push_days) or (bc.active and bc.age >= p.push_days)
                damp = 1 - p.channel if est else 1.0
                lam = lam * damp
            if mech.fatigue and self.days_off < p.refractory:
                refractory = True
                lam = 0.0  # in its refractory period an enterprise strikes only at its committee's call
            if mech.committees:
                called = m.calling[self.city] or m.calling[m.world.n_cities + self.basin]
                pull = p.k_call * math.exp(-m.basins[self.basin].call_age / p.call_span)
                call = pull * float(called) * (1 - self.cost)
                lam = lam + call
            p_on = 1.0 - math.exp(-ready * lam)
            held = mech.settlement and ordered and self.trust >= p.trust_hold
            if held:
                p_on = 0.0
            self.next_striking = u_on < p_on
            self.returned = False
            if why is not None:  # the terms of the decision (`explain`)
                why.update(
                    spark=p.spark if mech.onset else 0.0,
                    contagion_town=c_city if mech.contagion else 0.0,
                    contagion_basin=c_basin if mech.contagion else 0.0,
                    contagion_delegates=c_deleg if mech.contagion else 0.0,
                    news=p.w_news * m.news if mech.news else 0.0,
                    committee_push=push if mech.committees else 0.0,
                    channelled=damp,
                    refractory=refractory,
                    committee_call=call,
                    decision="onset",
                    hazard=lam,
                    held_by_return_order=held,
                    probability=p_on,
                    draw=u_on,
                    acted=self.next_striking,
                )
                self.why = why
        else:
            order = peers = fatigue = cost = call_over = 0.0
            lam = 0.0
            if mech.settlement:
                working = 1.0 - self._share("city") if self.nbrs["city"] else 1.0
                obey = 1.0 if self.trust >= p.trust_hold else 0.0
                order = float(ordered) * (p.r_obey * obey)
                peers = float(ordered) * (p.r_peer * working**2)
                lam = lam + float(ordered) * (p.r_obey * obey + p.r_peer * working**2)
            if mech.fatigue:
                c = m.committees[self.city]
                auth = c.auth * float(c.active)
                over = max(self.days_on - p.fat_grace, 0.0)
                fatigue = p.fat_rate * over * (1 - p.fund_auth * auth)
                cost = p.r_cost * self.cost**2
                lam = lam + fatigue + cost
            if mech.committees:
                call_over = p.r_call_end * float(m.basins[self.basin].call_ended > 0)
                lam = lam + call_over
            p_ret = 1.0 - math.exp(-lam)
            stop = u_ret < p_ret
            self.next_striking = not stop
            self.returned = stop
            if m.explain:  # the terms of the decision (`explain`)
                self.why = {
                    "return_order": order,
                    "peers_back": peers,
                    "fatigue": fatigue,
                    "cost_of_striking": cost,
                    "call_over": call_over,
                    "decision": "return",
                    "hazard": lam,
                    "probability": p_ret,
                    "draw": u_ret,
                    "acted": stop,
                }

    def commit(self) -> None:
        """Take the decided state; a strike that ends without a deal lowers efficacy."""
        m, p = self.model, self.model.p
        failed = self.returned and not (m.ordered[self.basin] or m.town_ordered[self.city])
        self.ever = self.ever or (self.next_striking and not self.striking)
        self.striking = self.next_striking
        self.days_on = self.days_on + 1 if self.striking else 0.0
        self.days_off = 0.0 if failed else self.days_off + 1
        self.failed = failed
        if m.mech.fatigue:
            self.cost = self.cost + p.cost_rate * (1 - self.cost) if self.striking else self.cost * (1 - p.cost_recover)
        if m.mech.efficacy:
            if failed:
                self.eff = max(self.eff - p.eta_fail, 0.0)
            self.eff = self.eff + p.eff_decay * (p.eff0 - self.eff)
        if m.mech.trust and failed:  # radicalisation by refusal
            self.trust = _clip(self.trust - p.tau_refuse)

    def adopt_stage(self) -> None:
        """Take up the demands of its town's or basin's active committee where they go further (a workforce's stage only rises)."""
        cs = self.model.committees
        town, basin = cs[self.city], cs[self.model.world.n_cities + self.basin]
        ks = max(town.stage if town.active else -1, basin.stage if basin.active else -1)
        if ks >= 0:
            self.stage = max(self.stage, ks)


class StrikeCommittee(mesa.Agent):
    """A town or basin strike committee."""

    def __init__(self, model: mesa.Model, k: int, members: list[Enterprise], basin: int) -> None:
        super().__init__(model)
        self.k = k
        self.members = members
        self.basin = basin
        self.active = False
        self.auth = 0.0
        self.stage = 0
        self.won = False
        self.allied = False
        self.age = 0
        self.alleg = 0.0
        self.deal_day = NO_DEAL  # a deal with its town alone (town committees; kept if it dissolves)
        self.why: dict = {}  # the terms of its last escalation step (see the module docstring)
        self.forming = False  # whether it would form today (`look`)

    def look(self) -> None:
        """Whether the committee would form today, read before any committee changes.

        A town's forms when enough of its enterprises strike; a basin's when enough of its towns have
        a committee or are forming one (towns come first in the day's order, so theirs are known).
        """
        m, p = self.model, self.model.p
        nc = m.world.n_cities
        if self.k < nc:
            count = self.striking()
            share = count / len(self.members) if self.members else 0.0
            self.forming = share >= p.form_share or count >= p.form_count
        else:
            towns = [c for c in m.committees[:nc] if c.basin == self.basin]
            self.forming = sum(1 for c in towns if c.active or c.forming) / len(towns) >= p.form_towns

    def step(self) -> None:
        """One committee's day: form or dissolve and gain authority (mechanisms 3, 8), then escalate and ally (mechanism 9)."""
        m = self.model
        p, mech, w, d, k = m.p, m.mech, m.world, m.day, self.k
        idle = self.active and self.striking() == 0
        if mech.persistence:
            haz = p.dissolve * (1 - self.auth) * (1 - p.persist_won * float(self.won))
            gone = idle and m.u_comm[k] < 1 - math.exp(-haz)
        else:
            gone = idle
        new = self.forming and not self.active
        self.active = (self.active and not gone) or new
        if not self.active:
            self.won = self.allied = False
            self.stage = 0
            self.auth = 0.0
            self.alleg = 0.0
            self.age = 0
        else:
            self.age += 1
            if new and m.basins[self.basin].call_left > 0:
                self.age = max(self.age, p.push_days)
            if mech.persistence and self.won:
                self.auth = self.auth + p.auth_gain * (1 - self.auth)
        if not (mech.escalation and self.active):
            return
        self.alleg = self.alleg + p.court * self.mean("failed") * (1 - self.alleg)  # the republics court the refused
        trust, eff = self.mean("trust"), self.mean("eff")
        b = self.basin
        broken = m.basins[b].unkept(d)
        move = m.movement[int(w.basin_republic[b])]
        eth = float(w.basin_ethnic[b])
        lam_up = p.esc0 * math.exp(
            p.g_distrust * (1 - trust)
            + p.g_eff * eff
            + p.g_broken * broken
            + p.g_auth * self.auth
            + p.g_move * float(self.allied) * move
            + p.g_ethnic * eth * float(self.stage == 1)
        )
        lam_dn = p.de_esc * trust
        u = float(m.u_stage[k])
        up = self.stage < 2 and u < 1 - math.exp(-lam_up)
        dn = self.stage > 0 and not up and u > math.exp(-lam_dn)
        self.why = (
            {}
            if not m.explain
            else {
                "stage_before": self.stage,
                "log_rate_distrust": p.g_distrust * (1 - trust),
                "log_rate_efficacy": p.g_eff * eff,
                "log_rate_broken_promises": p.g_broken * broken,
                "log_rate_authority": p.g_auth * self.auth,
                "log_rate_movement": p.g_move * float(self.allied) * move,
                "log_rate_ethnic_gap": p.g_ethnic * eth * float(self.stage == 1),
                "rate_up": lam_up,
                "rate_down": lam_dn,
                "moved": "up" if up else ("down" if dn else "stayed"),
            }
        )
        self.stage += int(up) - int(dn)
        if not self.allied and self.stage >= 1 and float(m.u_ally[k]) < 1 - math.exp(-p.ally_rate * move):
            self.allied = True
        if self.allied:
            self.alleg = self.alleg + p.a_move * move * (1 - self.alleg)

    def truce(self, day: int) -> bool:
        """True while a deal with its town alone holds there."""
        return self.deal_day <= day < self.deal_day + self.model.p.deal_truce

    def striking(self) -> int:
        """Enterprises of its area on strike."""
        return sum(1 for mine in self.members if mine.striking)

    def mean(self, attr: str) -> float:
        """Workforce-weighted mean of an enterprise attribute over its area."""
        num = 0.0
        den = 0.0
        for mine in self.members:
            num += getattr(mine, attr) * mine.workforce
            den += mine.workforce
        return num / max(den, 1e-12)


class Basin(mesa.Agent):
    """A coal basin: the centre's promises to it and the strike calls in force there."""

    def __init__(self, model: mesa.Model, b: int) -> None:
        super().__init__(model)
        self.b = b
        self.members: list[Enterprise] = []  # its enterprises (set when they are placed)
        for v in VARIABLES:
            if v.owner == "basin":
                setattr(self, v.name, v.dtype(v.init).item())

    def truce(self, day: int) -> bool:
        """True while a deal's truce holds here."""
        return self.deal_day <= day < self.deal_day + self.model.p.deal_truce

    def unkept(self, day: int) -> float:
        """Relief promised but not carried out, counted once its deadline has passed."""
        return max(self.promised - self.implemented, 0.0) if day > self.deadline else 0.0

    def share_striking(self) -> float:
        """Share of its enterprises on strike."""
        return sum(1 for mi in self.members if mi.striking) / len(self.members)

    def promise(self, relief: float, share: float, days: float, deadline: float, day: int, truce: bool = True) -> None:
        """A deal: relief promised, the part that will be carried out and how fast, its deadline, and (unless it is one town's) the truce."""
        self.promised += relief
        self.impl_cap += share * relief
        self.impl_rate = 1.0 / days
        self.deadline = day + deadline
        if truce:
            self.deal_day = day
        self.concessions += 1
        if truce:
            self.call_left = 0.0  # a deal ends the calls in force here: its return order takes over

    def run_calls(self) -> None:
        """Calls run out: a call of fixed length that ends today sends its strikers back; an open-ended one lapses once its strike collapsed."""
        if math.isinf(self.call_left) and self.call_age >= 7 and self.share_striking() < self.model.p.call_floor:
            self.call_left = 0.0
        self.call_ended = CALL_BACK_DAYS if 0 < self.call_left <= 1 else max(self.call_ended - 1, 0.0)
        self.call_age = self.call_age + 1 if self.call_left > 0 else 0.0
        self.call_left = max(self.call_left - 1, 0.0)

    def implement(self, day: int) -> None:
        """Promises are carried out at their pace; kept promises raise its miners' trust, unkept ones past their deadline lower it."""
        m, p = self.model, self.model.p
        gain = max(self.impl_cap - self.implemented, 0.0) * self.impl_rate
        self.implemented += gain
        if m.mech.trust:
            dt = p.tau_kept * gain - p.tau_broken * self.unkept(day)
            for mi in self.members:
                mi.trust = _clip(mi.trust + dt)


class Centre(mesa.Agent):
    """The Union government: its perceived strength, its concessions, and (if the mechanism is on) its answer to long strikes."""

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        for v in VARIABLES:
            if v.owner == "centre":
                setattr(self, v.name, v.dtype(v.init).item())

    def concede(self, ev: Concession | RepublicConcession, basins: set[int], town: int = -1) -> None:
        """A concession of the centre (or of a republic: `ev.BY_REPUBLIC`) to the basins, or to one town (`town` >= 0) of its basin."""
        m = self.model
        p, w, mech = m.p, m.world, m.mech
        by_republic = ev.BY_REPUBLIC
        political = ev.political_share()
        if not mech.settlement or not basins:
            return
        share = p.impl_share if ev.impl_share is None else ev.impl_share
        days = p.impl_days if ev.impl_days is None else ev.impl_days
        dl = p.deadline_days if ev.deadline_days is None else ev.deadline_days
        for b in sorted(basins):
            m.basins[b].promise(ev.relief, share, days, dl, m.day, truce=town < 0)
        if town >= 0:
            m.committees[town].deal_day = m.day
        reps = {int(w.basin_republic[b]) for b in basins}
        for mine in m.mines:
            won = mine.basin in basins if town < 0 else mine.city == town
            if mech.efficacy:
                k = 1.0 if won else (p.eta_rep if mine.republic in reps else p.eta_far)
                mine.eff = mine.eff + p.eta_win * k * (1 - mine.eff)
            if mech.trust and not by_republic and won:
                mine.trust = _clip(mine.trust + p.tau_concede)
        if mech.trust and not by_republic:
            self.strength = _clip(self.strength - p.strength_concede)
        for c in m.committees:
            if c.active and (c.basin in basins if town < 0 else c.k == town):
                c.won = True
                c.auth = _clip(c.auth + 0.5 * political)
                # the concession binds the allegiance of the committees it answered to its maker
                c.alleg = c.alleg + p.bind * (1 - c.alleg) if by_republic else c.alleg * (1 - p.bind)

    def repress(self) -> None:
        """Repression lowers trust in the centre where it falls and raises the centre's perceived strength."""
        m, p = self.model, self.model.p
        for mi in m.mines:
            mi.trust = _clip(mi.trust - p.tau_rep * m.repression[mi.basin])
        self.strength = _clip(self.strength + p.strength_rep * max(m.repression))

    def react(self) -> None:
        """The reactive centre: concede to every basin where a large strike has lasted `react_days` outside a truce."""
        m, p = self.model, self.model.p
        due = set()
        for basin in m.basins:
            basin.run_days = basin.run_days + 1 if basin.share_striking() >= p.react_share else 0.0
            if basin.run_days >= p.react_days and not basin.truce(m.day):
                due.add(basin.b)
        if due:  # one decision a day: every long strike of the day together
            self.concede(Concession(kind="concession", relief=p.react_relief), due)
        for b in due:
            m.basins[b].run_days = 0.0
