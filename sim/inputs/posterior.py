"""Posterior parameter draws: read, checked, and sampled one set per replicate.

A posterior file (`calibration/fitted/posterior.parquet`, written by `python run.py calibrate`)
is a table with one row per accepted parameter set: one column per calibrated parameter (names of
`sim.inputs.params.Params`) and a `weight` column (ABC-SMC importance weights). A scenario with
`parameters = "posterior"` draws one row per replicate, by weight, from the replicate's own seed
(stream `params`), so two arms run with the same seeds get the same parameter draws.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.inputs.errors import InputError
from sim.inputs.params import Params
from sim.inputs.rng import Streams

FITTED = Path(__file__).resolve().parents[2] / "calibration" / "fitted" / "posterior.parquet"
"""The project's committed posterior (what `parameters = "posterior"` means)."""


@dataclass(frozen=True)
class Posterior:
    """Weighted parameter draws.

    Attributes:
        path: the file read.
        names: calibrated parameter names (columns).
        values: (D, k) draws.
        weights: (D,) normalised weights.
        sha256: hash of the file's bytes (recorded in manifests).
    """

    path: Path
    names: tuple[str, ...]
    values: np.ndarray
    weights: np.ndarray
    sha256: str

    def index_for(self, seeds: list[int]) -> np.ndarray:
        """Row drawn (by weight) for each replicate seed, from its `params` stream."""
        cdf = np.cumsum(self.weights)
        u = np.array([Streams(s).gen["params"].random() for s in seeds])
        return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(cdf) - 1)

    def params_for(self, seeds: list[int], base: Params, keep: tuple[str, ...] = ()) -> tuple[list[Params], np.ndarray]:
        """One parameter set per replicate: `base` with the drawn row's values.

        Args:
            seeds: replicate seeds.
            base: parameters the draws are applied to (the scenario's).
            keep: names the scenario sets explicitly; those keep the scenario's value.

        Returns:
            (parameter sets, drawn row indices).
        """
        idx = self.index_for(seeds)
        cols = [(j, n) for j, n in enumerate(self.names) if n not in keep]
        out = [dataclasses.replace(base, **{n: float(self.values[i, j]) for j, n in cols}) for i in idx]
        return out, idx

    def mean(self) -> dict[str, float]:
        """Weighted posterior mean of each parameter."""
        return {n: float(np.average(self.values[:, j], weights=self.weights)) for j, n in enumerate(self.names)}


_CACHE: dict[tuple[str, int, int], Posterior] = {}


def posterior_for(path: str | Path) -> Posterior:
    """`load_posterior`, once per process and file version (keyed by path, size and modification time)."""
    st = Path(path).stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _CACHE:
        _CACHE[key] = load_posterior(path)
    return _CACHE[key]


def load_posterior(path: str | Path) -> Posterior:
    """Read and check a posterior file.

    Raises:
        InputError: naming the file and the column or row for a missing file, an unreadable table,
            an unknown parameter, a value out of its range, or bad weights.
    """
    import pandas as pd

    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError("posterior file not found (make one with `python run.py calibrate --install`)", file=name)
    raw = path.read_bytes()
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise InputError(f"not a readable Parquet table ({type(exc).__name__})", file=name) from None
    if "weight" not in df.columns:
        raise InputError("missing column 'weight'", file=name, key="weight")
    fields = {f.name: f for f in dataclasses.fields(Params)}
    names = tuple(c for c in df.columns if c != "weight")
    if not names or df.empty:
        raise InputError("no parameter columns or no rows", file=name)
    for c in names:
        if c not in fields:
            raise InputError(f"column '{c}' is not a model parameter", file=name, key=c)
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        lo, hi = fields[c].metadata["lo"], fields[c].metadata["hi"]
        bad = np.flatnonzero(~np.isfinite(v) | (v < lo) | (v > hi))
        if bad.size:
            raise InputError(f"column '{c}', row {bad[0] + 1}: {v[bad[0]]!r} is outside [{lo}, {hi}]", file=name, key=c)
    w = pd.to_numeric(df["weight"], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise InputError("weights must be finite, non-negative and not all zero", file=name, key="weight")
    return Posterior(
        path=path,
        names=names,
        values=df[list(names)].to_numpy(dtype=float),
        weights=w / w.sum(),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def sign_share(values: np.ndarray, rows: np.ndarray, sign: int) -> float:
    """The posterior probability of the predicted sign: the share of posterior draws whose paired effect has it.

    Every replicate of a thesis draws one row of the posterior (by weight, `sim.inputs.posterior`), so the
    draws' shares estimate the posterior mass. The pairs that drew the same row are averaged first (the
    row's effect with chance averaged out as far as its pairs allow); each row then counts with its share
    of the draws. An effect of exactly 0 counts for neither sign.

    Args:
        values: paired effects (reference minus arm), one per replicate.
        rows: the posterior row each replicate drew (`Posterior.index_for` of the replicate seeds).
        sign: the predicted sign (+1 or -1).
    """
    v, r = np.asarray(values, dtype=float), np.asarray(rows)
    if v.shape != r.shape or not len(v):
        raise ValueError(f"{len(r)} posterior rows for {len(v)} paired effects")
    _, inv, counts = np.unique(r, return_inverse=True, return_counts=True)
    means = np.bincount(inv, weights=v) / counts
    return float(counts[sign * means > 0].sum() / len(v))


def draws_for(scenario: Any, seeds: list[int]) -> tuple[list[Params] | None, np.ndarray | None]:
    """Each replicate's parameters under a scenario: posterior draws by seed, or (None, None) for its own.

    Parameters the scenario sets explicitly (`scenario.set_params`) keep the scenario's value, so a
    counterfactual lever is never overwritten by the posterior.
    """
    if scenario.posterior is None:
        return None, None
    return posterior_for(scenario.posterior).params_for(seeds, scenario.params, scenario.set_params)
