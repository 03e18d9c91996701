"""The throughput measurements of the project, in one process, printed as a table.

    python benchmarks/bench.py [--quick] [--runs 3] [--calibration full|small|skip] [--json FILE]

1. One baseline run (1989-1991) of the engine vs the per-agent Mesa reference on the same network
   and seed and parameter draw (goal: at least 50x); also per replicate in a batch.
2. Ensemble throughput (runs per second) of the batched engine vs a bare numpy threshold cascade of
   the same size and length written here (the practical floor; goal: within 3x).
3. Scaling: synthetic networks of 10^3, 10^4 and 10^5 enterprises for 40 days: seconds per
   enterprise-day and the log-log slope of time against size (goal: at most 1.1), and peak memory
   per enterprise.
4. A 1,000-replicate baseline ensemble end to end on all cores (tables included): median of three
   runs (goal: under 20 s), recording what `run` records by default (the columns its figures read),
   and then every table (`--tables all`).
5. Calibration throughput: replicate-days per second of ABC particles (4 replicates advanced
   together, recording only the places of the 1989-1990 targets, as the calibration does) over the
   1989-1990 window, and the same particles recording every table.
6. The compiled kernel (sim/model/kernel.py): a fresh process running 5 days with an empty on-disk cache
   (compiling) and with it filled (warm).
7. A profile of one engine run: the share of its time in the compiled day, the compiled
   observation with the random draws, the day's events and the rest (Python around the day); and
   (7b) the compiled day by step, in ns per enterprise-day, on one thread.
8. The stage-2 calibration (1989-1990, `python run.py calibrate --budget full`: 200 particles, a
   40-minute ABC cap) on all cores: wall time of the ABC and of the whole command (posterior
   predictive check included, figures not), and the effective sample size (ESS) of the last
   population (goal: at least 100 of 200 in under 45 minutes), with acceptance and ESS by
   population. `--calibration small` runs the small budget instead, `skip` leaves it out; `--quick`
   runs 16 particles for 2 populations (a smoke test).
9. The thesis end to end (`python run.py thesis --replicates 200 --flip-points 128`, figures
   included; goal: under 10 minutes) and the quick look (`thesis --quick`; goal: under a minute):
   wall time, and the runs each part made (the arms, the flip search's screening and confirmation).

The engine runs the compiled kernel (sim/model/kernel.py), the one fast path; the per-agent Mesa model
(sim/model/model.py) is the specification it is checked against (tests/unit/test_reference.py).

Ratios are taken within this one run (the machines are noisy); `--quick` shortens everything.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import gc
import json
import re
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.inputs.process import threads_and_backend  # noqa: E402

threads_and_backend()  # as the command line: one BLAS thread per process, before numpy is imported

import numpy as np  # noqa: E402

from sim.inputs.datafiles import load_inputs  # noqa: E402
from sim.inputs.network import derive_mines, load_world  # noqa: E402
from sim.inputs.posterior import draws_for  # noqa: E402
from sim.inputs.rng import replicate_seeds  # noqa: E402
from sim.model.engine import simulate  # noqa: E402
from sim.model.model import StrikeModel  # noqa: E402
from sim.model.scenario import load_scenario  # noqa: E402
from sim.run.results import write_mines  # noqa: E402
from sim.run.runner import run_ensemble  # noqa: E402


def reference_vs_engine(sc, world, batch: int) -> dict:
    """Measurement 1: seconds per run of the reference and of the engine (single and batched)."""
    seed = replicate_seeds(sc.seed, 1)[0]
    draw, _ = draws_for(sc, [seed])
    sc = dataclasses.replace(sc, params=draw[0] if draw else sc.params, posterior=None)  # both get the same draw
    warm = sc.with_changes(end=sc.start + timedelta(days=29))
    simulate(world, warm, [seed])
    StrikeModel(world, warm, seed).run()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        eng = simulate(world, sc, [seed])
        times.append(time.perf_counter() - t)
    t_engine = sorted(times)[1]
    t = time.perf_counter()
    ref = StrikeModel(world, sc, seed).run()
    t_ref = time.perf_counter() - t
    same = bool(np.array_equal(eng.state.striking[0], [m.striking for m in ref.mines]))
    del ref, eng  # the per-agent model's objects, left alive, would be walked by every garbage collection of the batch
    gc.collect()
    seeds = replicate_seeds(sc.seed, batch)
    times = []
    for _ in range(3):  # the median of three, as for one run (the machine is shared: a single timing can be a third off)
        t = time.perf_counter()
        simulate(world, sc, seeds)
        times.append((time.perf_counter() - t) / batch)
    return {"reference": t_ref, "engine": t_engine, "batch": sorted(times)[1], "same": same}


def bare_cascade(world, days: int, reps: int, seed: int = 1) -> float:
    """Measurement 2's floor: a bare threshold cascade on the same ties, days and batch (seconds per run, the median of three)."""
    return sorted(_cascade(world, days, reps, seed) for _ in range(3))[1]


def _cascade(world, days: int, reps: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    a = world.a_levels[: world.n]  # the town-level ties (a sparse n x n block)
    n = world.n
    thr = rng.random((reps, n))
    on = np.zeros((reps, n), bool)
    on[:, 0] = True
    t = time.perf_counter()
    for _ in range(days):
        share = (a @ on.T.astype(float)).T
        u = rng.random((reps, n))
        on = (on & (u > 0.05)) | (share > thr) | (u < 1e-4)
    return (time.perf_counter() - t) / reps


def synthetic_data(folder: Path, n: int) -> Path:
    """A data folder with about `n` enterprises: at least ten basins of at most 1,000, a town per hundred enterprises.

    Basins are kept at the size of a large real one (the data's range checks allow 2,000 mines a
    basin), so 10^5 enterprises are 100 basins rather than ten impossible ones.
    """
    folder.mkdir(parents=True, exist_ok=True)
    reps = ("RSFSR", "Ukrainian SSR", "Kazakh SSR")
    n_basins = max(10, n // 1000)
    per = n // n_basins
    basins, cities, griev, moves = [], [], [], []
    for b in range(n_basins):
        name = f"Basin {b}"
        rep = reps[b % 3]
        basins.append(
            {
                "basin": name,
                "republic": rep,
                "mines_underground": int(per * 0.6),
                "open_pits": int(per * 0.1),
                "plants": per - int(per * 0.6) - int(per * 0.1),
                "workforce": per * 1000,
                "source": "synthetic",
            }
        )
        towns = max(3, per // 100)
        for k in range(towns):
            cities.append(
                {
                    "basin": name,
                    "city": f"Town {b}-{k}",
                    "republic": rep,
                    "oblast": f"Oblast {b}",
                    "lat": 40 + (b % 40) + 0.01 * k,
                    "lon": 30 + b + 0.01 * k,
                    "population_1989": 50000 + 1000 * k,
                    "mines_known": "",
                    "pits_known": "",
                    "is_hub": int(k == 0),
                    "source": "synthetic",
                }
            )
        griev.append({"basin": name, "wage": 0.7, "ecology": 0.7, "privilege": 0.6, "ethnic_gap": 0.1, "paternalism": 0.8})
    moves = [{"date": "1989-07-01", "republic": r, "strength": 0.1, "source": "synthetic"} for r in reps]
    for fname, rows in (("basins.csv", basins), ("cities.csv", cities), ("grievances.csv", griev), ("movements.csv", moves)):
        with (folder / fname).open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    t = load_inputs(folder)
    write_mines(derive_mines(t["basins"], t["cities"]), folder / "mines.csv")
    return folder


SCALING_SCENARIO = """
name = "scaling"
start = "1989-07-01"
end = "1989-08-09"
data = "data"
[[events]]
kind = "seed_strike"
date = "1989-07-02"
city = "Town 0-0"
count = 1
[[events]]
kind = "concession"
date = "1989-07-20"
relief = 0.15
"""


def scaling(sizes: list[int], reps: int) -> list[dict]:
    """Measurement 3: seconds per enterprise-day and peak memory per enterprise, 40 days, by size."""
    out = []
    with tempfile.TemporaryDirectory() as d:
        for n in sizes:
            root = Path(d) / f"n{n}"
            synthetic_data(root / "data", n)
            (root / "s.toml").write_text(SCALING_SCENARIO, encoding="utf-8")
            sc = load_scenario(root / "s.toml")
            world = load_world(sc.data)
            seeds = replicate_seeds(1, reps)
            simulate(world, sc.with_changes(end=sc.start + timedelta(days=4)), seeds)  # warm-up
            tracemalloc.start()
            t = time.perf_counter()
            simulate(world, sc, seeds)
            dt = time.perf_counter() - t
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            out.append({"n": world.n, "seconds": dt, "per_mine_day": dt / (world.n * sc.days * reps), "bytes_per_mine": peak / world.n})
    return out


def calibration_throughput(sc, world, particles: int, reps: int = 4) -> dict:
    """Measurement 5: replicate-days per second of ABC particles over the 1989-1990 window.

    A particle as the stage-2 calibration runs it (R replicates, areas of the 1989-1990 targets,
    only those recorded), and the same particles recording every table, measured in one run.
    """
    from datetime import date

    from sim.analysis.targets import load_targets, target_areas
    from sim.model.engine import Engine

    window = sc.with_changes(end=min(sc.end, date(1990, 12, 31)))
    areas = [a.towns for a in target_areas(load_targets(ROOT / "calibration" / "targets" / "1989_1990.csv"), world)[0]]
    seeds = replicate_seeds(window.seed, reps)
    simulate(world, window.with_changes(end=window.start + timedelta(days=9)), seeds)  # warm-up
    out = {}
    for record in ("areas", "all"):
        t = time.perf_counter()
        for k in range(particles):
            # one thread, as a calibration's worker process runs its particles (`default_threads` there is 1)
            Engine(world, window, replicate_seeds(window.seed + k, reps), areas=areas, record=record, threads=1).run()
        out[record] = time.perf_counter() - t
    return {
        "particles": particles,
        "replicates_per_particle": reps,
        "days": window.days,
        "replicate_days_per_second": particles * reps * window.days / out["areas"],
        "replicate_days_per_second_all_tables": particles * reps * window.days / out["all"],
        "speedup_of_recording_only_the_targets": out["all"] / out["areas"],
    }


def calibration_stage2(budget: str, quick: bool) -> dict:
    """Measurement 8: the stage-2 calibration as the command runs it (its default priors), at `budget`, on all cores."""
    from sim import api

    small = {"population": 16, "generations": 2, "predictive": 4} if quick else {}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        res = api.calibrate(budget=budget, out=Path(tmp), draw_figures=False, quiet=True, **small)
        seconds = time.perf_counter() - t
    pops = res.populations
    return {
        "budget": budget,
        "population": res.particles,
        "populations": [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in pops.to_dict("records")],
        "simulations": int(pops["simulations"].sum()),
        "abc_seconds": res.abc_seconds,
        "seconds": seconds,
        "final_ess": float(pops["ess"].iloc[-1]),
        "final_acceptance": float(pops["acceptance"].iloc[-1]),
    }


def ensemble(sc, reps: int, runs: int, tables: str = "figures") -> list[float]:
    """Measurement 4: wall seconds of a `reps`-replicate ensemble on all cores, tables included (`tables`: as `run --tables`)."""
    times = []
    for k in range(runs):
        t = time.perf_counter()
        tables_, _ = run_ensemble(sc, reps, 1000 + k, tables=tables)
        times.append(time.perf_counter() - t)
        assert tables_.basin["replicate"].nunique() == reps
    return times


def kernel_compile() -> dict:
    """Measurement 6: seconds for a fresh process to run 5 days of the baseline, with the compiled kernel's
    on-disk cache empty (first run: compilation) and then filled (warm: the cache is loaded)."""
    import os
    import subprocess
    import sys
    import tempfile

    code = (
        "import time; t = time.perf_counter(); from datetime import timedelta; from sim.model.scenario import load_scenario; "
        "from sim.run.runner import world_for; from sim.model.engine import Engine; "
        f"sc = load_scenario({str(ROOT / 'scenarios' / 'baseline.toml')!r}); sc = sc.with_changes(end=sc.start + timedelta(days=4)); "
        "e = Engine(world_for(sc.data), sc, [1, 2]).run(); print('kernel', time.perf_counter() - t)"
    )
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("first_run_seconds", "warm_seconds"):
            r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
            rules, sec = r.stdout.split()
            out[label] = float(sec)
    out["rules"] = rules
    return out


PHASES = (
    ("compiled day: its draws, rules and observation (sim/model/kernel.py step)", ("kernel.py", "step")),
    ("vote-scale tracker (sim/model/vote.py observe)", ("vote.py", "observe")),
    ("events of the day", ("engine.py", "apply_events")),
)
"""Measurement 7's phases: label, (file, function) whose cumulative time is the phase's."""


def profile_run(sc, world) -> dict:
    """Measurement 7: where the time of one engine run goes (cProfile; shares of the run's time by phase)."""
    import cProfile
    import pstats

    simulate(world, sc.with_changes(end=sc.start + timedelta(days=9)), [1])  # compiled and warm
    seeds = replicate_seeds(sc.seed, 1)
    prof = cProfile.Profile()
    prof.enable()
    t = time.perf_counter()
    simulate(world, sc, seeds)
    total = time.perf_counter() - t
    prof.disable()
    stats = pstats.Stats(prof).stats  # (file, line, function) -> (calls, primitive calls, tottime, cumtime, callers)
    run_cum = sum(v[3] for (f, _, fn), v in stats.items() if f.endswith("engine.py") and fn == "run")
    out = {"profiled_seconds": run_cum, "wall_seconds_under_profile": total, "phases": {}}
    for label, (file, fn) in PHASES:
        cum = sum(v[3] for (f, _, name), v in stats.items() if f.endswith(file) and name == fn)
        out["phases"][label] = cum / run_cum if run_cum else float("nan")
    out["phases"]["the rest (Python around the day: engine bookkeeping, town series)"] = 1 - sum(out["phases"].values())
    return out


STEPS = (
    ("set-up: deals, truces and return orders", "        p = pm[r]\n"),
    ("(1) strikers by town and basin", "        # (1) strikers"),
    ("today's draws (sim/model/draws.py)", "        # today's draws"),
    ("(2) ties on strike", "        # (2) basin and delegate ties"),
    ("committees' calls, pulls and town rates", "        for k in range(nk):\n            kb = w.k_basin[k]\n            callout"),
    ("(3) decisions", "        # (3) each enterprise decides"),
    ("(3) updates", "        # then every enterprise is updated"),
    ("(3) trust, efficacy and refusals by town and basin", "        # trust, efficacy and refused workforce by town"),
    ("committees: formation, escalation, allegiance", "        # committees\n"),
    ("calls run out, promises carried out", "        # the workforce takes up"),
    ("(4) demands, grievances, trust", "        # (4) each enterprise: demands"),
    ("the reactive centre", "        # the reactive centre concedes"),
    ("the day's observables (sim/model/observation.py)", "        if obs:  # the replicate's observables"),
)
"""Measurement 7b's steps of the compiled day: label, the line of sim/model/kernel.py `_step` where the step begins
(it ends where the next begins; the last at the end of the replicate's day)."""


def kernel_steps(sc, world, batch: int) -> dict:
    """Measurement 7b: ns per enterprise-day of each step of the compiled day, a batch on one thread.

    A copy of sim/model/kernel.py with a cycle counter read where each step begins (`STEPS`) runs the
    batch; each step's share of the counted cycles times the day's measured ns per enterprise-day is its ns.
    """
    import importlib.util

    from sim.model import kernel
    from sim.model.engine import Engine

    src = (ROOT / "sim" / "model" / "kernel.py").read_text(encoding="utf-8")
    counter = (
        "from llvmlite import ir as _ir\n"
        "from numba.core import cgutils as _cg, types as _ty\n"
        "from numba.extending import intrinsic as _intrinsic\n\n\n"
        "@_intrinsic\n"
        "def _cycles(typingctx):\n"
        "    def codegen(context, builder, signature, args):\n"
        "        fn = _cg.get_or_insert_function(builder.module, _ir.FunctionType(_ir.IntType(64), []), 'llvm.readcyclecounter')\n"
        "        return builder.call(fn, [])\n\n"
        "    return _ty.uint64(), codegen\n\n\n"
        "COUNTS = np.zeros(16, dtype=np.uint64)\n\n\n"
    )
    start = src.index("def _step(")
    nxt = re.search(r"\n(?=\S)", src[start + 1 :])  # _step ends at the next line at column 0 (or at the end)
    end = len(src) if nxt is None else start + nxt.start() + 1
    head, body, tail = src[:start], src[start:end], src[end:]
    head = head.replace("cache=True", "cache=False").replace("\nPARAMS = ", "\n" + counter + "PARAMS = ", 1)
    body = body.replace("cache=True", "cache=False")
    at = body.index("day,") + len("day,")  # the counters go in after the day, the fifth parameter
    body = body[:at] + " COUNTS," + body[at:]
    for j, (_, line) in enumerate(STEPS):
        if body.count(line) != 1:
            raise SystemExit(f"measurement 7b: sim/model/kernel.py _step no longer has the line {line.strip()!r}: update STEPS")
        indent = line[: len(line) - len(line.lstrip())]
        tick = f"{indent}_t = _cycles()\n" + ("" if j == 0 else f"{indent}COUNTS[{j - 1}] += _t - _t0\n") + f"{indent}_t0 = _t\n"
        body = body.replace(line, tick + line if j else line + tick, 1)
    last = body.rstrip("\n").rsplit("\n", 1)[1]
    indent = "        "
    body = body.rstrip("\n") + f"\n{indent}COUNTS[{len(STEPS) - 1}] += _cycles() - _t0\n"
    assert last.startswith(indent)  # the last line of _step is in the replicate loop
    head = head.replace("rows_of(s, rows), wa, pm[rows], m, day,", "rows_of(s, rows), wa, pm[rows], m, day, COUNTS,", 1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kernel_steps.py"
        path.write_text(head + body + tail, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("kernel_steps", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    seconds = [0.0]

    def step(*args, **kw):
        t = time.perf_counter()
        mod.step(*args, **kw)
        seconds[0] += time.perf_counter() - t

    plain = kernel.step
    kernel.step = step
    try:
        seeds = replicate_seeds(sc.seed, batch)
        Engine(world, sc.with_changes(end=sc.start + timedelta(days=9)), seeds[:2], threads=1).run()  # compiled
        mod.COUNTS[:] = 0
        seconds[0] = 0.0
        Engine(world, sc, seeds, threads=1).run()
    finally:
        kernel.step = plain
    ns_day = seconds[0] / (batch * world.n * sc.days) * 1e9
    share = mod.COUNTS[: len(STEPS)] / mod.COUNTS[: len(STEPS)].sum()
    return {"ns_per_enterprise_day": ns_day, "steps": {label: float(f * ns_day) for (label, _), f in zip(STEPS, share, strict=True)}}


def thesis_time(quick: bool) -> list[dict]:
    """Measurement 9: wall seconds of the thesis at 200 replicates and 128 searched sets, and of `--quick`, with their runs.

    Quick mode (a smoke test) runs one tiny thesis instead: 2 replicates, 2 searched sets, no figures.
    """
    from sim import api

    calls = (
        [
            (
                "thesis -n 2 --flip-points 2 --flip-replicates 1 --flip-confirm 2 --no-figures",
                {"replicates": 2, "flip_points": 2, "flip_replicates": 1, "flip_confirm": 2, "draw_figures": False},
            )
        ]
        if quick
        else [("thesis --replicates 200 --flip-points 128", {"replicates": 200, "flip_points": 128}), ("thesis --quick", {"quick": True})]
    )
    out = []
    for label, kw in calls:
        with tempfile.TemporaryDirectory() as folder:
            t = time.perf_counter()
            res = api.thesis(**kw, sensitivity="", out=folder, quiet=True)
            seconds = time.perf_counter() - t
        f = res.flips if res.flips is not None and len(res.flips) else None
        out.append(
            {
                "command": label,
                "seconds": seconds,
                "arms_seconds": res.seconds,
                "runs_arms": res.arms * res.replicates,
                "runs_screen": int(f["runs_screen"].iloc[0]) if f is not None else 0,
                "runs_confirm": int(f["runs_confirm"].iloc[0]) if f is not None else 0,
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs (a smoke test of the benchmark, not a measurement)")
    ap.add_argument("--runs", type=int, default=3, help="repeats of the 1,000-replicate ensemble (the median is reported)")
    ap.add_argument("--json", default=None, help="also write the table as JSON to this file")
    ap.add_argument(
        "--calibration",
        default="full",
        choices=("full", "small", "skip"),
        help="measurement 8: the stage-2 calibration's budget (full: about 45 minutes on 2 cores), or skip it",
    )
    args = ap.parse_args()
    sc = load_scenario(ROOT / "scenarios" / "baseline.toml")
    if args.quick:
        sc = sc.with_changes(end=sc.start + timedelta(days=59))
    world = load_world(sc.data)
    batch = 20 if args.quick else 50

    m1 = reference_vs_engine(sc, world, batch)
    t_cascade = bare_cascade(world, sc.days, batch)
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    m3 = scaling(sizes, 1 if args.quick else 4)
    slope = float(np.polyfit(np.log([r["n"] for r in m3]), np.log([r["seconds"] for r in m3]), 1)[0])
    m4 = ensemble(sc, 100 if args.quick else 1000, 1 if args.quick else args.runs)
    m4_all = ensemble(sc, 100 if args.quick else 1000, 1 if args.quick else args.runs, "all")
    m5 = calibration_throughput(load_scenario(ROOT / "scenarios" / "baseline.toml"), world, 1 if args.quick else 5)
    m6 = kernel_compile()
    m7 = profile_run(sc, world)
    m7b = kernel_steps(sc, world, batch)
    m8 = None if args.calibration == "skip" else calibration_stage2(args.calibration, args.quick)
    m9 = thesis_time(args.quick)

    med, med_all = sorted(m4)[len(m4) // 2], sorted(m4_all)[len(m4_all) // 2]
    ns_day = m1["batch"] / (world.n * sc.days) * 1e9
    table = {
        "scenario": f"baseline {sc.start} to {sc.end}",
        "days": sc.days,
        "enterprises": world.n,
        "quick": args.quick,
        "engine_equals_reference": m1["same"],
        "reference_seconds": m1["reference"],
        "engine_seconds": m1["engine"],
        "engine_speedup": m1["reference"] / m1["engine"],
        "batch": batch,
        "batch_seconds_per_run": m1["batch"],
        "batch_speedup": m1["reference"] / m1["batch"],
        "batch_ns_per_enterprise_day": ns_day,
        "cascade_seconds_per_run": t_cascade,
        "engine_vs_cascade": m1["batch"] / t_cascade,
        "scaling": m3,
        "scaling_slope": slope,
        "ensemble_replicates": 100 if args.quick else 1000,
        "ensemble_seconds": m4,
        "ensemble_median_seconds": med,
        "ensemble_all_tables_seconds": m4_all,
        "ensemble_all_tables_median_seconds": med_all,
        "calibration": m5,
        "kernel_compile": m6,
        "profile": m7,
        "kernel_steps": m7b,
        "calibration_stage2": m8,
        "thesis": m9,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")

    print(f"baseline {sc.start} to {sc.end} ({sc.days} days), {world.n} enterprises; engine = reference on the last day: {m1['same']}")
    print(f"{'measurement':58s} {'value':>14s} {'ratio':>10s} {'goal':>12s}")
    print(f"{'1. per-agent Mesa reference, one run (s)':58s} {m1['reference']:14.3f} {'1x':>10s} {'':>12s}")
    print(f"{'   engine, one run (s)':58s} {m1['engine']:14.3f} {m1['reference'] / m1['engine']:9.1f}x {'>= 50x':>12s}")
    print(f"{f'   engine, per run in a batch of {batch} (s)':58s} {m1['batch']:14.3f} {m1['reference'] / m1['batch']:9.1f}x {'':>12s}")
    print(f"{'   the same, ns per enterprise-day (wall, all cores)':58s} {ns_day:14.1f} {'':>10s} {'':>12s}")
    print(f"{f'2. engine batch of {batch}: runs per second':58s} {1 / m1['batch']:14.1f} {'':>10s} {'':>12s}")
    print(
        f"{'   bare numpy threshold cascade, same size: runs per second':58s} {1 / t_cascade:14.1f} {m1['batch'] / t_cascade:9.1f}x {'<= 3x':>12s}"
    )
    for r in m3:
        label = f"3. {r['n']:,} enterprises, 40 days: us per enterprise-day"
        print(f"{label:58s} {r['per_mine_day'] * 1e6:14.3f} {'':>10s} {'':>12s}")
        print(f"{'   peak memory per enterprise (bytes)':58s} {r['bytes_per_mine']:14.0f} {'':>10s} {'':>12s}")
    print(f"{'   log-log slope of time against enterprises':58s} {slope:14.2f} {'':>10s} {'<= 1.1':>12s}")
    label = f"4. {'100' if args.quick else '1,000'}-replicate ensemble, all cores (s, median of {len(m4)})"
    print(f"{label:58s} {med:14.1f} {'':>10s} {'< 20 s':>12s}")
    print(f"   (runs: {', '.join(f'{t:.1f}' for t in m4)} s; the columns the figures read, as `run` records by default)")
    print(f"{'   the same recording every table (--tables all)':58s} {med_all:14.1f} {'':>10s} {'':>12s}")
    print(f"   (runs: {', '.join(f'{t:.1f}' for t in m4_all)} s)")
    label = f"5. ABC particles of {m5['replicates_per_particle']} replicates, 1989-1990 ({m5['days']} days): replicate-days/s"
    print(f"{label:58s} {m5['replicate_days_per_second']:14,.0f} {m5['speedup_of_recording_only_the_targets']:9.1f}x {'':>12s}")
    print(
        f"{'   the same particles recording every table: replicate-days/s':58s} {m5['replicate_days_per_second_all_tables']:14,.0f} {'1x':>10s} {'':>12s}"
    )
    label = f"6. a fresh process, 5 days ({m6['rules']}): first run, compiling (s)"
    print(f"{label:58s} {m6['first_run_seconds']:14.2f} {'':>10s} {'':>12s}")
    print(
        f"{'   the same, kernel loaded from the on-disk cache (s)':58s} {m6['warm_seconds']:14.2f} {m6['first_run_seconds'] / m6['warm_seconds']:9.1f}x {'':>12s}"
    )

    print(f"7. where one engine run's time goes (cProfile, {m7['profiled_seconds']:.3f} s profiled):")
    for label, share in m7["phases"].items():
        print(f"{'   ' + label:58s} {share:14.0%}")
    print(
        f"7b. the compiled day by step, a batch of {batch} on one thread (ns per enterprise-day; {m7b['ns_per_enterprise_day']:.1f} in all):"
    )
    for label, ns in m7b["steps"].items():
        print(f"{'   ' + label:58s} {ns:14.1f}")
    if m8 is not None:
        n = m8["population"]
        label = f"8. stage-2 calibration, {m8['budget']} budget{' (quick)' if args.quick else ''}: ABC wall time (s)"
        print(f"{label:58s} {m8['abc_seconds']:14.0f} {'':>10s} {'< 2,700 s':>12s}")
        print(f"{'   the whole command, predictive check included (s)':58s} {m8['seconds']:14.0f} {'':>10s} {'':>12s}")
        print(
            f"{f'   effective sample size of the last population (of {n})':58s} {m8['final_ess']:14.1f} {m8['final_ess'] / n:9.0%} {f'>= {n // 2}':>12s}"
        )
        for r in m8["populations"]:
            label = f"   population {r['population']}: acceptance, ESS"
            print(f"{label:58s} {r['acceptance']:14.3f} {r['ess']:10.1f} {'':>12s}")
    for k, r in enumerate(m9):
        goal = "" if args.quick else ("< 600 s" if k == 0 else "< 60 s")
        print(f"{('9. ' if k == 0 else '   ') + r['command'] + ' (s)':58s} {r['seconds']:14.1f} {'':>10s} {goal:>12s}")
        runs = f"{r['runs_arms']:,} arms + {r['runs_screen']:,} screening + {r['runs_confirm']:,} confirmation"
        print(f"      (runs: {runs}; the arms took {r['arms_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
