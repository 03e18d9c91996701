"""A fixed-seed summary of the baseline, and the script that refreshes its stored copy.

    python tests/regression/summary.py     # rewrite baseline_summary.json after an intended change

The regression test compares a fresh summary with the stored one, so any change in the model's
output is noticed; refreshing is a deliberate act recorded in the commit that does it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORED = Path(__file__).with_name("baseline_summary.json")
REPLICATES, SEED = 8, 20240


OFF = Path(__file__).with_name("baseline_summary_mechanisms_off.json")
"""The summary of the baseline before the 1989-1991 mechanisms and levers (issue 15): kept, not refreshed."""

NEUTRAL = {
    "cost_rate": 0.0,
    "refractory": 0.0,
    "push_days": 3650.0,
    "channel": 0.0,
    "dissolve": 0.02,
    "g_ethnic": 3.0,
}
"""The values under which the 1989-1991 mechanisms are off and the earlier model's rules hold (with the reactive centre on)."""

OFF_POSTERIOR = Path(__file__).with_name("posterior_mechanisms_off.parquet")
"""The posterior the stored mechanisms-off summary was drawn from (the installed one of 1 December 2026), kept so that
refitting the calibration does not change what the earlier model is compared on (a newer posterior also holds the
counter-mechanisms `court` and `tau_refuse`, which the earlier model did not have)."""

EARLIER = Path(__file__).with_name("earlier_events.toml")
"""The earlier model's dated events, frozen (the baseline's own events have been corrected since)."""


def summary(mechanisms_off: bool = False) -> dict:
    """The fixed-seed summary; `mechanisms_off` runs the baseline with the 1989-1991 mechanisms and events switched off."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from sim.inputs.network import load_world
    from sim.inputs.rng import replicate_seeds
    from sim.model.engine import simulate
    from sim.model.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "baseline.toml")
    if mechanisms_off:
        import tomllib

        from sim.model.interventions import parse_event

        raw = tomllib.loads(EARLIER.read_text(encoding="utf-8"))["events"]
        events = tuple(parse_event(e, f"{EARLIER.name} event #{i + 1}") for i, e in enumerate(raw))
        sc = sc.with_changes(params=NEUTRAL, mechanisms={"reactive_centre": True}, events=events, posterior=OFF_POSTERIOR)
    world = load_world(sc.data)
    eng = simulate(world, sc, replicate_seeds(SEED, REPLICATES))
    k, d = world.basin_names.index("Kuzbass"), world.basin_names.index("Donbas")

    def day(s: str) -> int:
        from datetime import date

        return (date.fromisoformat(s) - sc.start).days

    m, st = eng.basin_out["mines_on_strike"], eng.basin_out["strikers"]
    return {
        "kuzbass_mines_1989-07-15": m[day("1989-07-15"), :, k].tolist(),
        "kuzbass_mines_1989-07-20": m[day("1989-07-20"), :, k].tolist(),
        "kuzbass_strikers_1989-07-15": np.round(st[day("1989-07-15"), :, k]).tolist(),
        "donbas_peak_mines": m[:, :, d].max(axis=0).tolist(),
        "union_striker_days": np.round(st.sum(axis=(0, 2))).tolist(),
        "separatism_1991-12-31": np.round(eng.rep_out["separatism_index"][-1], 6).tolist(),
        "committees_sovereignty_end": eng.basin_out["committees_sovereignty"][-1].sum(axis=1).tolist(),
    }


if __name__ == "__main__":
    STORED.write_text(json.dumps(summary(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {STORED.relative_to(ROOT)}")
