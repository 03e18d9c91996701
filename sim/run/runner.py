"""Runs: ensembles of replicates (batched, over local threads, processes or Dask) and paired arms.

Ensembles split replicates into chunks, each chunk advanced together by the batched engine. Ensembles
and paired arms run their chunks on threads of this process (the compiled day releases the GIL, and
nothing is pickled); other tasks on a `concurrent.futures` process pool; all of them on a Dask cluster
if asked. Every replicate has its own seed and streams, so the tables do not depend on chunking,
threads or workers.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.inputs.errors import InputError
from sim.inputs.network import REPUBLICS, World, load_world
from sim.inputs.params import Params
from sim.inputs.posterior import draws_for, posterior_for
from sim.inputs.rng import replicate_seeds
from sim.model.engine import AREA_OBSERVABLES, Engine
from sim.model.metrics import outcomes
from sim.model.scenario import Scenario
from sim.model.vote import VOTE_COLUMNS, oblast_groups


def _concat(cls: type, parts: list) -> object:
    """A table set of `cls` with each field's frames of `parts` concatenated in order; the fields side by side on threads."""
    names = sorted((f.name for f in dataclasses.fields(cls)), key=lambda n: -sum(len(getattr(p, n)) for p in parts))  # largest first
    with ThreadPoolExecutor(max_workers=min(len(names), os.cpu_count() or 1), thread_name_prefix="concat") as pool:  # (no GIL held)
        frames = pool.map(lambda n: pd.concat([getattr(p, n) for p in parts], ignore_index=True), names)
        return cls(**dict(zip(names, frames, strict=True)))


@dataclass
class Tables:
    """Tidy outputs of a run.

    Daily by basin and by republic, by town over the calibration window, allegiance by oblast on the
    dates that matter, and daily by requested area (the places a targets file names; empty unless asked).
    """

    basin: pd.DataFrame
    republic: pd.DataFrame
    town: pd.DataFrame
    oblast: pd.DataFrame
    areas: pd.DataFrame

    @classmethod
    def concat(cls, parts: list[Tables]) -> Tables:
        """Concatenate chunks in replicate order."""
        return _concat(cls, parts)


FIGURE_COLUMNS = {
    "basin": ("strikers", "mines_on_strike", "committees_material", "committees_political", "committees_sovereignty"),
    "republic": ("strikers", "allegiance"),
}
"""The daily observables a run's figures, basin events and summary read (`sim.figures.plots`, `sim.model.metrics.first_and_last`):
what an ensemble records by default (`tables="figures"`); `tables="all"` records every observable."""

TABLE_SETS = ("figures", "all")
"""What an ensemble records: the observables its figures read, or every one."""


def named(names, times: int) -> pd.Categorical:
    """`names` repeated `times` times, as a categorical (one small code per row; categories sorted, as a string column groups)."""
    cats = sorted(set(names))
    code = {n: i for i, n in enumerate(cats)}
    return pd.Categorical.from_codes(np.tile(np.asarray([code[n] for n in names], dtype=np.int32), times), categories=cats)


def tidy(engine: Engine, replicates: list[int], labels: tuple[str, ...] = (), tables: str = "all") -> Tables:
    """Turn an engine's recorded arrays into tidy tables (`labels`: the names of the engine's areas).

    `tables`: "all" (every observable) or "figures" (`FIGURE_COLUMNS` of the basin and republic
    tables). Place names are categoricals, whatever the chunking, so every way of running gives the same bytes.
    """
    if tables not in TABLE_SETS:
        raise ValueError(f"tables must be one of {TABLE_SETS}, got {tables!r}")
    sc, w = engine.scenario, engine.world
    dates = pd.date_range(sc.start, periods=engine.days, freq="D")
    r = len(replicates)

    def frame(out: dict[str, np.ndarray], names: tuple[str, ...], col: str, keep: tuple[str, ...] | None = None) -> pd.DataFrame:
        d, a = next(iter(out.values())).shape[0], len(names)
        idx = {
            "replicate": np.repeat(np.asarray(replicates), d * a),
            "date": np.tile(np.repeat(dates.values[:d], a), r),
            col: named(names, r * d),
        }
        cols = {k: v.transpose(1, 0, 2).reshape(-1) for k, v in out.items() if keep is None or k in keep}
        return pd.DataFrame({**idx, **cols})

    def counts(df: pd.DataFrame, names: tuple[str, ...]) -> None:
        for c in names:
            if c in df:
                df[c] = np.rint(df[c]).astype(np.int64)

    keep = FIGURE_COLUMNS if tables == "figures" else {}
    basin = frame(engine.basin_out, w.basin_names, "basin", keep.get("basin"))
    rows = len(basin) // w.n_basins
    basin.insert(3, "republic", named(tuple(REPUBLICS[i] for i in w.basin_republic), rows))
    committees = tuple(f"committees_{k}" for k in ("city", "basin", "material", "political", "sovereignty"))
    counts(basin, ("strikers", "mines_on_strike", *committees, "concessions"))
    republic = frame(engine.rep_out, REPUBLICS, "republic", keep.get("republic"))
    counts(republic, ("strikers",))
    town = frame(engine.town_out, w.city_names, "town")
    rows = len(town) // w.n_cities
    town.insert(3, "basin", named(tuple(np.asarray(w.basin_names, dtype=object)[w.city_basin]), rows))
    town.insert(4, "oblast", named(tuple(w.city_oblast), rows))
    counts(town, ("strikers", "mines_on_strike"))
    if engine.areas:
        areas = frame(engine.area_out, tuple(labels), "area")
        counts(areas, ("strikers", "mines_on_strike", "committees_city", "committees_basin"))
    else:
        areas = pd.DataFrame(columns=["replicate", "date", "area", *AREA_OBSERVABLES])
    return Tables(basin=basin, republic=republic, town=town, oblast=allegiance_by_oblast(engine, replicates), areas=areas)


def allegiance_by_oblast(engine: Engine, replicates: list[int]) -> pd.DataFrame:
    """Per replicate, snapshot date and oblast of the mining towns: workforce, committee backing and the vote-scale measure.

    The share whose committee backs the republic, and the vote-scale allegiance with its parts
    (`sim.model.vote`: adults, miners' weight, stances, baseline + shocks + miners).
    """
    w, tr = engine.world, engine.vote
    keys, town_key = oblast_groups(w)
    wf_town = w.by_city(w.workforce[None, :])[0]
    groups = [np.flatnonzero(town_key == j) for j in range(len(keys))]  # (republic, oblast) -> town indices, in a fixed order
    total = np.array([float(wf_town[idx].sum()) for idx in groups])
    r, o = len(replicates), len(keys)
    cols: dict[str, list] = {c: [] for c in ("date", "allegiance", *VOTE_COLUMNS)}
    for j, d in enumerate(engine.snap_days):
        cols["date"].append(np.full(r * o, pd.Timestamp(engine.scenario.start) + pd.Timedelta(days=d), dtype=object))
        # each oblast's towns summed per replicate as one row each (the same sum as the oblast's towns alone)
        backed = np.stack([engine.snap_out[j][:, idx].sum(axis=1) for idx in groups], axis=1)  # (R, O)
        cols["allegiance"].append(np.where(total > 0, backed / np.where(total > 0, total, 1.0), 0.0).reshape(-1))
        parts = tr.parts(d)
        for c in VOTE_COLUMNS:
            cols[c].append(np.asarray(parts[c], dtype=float).reshape(-1))
    snaps = len(engine.snap_days)  # (at least the last day)
    return pd.DataFrame(
        {
            "replicate": np.tile(np.repeat(np.asarray(replicates), o), snaps),
            "date": pd.to_datetime(np.concatenate(cols["date"])),
            "republic": np.tile(np.array([k[0] for k in keys], dtype=object), r * snaps),
            "oblast": np.tile(np.array([k[1] for k in keys], dtype=object), r * snaps),
            "workforce": np.tile(total, r * snaps),
            "allegiance": np.concatenate(cols["allegiance"]),
            "adults": np.tile(tr.adults, r * snaps),
            **{c: np.concatenate(cols[c]) for c in VOTE_COLUMNS},
        }
    )


STOPPING = threading.Event()
"""Set when a run on threads is stopped (Ctrl-C, SIGTERM, a failing chunk): its engines end before their next day."""


def _chunk(args: tuple) -> Tables:
    scenario, seeds, first, params, areas, threads, tables = args
    world = world_for(scenario.data)
    engine = Engine(world, scenario, seeds, params, areas=[towns for _, towns in areas], threads=threads, record=tables)
    engine.run(stopped=STOPPING.is_set)
    return tidy(engine, list(range(first, first + len(seeds))), tuple(label for label, _ in areas), tables)


MP = multiprocessing.get_context("forkserver")
"""Worker processes start from a clean server process, not by forking this one: a fork of a process
that has threads (pyabc's database, BLAS) can deadlock, and Python warns about it."""


def dask_client(cluster: str):
    """A client of the Dask scheduler at `cluster`, or a one-line InputError if it cannot be reached."""
    from distributed import Client

    try:
        return Client(cluster, timeout="10s")
    except OSError as exc:
        raise InputError(f"cannot reach the Dask scheduler at {cluster}: {exc}", key="cluster") from None


@contextmanager
def executor_map(workers: int | None = None, chunksize: int = 1, cluster: str | None = None) -> Iterator[Callable]:
    """A `map` over local processes (or the builtin map for one worker, or a Dask cluster), for a block.

    Args:
        workers: processes (default: all cores; 1 runs in this process).
        chunksize: items sent to a process at a time.
        cluster: address of a Dask scheduler (its executor's map is used instead).
    """
    if cluster is not None:
        client = dask_client(cluster)
        try:
            yield client.get_executor().map
        finally:
            client.close()
        return
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        yield map
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=MP) as ex:
        yield functools.partial(ex.map, chunksize=chunksize)


_WORLDS: dict[str, World] = {}


def draws_table(scenario: Scenario, seeds: list[int]) -> pd.DataFrame | None:
    """The parameter draw of every replicate (replicate, seed, posterior row, values), for results."""
    params, idx = draws_for(scenario, seeds)
    if params is None:
        return None
    post = posterior_for(scenario.posterior)
    names = [n for n in post.names if n not in scenario.set_params]
    df = pd.DataFrame({"replicate": np.arange(len(seeds)), "seed": np.asarray(seeds, dtype=np.uint64), "posterior_row": idx})
    for n in names:
        df[n] = [getattr(p, n) for p in params]
    return df


def world_for(folder) -> World:
    """The World of a data folder, loaded (and checked) once per process."""
    key = str(folder)
    if key not in _WORLDS:
        _WORLDS[key] = load_world(folder)
    return _WORLDS[key]


@dataclass
class ChunkError:
    """A chunk whose replicates failed: which, and the error (recorded in the results; the batch goes on)."""

    first: int
    replicates: int
    error: str


def execute(
    fn: Callable,
    tasks: list,
    workers: int | None = None,
    cluster: str | None = None,
    on_result: Callable[[int, object], None] | None = None,
    keep_going: bool = False,
    threads: bool = False,
) -> list:
    """Run `fn` over `tasks` on an executor and return the results in task order.

    Executors follow `concurrent.futures`: this process (one worker), a local process pool (default,
    all cores), threads of this process (`threads`: for tasks that spend their time in compiled code
    that releases the GIL; nothing is pickled, and a script needs no `if __name__ == "__main__":`
    guard), or a Dask distributed cluster (`cluster`, e.g. "tcp://127.0.0.1:8786", through
    `distributed.Client.get_executor`: the same code path). `on_result(i, result)` is called in this
    process as each task finishes (to write it, or to advance a progress bar). With `keep_going`, a
    task that raises gives its exception as its result instead of stopping the others.
    """
    out: list = [None] * len(tasks)
    STOPPING.clear()  # a run stopped earlier in this process (its threads all ended) does not stop this one
    if not tasks:  # every chunk already finished (a resumed run): no executor to start
        return out

    def done(i: int, get: Callable[[], object]) -> None:
        try:
            out[i] = get()
        except BrokenProcessPool:  # the pool is gone: no task can go on (see below)
            raise
        except Exception as exc:
            if not keep_going:
                raise
            out[i] = exc
        if on_result is not None:
            on_result(i, out[i])

    if cluster is None and ((workers or os.cpu_count() or 1) == 1 or len(tasks) == 1):
        for i, t in enumerate(tasks):
            done(i, functools.partial(fn, t))
        return out
    client = None
    if cluster is not None:
        client = dask_client(cluster)
        ctx = client.get_executor()
    elif threads:
        ctx = ThreadPoolExecutor(max_workers=min(workers or os.cpu_count() or 1, len(tasks)), thread_name_prefix="chunk")
    else:
        ctx = ProcessPoolExecutor(max_workers=min(workers or os.cpu_count() or 1, len(tasks)), mp_context=MP, initializer=_worker_init)
    try:
        with _signals_deferred() as stopped:
            try:
                futures = {ctx.submit(fn, t): i for i, t in enumerate(tasks)}
                pending = set(futures)
                while pending:
                    stopped()  # a Ctrl-C or SIGTERM that came in acts here, where no lock of the pool is held
                    finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    for f in sorted(finished, key=futures.get):
                        done(futures[f], f.result)
            except BrokenProcessPool:
                # the pool's workers died: most often a signal to the whole process group (`timeout`,
                # `kill -- -PGID`), which reaches this process too. That signal acts as it would have
                # (Ctrl-C or SIGTERM: chunks kept, one line); without one, a worker was killed alone.
                _await_signal(stopped)
                raise WorkerLostError() from None
            stopped()
    except BaseException:
        # stopped (Ctrl-C, SIGTERM, a failing task): end the pool now, never wait on it
        if client is not None:
            client.close()
        elif threads:  # threads cannot be killed: their engines stop before their next day
            STOPPING.set()
            ctx.shutdown(wait=True, cancel_futures=True)
            STOPPING.clear()  # every thread has ended
        else:
            _stop_pool(ctx)
        raise
    ctx.shutdown(wait=True) if client is None else client.close()
    return out


@contextmanager
def _signals_deferred() -> Iterator[Callable[[], None]]:
    """While a pool runs: Ctrl-C and SIGTERM only set a flag, and the yielded check raises what they would have raised.

    A signal's exception raised at an arbitrary point can land inside the executor's own code while it holds
    one of its locks; ending the pool then waits on that lock forever (a run hung, now and then, on Ctrl-C).
    Deferred to the check, it always lands between two waits. Outside the main thread nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    got: list[int] = []
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    old = {sig: h for sig, h in old.items() if h is not signal.SIG_IGN and h is not None}  # an ignored signal stays ignored

    def flag(signum, frame) -> None:
        got.append(signum)

    def check() -> None:
        if got:
            signum = got[0]
            got.clear()
            for sig, handler in old.items():  # restore first: a second Ctrl-C acts at once
                signal.signal(sig, handler)
            handler = old[signum]
            if callable(handler):
                handler(signum, None)  # raises (KeyboardInterrupt, or the CLI's own exception for SIGTERM)
            raise KeyboardInterrupt

    for sig in old:
        signal.signal(sig, flag)
    try:
        yield check
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


class WorkerLostError(OSError):
    """A worker process of the pool died while no signal reached this process (killed alone: out of memory, `kill -9`)."""

    def __init__(self) -> None:
        super().__init__(
            "a worker process died (killed by the system, out of memory?); finished chunks are kept: run the same command again to resume"
        )


def _await_signal(stopped: Callable[[], None], seconds: float = 2.0) -> None:
    """Give a signal that ended the workers time to reach this process too; `stopped()` raises it when it has."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stopped()
        time.sleep(0.05)  # a signal wakes the sleep; its handler runs at once
    stopped()


def _worker_init() -> None:
    """In each pool process: leave Ctrl-C and SIGTERM to the parent, which ends the pool (no worker tracebacks)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop_pool(ex: ProcessPoolExecutor) -> None:
    """End a process pool now: cancel what has not started and terminate the workers (their chunk is redone on resume)."""
    procs = list((getattr(ex, "_processes", None) or {}).values())  # the pool's own table of workers (CPython)
    ex.shutdown(wait=False, cancel_futures=True)
    # and any worker the pool was starting at that moment (not yet in its table: left alone, the
    # interpreter's exit would wait for it forever)
    procs += [c for c in multiprocessing.active_children() if c not in procs]
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(5)


def chunk_size(replicates: int, workers: int | None) -> int:
    """Replicates per task: spread over the workers, at most 50 (beyond which batching gains nothing here)."""
    return max(1, min(50, -(-replicates // (workers or os.cpu_count() or 1))))


def run_ensemble(
    scenario: Scenario,
    replicates: int,
    seed: int,
    workers: int | None = None,
    chunk: int | None = None,
    params: Params | None = None,
    cluster: str | None = None,
    done: dict[int, Tables] | None = None,
    on_chunk: Callable[[int, Tables | ChunkError], None] | None = None,
    keep_going: bool = False,
    areas: list | tuple = (),
    tables: str = "all",
) -> tuple[Tables, list[int]]:
    """Run `replicates` replicates from root `seed`; returns the tables and the replicate seeds.

    Args:
        scenario: the resolved scenario.
        replicates: number of replicates.
        seed: root seed; replicate seeds are spawned from it.
        workers: processes (default: all cores; 1 runs serially in this process).
        chunk: replicates advanced together per task (default `chunk_size`).
        params: parameters overriding the scenario's (and its posterior draws).
        cluster: address of a Dask scheduler to run the chunks on instead of local processes.
        done: chunks already finished (first replicate -> tables), e.g. read back to resume: not rerun.
        on_chunk: called as each chunk finishes, with its first replicate and its tables (or error).
        keep_going: record a failing chunk (`ChunkError`) and go on instead of stopping.
        areas: places (`sim.analysis.targets.Area`: label and towns) whose daily series go into `Tables.areas`.
        tables: "all" (every observable) or "figures" (what a run's figures read: `FIGURE_COLUMNS`).

    Every replicate has its own seed and streams, so the tables do not depend on chunking, workers,
    executor, or on which chunks were resumed. Local chunks run on `workers` threads of this process;
    fewer chunks than workers split their replicates over the spare threads instead.
    """
    seeds = replicate_seeds(seed, replicates)
    chunk = chunk or chunk_size(replicates, workers)
    done = done or {}
    firsts = [i for i in range(0, replicates, chunk) if i not in done]
    pairs = tuple((a.label, tuple(a.towns)) for a in areas)
    cores = workers or os.cpu_count() or 1
    split = max(1, cores // max(len(firsts), 1)) if cluster is None else 1
    tasks = [(scenario, seeds[i : i + chunk], i, params, pairs, split, tables) for i in firsts]
    world_for(scenario.data)  # load (and check) the data once, here, before any process starts
    if scenario.posterior is not None:
        posterior_for(scenario.posterior)  # likewise the posterior

    def on_result(k: int, res: object) -> None:
        if isinstance(res, Exception):
            res = ChunkError(firsts[k], len(tasks[k][1]), f"{type(res).__name__}: {res}")
        if on_chunk is not None:
            on_chunk(firsts[k], res)

    results = execute(_chunk, tasks, workers, cluster, on_result, keep_going, threads=True)
    parts = dict(done)
    for i, r in zip(firsts, results, strict=True):
        if not isinstance(r, Exception):
            parts[i] = r
    return Tables.concat([parts[i] for i in sorted(parts)]), seeds


# ---- paired arms (counterfactual experiments) -------------------------------------------------


@dataclass
class ArmTables:
    """Outcomes of paired arms: one row per arm and replicate, and the daily series of each arm."""

    outcomes: pd.DataFrame
    series: pd.DataFrame

    @classmethod
    def concat(cls, parts: list[ArmTables]) -> ArmTables:
        """Concatenate chunks in order."""
        return _concat(cls, parts)


def _arm_tables(engine: Engine, arm: str, seeds: list[int], first: int) -> ArmTables:
    run = engine.outcome_run()
    reps = np.arange(first, first + len(seeds))
    out = pd.DataFrame({"arm": arm, "replicate": reps, "seed": np.asarray(seeds, dtype=np.uint64)})
    for name, v in outcomes(run).items():
        out[name] = v
    days = len(run.dates)
    pol = (run.basin["committees_political"] + run.basin["committees_sovereignty"]).sum(axis=2)
    sep = run.republic["separatism_index"]
    alg = run.republic["allegiance"]
    cols = {
        "strikers": run.basin["strikers"].sum(axis=2),
        "committees_political_plus": pol,
        "separatism_RSFSR": sep[:, :, 0],
        "separatism_Ukraine": sep[:, :, 1],
        "separatism_Kazakhstan": sep[:, :, 2],
        "allegiance_RSFSR": alg[:, :, 0],
        "allegiance_Ukraine": alg[:, :, 1],
    }
    ser = pd.DataFrame(
        {
            "arm": arm,
            "replicate": np.repeat(reps, days),
            "date": np.tile(run.dates.astype("datetime64[ns]"), len(seeds)),
            **{k: v.T.reshape(-1).astype(np.float32) for k, v in cols.items()},
        }
    )
    return ArmTables(outcomes=out, series=ser)


def _arms_chunk(args: tuple) -> ArmTables:
    arms, seeds, first, fork_day = args
    world = world_for(arms[0].data)
    parts = []
    if fork_day is None:
        for arm in arms:
            parts.append(_arm_tables(Engine(world, arm, seeds).run(stopped=STOPPING.is_set), arm.name, seeds, first))
    else:
        shared = Engine(world, arms[0], seeds).run(until=fork_day, stopped=STOPPING.is_set)
        for arm in arms:
            parts.append(_arm_tables(shared.fork(arm).run(stopped=STOPPING.is_set), arm.name, seeds, first))
    return ArmTables.concat(parts)


def run_arms(
    arms: list[Scenario],
    replicates: int,
    seed: int,
    workers: int | None = None,
    fork_day: int | None = None,
    chunk: int | None = None,
    cluster: str | None = None,
    on_chunk: Callable[[int, ArmTables], None] | None = None,
    done: dict[int, ArmTables] | None = None,
) -> tuple[ArmTables, list[int]]:
    """Run every arm on the same replicate seeds (and so the same posterior draws).

    Common random numbers: each decision process of a replicate draws from its own stream, day by
    day, whatever the state, so two arms differ only through their levers. With `fork_day`, every
    arm goes on from the first arm's state on that day (one shared history).

    Args:
        arms: resolved scenarios with the same start, end and data folder; the first is the reference.
        replicates: replicates per arm.
        seed: root seed (replicate seeds are spawned from it, as in `run_ensemble`).
        workers: processes (default: all cores).
        fork_day: day index at which the arms part (None: each arm runs from the start).
        chunk: replicates per task.
        cluster: address of a Dask scheduler (see `execute`).
        on_chunk: called as each chunk finishes, with its first replicate and its tables (to save it, or for progress).
        done: chunks already finished (first replicate -> tables), e.g. read back to resume: not rerun.

    Returns:
        (outcomes and series of every arm, the replicate seeds).
    """
    first = arms[0]
    for a in arms[1:]:
        if (a.start, a.end, a.data.resolve()) != (first.start, first.end, first.data.resolve()):
            raise InputError(f"arm '{a.name}' must have the same start, end and data folder as '{first.name}'", file=a.path, key="end")
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise InputError(f"two arms are named the same: {names}; give each scenario its own name", key="name")
    seeds = replicate_seeds(seed, replicates)
    chunk = chunk or arm_chunk_size(replicates, workers)
    done = done or {}
    firsts = [i for i in range(0, replicates, chunk) if i not in done]
    tasks = [(arms, seeds[i : i + chunk], i, fork_day) for i in firsts]
    world_for(first.data)
    parts = execute(_arms_chunk, tasks, workers, cluster, (lambda k, r: on_chunk(firsts[k], r)) if on_chunk else None, threads=True)
    every = dict(done) | dict(zip(firsts, parts, strict=True))
    return _sorted_arms(ArmTables.concat([every[i] for i in sorted(every)]), names), seeds


def _sorted_arms(t: ArmTables, names: list[str]) -> ArmTables:
    """Rows ordered by (arm in the given order, replicate, date), whatever the chunks were."""
    order = {n: i for i, n in enumerate(names)}

    def sort(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        rank = df["arm"].map(order)
        return df.assign(_arm=rank).sort_values(["_arm", *keys], kind="stable").drop(columns="_arm").reset_index(drop=True)

    return ArmTables(outcomes=sort(t.outcomes, ["replicate"]), series=sort(t.series, ["replicate", "date"]))


def arm_chunk_size(replicates: int, workers: int | None) -> int:
    """Replicates per task of paired arms (every arm of a replicate runs in the same task): at most 25."""
    return min(25, chunk_size(replicates, workers))
