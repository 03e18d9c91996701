"""The commands' options, declared once: every numeric option's type and limit (`LIMITS`), and `RunOptions`.

`RunOptions` holds the options every command shares (replicates, seed, workers, cluster, out,
draw_figures, quiet, command), each checked when it is made. The command line builds one from its
namespace, the library functions build one from their keywords (or take one), and `rerun` builds
one from the recorded command: the same checks, the same one-line `OptionError`, before any file is
read or written.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sim.inputs.errors import OptionError
from sim.inputs.limits import LIMITS, MAX_REPLICATES, checked, flag

__all__ = ["LIMITS", "MAX_REPLICATES", "TABLES", "RunOptions", "check_options", "checked"]

TABLES = ("figures", "all")
"""What a run records (`--tables`): the columns its figures, summary and manifest read (default), or every observable."""

CLUSTER = re.compile(r"(?:(tcp|tls|ucx|ws|wss)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})")
"""A Dask scheduler's address: [tcp://]HOST:PORT (or tls, ucx, ws, wss; an IPv6 host in brackets)."""


def cluster_address(value: Any) -> str | None:
    """A Dask scheduler address checked before anything starts (`distributed` would raise a ValueError deep inside a run)."""
    if value is None:
        return None
    m = CLUSTER.fullmatch(value) if isinstance(value, str) else None
    if m is None or not 1 <= int(m.group(3)) <= 65_535:
        raise OptionError(f"--cluster must be a Dask scheduler address tcp://HOST:PORT (port 1-65535), got {value!r}")
    return value


def iso_date(name: str, value: Any) -> str | None:
    """An ISO date option (`fork_at`, `day`): a YYYY-MM-DD string or a `datetime.date`, returned as the string."""
    if value is None:
        return None
    if isinstance(value, date) and not hasattr(value, "hour"):  # a date, not a datetime
        return value.isoformat()
    try:
        if isinstance(value, str):
            date.fromisoformat(value)
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                return value
    except ValueError:
        pass
    raise OptionError(f"{flag(name)} must be an ISO date (YYYY-MM-DD), got {value!r}")


def choice(name: str, value: Any, allowed: tuple) -> Any:
    """One of `allowed` (a keyword such as `reference` or `budget`)."""
    if isinstance(value, bool) or value not in allowed:
        raise OptionError(f"{flag(name)} must be one of {', '.join(map(str, allowed))}, got {value!r}")
    return value


def path_option(name: str, value: Any, *, empty: bool = False) -> Any:
    """A file or folder option: a string or a path (`empty`: None and '' allowed, meaning none)."""
    if value is None or (isinstance(value, str) and not value.strip()):  # Path(" ") is a folder named by a blank: refused too
        if empty and not value:
            return value
        raise OptionError(f"{flag(name)} must name a file or folder, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise OptionError(f"{flag(name)} must be a path (a string or pathlib.Path), got {value!r} ({type(value).__name__})")
    return value


def text_option(name: str, value: Any) -> str:
    """A non-empty string option (a town's name)."""
    if not isinstance(value, str) or not value.strip():
        raise OptionError(f"{flag(name)} must be a non-empty string, got {value!r}")
    return value


def switch(name: str, value: Any) -> bool:
    """A true/false option: exactly True or False (a string "False" is true in Python, so it is refused)."""
    if not isinstance(value, bool):
        raise OptionError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return value


@dataclass(frozen=True)
class RunOptions:
    """The options every command that writes a results folder shares, checked when made (`OptionError`, one line).

    replicates, seed: None means the command's default (the scenario's, or the command's own).
    workers: processes (None: all cores). cluster: a Dask scheduler address instead of local processes.
    out: the results root. draw_figures, quiet: figures, and progress and notes on standard error.
    command: what the manifest records (None: the library call itself).
    """

    replicates: int | None = None
    seed: int | None = None
    workers: int | None = None
    cluster: str | None = None
    out: str | Path = Path(__file__).resolve().parents[2] / "results"
    draw_figures: bool = True
    quiet: bool = True
    command: str | None = None

    def __post_init__(self) -> None:
        for name in ("replicates", "seed", "workers"):
            checked(name, getattr(self, name))
        cluster_address(self.cluster)
        path_option("out", self.out)
        switch("draw_figures", self.draw_figures)
        switch("quiet", self.quiet)
        if self.command is not None and not isinstance(self.command, str):
            raise OptionError(f"command must be a string (what the manifest records), got {self.command!r}")
        object.__setattr__(self, "out", Path(self.out))

    @classmethod
    def build(cls, options: RunOptions | None = None, **keywords: Any) -> RunOptions:
        """`options` with `keywords` replacing its fields (a keyword that is no shared option: `OptionError`)."""
        if options is not None and not isinstance(options, cls):
            raise OptionError(f"options must be a sim.api.RunOptions, got {type(options).__name__}")
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(keywords) - set(fields))
        if unknown:
            raise OptionError(f"unknown option {unknown[0]!r}; the shared options are {', '.join(fields)}")
        return dataclasses.replace(options or cls(), **keywords)

    @classmethod
    def from_namespace(cls, args: Any) -> RunOptions:
        """The shared options of a parsed command line (those the command has)."""
        got = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if f.name in vars(args)}
        got.pop("command", None)  # argparse's `command` is the subcommand's name
        if "no_figures" in vars(args):
            got["draw_figures"] = not args.no_figures
        return cls(**got, command=getattr(args, "command_line", None))

    def values(self) -> tuple:
        """The fields in their order: replicates, seed, workers, cluster, out, draw_figures, quiet, command."""
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))

    def refuse(self, *names: str, command: str) -> None:
        """Options `command` has no use for, if given (calibrate has no replicates; explain no workers)."""
        given = [n for n in names if getattr(self, n) is not None]
        if given:
            raise OptionError(f"{command} takes no {given[0]} ({flag(given[0])})")

    def with_defaults(self, **defaults: Any) -> RunOptions:
        """A copy with the command's defaults for the options left at None."""
        return dataclasses.replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})


def check_options(opts: Any) -> None:
    """Every option of a parsed command line or a recorded command within its limits (`OptionError`, one line, if not).

    `opts` is anything with the options as attributes (the command line's namespace, a recorded command);
    the library functions check the same options through `RunOptions` and `checked`.
    """
    for name in LIMITS:
        checked(name, getattr(opts, name, None))
    cluster_address(getattr(opts, "cluster", None))
    iso_date("fork_at", getattr(opts, "fork_at", None) or None)
    if getattr(opts, "tables", None) is not None:
        choice("tables", opts.tables, TABLES)
    if hasattr(opts, "out"):
        path_option("out", opts.out)
