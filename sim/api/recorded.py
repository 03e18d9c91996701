"""The command a results folder records: the `python run.py ...` line of the call that wrote it, its paths relative to the repository.

A call from Python (`sim.api.run_scenario(...)`) and the same command typed at the command line
record the same line, built here from the call's own options, so that `python run.py rerun FOLDER`
reproduces either. A relative path in the line is relative to the repository (`ROOT`), never to the
folder the call was made from: the line means the same from any working folder, and `rerun` reads it
so (`repository_path`). A path outside the repository is written absolute (and `rerun` refuses it).

The line holds what the results depend on (the command, its files and options, `--no-figures`),
not where or how the process ran: `out` (the folder itself says where), `workers` and `cluster` (the
manifest's executor), `quiet`, and `fresh` and `resume` (a resumed result equals an uninterrupted one).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from sim.api.common import ROOT
from sim.api.options import RunOptions

COMMANDS = {
    "run_scenario": ("run", ("scenario",)),
    "validate": ("validate", ()),
    "compare": ("compare", ("scenarios",)),
    "thesis": ("thesis", ()),
    "calibrate": ("calibrate", ()),
    "sensitivity": ("sensitivity", ()),
    "explain_town": ("explain", ("scenario",)),
}
"""Each library function's command of run.py and its positional options (the others are `--name-with-dashes`)."""
FLAGS = {"day": "--date"}
"""Keywords whose option is not named after them."""
PATHS = ("scenario", "scenarios", "targets", "priors", "arm", "suite", "sensitivity")
"""Options that name files or folders: written relative to the repository (`rerun` reads them against it)."""
HOW = ("out", "workers", "cluster", "quiet", "fresh", "resume", "command")
"""Where and how a call ran, not what it computed: left out of the line."""


def repository_path(value: str | os.PathLike) -> str:
    """A path as the recorded line writes it: relative to the repository if it lies inside, else absolute ('' stays '')."""
    if isinstance(value, str) and not value:
        return value
    p = Path(value).resolve()  # a relative path is the caller's, read against the folder the call is made from
    if p.is_relative_to(ROOT):
        word = p.relative_to(ROOT).as_posix()
        return f"./{word}" if word.startswith("-") else word  # never read as an option
    return p.as_posix()


def _words(name: str, value: Any) -> list[str]:
    """The words of one option's value (none for None or False)."""
    if value is None or value is False:
        return []
    if value is True:
        return [""]  # a switch: its flag alone
    many = isinstance(value, Iterable) and not isinstance(value, (str, bytes, os.PathLike))
    items = list(value) if many else [value]
    if name in PATHS:
        return [repository_path(v) for v in items]
    return [v.isoformat() if isinstance(v, date) else str(v) for v in items]


def command_line(function: str, options: RunOptions, **keywords: Any) -> str:
    """The `python run.py ...` line for the library call `function(**keywords, options=options)`, as a manifest records it."""
    command, positional = COMMANDS[function]
    shared = {"replicates": options.replicates, "seed": options.seed}
    words = ["python", "run.py", command]
    for name, value in {**keywords, **shared}.items():
        if name in HOW:
            continue
        if value is None and name in PATHS and name != "suite":  # no file (`targets=None`): '' on the command line, not its default
            value = ""
        got = _words(name, value)
        if name in positional:
            words += got
        elif name == "suite" and not got:  # an empty suite is the default suite
            continue
        elif got or isinstance(value, (list, tuple)):  # an empty list of priors is `--priors` alone
            words += [FLAGS.get(name, "--" + name.replace("_", "-")), *(w for w in got if w or value is not True)]
    if not options.draw_figures:
        words.append("--no-figures")
    return shlex.join(words)
