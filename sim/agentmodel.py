"""`StrikeModel`, the Mesa model of agents with behaviour: the daily rules one agent at a time, and why each decision was taken.

Each enterprise (`Enterprise`) and committee (`StrikeCommittee`) decides with Python floats, reading its
neighbours' states, with no arrays: the readable specification of the model. It proves the batched
engine right (same seeds, same draws: `tests/unit/test_reference.py` checks identical
trajectories), is the yardstick of the speed goal (`benchmarks/bench.py`), and explains decisions:
every enterprise keeps in `why` the terms of its decision of the day (readiness and its grievance,
efficacy, trust, repression and cost terms; the onset hazard's spark, contagion by tie level, news,
committee push and call; or the return hazard's order, peers, fatigue, cost and the end of a
call), and every committee the terms of its escalation (`python run.py explain`, `sim/explain.py`).
It takes the same `World`, `Scenario` and seed.

Draws: every stream gives a vector for all enterprises (or committees) each day, exactly as in the
engine, and agent i uses element i, so both implementations consume the same random numbers.
Each enterprise sits on its cell of a `mesa.discrete_space.Network` of its ties and reads its
neighbours from the cell's neighbourhood; it sums over them in the engine's fixed order with the
same weights, so floating point agrees. Dated interventions are Mesa events, run before the step of
their day; a DataCollector observes once a day, day 0 included.
"""

from __future__ import annotations

import dataclasses
import math

import mesa
import networkx as nx
from mesa.discrete_space import CellAgent, Network
from mesa.time import Priority

from sim.interventions import Concession, RepublicConcession, compile_timeline
from sim.network import World
from sim.posterior import draws_for
from sim.rng import Streams
from sim.scenario import Scenario

NO_DEAL = -(10**6)
CALL_BACK_DAYS = 7.0


def _probit(u: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(min(max(u, 1e-12), 1 - 1e-12)))


def _clip(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return min(max(x, lo), hi)


LEVELS = ("city", "basin", "delegate")
"""The three tie levels: the same town, the same basin, the delegates' channel between basins."""


def tie_network(world: World) -> nx.DiGraph:
    """The enterprises' ties as a directed graph: node i is enterprise i.

    Edge i -> j holds, per level, the weight of j in i's contagion and j's place in i's summation
    order (the world's, so that sums agree with the engine's bit for bit).
    """
    g = nx.DiGraph()
    g.add_nodes_from(range(world.n))
    for level, a in zip(LEVELS, (world.a_city, world.a_basin, world.a_deleg), strict=True):
        for i in range(world.n):
            for place, k in enumerate(range(a.indptr[i], a.indptr[i + 1])):
                j = int(a.indices[k])
                if not g.has_edge(i, j):
                    g.add_edge(i, j, ties={})
                g.edges[i, j]["ties"][level] = (float(a.data[k]), place)
    return g


class Enterprise(CellAgent):
    """One enterprise on its cell of the tie network, with its own state, deciding from its neighbours' states."""

    def __init__(self, model: StrikeModel, i: int, u: list[float], cell) -> None:
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
        pending = max(m.promised[b] - m.implemented[b], 0.0)
        g_eff = g - m.implemented[b] - p.expect * self.trust * pending
        fear = m.strength * p.fear0 + m.repression[b]
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
        ordered = m.ordered[self.basin]
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
                pull = p.k_call * math.exp(-m.call_age[self.basin] / p.call_span)
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
                call_over = p.r_call_end * float(m.call_ended[self.basin] > 0)
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
        failed = self.returned and not m.ordered[self.basin]
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

    def __init__(self, model: StrikeModel, k: int, members: list[Enterprise], basin: int) -> None:
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
            if new and m.call_left[self.basin] > 0:
                self.age = max(self.age, p.push_days)
            if mech.persistence and self.won:
                self.auth = self.auth + p.auth_gain * (1 - self.auth)
        if not (mech.escalation and self.active):
            return
        self.alleg = self.alleg + p.court * self.mean("failed") * (1 - self.alleg)  # the republics court the refused
        trust, eff = self.mean("trust"), self.mean("eff")
        b = self.basin
        broken = max(m.promised[b] - m.implemented[b], 0.0) if d > m.deadline[b] else 0.0
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


class StrikeModel(mesa.Model):
    """The 1989-1991 miners' strikes as a Mesa model of agents with behaviour (one replicate).

    Args:
        world: the enterprises and their ties (`sim.runner.world_for`).
        scenario: a resolved scenario (its parameters, mechanisms and dated events).
        seed: the replicate seed (as spawned by `sim.rng.replicate_seeds`: the engine's replicate with that seed is the same run).
        explain: keep the terms of every decision in the agents' `why` (slower; `sim.explain`).
    """

    def __init__(self, world: World, scenario: Scenario, seed: int, explain: bool = False) -> None:
        super().__init__(rng=seed)
        draw, _ = draws_for(scenario, [seed])  # a posterior scenario: this seed's draw, as the engine's replicate takes it
        if draw:
            scenario = dataclasses.replace(scenario, params=draw[0], posterior=None)
        self.explain = explain  # keep the terms of every decision in the agents' `why` (slower)
        self.world, self.sc = world, scenario
        self.p, self.mech = scenario.params, scenario.mechanisms
        self.tl = compile_timeline(list(scenario.events), scenario.start, scenario.days, world)
        self.streams = Streams(seed)
        u = self.streams.gen["init"].random((world.n, 5))
        # the enterprises on the cells of the tie network (node i: enterprise i, placed at its coordinates)
        self.space = Network(tie_network(world), layout={i: (world.lon[i], world.lat[i]) for i in range(world.n)}, random=self.random)
        # the agents, created the Mesa way (one keyword value per agent); the AgentSets fix the order of a day
        cells = [self.space[i] for i in range(world.n)]
        self.mine_set = Enterprise.create_agents(
            self, world.n, i=list(range(world.n)), u=[[float(x) for x in row] for row in u], cell=cells
        )
        self.mines: list[Enterprise] = list(self.mine_set)
        self.mine_set.do("read_ties")
        nc, nb = world.n_cities, world.n_basins
        members = [[mi for mi in self.mines if mi.city == c] for c in range(nc)] + [
            [mi for mi in self.mines if mi.basin == b] for b in range(nb)
        ]
        basins = [int(world.city_basin[c]) for c in range(nc)] + list(range(nb))
        self.committee_set = StrikeCommittee.create_agents(self, nc + nb, k=list(range(nc + nb)), members=members, basin=basins)
        self.committees: list[StrikeCommittee] = list(self.committee_set)
        self.promised = [0.0] * nb
        self.implemented = [0.0] * nb
        self.cap = [0.0] * nb
        self.rate = [0.0] * nb
        self.deadline = [math.inf] * nb
        self.deal_day = [NO_DEAL] * nb
        self.concessions = [0] * nb
        self.run_days = [0] * nb
        self.strength = 1.0
        self.call_left = [0.0] * nb
        self.call_pol = [False] * nb
        self.call_ended = [0.0] * nb
        self.call_age = [0.0] * nb
        self.day = 0
        for d in sorted(self.tl.events):
            # the events of day d act at the start of that day: Mesa runs them before the step at time d + 1
            self.schedule_event(self.apply_events, at=d + 0.5, priority=Priority.HIGH)
        # observed once a day, day 0 (the state before the first day) included
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "strikers": lambda m: sum(float(mi.striking) * mi.out_share * mi.workforce for mi in m.mines),
                "mines_on_strike": lambda m: sum(1 for mi in m.mines if mi.striking),
                "committees": lambda m: sum(1 for c in m.committees if c.active),
                "committees_political": lambda m: sum(1 for c in m.committees if c.active and c.stage >= 1),
            }
        )
        self.datacollector.collect(self)

    # ---- centre -------------------------------------------------------------------------
    def truce(self, b: int) -> bool:
        """True while a deal's truce holds in basin `b`."""
        return self.deal_day[b] <= self.day < self.deal_day[b] + self.p.deal_truce

    def concede(self, ev: Concession | RepublicConcession, basins: set[int]) -> None:
        """Apply a concession of the centre or of a republic to the basins."""
        p, w = self.p, self.world
        by_republic = ev.BY_REPUBLIC
        political = ev.political_share()
        if not self.mech.settlement or not basins:
            return
        share = p.impl_share if ev.impl_share is None else ev.impl_share
        days = p.impl_days if ev.impl_days is None else ev.impl_days
        dl = p.deadline_days if ev.deadline_days is None else ev.deadline_days
        for b in basins:
            self.promised[b] += ev.relief
            self.cap[b] += share * ev.relief
            self.rate[b] = 1.0 / days
            self.deadline[b] = self.day + dl
            self.deal_day[b] = self.day
            self.concessions[b] += 1
        reps = {int(w.basin_republic[b]) for b in basins}
        for mine in self.mines:
            if self.mech.efficacy:
                k = 1.0 if mine.basin in basins else (p.eta_rep if mine.republic in reps else p.eta_far)
                mine.eff = mine.eff + p.eta_win * k * (1 - mine.eff)
            if self.mech.trust and not by_republic and mine.basin in basins:
                mine.trust = _clip(mine.trust + p.tau_concede)
        if self.mech.trust and not by_republic:
            self.strength = _clip(self.strength - p.strength_concede)
        for c in self.committees:
            if c.active and c.basin in basins:
                c.won = True
                c.auth = _clip(c.auth + 0.5 * political)
                c.alleg = c.alleg + p.bind * (1 - c.alleg) if by_republic else c.alleg * (1 - p.bind)
        for b in basins:
            self.call_left[b] = 0.0

    def apply_events(self) -> None:
        """Apply today's dated events."""
        w = self.world
        for ev in self.tl.events.get(self.day, []):
            mask = ev.basin_mask(w.basin_names, w.basin_republic)
            targets = {b for b in range(w.n_basins) if mask[b]}
            ev.apply_agents(self, targets)  # what each lever does lives in its class (sim/interventions.py)

    # ---- one day --------------------------------------------------------------------------
    def step(self) -> None:
        """Every agent in turn (the day's events have run: they are scheduled Mesa events)."""
        p, mech, w, d = self.p, self.mech, self.world, self.day
        self.repression = [float(x) for x in self.tl.repression[d]]
        self.cut = [float(x) for x in self.tl.cut[d]]
        movement = [float(x) for x in self.tl.movement[d]]
        self.ordered = [self.truce(b) and d >= self.deal_day[b] + p.order_lag for b in range(w.n_basins)]
        strikers = 0.0
        for mi in self.mines:
            strikers += float(mi.striking) * mi.out_share * mi.workforce
        self.news = p.glasnost * float(self.tl.news[d]) * min(1.0, strikers / p.news_scale)
        self.callout = [c.active and c.striking() > 0 and not self.truce(c.basin) and c.age < p.push_days for c in self.committees]
        self.calling = [c.active and self.call_left[c.basin] > 0 and (not self.call_pol[c.basin] or c.stage >= 1) for c in self.committees]
        n, k = w.n, len(self.committees)
        u_on, u_ret = self.streams.daily("onset", d, n), self.streams.daily("ret", d, n)
        u_comm, u_stage, u_ally = (self.streams.daily(s, d, k) for s in ("committee", "stage", "ally"))
        self.u_on, self.u_ret = u_on, u_ret
        self.mine_set.do("decide")  # every enterprise decides from today's states ...
        self.mine_set.do("commit")  # ... before any takes its decision
        if mech.committees:  # mechanisms 3, 8, 9: committees form, dissolve, gain authority, escalate and ally
            self.u_comm, self.u_stage, self.u_ally, self.movement = u_comm, u_stage, u_ally, movement
            self.committee_set.do("look")  # whether each would form, before any changes ...
            self.committee_set.do("step")  # ... then each committee's day, one at a time
            self.mine_set.do("adopt_stage")
        for b in range(w.n_basins):
            members = self.committees[w.n_cities + b].members
            share = sum(1 for mi in members if mi.striking) / len(members)
            if math.isinf(self.call_left[b]) and self.call_age[b] >= 7 and share < p.call_floor:
                self.call_left[b] = 0.0
            self.call_ended[b] = CALL_BACK_DAYS if 0 < self.call_left[b] <= 1 else max(self.call_ended[b] - 1, 0.0)
            self.call_age[b] = self.call_age[b] + 1 if self.call_left[b] > 0 else 0.0
            self.call_left[b] = max(self.call_left[b] - 1, 0.0)
        for mi in self.mines:
            mi.griev[0] = min(mi.griev[0] + p.wage_drift / 365.0, 1.0)
        if mech.settlement:
            for b in range(w.n_basins):
                gain = max(self.cap[b] - self.implemented[b], 0.0) * self.rate[b]
                self.implemented[b] += gain
                if mech.trust:
                    broken = max(self.promised[b] - self.implemented[b], 0.0) if d > self.deadline[b] else 0.0
                    dt = p.tau_kept * gain - p.tau_broken * broken
                    for mi in self.mines:
                        if mi.basin == b:
                            mi.trust = _clip(mi.trust + dt)
        if mech.trust:
            for mi in self.mines:
                mi.trust = _clip(mi.trust - p.tau_rep * self.repression[mi.basin])
            self.strength = _clip(self.strength + p.strength_rep * max(self.repression))
        if mech.settlement and p.centre_reactive >= 0.5:
            due = []
            for b in range(w.n_basins):
                members = self.committees[w.n_cities + b].members
                share = sum(1 for mi in members if mi.striking) / len(members)
                self.run_days[b] = self.run_days[b] + 1 if share >= p.react_share else 0
                if self.run_days[b] >= p.react_days and not self.truce(b):
                    due.append(b)
            if due:
                self.concede(Concession(kind="concession", relief=p.react_relief), set(due))
            for b in due:
                self.run_days[b] = 0
        self.day += 1
        self.datacollector.collect(self)

    def run(self, until: int | None = None) -> StrikeModel:
        """Run to the horizon (or up to, not including, day index `until`)."""
        stop = self.sc.days if until is None else min(until, self.sc.days)
        while self.day < stop:
            self.step()
        return self
