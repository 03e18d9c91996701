"""Dated levers and shocks, and their compilation into a day-indexed timeline.

One registry `KINDS` maps a scenario's `kind = "..."` to its class, and what a lever does lives in
its class: `shape` writes an interval event into the timeline, `apply` acts on the batched engine's
state and `apply_agents` on the per-agent model, `check_world` checks the names it uses. A new lever
is one class here and one line in `KINDS`. One-day events (`date`) act at the start of that day;
intervals (`start`, `end`) are half-open `[start, end)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

import numpy as np

from sim.inputs.errors import InputError
from sim.inputs.network import REPUBLICS, World
from sim.inputs.params import Mechanisms, Params
from sim.model import kernel
from sim.model.state import State


@dataclass(frozen=True)
class Event:
    """Base of every lever: its kind's keys, dates and where it applies."""

    KEYS: ClassVar[dict[str, type]] = {}
    DOCS: ClassVar[dict[str, str]] = {}  # key -> meaning with its unit (the lever reference, docs/levers.md)
    EXAMPLE: ClassVar[dict[str, Any]] = {}  # example values where the default is no example (the lever reference)
    REQUIRED: ClassVar[tuple[str, ...]] = ()  # keys without a usable default
    DATED: ClassVar[str] = "date"  # "date" (one day) or "interval"
    kind: str = ""
    source: str = ""
    date: date | None = None
    start: date | None = None
    end: date | None = None
    basins: tuple[str, ...] = ()  # empty = all
    republics: tuple[str, ...] = ()  # empty = all

    def basin_mask(self, basin_names: tuple[str, ...], basin_republic: np.ndarray) -> np.ndarray:
        """Boolean mask over basins that the event targets."""
        m = np.ones(len(basin_names), dtype=bool)
        if self.basins:
            m &= np.isin(np.array(basin_names), self.basins)
        if self.republics:
            m &= np.isin(np.array([REPUBLICS[r] for r in basin_republic]), self.republics)
        return m

    # What a lever does lives in its class: a new lever is one class here, registered in `KINDS`.

    def check_world(self, world: Any, where: str) -> None:
        """Check names the event uses beyond its basins against the world (raise InputError naming `where`)."""

    def shape(self, tl: Timeline, a: int, b: int, mask: np.ndarray) -> None:
        """An interval event: write its days [a, b) over the basins in `mask` into the timeline."""
        raise NotImplementedError(self.kind)

    def apply(self, s: State, world: World, p: Params, m: Mechanisms, day: int, mask: np.ndarray) -> None:
        """A one-day event: act on every replicate of the batched engine's state, in place."""
        raise NotImplementedError(self.kind)

    def apply_agents(self, model: Any, basins: set[int]) -> None:
        """A one-day event: act on the per-agent model (`sim.model.model.StrikeModel`), the same way."""
        raise NotImplementedError(self.kind)


@dataclass(frozen=True)
class SeedStrike(Event):
    """Enterprises of a town that go on strike on a date (the index case of a wave)."""

    KEYS: ClassVar[dict[str, type]] = {"city": str, "count": int}
    DOCS: ClassVar[dict[str, str]] = {
        "city": "the town (a town of the data's cities.csv) whose enterprises walk out",
        "count": "how many of its enterprises walk out (the first in its list)",
    }
    EXAMPLE: ClassVar[dict[str, Any]] = {"city": "Mezhdurechensk"}
    REQUIRED: ClassVar[tuple[str, ...]] = ("city",)
    city: str = ""
    count: int = 1

    def check_world(self, world: Any, where: str) -> None:
        """The town must be one of the world's, and in the event's basins and republics if it names any."""
        if self.city not in world.city_names:
            raise InputError(f"{where} ({self.kind}): unknown town {self.city!r}", key="city")
        b = int(world.city_basin[world.city_names.index(self.city)])
        if (self.basins or self.republics) and not self.basin_mask(world.basin_names, world.basin_republic)[b]:
            raise InputError(
                f"{where} ({self.kind}): town {self.city!r} lies in {world.basin_names[b]}, outside the event's basins and republics",
                key="city",
            )

    def apply(self, s: State, world: World, p: Params, m: Mechanisms, day: int, mask: np.ndarray) -> None:
        """The town's first `count` enterprises walk out."""
        idx = np.flatnonzero(np.array(world.city_names)[world.city] == self.city)[: self.count]
        s.striking[:, idx] = True
        s.ever[:, idx] = True

    def apply_agents(self, model: Any, basins: set[int]) -> None:
        """The same, one agent at a time."""
        names = model.world.city_names
        for mi in [mi for mi in model.mines if names[mi.city] == self.city][: self.count]:
            mi.striking = mi.ever = True


@dataclass(frozen=True)
class Concession(Event):
    """The centre's deal with strikers of some basins: promise, terms of implementation."""

    KEYS: ClassVar[dict[str, type]] = {"relief": float, "political": float, "impl_share": float, "impl_days": float, "deadline_days": float}
    DOCS: ClassVar[dict[str, str]] = {
        "relief": "material relief promised (grievance units: lowers the basins' effective grievance as it is carried out)",
        "political": "political concession (self-financing, local control), 0-1: authority for the committees that won",
        "impl_share": "share of the promise eventually carried out (default: the parameter impl_share)",
        "impl_days": "time scale of carrying it out, days (default: the parameter impl_days)",
        "deadline_days": "days after which unkept parts count as broken promises (default: the parameter deadline_days)",
    }
    relief: float = 0.1  # grievance units promised (material)
    political: float = 0.0  # political concession (self-financing, local control), in [0, 1]
    impl_share: float | None = None  # None: the Params default
    impl_days: float | None = None
    deadline_days: float | None = None

    BY_REPUBLIC: ClassVar[bool] = False

    def political_share(self) -> float:
        """The political part of the deal (authority for the committees that won)."""
        return self.political

    def apply(self, s: State, world: World, p: Params, m: Mechanisms, day: int, mask: np.ndarray, town: int = -1) -> None:
        """Promise, truce and return order, efficacy, trust, authority and allegiance (`sim.model.kernel.concede`)."""
        rows = np.ones(s.striking.shape[0], bool)
        kernel.concede(
            s,
            world,
            p,
            m,
            rows[:, None] & mask[None, :],
            day,
            self.relief,
            self.political_share(),
            p.impl_share if self.impl_share is None else self.impl_share,
            p.impl_days if self.impl_days is None else self.impl_days,
            p.deadline_days if self.deadline_days is None else self.deadline_days,
            by_republic=self.BY_REPUBLIC,
            town=town,
        )

    def apply_agents(self, model: Any, basins: set[int]) -> None:
        """The same, one agent at a time (`StrikeModel.concede`)."""
        model.concede(self, basins)


@dataclass(frozen=True)
class TownConcession(Concession):
    """The centre's deal with the strikers of one town, made before (or without) a deal with its basin.

    The relief is promised to the town's basin (a pledge to extend the town's settlement to the whole
    basin: carried out, and counted as kept or broken, there as any promise of the basin's); the truce
    and return order, the win, the gain of trust and the town committee's authority and allegiance are
    the town's alone, and the basin's calls stay in force. Efficacy: the town's enterprises gain as a
    winning basin's (`eta_win`), the rest of the basin and of its republic as another basin of the
    winner's republic (`eta_rep`), the other republics at `eta_far`.
    """

    KEYS: ClassVar[dict[str, type]] = {"city": str, **Concession.KEYS}
    DOCS: ClassVar[dict[str, str]] = {"city": "the town (a town of the data's cities.csv) the deal is made with", **Concession.DOCS}
    EXAMPLE: ClassVar[dict[str, Any]] = {"city": "Mezhdurechensk"}
    REQUIRED: ClassVar[tuple[str, ...]] = ("city",)
    city: str = ""

    check_world = SeedStrike.check_world

    def apply(self, s: State, world: World, p: Params, m: Mechanisms, day: int, mask: np.ndarray, town: int = -1) -> None:
        """The concession to the town, its promise to the town's basin (`sim.model.kernel.concede` with `town`)."""
        c = world.city_names.index(self.city)
        Concession.apply(self, s, world, p, m, day, np.arange(world.n_basins) == world.city_basin[c], town=c)

    def apply_agents(self, model: Any, basins: set[int]) -> None:
        """The same, one agent at a time (`StrikeModel.concede` with the town)."""
        c = model.world.city_names.index(self.city)
        model.concede(self, {int(model.world.city_basin[c])}, c)


@dataclass(frozen=True)
class StrikeCall(Event):
    """A dated strike call by the strike committees of some basins (a miners' congress calling all of them).

    Only the active committees of the listed basins call; a `political` call is followed only by
    committees at the political stage or beyond. Turnout is not set: each enterprise of a calling
    committee's area gets the push `k_call` on top of its readiness (grievance, efficacy, trust,
    repression, cost of striking). `days` is the call's length (1: a one-day warning strike); 0 is
    open-ended, until a concession (of the centre or a republic) to the basin.
    """

    KEYS: ClassVar[dict[str, type]] = {"days": int, "demands": str}
    DOCS: ClassVar[dict[str, str]] = {
        "days": "length of the call in days (1: a one-day warning strike; 0: open-ended, until a concession to the basin or its collapse)",
        "demands": "material or political: a political call is followed only by committees at the political stage or beyond",
    }
    days: int = 1
    demands: str = "material"

    def apply(self, s: State, world: World, p: Params, m: Mechanisms, day: int, mask: np.ndarray) -> None:
        """The call comes into force in the basins."""
        s.call_left[:, mask] = float(self.days) if self.days > 0 else np.inf
        s.call_pol[:, mask] = self.demands == "political"
        s.call_age[:, mask] = 0.0

    def apply_agents(self, model: Any, basins: set[int]) -> None:
        """The same, one basin at a time."""
        for b in basins:
            basin = model.basins[b]
            basin.call_left = float(self.days) if self.days > 0 else math.inf
            basin.call_pol = self.demands == "political"
            basin.call_age = 0.0


@dataclass(frozen=True)
class RepublicConcession(Event):
    """A republic government's deal with strikers of some basins (material relief, transfer of enterprises to its jurisdiction).

    Acts like the centre's concession on the strike (truce, return order, relief promised and carried
    out) but binds the allegiance of the basins' committees to the republic; `transfer` = 1 for the
    transfer of the enterprises to republic jurisdiction (raises the committees' authority as a
    political concession does).
    """

    KEYS: ClassVar[dict[str, type]] = {"relief": float, "transfer": float, "impl_share": float, "impl_days": float, "deadline_days": float}
    DOCS: ClassVar[dict[str, str]] = {
        "relief": Concession.DOCS["relief"],
        "transfer": "1 for the transfer of the enterprises to republic jurisdiction (authority for the committees, as a political concession), 0-1",
        "impl_share": Concession.DOCS["impl_share"],
        "impl_days": Concession.DOCS["impl_days"],
        "deadline_days": Concession.DOCS["deadline_days"],
    }
    relief: float = 0.1
    transfer: float = 0.0
    impl_share: float | None = None
    impl_days: float | None = None
    deadline_days: float | None = None

    BY_REPUBLIC: ClassVar[bool] = True

    def political_share(self) -> float:
        """The transfer of the enterprises counts as a political concession."""
        return self.transfer

    apply = Concession.apply
    apply_agents = Concession.apply_agents


@dataclass(frozen=True)
class Shock(Event):
    """An exogenous shock: price rise, election, sovereignty declaration, referendum, coup."""

    KEYS: ClassVar[dict[str, type]] = {
        "name": str,
        "wage": float,
        "ecology": float,
        "privilege": float,
        "trust": float,
        "efficacy": float,
        "strength": float,
    }
    DOCS: ClassVar[dict[str, str]] = {
        "name": "what happened (a label for figures and reports)",
        "wage": "change of the wage grievance (grievance units, -1 to 1)",
        "ecology": "change of the ecology grievance (grievance units, -1 to 1)",
        "privilege": "change of the privilege grievance (grievance units, -1 to 1)",
        "trust": "change of trust in the centre (-1 to 1)",
        "efficacy": "change of efficacy, the belief that striking works (-1 to 1)",
        "strength": "change of the centre's perceived strength (-1 to 1)",
    }
    EXAMPLE: ClassVar[dict[str, Any]] = {"name": "retail price rise", "wage": 0.2, "trust": -0.05}
    name: str = ""
    wage: float = 0.0
    ecology: float = 0.0
    privilege: float = 0.0
    trust: float = 0.0
    efficacy: float = 0.0
    strength: float = 0.0

    def apply(self, s: State, world: World, p: Params, m: Mechanisms, day: int, mask: np.ndarray) -> None:
        """Grievances, trust, efficacy and the centre's strength change in the basins (if shocks are on)."""
        if not m.shocks:
            return
        inb = mask[world.basin][None, :]
        for k, dv in enumerate((self.wage, self.ecology, self.privilege)):
            if dv:
                s.griev[..., k] = np.where(inb, np.clip(s.griev[..., k] + dv, 0, 1), s.griev[..., k])
        if m.trust:
            s.trust[:] = np.where(inb, np.clip(s.trust + self.trust, 0, 1), s.trust)
            s.strength[:] = np.clip(s.strength + self.strength, 0, 1)
        if m.efficacy:
            s.eff[:] = np.where(inb, np.clip(s.eff + self.efficacy, 0, 1), s.eff)

    def apply_agents(self, model: Any, basins: set[int]) -> None:
        """The same, one agent at a time."""
        if not model.mech.shocks:
            return
        for mi in model.mines:
            if mi.basin in basins:
                for k, dv in enumerate((self.wage, self.ecology, self.privilege)):
                    if dv:
                        mi.griev[k] = min(max(mi.griev[k] + dv, 0.0), 1.0)
                if model.mech.trust:
                    mi.trust = min(max(mi.trust + self.trust, 0.0), 1.0)
                if model.mech.efficacy:
                    mi.eff = min(max(mi.eff + self.efficacy, 0.0), 1.0)
        if model.mech.trust:
            model.centre.strength = min(max(model.centre.strength + self.strength, 0.0), 1.0)


@dataclass(frozen=True)
class Repression(Event):
    """Repression of strikes in some basins over an interval, at a level in [0, 1]."""

    DATED: ClassVar[str] = "interval"
    KEYS: ClassVar[dict[str, type]] = {"level": float}
    DOCS: ClassVar[dict[str, str]] = {
        "level": "repression level, 0-1: fear in readiness, trust lost and the centre's strength gained each day"
    }
    level: float = 0.5

    def shape(self, tl: Timeline, a: int, b: int, mask: np.ndarray) -> None:
        """The highest repression level in force wins."""
        tl.repression[a:b, mask] = np.maximum(tl.repression[a:b, mask], self.level)


@dataclass(frozen=True)
class CutCommunication(Event):
    """The centre cuts the committees' lines of communication: tie levels weakened by `share`."""

    DATED: ClassVar[str] = "interval"
    KEYS: ClassVar[dict[str, type]] = {"levels": list, "share": float}
    DOCS: ClassVar[dict[str, str]] = {
        "levels": "the tie levels cut: any of city, basin, delegate",
        "share": "share of each listed level's contagion cut, 0-1",
    }
    levels: tuple[str, ...] = ("basin", "delegate")
    share: float = 0.8

    def shape(self, tl: Timeline, a: int, b: int, mask: np.ndarray) -> None:
        """The largest cut in force wins, per tie level."""
        for lvl in self.levels:
            tl.cut[a:b, LEVELS.index(lvl)] = np.maximum(tl.cut[a:b, LEVELS.index(lvl)], self.share)


@dataclass(frozen=True)
class News(Event):
    """National coverage multiplied by `level` over an interval (weak glasnost)."""

    DATED: ClassVar[str] = "interval"
    KEYS: ClassVar[dict[str, type]] = {"level": float}
    DOCS: ClassVar[dict[str, str]] = {"level": "multiplier of national coverage of the strikes, 0-1 (weak glasnost)"}
    level: float = 0.3

    def shape(self, tl: Timeline, a: int, b: int, mask: np.ndarray) -> None:
        """The weakest coverage in force wins."""
        tl.news[a:b] = np.minimum(tl.news[a:b], self.level)


KINDS: dict[str, type[Event]] = {
    "seed_strike": SeedStrike,
    "concession": Concession,
    "town_concession": TownConcession,
    "republic_concession": RepublicConcession,
    "strike_call": StrikeCall,
    "shock": Shock,
    "repression": Repression,
    "cut_communication": CutCommunication,
    "news": News,
}
"""Registry of event kinds, the one place a new lever is added."""

RANGES = {
    "count": (1, 10_000),
    "relief": (0.0, 1.0),
    "political": (0.0, 1.0),
    "impl_share": (0.0, 1.0),
    "impl_days": (1.0, 3650.0),
    "deadline_days": (1.0, 3650.0),
    "wage": (-1.0, 1.0),
    "ecology": (-1.0, 1.0),
    "privilege": (-1.0, 1.0),
    "trust": (-1.0, 1.0),
    "efficacy": (-1.0, 1.0),
    "strength": (-1.0, 1.0),
    "level": (0.0, 1.0),
    "share": (0.0, 1.0),
    "days": (0, 3650),
    "transfer": (0.0, 1.0),
}
CHOICES = {"demands": ("material", "political")}
LEVELS = ("city", "basin", "delegate")


def parse_event(raw: dict[str, Any], where: str) -> Event:
    """Build one event from a scenario table, checking keys, types, ranges and dates."""
    if not isinstance(raw, dict):
        raise InputError(f"{where} must be a table", key="events")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InputError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}", key="kind")
    cls = KINDS[kind]
    dated = ("date",) if cls.DATED == "date" else ("start", "end")
    allowed = {"kind", "source", "basins", "republics", *dated, *cls.KEYS}
    for key in raw:
        if key not in allowed:
            raise InputError(f"{where} ({kind}): unknown key '{key}'; allowed: {', '.join(sorted(allowed))}", key=key)
    for key in dated:
        if key not in raw:
            raise InputError(f"{where} ({kind}): missing key '{key}'", key=key)
    args: dict[str, Any] = {"kind": kind, "source": str(raw.get("source", ""))}
    for key in dated:
        args[key] = as_date(raw[key], f"{where}.{key}")
    if cls.DATED == "interval" and args["end"] <= args["start"]:
        raise InputError(f"{where}: end {args['end']} must be after start {args['start']}", key="end")
    for key in ("basins", "republics"):
        if key in raw:
            v = raw[key]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise InputError(f"{where}.{key} must be a list of names", key=key)
            if key == "republics":
                bad = [x for x in v if x not in REPUBLICS]
                if bad:
                    raise InputError(f"{where}.republics: unknown republic {bad[0]!r}", key=key)
            args[key] = tuple(v)
    for key, typ in cls.KEYS.items():
        if key not in raw:
            continue
        v = raw[key]
        if typ is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if typ is list:
            if not isinstance(v, list) or any(x not in LEVELS for x in v):
                raise InputError(f"{where}.{key} must be a list of {', '.join(LEVELS)}", key=key)
            v = tuple(v)
        elif not isinstance(v, typ) or isinstance(v, bool):
            raise InputError(f"{where}.{key} must be {typ.__name__}, got {v!r}", key=key)
        if key in RANGES and not (RANGES[key][0] <= v <= RANGES[key][1]):
            raise InputError(f"{where}.{key} = {v} is out of range {list(RANGES[key])}", key=key)
        if key in CHOICES and v not in CHOICES[key]:
            raise InputError(f"{where}.{key} must be one of {', '.join(CHOICES[key])}, got {v!r}", key=key)
        args[key] = v
    return cls(**args)


def as_date(v: Any, where: str) -> date:
    """A date from TOML (a date or an ISO string); `where` names the key in the error."""
    if isinstance(v, datetime):  # a TOML date-time (1989-07-15T12:00:00) is a date subclass: refuse it, a day is the unit
        raise InputError(f"{where} must be a date (YYYY-MM-DD), not a date-time, got {v.isoformat()}", key=where.split(".")[-1])
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError:
        raise InputError(f"{where} must be an ISO date (YYYY-MM-DD), got {v!r}", key=where.split(".")[-1]) from None


@dataclass
class Timeline:
    """Day-indexed levers for a run of `days` days over `n_basins` basins.

    Attributes:
        repression: (days, basins) repression level.
        cut: (days, 3) share cut from each tie level (city, basin, delegate).
        news: (days,) multiplier of national coverage.
        movement: (days, republics) national movement strength.
        events: day index -> one-day events acting at the start of that day.
    """

    repression: np.ndarray
    cut: np.ndarray
    news: np.ndarray
    movement: np.ndarray
    events: dict[int, list[Event]] = field(default_factory=dict)


def compile_timeline(events: list[Event], start: date, days: int, world: Any, labels: tuple[str, ...] = ()) -> Timeline:
    """Turn a scenario's events into day-indexed arrays (checked against the world's names; `labels`: how errors name each event)."""
    calendar = [date.fromordinal(start.toordinal() + d) for d in range(days)]
    tl = Timeline(
        repression=np.zeros((days, world.n_basins)),
        cut=np.zeros((days, 3)),
        news=np.ones(days),
        movement=world.movement_series(calendar),
    )
    for n, ev in enumerate(events):
        label = labels[n] if n < len(labels) else f"[[events]] #{n + 1}"
        for b in ev.basins:
            if b not in world.basin_names:
                raise InputError(f"{label} ({ev.kind}): unknown basin {b!r}; known: {', '.join(world.basin_names)}", key="basins")
        mask = ev.basin_mask(world.basin_names, world.basin_republic)
        off = [b for b in ev.basins if ev.republics and not mask[world.basin_names.index(b)]]
        if off:  # the event would silently leave the basin out
            raise InputError(
                f"{label} ({ev.kind}): basin {off[0]!r} is not in the republics {', '.join(ev.republics)} the event also names",
                key="republics",
            )
        if ev.DATED == "date":
            d = (ev.date - start).days
            if not 0 <= d < days:
                continue  # outside this run's horizon (files are checked against theirs on load)
            ev.check_world(world, label)
            tl.events.setdefault(d, []).append(ev)
            continue
        a, b = max((ev.start - start).days, 0), min((ev.end - start).days, days)
        if a >= b:
            continue
        ev.shape(tl, a, b, mask)
    return tl


def apply_events(s: State, world: World, p: Params, m: Mechanisms, events: list[Event], day: int) -> None:
    """Apply the one-day events of `day` to every replicate, in place (each through its class's `apply`)."""
    for ev in events:
        ev.apply(s, world, p, m, day, ev.basin_mask(world.basin_names, world.basin_republic))
