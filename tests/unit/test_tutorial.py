"""The tutorial (docs/tutorial.py, a notebook in the percent format) runs from start to end (issue 19)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_tutorial_runs_and_makes_its_figure(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    r = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "tutorial.py")], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    assert "20 replicates" in out and "Kuzbass" in out  # the run and its table
    assert "july_peak_strikers" in out and "early_concession" in out  # the paired comparison
    assert "Prokopyevsk underground 1" in out and "z_grievance" in out  # the agent's decision terms
    assert "enterprises at work struck on 15 July 1989, mainly because of" in out  # and in words
    assert (
        "enterprises on strike" in out and "concession(s), relief promised" in out and "centre's perceived strength" in out
    )  # Mesa agents
    # the Mesa model and the engine on the same seed and posterior draw: the same enterprises on strike on 16 July 1989
    agents = re.search(r"^(\d+) enterprises on strike; .* neighbours on the network", out, flags=re.M)
    engine = re.search(r"^1989-07-16: (\d+) enterprises on strike in the engine", out, flags=re.M)
    assert agents and engine and agents.group(1) == engine.group(1) and int(agents.group(1)) > 0
    assert (ROOT / "results" / "tutorial" / "kuzbass_july1989.png").is_file()
