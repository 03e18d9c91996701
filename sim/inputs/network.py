"""The mine network: derive enterprises from basin totals, build the world and its ties (the tables are read by `sim.inputs.datafiles`).

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

import math
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sim.inputs.datafiles import MINE_COLS, REPUBLICS, check_ranges, file_hashes, load_inputs, read_csv
from sim.inputs.errors import InputError
from sim.inputs.oblasts import VoteInputs, load_vote_inputs

DATA_SEED = 1989
"""Seed of the derivation rule (mine workforces, inter-town links); part of the data, not of a run."""

LINKS_PER_MINE = 4
"""Inter-town links per enterprise within its basin (assumption: a few known enterprises elsewhere)."""

KIND_WEIGHT = {"underground": 1.0, "open_pit": 0.8, "plant": 0.35}
"""Relative workforce of an enterprise by kind (assumption: pits are mechanised, plants small)."""

STAGES = ("material", "political", "sovereignty")


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
    vote: VoteInputs | None = field(default=None, repr=False)  # oblasts.csv and vote_shocks.csv (the vote-scale measure)

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
                f"derived (rule of sim.inputs.network.derive_mines, seed {seed}) from basins.csv line {b['_line']} "
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


def load_world(folder: str | Path) -> World:
    """Load a data folder into a World (enterprises from mines.csv, ties built by the rule).

    Args:
        folder: a folder holding basins.csv, cities.csv, grievances.csv, movements.csv, mines.csv.
    """
    folder = Path(folder)
    tables = load_inputs(folder)
    mines = read_csv(folder / "mines.csv", MINE_COLS, unique=("id",))
    check_ranges(mines, folder / "mines.csv")
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
        vote=load_vote_inputs(folder),
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
