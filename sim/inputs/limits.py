"""Every numeric option's type and range, declared once: the command line, the library (`sim.api`), `rerun` and scenario files use them.

`checked(name, value)` is the one check: the value's type (an int is not a bool, a str or a float)
and its range, or an `OptionError` of one line naming the option's flag and keyword.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.inputs.errors import OptionError

MAX_REPLICATES = 1_000_000
"""The most replicates a command or a scenario file may ask for (the same limit as `replicates` in a scenario)."""


@dataclass(frozen=True)
class Limit:
    """A numeric option: its type (int or float) and its range [lo, hi] (hi excluded when `open_hi`)."""

    kind: type
    lo: float
    hi: float
    open_hi: bool = False

    def text(self) -> str:
        """The range for people: [1, 1,000,000], [0, 1)."""
        fmt = (lambda v: "2**63 - 1" if v == 2**63 - 1 else f"{v:,}") if self.kind is int else (lambda v: f"{v:g}")
        return f"[{fmt(self.lo)}, {fmt(self.hi)}{')' if self.open_hi else ']'}"


LIMITS: dict[str, Limit] = {
    "replicates": Limit(int, 1, MAX_REPLICATES),
    "seed": Limit(int, 0, 2**63 - 1),
    "workers": Limit(int, 1, 1024),
    "predictive": Limit(int, 1, MAX_REPLICATES),
    "population": Limit(int, 2, 100_000),
    "generations": Limit(int, 1, 1_000),
    "minutes": Limit(float, 0.5, 10_080.0),
    "flip_points": Limit(int, 0, 10_000),
    "flip_replicates": Limit(int, 1, 1_000),
    "flip_confirm": Limit(int, 1, 10_000),
    "replicate": Limit(int, 0, MAX_REPLICATES - 1),
    "port": Limit(int, 1, 65_535),
    "rtol": Limit(float, 0.0, 1.0, open_hi=True),
}
"""Every numeric option of every command (the command line's, the library's and a rerun's): type and range.

`flip_points` of 100,000,000 took 18 GB; `explain --replicate` draws that many seeds: the limits
keep each option to what a run on a workstation or a cluster can do in hours, not what fits in a word.
"""

FLAGS = {"day": "--date", "draw_figures": "--no-figures"}
"""An option's command-line flag where it is not --NAME (with dashes)."""


def flag(name: str) -> str:
    """An option as messages name it: its flag, and the library's keyword where it is spelt otherwise (--fork-at (fork_at))."""
    f = FLAGS.get(name, "--" + name.replace("_", "-"))
    return f if f == "--" + name else f"{f} ({name})"


def checked(name: str, value: Any, *, optional: bool = True) -> Any:
    """`value` of numeric option `name` if it has the type and lies in the range of `LIMITS[name]` (None passes, as the default, when `optional`).

    Raises:
        OptionError: one line naming the keyword and the flag, the range and the value.
    """
    if value is None and optional:
        return None
    lim = LIMITS[name]
    what = f"{flag(name)} must be {'an integer' if lim.kind is int else 'a number'} in {lim.text()}"
    if isinstance(value, bool) or not isinstance(value, (int, float) if lim.kind is float else int):
        raise OptionError(f"{what}, got {value!r} ({type(value).__name__})")
    if not (lim.lo <= value < lim.hi if lim.open_hi else lim.lo <= value <= lim.hi):  # also NaN
        shown = (
            f"{value:.4g}"
            if isinstance(value, float)
            else (f"{value}" if abs(value) < 10**30 else f"an integer of {len(str(value))} digits")
        )
        raise OptionError(f"{what}, got {shown}")
    return value
