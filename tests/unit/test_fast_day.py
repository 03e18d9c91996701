"""The faster day (issue 28): every shortcut of the compiled day gives the same numbers as the rule it stands for.

The per-agent model sums a tie share tie by tie; the compiled day reads it from a table by the count of
ties on strike. The engine runs each thread's replicates from one day with events to the next without
waiting for the others. An ensemble records only what its figures read. Each of these is checked
here against the plain computation, over many random cases, bit for bit.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sim.inputs import process
from sim.inputs.rng import replicate_seeds
from sim.model import cache, kernel, observation
from sim.model.engine import Engine
from sim.run.runner import FIGURE_COLUMNS, allegiance_by_oblast, tidy


def test_tie_tables_equal_the_tie_by_tie_sums_for_any_set_of_strikers(baseline):
    _, world = baseline
    wa = kernel.world_arrays(world)
    a = world.a_levels
    rng = np.random.default_rng(28)
    for share in (0.001, 0.05, 0.3, 0.9, 1.0):
        for _ in range(3):
            xs = (rng.random(world.n) < share).astype(np.int64)
            count = np.asarray(sp.csr_matrix((np.ones(a.nnz), a.indices, a.indptr), shape=a.shape) @ xs).astype(np.int64)
            for row in rng.choice(a.shape[0], 400, replace=False):
                acc = 0.0
                for q in range(a.indptr[row], a.indptr[row + 1]):
                    acc += a.data[q] * float(xs[a.indices[q]])  # the per-agent model's sum
                assert wa.t_tab[wa.t_ptr[row] + count[row]] == acc, (share, row)


def _broken_worlds(world, rng):
    """Worlds whose ties lack one property the tables rest on, each made a different random way."""
    n = world.n
    for _ in range(4):  # one tie of one row weighs differently
        for name in ("a_city", "a_basin", "a_deleg"):
            m = getattr(world, name).copy()
            rows = np.flatnonzero(np.diff(m.indptr) > 1)
            row = rng.choice(rows)
            m.data[m.indptr[row] + rng.integers(np.diff(m.indptr)[row])] *= 1.0 + rng.random()
            yield f"{name} weight", dataclasses.replace(world, **{name: m})
    for _ in range(4):  # a tie that runs one way only
        for name in ("a_basin", "a_deleg"):
            m = getattr(world, name).tolil()
            i, j = rng.integers(n, size=2)
            while i == j or m[i, j] != 0 or m[j, i] != 0:
                i, j = rng.integers(n, size=2)
            m[i, j] = 1.0
            yield f"{name} one way", dataclasses.replace(world, **{name: sp.csr_matrix(m)})
    for _ in range(4):  # a town tie missing, or one to another town
        m = world.a_city.tolil()
        i = rng.choice(np.flatnonzero(np.diff(world.a_city.indptr) > 0))
        j = world.a_city.indices[world.a_city.indptr[i]]
        m[i, j] = 0.0
        yield "town tie missing", dataclasses.replace(world, a_city=sp.csr_matrix(m))
        m = world.a_city.tolil()
        j = rng.choice(np.flatnonzero(world.city != world.city[i]))
        m[i, j] = 1.0
        yield "town tie across towns", dataclasses.replace(world, a_city=sp.csr_matrix(m))
    for _ in range(4):  # an enterprise outside its town's basin
        basin = world.basin.copy()
        i = rng.integers(n)
        basin[i] = (basin[i] + 1 + rng.integers(world.n_basins - 1)) % world.n_basins
        yield "basin", dataclasses.replace(world, basin=basin)


def test_a_world_whose_ties_the_tables_cannot_stand_for_is_refused_in_one_line(baseline):
    _, world = baseline
    seen = set()
    for what, bad in _broken_worlds(world, np.random.default_rng(5)):
        with pytest.raises(ValueError, match="the compiled day cannot run this world") as err:
            kernel.world_arrays(bad)
        assert "\n" not in str(err.value)
        seen.add(what)
    assert len(seen) == 8


def test_engine_results_do_not_depend_on_threads_between_event_days(baseline, monkeypatch):
    """1, 2 and 3 threads (each running its replicates from one day with events to the next): every array the same bytes."""
    import sim.model.engine as engine

    monkeypatch.setattr(engine, "ROWS_PER_THREAD", 1)  # a batch this small is split only when told to
    sc, world = baseline
    sc = sc.with_changes(end=sc.start + (sc.end - sc.start) / 3)  # the events of 1989-1990
    seeds = replicate_seeds(11, 7)
    towns = [list(range(0, 12)), [3, 40, 77]]
    runs = [Engine(world, sc, seeds, areas=towns, threads=t) for t in (1, 2, 3)]
    assert [e._split() for e in runs] == [1, 2, 3]
    runs = [e.run() for e in runs]
    assert len(runs[0].timeline.events) > 5
    for eng in runs[1:]:
        for x, y in zip(runs[0].state, eng.state, strict=True):
            assert x.tobytes() == y.tobytes()
        assert eng._bblock.tobytes() == runs[0]._bblock.tobytes() and eng._rblock.tobytes() == runs[0]._rblock.tobytes()
        assert eng.snap_out.tobytes() == runs[0].snap_out.tobytes()
        assert eng.vote.rep_vote.tobytes() == runs[0].vote.rep_vote.tobytes()
        for k in runs[0].town_out:
            assert eng.town_out[k].tobytes() == runs[0].town_out[k].tobytes(), k
        for k in runs[0].area_out:
            assert eng.area_out[k].tobytes() == runs[0].area_out[k].tobytes(), k
    assert runs[0]._bblock[:, 0].max() > 0  # something struck


def test_a_small_batch_stays_on_one_thread_and_a_large_one_is_split(small):
    sc, world = small
    from sim.model.engine import ROWS_PER_THREAD

    assert Engine(world, sc, replicate_seeds(1, ROWS_PER_THREAD * 2 - 1), threads=2)._split() == 1
    assert Engine(world, sc, replicate_seeds(1, ROWS_PER_THREAD * 2), threads=2)._split() == 2
    assert Engine(world, sc, replicate_seeds(1, ROWS_PER_THREAD * 8), threads=3)._split() == 3


def test_a_run_forked_mid_way_equals_one_run_through(baseline, monkeypatch):
    import sim.model.engine as engine

    monkeypatch.setattr(engine, "ROWS_PER_THREAD", 1)
    sc, world = baseline
    sc = sc.with_changes(end=sc.start + (sc.end - sc.start) / 4)
    seeds = replicate_seeds(12, 4)
    whole = Engine(world, sc, seeds, threads=2).run()
    parts = Engine(world, sc, seeds, threads=2).run(until=37).run(until=38).fork(sc).run()
    assert whole._bblock.tobytes() == parts._bblock.tobytes()
    assert all(x.tobytes() == y.tobytes() for x, y in zip(whole.state, parts.state, strict=True))


@pytest.mark.parametrize("scale", [1.0, 1.37])
def test_figure_records_hold_the_same_numbers_and_nan_for_the_rest(baseline, scale):
    # the figures' backed workforce is added town by town only where that gives the same float (whole workers)
    sc, world = baseline
    world = dataclasses.replace(world, workforce=world.workforce * scale)
    assert kernel.world_arrays(world).whole == (scale == 1.0)
    assert all(set(cols) <= set(observation.FIGURE_OBSERVABLES[t]) for t, cols in FIGURE_COLUMNS.items())
    seeds = replicate_seeds(9, 4)
    full = Engine(world, sc, seeds, record="all").run()
    fig = Engine(world, sc, seeds, record="figures").run()
    assert full.rep_out["allegiance"].max() > 0
    for table, a, f in (("basin", full.basin_out, fig.basin_out), ("republic", full.rep_out, fig.rep_out)):
        for k in a:
            if k in observation.FIGURE_OBSERVABLES[table]:
                assert a[k].tobytes() == f[k].tobytes(), k
            else:
                assert np.isnan(f[k]).all() and not np.isnan(a[k]).any(), k
    assert full.basin_out["strikers"].max() > 0
    assert tidy(fig, list(range(4)), (), "figures").basin.equals(tidy(full, list(range(4)), (), "figures").basin)


def test_the_oblast_table_is_each_oblasts_towns_summed_alone(small):
    sc, world = small
    eng = Engine(world, sc, replicate_seeds(2, 3)).run()
    table = allegiance_by_oblast(eng, [5, 6, 7])
    wf_town = world.by_city(world.workforce[None, :])[0]
    from sim.model.vote import oblast_groups

    keys, town_key = oblast_groups(world)
    rows = table.set_index(["replicate", "date", "oblast"])
    for j, d in enumerate(eng.snap_days):
        day = pd.Timestamp(sc.start) + pd.Timedelta(days=d)
        parts = eng.vote.parts(d)
        for r in range(3):
            for o, (_, oblast) in enumerate(keys):
                idx = np.flatnonzero(town_key == o)
                total = float(wf_town[idx].sum())
                share = float(eng.snap_out[j, r, idx].sum()) / total if total > 0 else 0.0
                got = rows.loc[(5 + r, day, oblast)]
                assert got["allegiance"] == share and got["workforce"] == total
                assert got["vote"] == parts["vote"][r, o] or (np.isnan(got["vote"]) and np.isnan(parts["vote"][r, o]))
    assert len(table) == len(eng.snap_days) * 3 * len(keys)


def test_a_failing_part_leaves_no_other_part_running():
    """`by_rows` returns (or raises) only once every part has ended."""
    ended = []

    def part(rows: slice) -> None:
        if rows.start == 0:
            raise RuntimeError("first part fails at once")
        time.sleep(0.3)
        ended.append(threading.current_thread().name)

    with pytest.raises(RuntimeError, match="fails at once"):
        process.by_rows(2, 4, part)
    assert len(ended) == 1


def test_the_compiled_day_cached_on_disk_is_dropped_when_a_module_it_calls_changes(tmp_path):
    # numba checks a cached function against its own file only; the stamp covers every module of sim/model
    names = ["kernel._step-250.py312.nbi", "kernel._step-250.py312.1.nbc", "draws.fill-103.py312.nbi", "vote._observe-1.py312.nbi"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert cache.drop_stale(kernel._step, tmp_path)  # no stamp yet: dropped
    assert sorted(p.name for p in tmp_path.glob("*.nb?")) == sorted(names[2:])  # only the compiled day's own files
    (tmp_path / names[0]).write_bytes(b"x")  # compiled again under these sources
    assert not cache.drop_stale(kernel._step, tmp_path) and (tmp_path / names[0]).exists()
    stamp = next(tmp_path.glob("*.sha256"))
    old = stamp.read_text(encoding="utf-8")
    stamp.write_text(old[:-1] + ("1" if old[-1] == "0" else "0"), encoding="utf-8")  # cached under other sources
    assert cache.drop_stale(kernel._step, tmp_path) and not (tmp_path / names[0]).exists()
    assert not cache.drop_stale(kernel._step, tmp_path)
