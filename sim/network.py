"""The mine network: read the data tables, derive enterprises from basin totals, build the ties.

Tables (in a scenario's data folder, each row with its source):

- `basins.csv`: one row per basin (counts, workforce, wages), from `shared/data/basins_1989.csv`
  plus the `plants` column (enterprises other than mines and pits).
- `cities.csv`: mining towns with 1989 population, coordinates and any sourced mine counts.
- `grievances.csv`: per-basin initial grievances, paternalism and the management's ethnic gap.
- `movements.csv`: strength of the republican national movements over time.
- `mines.csv`: the enterprises, derived from the three tables above by `derive_mines` (a seeded,
  documented rule) and committed so every row can be read; `tests` check it is up to date.

The unit of the model is the coal *enterprise* (underground mine, open pit, or other enterprise of
the coal associations: preparation plants, repair, transport), because the July 1989 counts are of
enterprises (158 in Kuzbass on 15 July, against ~95 mines and pits there).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sim.errors import InputError, decode_utf8

DATA_SEED = 1989
"""Seed of the derivation rule (mine workforces, inter-town links); part of the data, not of a run."""

LINKS_PER_MINE = 4
"""Inter-town links per enterprise within its basin (assumption: a few known enterprises elsewhere)."""

KIND_WEIGHT = {"underground": 1.0, "open_pit": 0.8, "plant": 0.35}
"""Relative workforce of an enterprise by kind (assumption: pits are mechanised, plants small)."""

REPUBLICS = ("RSFSR", "Ukrainian SSR", "Kazakh SSR", "Georgian SSR", "Uzbek SSR", "Kyrgyz SSR", "Tajik SSR")

STAGES = ("material", "political", "sovereignty")


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


@dataclass(frozen=True, eq=False)
class World:
    """The static world of a run: enterprises, towns, basins, republics and their ties.

    Arrays are indexed by enterprise (length n) unless named otherwise.
    """

    mine_id: np.ndarray
    mine_name: np.ndarray
    basin: np.ndarray  # int index into basin_names
    city: np.ndarray  # int index into city_names
    republic: np.ndarray  # int index into REPUBLICS
    kind: np.ndarray  # str
    workforce: np.ndarray  # persons
    lat: np.ndarray
    lon: np.ndarray
    grievance: np.ndarray  # (n, 3): wage, ecology, privilege in [0, 1]
    paternalism: np.ndarray
    ethnic_gap: np.ndarray
    basin_names: tuple[str, ...]
    city_names: tuple[str, ...]
    city_basin: np.ndarray  # basin index of each town
    city_oblast: tuple[str, ...]  # oblast (krai, ASSR) of each town
    basin_republic: np.ndarray  # republic index of each basin (of its first town for mixed rows)
    hub_city: np.ndarray  # town index of each basin's hub
    a_city: sp.csr_matrix  # row-normalised same-town ties
    a_basin: sp.csr_matrix  # row-normalised inter-town ties within a basin
    a_deleg: sp.csr_matrix  # row-normalised ties between basin hubs
    movements: list[dict] = field(repr=False)  # rows of movements.csv
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256, for the manifest

    _group_matrices: dict = field(default_factory=dict, repr=False)

    def _group_sum(self, values: np.ndarray, index: np.ndarray, groups: int) -> np.ndarray:
        """Sum (R, m) values into (R, groups) by `index` (m,), in ascending element order.

        One sparse product with a cached (groups, m) membership matrix: each group is summed in the
        same ascending order whatever R is, so a replicate's sums do not depend on the batch it runs
        in (a dense BLAS product blocks its sums by the batch's shape, and its last bits change with it).
        """
        v = np.asarray(values, dtype=float)
        v = v.reshape(-1, v.shape[-1])
        key = (id(index), groups)
        g = self._group_matrices.get(key)
        if g is None:
            m = index.size
            g = sp.csr_matrix((np.ones(m), (index, np.arange(m))), shape=(groups, m))
            self._group_matrices[key] = (g, index)  # keep `index` alive: its id is the key
        else:
            g = g[0]
        return np.asarray(g @ v.T).T

    @cached_property
    def _everyone(self) -> np.ndarray:
        return np.zeros(self.n, dtype=np.intp)

    def total(self, values: np.ndarray) -> np.ndarray:
        """(R, n) enterprise values summed over all enterprises: (R,), in a fixed order."""
        return self._group_sum(values, self._everyone, 1)[:, 0]

    def by_basin(self, values: np.ndarray) -> np.ndarray:
        """(R, n) enterprise values summed by basin: (R, B)."""
        return self._group_sum(values, self.basin, self.n_basins)

    def by_city(self, values: np.ndarray) -> np.ndarray:
        """(R, n) enterprise values summed by town: (R, C)."""
        return self._group_sum(values, self.city, self.n_cities)

    def by_area(self, values: np.ndarray) -> np.ndarray:
        """(R, n) enterprise values summed by committee area (towns, then basins): (R, K)."""
        return np.concatenate([self.by_city(values), self.by_basin(values)], axis=1)

    def by_republic(self, values: np.ndarray) -> np.ndarray:
        """(R, n) enterprise values summed by republic: (R, len(REPUBLICS))."""
        return self._group_sum(values, self.republic, len(REPUBLICS))

    def areas_by_basin(self, values: np.ndarray) -> np.ndarray:
        """(R, K) committee-area values summed by basin: (R, B)."""
        return self._group_sum(values, self.k_basin, self.n_basins)

    def towns_by_basin(self, values: np.ndarray) -> np.ndarray:
        """(R, C) town values summed by basin: (R, B)."""
        return self._group_sum(values, self.city_basin, self.n_basins)

    @cached_property
    def basin_to_republic(self) -> np.ndarray:
        """(B, P) republic of each basin (of its hub town)."""
        return _onehot(self.basin_republic, len(REPUBLICS))

    @cached_property
    def a_levels(self) -> sp.csr_matrix:
        """(3n, n) the town, basin and delegate tie matrices stacked, for one product a day."""
        return sp.vstack([self.a_city, self.a_basin, self.a_deleg]).tocsr()

    @cached_property
    def n_by_basin(self) -> np.ndarray:
        """(B,) enterprises per basin."""
        return np.bincount(self.basin, minlength=self.n_basins).astype(float)

    @cached_property
    def n_by_area(self) -> np.ndarray:
        """(K,) enterprises per committee area."""
        return self.by_area(np.ones((1, self.n)))[0]

    @cached_property
    def towns_per_basin(self) -> np.ndarray:
        """(B,) towns per basin."""
        return np.bincount(self.city_basin, minlength=self.n_basins).astype(float)

    @cached_property
    def workforce_by_basin(self) -> np.ndarray:
        """(B,) workforce per basin."""
        return self.by_basin(self.workforce[None, :])[0]

    @cached_property
    def workforce_by_area(self) -> np.ndarray:
        """(K,) workforce per committee area."""
        return self.by_area(self.workforce[None, :])[0]

    @cached_property
    def workforce_by_republic(self) -> np.ndarray:
        """(P,) workforce per republic."""
        return self.by_republic(self.workforce[None, :])[0]

    @cached_property
    def basin_ethnic(self) -> np.ndarray:
        """(B,) the management's ethnic gap by basin."""
        out = np.zeros(self.n_basins)
        out[self.basin] = self.ethnic_gap
        return out

    @cached_property
    def k_basin(self) -> np.ndarray:
        """(K,) basin index of each committee (towns, then basins)."""
        return np.concatenate([self.city_basin, np.arange(self.n_basins)])

    @cached_property
    def alone(self) -> np.ndarray:
        """(n,) True for enterprises that are the only one of their town."""
        return np.asarray(self.a_city.sum(axis=1)).ravel() == 0

    @property
    def n(self) -> int:
        """Number of enterprises."""
        return len(self.mine_id)

    @property
    def n_basins(self) -> int:
        """Number of basins."""
        return len(self.basin_names)

    @property
    def n_cities(self) -> int:
        """Number of towns."""
        return len(self.city_names)

    def movement_series(self, days: list[date]) -> np.ndarray:
        """Movement strength by day and republic, piecewise constant from each dated row.

        Returns:
            array (len(days), len(REPUBLICS)) in [0, 1].
        """
        out = np.zeros((len(days), len(REPUBLICS)))
        ordinals = np.array([d.toordinal() for d in days])
        for row in sorted(self.movements, key=lambda r: r["date"]):
            r = REPUBLICS.index(row["republic"])
            out[ordinals >= row["date"].toordinal(), r] = row["strength"]
        return out

    def edges(self) -> list[tuple[int, int, str]]:
        """Undirected ties (i, j, level) with i < j, for the Mesa network and drawings."""
        out = []
        for level, a in (("city", self.a_city), ("basin", self.a_basin), ("delegate", self.a_deleg)):
            coo = sp.triu(a + a.T, k=1).tocoo()
            out.extend((int(i), int(j), level) for i, j in zip(coo.row, coo.col, strict=True))
        return out


def _onehot(index: np.ndarray, groups: int) -> np.ndarray:
    """(len(index), groups) dense membership matrix: row i has a 1 in column index[i]."""
    out = np.zeros((index.size, groups))
    out[np.arange(index.size), index] = 1.0
    return out


def derive_mines(basins: list[dict], cities: list[dict], seed: int = DATA_SEED) -> list[dict]:
    """Derive one row per enterprise from basin totals and town data (the documented rule).

    Rule: (1) a town's sourced counts (`mines_known`, `pits_known`) are kept; (2) each basin's
    remaining mines, pits and plants are apportioned to its towns in proportion to 1989 town
    population (largest remainder, so totals are exact), plants in proportion to the town's mines
    and pits; (3) the basin's workforce is split over its enterprises by kind weight (KIND_WEIGHT)
    times a lognormal jitter (sd 0.3) drawn from a generator seeded with `seed`, then scaled to the
    basin total.

    Args:
        basins: rows of basins.csv.
        cities: rows of cities.csv.
        seed: seed of the jitter.

    Returns:
        rows with id, name, basin, city, republic, kind, workforce, lat, lon, source.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for b in basins:
        towns = [c for c in cities if c["basin"] == b["basin"]]
        if not towns:
            raise InputError(f"basin '{b['basin']}' has no town in cities.csv", file="cities.csv", key="basin")
        pop = np.array([max(c["population_1989"], 1.0) if not math.isnan(c["population_1989"]) else 1.0 for c in towns])
        counts = {}
        for kind, total_col, known_col in (("underground", "mines_underground", "mines_known"), ("open_pit", "open_pits", "pits_known")):
            known = np.array([0 if math.isnan(c[known_col]) else int(c[known_col]) for c in towns])
            free = np.array([math.isnan(c[known_col]) for c in towns])
            rest = b[total_col] - known.sum()
            if rest < 0:
                raise InputError(
                    f"towns of {b['basin']} list {known.sum()} {kind} enterprises, more than the basin's {b[total_col]}",
                    file="cities.csv",
                    key=known_col,
                )
            weights = pop * free if free.any() else pop
            counts[kind] = known + _apportion(rest, weights)
        counts["plant"] = _apportion(b["plants"], counts["underground"] + counts["open_pit"] + 1e-9)
        start = len(rows)
        for t, town in enumerate(towns):
            for kind in ("underground", "open_pit", "plant"):
                for k in range(int(counts[kind][t])):
                    rows.append(
                        {
                            "basin": b["basin"],
                            "city": town["city"],
                            "republic": town["republic"],
                            "kind": kind,
                            "name": f"{town['city']} {kind.replace('_', ' ')} {k + 1}",
                            "lat": town["lat"],
                            "lon": town["lon"],
                        }
                    )
        mine_rows = rows[start:]
        w = np.array([KIND_WEIGHT[r["kind"]] for r in mine_rows]) * rng.lognormal(0.0, 0.3, len(mine_rows))
        wf = _apportion(int(b["workforce"]), w)
        for r, x in zip(mine_rows, wf, strict=True):
            r["workforce"] = int(x)
            r["source"] = (
                f"derived (rule of sim.network.derive_mines, seed {seed}) from basins.csv line {b['_line']} "
                f"and cities.csv line {next(c['_line'] for c in towns if c['city'] == r['city'])}"
            )
    for i, r in enumerate(rows):
        r["id"] = i
    return rows


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split integer `total` in proportion to `weights` by largest remainder (exact sum)."""
    weights = np.asarray(weights, dtype=float)
    total = int(total)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=int)
    quota = total * weights / weights.sum()
    base = np.floor(quota).astype(int)
    order = np.argsort(-(quota - base), kind="stable")
    base[order[: total - base.sum()]] += 1
    return base


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


def _check_ranges(rows: list[dict], path: Path) -> None:
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
        _check_ranges(rows, folder / fname)
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


DATA_FILES = ("basins.csv", "cities.csv", "grievances.csv", "movements.csv", "mines.csv")
"""The tables of a data folder that a run reads."""


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of each data table of a folder (a missing one: 'missing'), for manifests and resume keys."""
    import hashlib

    out = {}
    for fname in DATA_FILES:
        path = Path(folder) / fname
        out[fname] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
    return out


def load_world(folder: str | Path) -> World:
    """Load a data folder into a World (enterprises from mines.csv, ties built by the rule).

    Args:
        folder: a folder holding basins.csv, cities.csv, grievances.csv, movements.csv, mines.csv.
    """
    folder = Path(folder)
    tables = load_inputs(folder)
    mines = read_csv(folder / "mines.csv", MINE_COLS, unique=("id",))
    _check_ranges(mines, folder / "mines.csv")
    basin_names = tuple(b["basin"] for b in tables["basins"])
    towns = tables["cities"]
    city_key = {(c["basin"], c["city"]): i for i, c in enumerate(towns)}
    for m in mines:
        if m["basin"] not in basin_names:
            raise InputError(f"unknown basin '{m['basin']}'", file=str(folder / "mines.csv"), line=m["_line"], key="basin")
        if (m["basin"], m["city"]) not in city_key:
            raise InputError(f"town '{m['city']}' not in cities.csv", file=str(folder / "mines.csv"), line=m["_line"], key="city")
        if m["republic"] not in REPUBLICS:
            raise InputError(f"unknown republic '{m['republic']}'", file=str(folder / "mines.csv"), line=m["_line"], key="republic")
        if m["kind"] not in KIND_WEIGHT:
            raise InputError(
                f"kind '{m['kind']}' is not one of {', '.join(KIND_WEIGHT)}", file=str(folder / "mines.csv"), line=m["_line"], key="kind"
            )
    basin = np.array([basin_names.index(m["basin"]) for m in mines])
    city = np.array([city_key[(m["basin"], m["city"])] for m in mines])
    republic = np.array([REPUBLICS.index(m["republic"]) for m in mines])
    griev = {g["basin"]: g for g in tables["grievances"]}
    gb = np.array([[griev[b]["wage"], griev[b]["ecology"], griev[b]["privilege"]] for b in basin_names])
    city_basin = np.array([basin_names.index(c["basin"]) for c in towns])
    hub_city = np.zeros(len(basin_names), dtype=int)
    for b in range(len(basin_names)):
        idx = np.flatnonzero(city_basin == b)
        hubs = [i for i in idx if towns[i]["is_hub"] == 1]
        hub_city[b] = hubs[0] if hubs else idx[np.argmax([towns[i]["population_1989"] for i in idx])]
    basin_republic = np.array([REPUBLICS.index(towns[hub_city[b]]["republic"]) for b in range(len(basin_names))])
    lat = np.array([m["lat"] for m in mines])
    lon = np.array([m["lon"] for m in mines])
    a_city, a_basin, a_deleg = build_ties(basin, city, hub_city, lat, lon)
    files = file_hashes(folder)
    return World(
        mine_id=np.array([m["id"] for m in mines]),
        mine_name=np.array([m["name"] for m in mines]),
        basin=basin,
        city=city,
        republic=republic,
        kind=np.array([m["kind"] for m in mines]),
        workforce=np.array([m["workforce"] for m in mines], dtype=float),
        lat=lat,
        lon=lon,
        grievance=gb[basin],
        paternalism=np.array([griev[b]["paternalism"] for b in basin_names])[basin],
        ethnic_gap=np.array([griev[b]["ethnic_gap"] for b in basin_names])[basin],
        basin_names=basin_names,
        city_names=tuple(c["city"] for c in towns),
        city_basin=city_basin,
        city_oblast=tuple(c["oblast"] for c in towns),
        basin_republic=basin_republic,
        hub_city=hub_city,
        a_city=a_city,
        a_basin=a_basin,
        a_deleg=a_deleg,
        movements=tables["movements"],
        files=files,
    )


def build_ties(
    basin: np.ndarray, city: np.ndarray, hub_city: np.ndarray, lat: np.ndarray, lon: np.ndarray, seed: int = DATA_SEED
) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """Build the three tie levels as row-normalised sparse matrices (rows sum to 1 or 0).

    - town: every pair of enterprises of one town;
    - basin: each enterprise links to LINKS_PER_MINE enterprises of other towns of its basin,
      chosen with probability proportional to 1 / (distance + 20 km) (nearer towns know each
      other better; assumption), symmetrised;
    - delegate: each enterprise of a basin's hub town links to LINKS_PER_MINE enterprises of
      other basins' hub towns (travelling delegates), symmetrised.
    """
    n = len(basin)
    rng = np.random.default_rng(seed)
    # town ties without an n x n dense matrix (10^5 enterprises would need 75 GB): one-hot products
    member = sp.csr_matrix((np.ones(n), (np.arange(n), city)), shape=(n, int(city.max()) + 1))
    a_city = (member @ member.T).tocsr()
    a_city.setdiag(0)
    a_city.eliminate_zeros()
    a_city.sort_indices()
    rows, cols = [], []
    in_basin = {b: np.flatnonzero(basin == b) for b in np.unique(basin)}
    for i in range(n):
        same = in_basin[basin[i]]
        cand = same[city[same] != city[i]]
        if cand.size == 0:
            continue
        d = _km(lat[i], lon[i], lat[cand], lon[cand])
        w = 1.0 / (d + 20.0)
        k = min(LINKS_PER_MINE, cand.size)
        pick = rng.choice(cand, size=k, replace=False, p=w / w.sum())
        rows.extend([i] * k)
        cols.extend(pick.tolist())
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    a_basin = ((m + m.T) > 0).astype(float)
    hub = np.flatnonzero(np.isin(city, hub_city))
    rows, cols = [], []
    for i in hub:
        cand = hub[basin[hub] != basin[i]]
        k = min(LINKS_PER_MINE, cand.size)
        rows.extend([i] * k)
        cols.extend(rng.choice(cand, size=k, replace=False).tolist())
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    a_deleg = ((m + m.T) > 0).astype(float)
    return tuple(_row_normalise(a) for a in (a_city, a_basin, a_deleg))  # type: ignore[return-value]


def _row_normalise(a: sp.spmatrix) -> sp.csr_matrix:
    a = sp.csr_matrix(a)
    s = np.asarray(a.sum(axis=1)).ravel()
    inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
    return sp.csr_matrix(sp.diags(inv) @ a)


def _km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(lon2 - lon1)
    c = np.sin(p1) * np.sin(p2) + np.cos(p1) * np.cos(p2) * np.cos(dl)
    return 6371.0 * np.arccos(np.clip(c, -1, 1))
