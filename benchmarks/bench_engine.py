"""Engine vs per-agent reference: one baseline run (1989-1991) on the same network, in one process.

    python benchmarks/bench_engine.py [--days N] [--replicates R]

Prints the wall time of the per-agent Mesa reference (tests/reference.py, one run), of the engine
for one replicate (StrikeModel's path: batch of one; median of three runs) and per replicate in a
batch of R, and their ratios, all measured in this one process after a short warm-up.
Both implementations run the same rules on the same seed; the benchmark checks they agree on the
final day before printing, so the ratio compares equal work.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from sim.model import simulate  # noqa: E402
from sim.network import load_world  # noqa: E402
from sim.rng import replicate_seeds  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from tests.reference import ReferenceModel  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=None, help="simulate only the first N days (default: the whole 1989-1991 horizon)")
    ap.add_argument("--replicates", type=int, default=100, help="batch size for the per-replicate engine time")
    args = ap.parse_args()
    sc = load_scenario(ROOT / "scenarios" / "baseline.toml")
    if args.days:
        sc = sc.with_changes(end=sc.start + timedelta(days=args.days - 1))
    world = load_world(sc.data)
    seed = replicate_seeds(sc.seed, 1)[0]

    warm = sc.with_changes(end=sc.start + timedelta(days=29))  # load caches and code paths once
    simulate(world, warm, [seed])
    ReferenceModel(world, warm, seed).run()

    times = []
    for _ in range(3):  # the median of three: a single run is short and the machine noisy
        t = time.perf_counter()
        eng = simulate(world, sc, [seed])
        times.append(time.perf_counter() - t)
    t_engine = sorted(times)[1]

    t = time.perf_counter()
    ref = ReferenceModel(world, sc, seed).run()
    t_ref = time.perf_counter() - t
    same = np.array_equal(eng.state.striking[0], [m.striking for m in ref.mines])

    seeds = replicate_seeds(sc.seed, args.replicates)
    t = time.perf_counter()
    simulate(world, sc, seeds)
    t_batch = (time.perf_counter() - t) / args.replicates

    print(f"baseline {sc.start} to {sc.end} ({sc.days} days), {world.n} enterprises, {world.n_cities + world.n_basins} committees")
    print(f"final states identical: {same}")
    print(f"{'implementation':44s} {'seconds/run':>12s} {'speed-up':>9s}")
    print(f"{'per-agent Mesa reference':44s} {t_ref:12.3f} {1:9.1f}x")
    print(f"{'engine, one replicate (StrikeModel path)':44s} {t_engine:12.3f} {t_ref / t_engine:9.1f}x")
    print(f"{f'engine, batch of {args.replicates} (per replicate)':44s} {t_batch:12.3f} {t_ref / t_batch:9.1f}x")


if __name__ == "__main__":
    main()
