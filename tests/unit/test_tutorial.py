"""The tutorial (docs/tutorial.py, a notebook in the percent format) runs from start to end (issue 19)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def plain_python() -> str:
    """The `python` of a shell where the environment is not activated: the base interpreter of the .venv, if it lacks the packages."""
    base = getattr(sys, "_base_executable", sys.executable)
    lacks = subprocess.run([base, "-c", "import matplotlib"], capture_output=True).returncode != 0
    return base if lacks and Path(sys.prefix).resolve() == (ROOT / ".venv").resolve() else sys.executable


def test_tutorial_runs_and_makes_its_figure(tmp_path):
    """`python docs/tutorial.py` from another folder, the environment not activated (it failed with ModuleNotFoundError)."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | {"MPLBACKEND": "Agg"}
    r = subprocess.run(
        [plain_python(), str(ROOT / "docs" / "tutorial.py")], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900
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


def test_tutorial_without_the_packages_or_a_venv_says_what_to_run(tmp_path):
    """`python docs/tutorial.py` in a copy without .venv, with a Python lacking the packages: one line, non-zero exit."""
    base = getattr(sys, "_base_executable", sys.executable)
    if subprocess.run([base, "-c", "import matplotlib"], capture_output=True).returncode == 0:
        pytest.skip("the base Python has the packages")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "tutorial.py").write_text((ROOT / "docs" / "tutorial.py").read_text(encoding="utf-8"), encoding="utf-8")
    r = subprocess.run([base, "docs/tutorial.py"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and ".venv/bin/python docs/tutorial.py" in r.stderr
