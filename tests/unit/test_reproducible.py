"""A replicate's numbers do not depend on how replicates are grouped into batches, chunks or workers.

Issue 14, class 1: dense BLAS sums (whose order follows the batch's shape) made a replicate's tables
differ in the last bits between a batch of 1 and a batch of 4; every aggregation over enterprises is
now an order-fixed sparse group sum. Class 2: the lock file pins what the tests run with.
"""

import io
import re
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.inputs.rng import replicate_seeds
from sim.model.engine import Engine, simulate
from sim.run.results import canonical
from sim.run.runner import run_arms, run_ensemble, tidy

ROOT = Path(__file__).resolve().parents[2]


def _bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def test_engine_batch_of_50_equals_single_runs_bitwise(small):
    sc, world = small
    seeds = replicate_seeds(21, 50)
    batch = simulate(world, sc, seeds)
    for r in (0, 17, 49):
        one = simulate(world, sc, [seeds[r]])
        for name in batch.basin_out:
            assert batch.basin_out[name][:, r].tobytes() == one.basin_out[name][:, 0].tobytes(), name
        for name in batch.rep_out:
            assert batch.rep_out[name][:, r].tobytes() == one.rep_out[name][:, 0].tobytes(), name


def test_outcomes_and_vote_scale_of_a_batch_equal_single_runs_bitwise():
    """The baseline to its end (the 1990-91 outcomes, the vote-scale series): a batch of 3 and each replicate alone."""
    from sim.inputs.network import load_world
    from sim.model.metrics import outcomes
    from sim.model.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "baseline.toml")
    world = load_world(sc.data)
    seeds = replicate_seeds(5, 3)
    batch = simulate(world, sc, seeds)
    out = outcomes(batch.outcome_run())
    for r, seed in enumerate(seeds):
        one = simulate(world, sc, [seed])
        assert one.vote.rep_vote[:, 0].tobytes() == batch.vote.rep_vote[:, r].tobytes()
        for name, v in outcomes(one.outcome_run()).items():
            assert v.tobytes() == out[name][r : r + 1].tobytes(), name


def test_engine_split_over_threads_equals_one_thread_bitwise(small, monkeypatch):
    import sim.model.engine as engine

    monkeypatch.setattr(engine, "ROWS_PER_THREAD", 1)  # a batch this small is split only when told to
    sc, world = small
    seeds = replicate_seeds(8, 5)
    one = Engine(world, sc, seeds, threads=1).run()
    two = Engine(world, sc, seeds, threads=2)  # 5 replicates on 2 threads: slices of 2 and 3
    assert two._split() == 2
    two.run()
    assert one._bblock.tobytes() == two._bblock.tobytes() and one._rblock.tobytes() == two._rblock.tobytes()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(one.state, two.state, strict=True))
    assert one._bblock[-1, 0].sum() > 0  # something struck


def test_figure_tables_are_columns_of_the_full_tables(small):
    sc, world = small
    eng = simulate(world, sc, replicate_seeds(4, 3))
    full, fig = tidy(eng, [0, 1, 2], (), "all"), tidy(eng, [0, 1, 2], (), "figures")
    for name in ("basin", "republic"):
        f, a = getattr(fig, name), getattr(full, name)
        assert len(f.columns) < len(a.columns) and "strikers" in f.columns
        assert _bytes(canonical(f)) == _bytes(canonical(a[list(f.columns)]))
    assert _bytes(canonical(fig.town)) == _bytes(canonical(full.town))
    assert isinstance(full.basin["basin"].dtype, pd.CategoricalDtype)  # names held as codes in memory,
    assert canonical(full.basin)["basin"].dtype == "str"  # written as strings


@pytest.mark.slow
def test_tables_identical_for_chunks_of_1_7_50_and_for_1_or_2_workers(small):
    sc, _ = small
    runs = {}
    for chunk, workers in ((1, 1), (7, 1), (50, 1), (7, 2)):
        tables, _ = run_ensemble(sc, 50, 5, workers=workers, chunk=chunk)
        runs[(chunk, workers)] = {n: _bytes(getattr(tables, n)) for n in ("basin", "republic", "town")}
    ref = runs[(1, 1)]
    for key, got in runs.items():
        for name in ref:
            assert got[name] == ref[name], (key, name)
    # and the tables are not trivially equal: replicates differ from one another
    basin = run_ensemble(sc, 3, 5, workers=1)[0].basin
    assert basin.groupby("replicate")["strikers"].sum().nunique() > 1


@pytest.mark.slow
def test_compare_tables_identical_for_1_and_2_workers_and_sorted(small):
    sc, _ = small
    arm = sc.with_changes(name="no_news", mechanisms={"news": False})
    a, _ = run_arms([sc, arm], 6, 3, workers=1, chunk=4)
    b, _ = run_arms([sc, arm], 6, 3, workers=2, chunk=1)
    assert _bytes(a.outcomes) == _bytes(b.outcomes)
    assert _bytes(a.series) == _bytes(b.series)
    assert list(a.outcomes["arm"].unique()) == ["small", "no_news"]
    for df, keys in ((a.outcomes, ["replicate"]), (a.series, ["replicate", "date"])):
        rank = df["arm"].map({"small": 0, "no_news": 1})
        order = pd.DataFrame({"arm": rank, **{k: df[k] for k in keys}})
        assert order.equals(order.sort_values(["arm", *keys]).reset_index(drop=True))
    assert not np.array_equal(a.outcomes.iloc[:6, 3:].to_numpy(), a.outcomes.iloc[6:, 3:].to_numpy())


def _lock() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


def test_the_environment_is_the_locked_one():
    """The README installs with `-c constraints.txt`: every locked package is installed at its locked version."""
    lock = _lock()
    assert {"numpy", "scipy", "pandas", "pyarrow", "mesa", "pyabc", "salib", "distributed"} <= set(lock)
    installed = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version for d in metadata.distributions()}
    wrong = {n: (v, installed.get(n)) for n, v in lock.items() if installed.get(n) != v}
    assert not wrong, f"installed versions differ from constraints.txt (locked, installed): {wrong}"
    unlocked = set(installed) - set(lock) - {"miners-strike-1989", "pip", "setuptools", "wheel"}
    assert not unlocked, f"installed but not locked: {sorted(unlocked)}"


def test_manifest_versions_cover_every_installed_dependency():
    from sim.run.results import versions

    v = versions()
    for name in ("numpy", "scipy", "salib", "pyabc", "distributed", "pyarrow", "mesa"):
        assert v.get(name, "not installed") != "not installed", name
