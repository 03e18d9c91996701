"""The population around the mines (`oblasts.csv`) and the dated shocks of 1990-1991 (`vote_shocks.csv`).

What the vote-scale allegiance measure (`sim.model.vote`) reads from a data folder: per oblast, its
adults of 1989 and the share of them who are miners and their families, its 1989 census composition
and its March 1990 council indicator; per republic, the dated decisions that move everyone. Both files
are optional: without them no oblast has the 1989 adults the measure needs, and the measure says so.
Errors name the file, line and column (`sim.inputs.datafiles.read_csv`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sim.inputs.datafiles import REPUBLICS, read_csv
from sim.inputs.errors import InputError

OBLAST_COLS = {
    "republic": str,
    "oblast": str,
    "adults_1989": float,
    "miners_adult_share": float,
    "russian_share": float,
    "titular_share": float,
    "stance_indicator": str,
    "stance_value": float,
}
SHOCK_COLS = {"date": date, "republic": str, "kind": str, "source": str}
SHOCK_KINDS = ("sovereignty", "treaty", "coup", "independence")
"""Kinds of dated shock; the size of each is the parameter `vote_shock_<kind>`."""


@dataclass(frozen=True)
class Oblast:
    """One oblast's 1989-1990 inputs (NaN where `oblasts.csv` has no sourced value)."""

    adults: float
    miners_share: float
    russian: float
    titular: float
    council: float  # 1 if the Democratic Bloc won the oblast council in March 1990, 0 if not, NaN if unknown


@dataclass(frozen=True)
class Shock:
    """A dated decision acting on every adult of a republic."""

    day: date
    republic: str
    kind: str


@dataclass(frozen=True)
class VoteInputs:
    """The measure's inputs: oblasts by (republic, oblast), and the dated shocks."""

    oblasts: dict[tuple[str, str], Oblast]
    shocks: tuple[Shock, ...]


def _share(row: dict, col: str, path: Path) -> float:
    v = row[col]
    if not math.isnan(v) and not 0 <= v <= 1:
        raise InputError(f"{col} = {v:g} must be a share in [0, 1]", file=str(path), line=row["_line"], key=col)
    return v


def load_vote_inputs(folder: Path) -> VoteInputs:
    """Read `oblasts.csv` and `vote_shocks.csv` of a data folder (either may be absent: then empty)."""
    folder = Path(folder)
    oblasts: dict[tuple[str, str], Oblast] = {}
    path = folder / "oblasts.csv"
    if path.is_file():
        for r in read_csv(path, OBLAST_COLS, "oblasts file", unique=("republic", "oblast")):
            if r["republic"] not in REPUBLICS:
                raise InputError(f"unknown republic '{r['republic']}'", file=str(path), line=r["_line"], key="republic")
            adults = r["adults_1989"]
            if not math.isnan(adults) and not 0 < adults <= 20_000_000:
                raise InputError(f"adults_1989 = {adults:g} must be in (0, 20,000,000]", file=str(path), line=r["_line"], key="adults_1989")
            council = _share(r, "stance_value", path) if r["stance_indicator"] == "db_council_1990" else math.nan
            oblasts[(r["republic"], r["oblast"])] = Oblast(
                adults, _share(r, "miners_adult_share", path), _share(r, "russian_share", path), _share(r, "titular_share", path), council
            )
    shocks = []
    path = folder / "vote_shocks.csv"
    if path.is_file():
        for r in read_csv(path, SHOCK_COLS, "shocks file", unique=("date", "republic", "kind")):
            if r["republic"] not in REPUBLICS:
                raise InputError(f"unknown republic '{r['republic']}'", file=str(path), line=r["_line"], key="republic")
            if r["kind"] not in SHOCK_KINDS:
                raise InputError(
                    f"kind must be one of {', '.join(SHOCK_KINDS)}, got {r['kind']!r}", file=str(path), line=r["_line"], key="kind"
                )
            shocks.append(Shock(r["date"], r["republic"], r["kind"]))
    return VoteInputs(oblasts, tuple(sorted(shocks, key=lambda s: (s.day, s.republic, s.kind))))
