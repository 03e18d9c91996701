"""Scenario files: the only TOML reader. Validated, with one level of `base = "..."` inheritance.

A scenario is data: a horizon, a data folder, parameter overrides, mechanism switches and a list of
dated events (see `sim.model.interventions.KINDS`). `tomllib` parses without executing anything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sim.inputs.datafiles import file_hashes
from sim.inputs.errors import InputError, decode_utf8
from sim.inputs.limits import LIMITS
from sim.inputs.params import Mechanisms, Params
from sim.inputs.posterior import FITTED
from sim.model.interventions import CHOICES, KINDS, LEVELS, RANGES, Event, as_date, parse_event

REPOSITORY = Path(__file__).resolve().parents[2]
"""The repository: every file a scenario or priors file names may lie in it (or beside the naming file)."""
HORIZON = (date(1989, 1, 1), date(1991, 12, 31))
"""Dates a scenario may cover: the data (grievances, national movements, shocks) describe 1989-1991, up to the end of the USSR."""

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
"""A scenario name becomes a folder name under the results root: no separators, no '..', nothing hidden."""

TOP_KEYS = {
    "name",
    "description",
    "claim",
    "base",
    "start",
    "end",
    "data",
    "replicates",
    "seed",
    "params",
    "parameters",
    "mechanisms",
    "events",
    "events_replace",
    "events_drop",
    "events_modify",
}


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario (inheritance applied, everything checked)."""

    name: str
    path: str
    description: str
    claim: str
    start: date
    end: date
    data: Path
    replicates: int
    seed: int
    params: Params
    mechanisms: Mechanisms
    events: tuple[Event, ...] = field(default=())
    parameters: str = "defaults"
    posterior: Path | None = None
    set_params: tuple[str, ...] = ()
    event_labels: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """How errors name each event: by its table in the file that wrote (or last changed) it (not part of the content)."""

    def posterior_sha256(self) -> str | None:
        """Hash of the posterior file the replicates draw their parameters from (None: defaults)."""
        return hashlib.sha256(self.posterior.read_bytes()).hexdigest() if self.posterior else None

    @property
    def days(self) -> int:
        """Number of simulated days, start and end inclusive."""
        return (self.end - self.start).days + 1

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain JSON-able data (for the manifest)."""
        d = asdict(self)
        d.pop("event_labels")  # how errors name the events, not what the scenario is
        d["data"] = str(self.data)
        return json.loads(json.dumps(d, default=str))

    def digest(self) -> str:
        """Short hash of the resolved scenario's content, seed and replicates (names results folders).

        The file's path is left out (the data folder and posterior enter by the content of their files),
        so the same scenario gives the same hash however it is named and wherever the repository lies.
        """
        d = self.to_dict()
        d.pop("path")
        d["data"] = self.data.name  # not the machine's absolute path
        d["data_sha256"] = file_hashes(self.data)  # ...but the content of every table a run reads, so a
        # run resumed after a data file changed starts anew instead of mixing old and new replicates
        d["posterior"] = self.posterior_sha256()  # the draws' content, not where the file lies
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:8]

    def with_changes(self, params: dict[str, Any] | None = None, mechanisms: dict[str, Any] | None = None, **top: Any) -> Scenario:
        """A copy with parameter, switch or top-level changes (checked)."""
        try:
            p = self.params.replace(**(params or {}))
            m = self.mechanisms.replace(**(mechanisms or {}))
        except InputError as exc:
            raise exc.in_file(self.path) from None
        keys = tuple(sorted(set(self.set_params) | set(params or {})))
        if "events" in top:  # new events: the file's labels no longer name them
            top.setdefault("event_labels", ())
        return dataclasses.replace(self, params=p, mechanisms=m, set_params=keys, **top)


def check_against(scenario: Scenario, world: Any) -> None:
    """Check the scenario's events against a world's names (basins, towns), naming the file."""
    from sim.model.interventions import compile_timeline

    try:
        compile_timeline(list(scenario.events), scenario.start, scenario.days, world, scenario.event_labels)
    except InputError as exc:
        raise exc.in_file(scenario.path) from None


def read_toml(path: Path, what: str = "scenario file") -> dict[str, Any]:
    """Parse a TOML file (the project's only TOML reader; `tomllib` executes nothing).

    Raises:
        InputError: naming the file if it is missing, a folder, not UTF-8 or malformed.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError(f"is a folder, not a {what} (.toml)", file=str(path))
        if not path.is_file():
            raise InputError(f"{what} not found", file=str(path))
        data = path.read_bytes()
    except OSError as exc:  # too long a name, no permission, a device
        raise InputError(f"cannot read this {what}: {exc.strerror or exc}", file=str(path)) from None
    text = decode_utf8(data, str(path))
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed TOML: {exc}", file=str(path)) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InputError(f"malformed TOML: {str(exc).splitlines()[0]}", file=str(path)) from None
    except RecursionError:
        raise InputError("malformed TOML: nested too deeply", file=str(path)) from None


def named_path(text: Any, folder: Path, key: str, within: tuple[Path, ...] | None = None) -> Path:
    """A path a file names (`base`, `data`, `parameters`, a priors file's `[setup]` paths), resolved and confined.

    `text` is relative to `folder` (the naming file's folder) or absolute; symbolic links are followed.
    The result must lie inside `within` (default: the repository or `folder`, and below), so no file
    can make a command read, or write, somewhere else (`../../elsewhere`, an absolute path, a link out).

    Raises:
        InputError: one line naming the key, for a path that is not a string, cannot be resolved (a
            loop of links, a NUL byte, too long a name) or lies outside where it belongs.
    """
    if not isinstance(text, str) or not text:
        raise InputError(f"{key} must be a non-empty string (a path relative to the file), got {text!r}", key=key)
    try:
        resolved = (Path(folder) / text).resolve()
        roots = [Path(r).resolve() for r in (within or (REPOSITORY, folder))]
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):  # a missing file: the caller says so
            resolved.stat()  # too long a name, no permission to look: said here, once
    except (OSError, RuntimeError, ValueError) as exc:  # a loop of links, too long a name, a NUL byte
        raise InputError(f"{key} = {text!r} cannot be resolved: {getattr(exc, 'strerror', None) or exc}", key=key) from None
    if not any(resolved.is_relative_to(r) for r in roots):
        where = " or ".join(str(r) for r in roots)
        raise InputError(f"{key} = {text!r} lies outside {where} (resolved to {resolved}); files may only name paths there", key=key)
    return resolved


def load_scenario(path: str | Path, require_posterior: bool = True) -> Scenario:
    """Read, merge with its base (one level) and validate a scenario file.

    Args:
        path: a .toml scenario file.
        require_posterior: if False, `parameters = "posterior"` with no posterior file yet gives
            the scenario's own parameters (calibration itself, which makes that file, needs this).

    Raises:
        InputError: naming the file and key for anything malformed.
    """
    path = Path(path)
    raw = read_toml(path)
    try:
        _check_top(raw)
        if "base" in raw:
            base_path = named_path(raw["base"], path.parent, "base")
            if base_path == path.resolve():
                raise InputError("base refers to the file itself", key="base")
            if not base_path.is_file():
                what = "is a folder, not a scenario file" if base_path.is_dir() else "not found"
                raise InputError(f"base file {raw['base']!r} {what} (looked for {base_path})", key="base")
            try:
                base = read_toml(base_path)
                _check_top(base)
                if "base" in base:
                    raise InputError(
                        f"only one level of base inheritance is allowed ({path.name} -> {base_path.name} -> {base['base']})",
                        file=str(base_path),
                        key="base",
                    )
            except InputError as exc:
                raise exc.in_file(str(base_path)) from None
            raw = _merge(base, raw, base_path.parent, path.parent)
        else:
            if "name" not in raw:
                raise InputError("missing key 'name' (a scenario needs a name, or base = ... to inherit one)", key="name")
            for key in ("events_drop", "events_modify", "events_replace"):
                if key in raw:
                    raise InputError(f"{key} edits inherited events: it needs base = ...", key=key)
            raw = dict(raw)
            raw["_data_dir"] = raw["_param_dir"] = path.parent
        return _build(raw, path, require_posterior)
    except InputError as exc:
        raise exc.in_file(str(path)) from None


def _check_top(raw: dict[str, Any]) -> None:
    for key in raw:
        if key not in TOP_KEYS:
            raise InputError(f"unknown key '{key}'; allowed: {', '.join(sorted(TOP_KEYS))}", key=key)


def _merge(base: dict, child: dict, base_dir: Path, child_dir: Path) -> dict:
    out = {k: v for k, v in base.items()}
    out["_data_dir"] = out["_param_dir"] = base_dir
    out["_base_events"] = len(base.get("events", []))
    for k, v in child.items():
        if k in ("params", "mechanisms"):
            if not isinstance(v, dict):
                raise InputError(f"[{k}] must be a table", key=k)
            out[k] = {**base.get(k, {}), **v}
        elif k == "events":
            if not isinstance(v, list):
                raise InputError("events must be an array of tables ([[events]])", key="events")
            if child.get("events_replace") is True:
                out["events"], out["_base_events"] = list(v), 0
            else:
                out["events"] = list(v)  # the inherited ones are put in front below
        elif k == "events_replace":
            if not isinstance(v, bool):
                raise InputError(f"events_replace must be true or false, got {v!r}", key=k)
        elif k in ("events_drop", "events_modify"):
            pass  # applied to the inherited events below
        elif k == "data":
            out["data"] = v
            out["_data_dir"] = child_dir
        elif k == "parameters":
            out["parameters"] = v
            out["_param_dir"] = child_dir
        elif k != "base":
            out[k] = v
    if child.get("events_replace") is not True:
        base_events = base.get("events", [])
        if not isinstance(base_events, list):
            raise InputError("events must be an array of tables ([[events]])", key="events")
        inherited, labels = _edit_inherited(base_events, child)
        own = out["events"] if "events" in child else []
        out["events"], out["_base_events"] = inherited + list(own), len(inherited)
        out["_event_labels"] = labels + [f"[[events]] #{i + 1}" for i in range(len(own))]
    return out


MOVE_KEYS = {"new_date": "date", "new_start": "start", "new_basins": "basins"}
"""Keys of `[[events_modify]]` that set what the match keys select by: move an inherited event, or change its basins."""


def _edit_inherited(base_events: list, child: dict) -> tuple[list, list[str]]:
    """The base file's events after the child's `[[events_drop]]` and `[[events_modify]]`, each with the label errors name it by.

    Each drop or modify table names a `kind` and optionally a `date` (or `start`) and `basins`:
    inherited events that match all given keys are dropped, or get the modify table's other keys
    (`new_date`, `new_start`, `new_basins` set the date, start or basins: the one way to move an
    inherited event). An inherited event is labelled `[[events]] #k of the base file` (k: its place
    there), or, once modified, by the child's table that changed it: `[[events_modify]] #m (the base
    file's [[events]] #k)`, so an error points at the table the user wrote.
    """
    out = [(k, dict(e) if isinstance(e, dict) else e, "") for k, e in enumerate(base_events)]
    for what in ("events_drop", "events_modify"):
        tables = child.get(what, [])
        if not isinstance(tables, list):
            raise InputError(f"{what} must be an array of tables ([[{what}]])", key=what)
        for i, t in enumerate(tables):
            label = f"[[{what}]] #{i + 1}"
            if not isinstance(t, dict) or "kind" not in t:
                raise InputError(f"{label} must be a table with at least 'kind'", key=what)
            keys = {"kind", "date", "start", "basins"}
            match = {k: v for k, v in t.items() if k in keys}
            if what == "events_drop" and set(t) - keys:
                raise InputError(f"{label}: unknown key '{sorted(set(t) - keys)[0]}'; allowed: basins, date, kind, start", key=what)
            hits = [j for j, (_, e, _) in enumerate(out) if isinstance(e, dict) and all(str(e.get(k)) == str(v) for k, v in match.items())]
            if not hits:
                known = "; ".join(f"{e.get('kind')} {e.get('date') or e.get('start')}" for _, e, _ in out if isinstance(e, dict))
                raise InputError(
                    f"{label}: no inherited event matches {match} (to move an event, match its present date and give new_date; "
                    f"the base file's events: {known})",
                    key=what,
                )
            if what == "events_drop":
                out = [x for j, x in enumerate(out) if j not in hits]
            else:
                sets = {MOVE_KEYS.get(k, k): v for k, v in t.items() if k not in match}
                for j in hits:
                    k, e, _ = out[j]
                    out[j] = (k, {**e, **sets}, f"{label} (the base file's [[events]] #{k + 1})")
    return [e for _, e, _ in out], [lab or f"[[events]] #{k + 1} of the base file" for k, _, lab in out]


def _build(raw: dict, path: Path, require_posterior: bool = True) -> Scenario:
    def get(key: str, typ: type, default: Any = None) -> Any:
        v = raw.get(key, default)
        if v is None:
            raise InputError(f"missing key '{key}'", key=key)
        if typ is int and (isinstance(v, bool) or not isinstance(v, int)):
            raise InputError(f"{key} must be an integer, got {v!r}", key=key)
        if typ is str and not isinstance(v, str):
            raise InputError(f"{key} must be a string, got {v!r}", key=key)
        return v

    name = get("name", str, path.stem)
    if not SAFE_NAME.fullmatch(name) or ".." in name:
        raise InputError(
            f"name {name!r} must be 1-80 letters, digits, '_', '-' or '.', starting with a letter or digit (it names the results folder)",
            key="name",
        )
    start = as_date(raw.get("start", "1989-07-01"), "start")
    end = as_date(raw.get("end", "1991-12-31"), "end")
    if end <= start:
        raise InputError(f"end {end} must be after start {start}", key="end")
    for key, day in (("start", start), ("end", end)):
        if not HORIZON[0] <= day <= HORIZON[1]:
            raise InputError(f"{key} {day} is outside the years the model's data cover ({HORIZON[0]} to {HORIZON[1]})", key=key)
    replicates = get("replicates", int, 50)
    seed = get("seed", int, 1989)
    for key, value in (("replicates", replicates), ("seed", seed)):  # the command line's limits (sim/inputs/limits.py)
        lim = LIMITS[key]
        if not lim.lo <= value <= lim.hi:
            raise InputError(f"{key} = {value} is out of range {lim.text()}", key=key)
    data = named_path(get("data", str, "data"), raw["_data_dir"], "data")
    for key in ("params", "mechanisms"):
        if not isinstance(raw.get(key, {}), dict):
            raise InputError(f"[{key}] must be a table", key=key)
    if "centre_reactive" in raw.get("params", {}):
        raise InputError(
            "[params] centre_reactive is now a mechanism switch: write `reactive_centre = false` (or true) under [mechanisms]",
            key="centre_reactive",
        )
    params = Params().replace(**raw.get("params", {}))
    parameters = get("parameters", str, "defaults")
    if parameters == "defaults":
        posterior = None
    elif parameters == "posterior":
        posterior = FITTED
    elif parameters.endswith(".parquet"):
        posterior = named_path(parameters, raw["_param_dir"], "parameters")
    else:
        raise InputError(f'parameters must be "defaults", "posterior" or a .parquet file of draws, got {parameters!r}', key="parameters")
    if posterior is not None and not posterior.is_file() and not require_posterior:
        posterior = None
    if posterior is not None and not posterior.is_file():
        raise InputError(
            f"parameters = {parameters!r}: posterior file {posterior.name} not found (python run.py calibrate --install makes it)",
            key="parameters",
        )
    mechanisms = Mechanisms().replace(**raw.get("mechanisms", {}))
    evs = raw.get("events", [])
    if not isinstance(evs, list):
        raise InputError("events must be an array of tables ([[events]])", key="events")
    events, kept = [], []
    n_base = raw.get("_base_events", 0)
    labels = raw.get("_event_labels") or [f"[[events]] #{i - n_base + 1}" if i >= n_base else "" for i in range(len(evs))]
    for i, e in enumerate(evs):
        label = labels[i] if i < len(labels) else f"[[events]] #{i - n_base + 1}"
        inherited = i < n_base and label.endswith("of the base file")  # as the base wrote it: the child changed nothing
        ev = parse_event(e, label)
        outside = [d for d in (ev.date, ev.start) if d is not None and not start <= d <= end]
        if outside and inherited:
            continue  # an inherited event after a shortened horizon simply never happens
        last = end + timedelta(days=1)  # intervals are [start, end): one may end the day after the horizon
        if ev.end is not None and ev.end > last:
            if inherited:
                ev = dataclasses.replace(ev, end=last)  # an inherited interval is cut at a shortened horizon
            else:
                outside.append(ev.end)
        if outside:
            raise InputError(
                f"{label} ({ev.kind}): date {outside[0]} is outside the horizon {start} to {end}",
                key="date" if ev.date else ("start" if outside[0] == ev.start else "end"),
            )
        events.append(ev)
        kept.append(label)
    return Scenario(
        name=name,
        path=str(path),
        description=str(raw.get("description", "")),
        claim=str(raw.get("claim", "")),
        start=start,
        end=end,
        data=data,
        replicates=replicates,
        seed=seed,
        params=params,
        mechanisms=mechanisms,
        events=tuple(events),
        parameters=parameters,
        posterior=posterior,
        set_params=tuple(sorted(raw.get("params", {}))),
        event_labels=tuple(kept),
    )


BASELINE = REPOSITORY / "scenarios" / "baseline.toml"
"""The historical baseline, whose dated events the lever reference lists."""


def events_table(scenario: Scenario) -> str:
    """A scenario's dated events as a markdown table: date (or interval), kind, where, source."""
    out = ["| date | kind | where | source |", "| --- | --- | --- | --- |"]
    for ev in scenario.events:
        when = str(ev.date) if ev.date else f"{ev.start} to {ev.end}"
        where = "; ".join(x for x in (getattr(ev, "city", ""), ", ".join(ev.basins), ", ".join(ev.republics)) if x) or "every basin"
        cells = [when, f"`{ev.kind}`", where, ev.source or "(none)"]
        out.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(out)


def levers_page() -> str:
    """docs/levers.md: the lever reference (`lever_reference` below) and the baseline's dated events."""
    sc = load_scenario(BASELINE, require_posterior=False)
    head = [
        "## The baseline's dated events",
        "",
        f"Every event of `scenarios/baseline.toml` ({sc.start} to {sc.end}), in the file's order, with the source its",
        "`source` names (what was read for each, and what was left out: `docs/record.md`).",
        "",
    ]
    return lever_reference().rstrip("\n") + "\n\n" + "\n".join(head) + "\n" + events_table(sc) + "\n"


def lever_reference() -> str:
    """The lever reference (docs/levers.md) as markdown, generated from `KINDS`: every kind, its keys, units, ranges, defaults, an example."""
    import dataclasses
    import inspect

    out = [
        "# Levers: the events a scenario can hold",
        "",
        "Generated from the lever registry (`sim/model/interventions.py`) by `python run.py levers --write`; a test keeps it",
        "current. Every event is a `[[events]]` table with `kind`, its date (`date` for a one-day event, acting at the",
        "start of that day; `start` and `end` for an interval `[start, end)`), optionally `basins` (a list of basin",
        "names) and `republics` (a list of republics; both empty: every basin) and `source` (its citation, or",
        "`assumption`). Dates must lie inside the scenario's horizon. An unknown key, a value out of range or a wrong",
        "type stops the scenario with one line naming the file and the key.",
        "",
    ]
    for kind, cls in KINDS.items():
        doc = inspect.cleandoc(cls.__doc__ or "")
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        out += [f"## `{kind}`", "", doc, ""]
        out += ["| key | type | range or choices | default | meaning |", "| --- | --- | --- | --- | --- |"]
        for key, typ in cls.KEYS.items():
            rng = " or ".join(CHOICES[key]) if key in CHOICES else (f"{RANGES[key][0]:g} to {RANGES[key][1]:g}" if key in RANGES else "")
            if key == "levels":
                rng = ", ".join(LEVELS)
            d = defaults.get(key)
            dflt = (
                "(required)"
                if key in cls.REQUIRED
                else "parameter default"
                if d is None
                else (", ".join(d) if isinstance(d, tuple) else repr(d) if isinstance(d, str) else f"{d:g}")
            )
            out.append(f"| `{key}` | {'list' if typ is list else typ.__name__} | {rng} | {dflt} | {cls.DOCS.get(key, '')} |")
        when = 'date = "1990-07-11"' if cls.DATED == "date" else 'start = "1989-09-01"\nend = "1989-10-01"'
        example = [f'kind = "{kind}"', *when.split("\n"), 'basins = ["Kuzbass"]']
        for key in cls.KEYS:
            d = cls.EXAMPLE.get(key, defaults.get(key))
            if d is None:
                continue
            example.append(f"{key} = {_toml(d)}")
        example.append('source = "assumption: ..."')
        out += ["", "```toml", "[[events]]", *example, "```", ""]
    return "\n".join(out + INHERITED_EVENTS)


INHERITED_EVENTS = [
    "## Editing inherited events: `events_drop`, `events_modify`, `events_replace`",
    "",
    "A scenario with `base = ...` inherits the base file's events and adds its own `[[events]]` after them. Three",
    "keys edit the inherited ones. `[[events_drop]]` removes every inherited event that matches its `kind` and, if",
    "given, its `date` (or `start`) and `basins`. `[[events_modify]]` matches the same way and sets its other keys on",
    "every match (`relief = 0.3`, say); since `date`, `start` and `basins` select the event, they are changed by",
    "`new_date`, `new_start` and `new_basins`. `events_replace = true` drops all inherited events (the file's own",
    "`[[events]]` are then the only ones). A table that matches no inherited event stops the scenario and lists the",
    "base file's events. Errors name an event by the table that wrote it: `[[events]] #k` of this file (counted in",
    "this file), `[[events]] #k of the base file`, or, for an inherited event you changed, your",
    "`[[events_modify]] #m (the base file's [[events]] #k)`.",
    "",
    "Moving an inherited event's date is one table: match it by its present date, give the new one (here the",
    "Kuzbass deal of 17 July 1989 made on 12 July, on the same terms):",
    "",
    "```toml",
    "[[events_modify]]",
    'kind = "concession"',
    'date = "1989-07-17"',
    'basins = ["Kuzbass"]',
    'new_date = "1989-07-12"',
    "```",
    "",
    "A concession acts on the basins it names whether or not they are on strike: its relief lowers their",
    "grievance as it is carried out, its return order holds at work a workforce that trusts the settlement, and",
    "their trust and efficacy move. A concession dated before a basin's first strike therefore pre-empts that",
    "strike (or makes it less likely): to answer only basins already out, name them in `basins`, and to test a deal",
    "made before the strike spread, expect the basins it names to strike less, not to strike and settle.",
    "",
]
"""The section of docs/levers.md on the inherited events (a test loads its example)."""


def _toml(v: Any) -> str:
    if isinstance(v, tuple):
        return "[" + ", ".join(f'"{x}"' for x in v) + "]"
    if isinstance(v, str):
        return f'"{v}"'
    return f"{v:g}" if isinstance(v, float) else str(v)
