"""Regenerate mines.csv from basins.csv and cities.csv by the documented rule.

Usage: python scenarios/data/derive_mines.py
The rule is `sim.inputs.network.derive_mines` (seeded with sim.inputs.network.DATA_SEED); a test checks that the
committed mines.csv is what this script writes.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sim.inputs.datafiles import load_inputs
from sim.inputs.network import derive_mines
from sim.run.results import write_mines

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    tables = load_inputs(here)
    rows = derive_mines(tables["basins"], tables["cities"])
    write_mines(rows, here / "mines.csv")
    print(f"wrote {len(rows)} enterprises to {here.name}/mines.csv")
