"""The data folder: read its CSV tables and check them, naming the file, line and column of any fault.

Split from `sim.inputs.network` (which builds the world and its ties from what this reads). Every reader
returns plain rows (dicts) with their line number (`_line`); every check raises `InputError` with
the file, the line and the key, so a bad table is one clear line at the command line.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date
from pathlib import Path

from sim.inputs.errors import InputError, decode_utf8

REPUBLICS = ("RSFSR", "Ukrainian SSR", "Kazakh SSR", "Georgian SSR", "Uzbek SSR", "Kyrgyz SSR", "Tajik SSR")
"""The Union republics with coal mining, in the order of every table by republic."""


def read_csv(path: Path, required: dict[str, type], what: str = "data file", unique: tuple[str, ...] = ()) -> list[dict]:
    """Read a UTF-8 CSV, check its columns and convert types, naming the file and line on error.

    Args:
        path: the file.
        required: column name -> type (`str`, `int`, `float`, `date`; `float` allows blanks as NaN).
        what: what the file is, for the not-found message.
        unique: columns that identify a row: two rows with the same values there are an error (an
            exact repeat of a whole row always is).

    Returns:
        one dict per data row, with `_line` holding its line number.
    """
    name = str(path)
    try:
        if not path.is_file():
            raise InputError(f"{what} not found", file=name)
        data = path.read_bytes()
    except OSError as exc:  # too long a name, no permission
        raise InputError(f"cannot read this {what}: {exc.strerror or exc}", file=name) from None
    text = decode_utf8(data, name)
    try:
        with io.StringIO(text, newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            dup = next((c for i, c in enumerate(header) if c in header[:i]), None)
            if dup is not None:
                raise InputError(f"column '{dup}' appears twice in the header", file=name, line=1, key=dup)
            missing = [c for c in required if c not in header]
            if missing:
                raise InputError(f"missing column(s) {', '.join(missing)}", file=name, line=1, key=missing[0])
            rows = []
            seen: dict[tuple, int] = {}
            for row in reader:
                line = reader.line_num
                if None in row:
                    raise InputError("more fields than the header", file=name, line=line)
                if None in row.values():  # DictReader fills a short row with None
                    raise InputError(f"fewer fields than the header ({len(header)} columns)", file=name, line=line)
                for key in (("row", *row.values()), ("key", *(row.get(c) for c in unique)) if unique else None):
                    if key is None:
                        continue
                    if key in seen:
                        what_dup = "repeats" if key[0] == "row" else f"has the same {', '.join(unique)} as"
                        raise InputError(f"this row {what_dup} line {seen[key]}", file=name, line=line, key=unique[0] if unique else None)
                    seen[key] = line
                out: dict = {"_line": line}
                for col, kind in required.items():
                    raw = (row.get(col) or "").strip()
                    out[col] = _convert(raw, kind, name, line, col)
                for col in header:
                    out.setdefault(col, row[col])
                rows.append(out)
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", file=name, line=reader.line_num) from None
    if not rows:
        raise InputError("no data rows under the header", file=name, line=1)
    return rows


def _convert(raw: str, kind: type, file: str, line: int, col: str):
    try:
        if kind is str:
            return raw
        if kind is float:
            v = float(raw) if raw else math.nan
            if math.isinf(v):
                raise ValueError
            return v
        if kind is int:
            return int(raw) if raw else 0
        if kind is date:
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise InputError(f"column '{col}' must be {kind.__name__}, got {raw!r}", file=file, line=line, key=col)


BASIN_COLS = {"basin": str, "republic": str, "mines_underground": int, "open_pits": int, "plants": int, "workforce": int, "source": str}
CITY_COLS = {
    "basin": str,
    "city": str,
    "republic": str,
    "lat": float,
    "lon": float,
    "population_1989": float,
    "mines_known": float,
    "pits_known": float,
    "is_hub": int,
    "source": str,
}
GRIEV_COLS = {"basin": str, "wage": float, "ecology": float, "privilege": float, "ethnic_gap": float, "paternalism": float}
MOVE_COLS = {"date": date, "republic": str, "strength": float, "source": str}
MINE_COLS = {
    "id": int,
    "name": str,
    "basin": str,
    "city": str,
    "republic": str,
    "kind": str,
    "workforce": int,
    "lat": float,
    "lon": float,
    "source": str,
}


RANGES = {
    "basins.csv": {"mines_underground": (0, 2000), "open_pits": (0, 500), "plants": (0, 2000), "workforce": (0, 2_000_000)},
    "cities.csv": {
        "lat": (-90, 90),
        "lon": (-180, 180),
        "population_1989": (0, 20_000_000),
        "mines_known": (0, 500),
        "pits_known": (0, 200),
    },
    "grievances.csv": {c: (0, 1) for c in ("wage", "ecology", "privilege", "ethnic_gap", "paternalism")},
    "movements.csv": {"strength": (0, 1)},
    "mines.csv": {"workforce": (0, 100_000), "lat": (-90, 90), "lon": (-180, 180)},
}
"""Allowed ranges of the numeric columns of the data tables (blank allowed only where the column is optional).

Indices are shares in [0, 1]; counts cannot be negative, and their upper bounds (assumption) are
far above any Soviet basin, town or enterprise of 1989 (the whole coal industry employed about
1.2 million), so only a typing slip reaches them.
"""
OPTIONAL = {("cities.csv", "population_1989"), ("cities.csv", "mines_known"), ("cities.csv", "pits_known")}


def check_ranges(rows: list[dict], path: Path) -> None:
    """Every numeric column of a data table inside its allowed range (`RANGES`), naming file, line and column."""
    for col, (lo, hi) in RANGES[path.name].items():
        for r in rows:
            v = r[col]
            if isinstance(v, float) and math.isnan(v):
                if (path.name, col) in OPTIONAL:
                    continue
                raise InputError(f"column '{col}' must not be blank", file=str(path), line=r["_line"], key=col)
            if not lo <= v <= hi:
                raise InputError(f"{col} = {v:g} must be in [{lo:g}, {hi:g}]", file=str(path), line=r["_line"], key=col)


def load_inputs(folder: Path) -> dict[str, list[dict]]:
    """Read and check the input tables of a data folder (not mines.csv)."""
    basins = [r for r in read_csv(folder / "basins.csv", BASIN_COLS, unique=("basin",)) if r["basin"] != "USSR"]
    cities = read_csv(folder / "cities.csv", CITY_COLS, unique=("basin", "city"))
    griev = read_csv(folder / "grievances.csv", GRIEV_COLS, unique=("basin",))
    moves = read_csv(folder / "movements.csv", MOVE_COLS, unique=("date", "republic"))
    names = {b["basin"] for b in basins}
    _unique(basins, "basin", folder / "basins.csv")
    _unique(griev, "basin", folder / "grievances.csv")
    for rows, fname in ((cities, "cities.csv"), (griev, "grievances.csv")):
        for r in rows:
            if r["basin"] not in names:
                raise InputError(f"unknown basin '{r['basin']}'", file=str(folder / fname), line=r["_line"], key="basin")
    for r in cities:
        if r["republic"] not in REPUBLICS:
            raise InputError(f"unknown republic '{r['republic']}'", file=str(folder / "cities.csv"), line=r["_line"], key="republic")
    for rows, fname in ((basins, "basins.csv"), (cities, "cities.csv"), (griev, "grievances.csv"), (moves, "movements.csv")):
        check_ranges(rows, folder / fname)
    for r in moves:
        if r["republic"] not in REPUBLICS:
            raise InputError(f"unknown republic '{r['republic']}'", file=str(folder / "movements.csv"), line=r["_line"], key="republic")
    townless = [b["basin"] for b in basins if not any(c["basin"] == b["basin"] for c in cities)]
    if townless:
        b = next(r for r in basins if r["basin"] == townless[0])
        raise InputError(f"basin '{townless[0]}' has no town in cities.csv", file=str(folder / "basins.csv"), line=b["_line"], key="basin")
    missing = names - {g["basin"] for g in griev}
    if missing:
        raise InputError(f"no row for basin(s) {', '.join(sorted(missing))}", file=str(folder / "grievances.csv"), key="basin")
    return {"basins": basins, "cities": cities, "grievances": griev, "movements": moves}


def _unique(rows: list[dict], col: str, path: Path) -> None:
    seen: set = set()
    for r in rows:
        if r[col] in seen:
            raise InputError(f"duplicate {col} '{r[col]}'", file=str(path), line=r["_line"], key=col)
        seen.add(r[col])


DATA_FILES = ("basins.csv", "cities.csv", "grievances.csv", "movements.csv", "mines.csv", "oblasts.csv", "vote_shocks.csv")
"""The tables of a data folder that a run reads (the last two optional: `sim.inputs.oblasts`)."""


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of each data table of a folder (a missing one: 'missing'), for manifests and resume keys."""
    import hashlib

    out = {}
    for fname in DATA_FILES:
        path = Path(folder) / fname
        out[fname] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
    return out
