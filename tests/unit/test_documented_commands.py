"""Every command the README documents runs in a test (issue 14, class 4).

`python scenarios/data/derive_mines.py` failed with an ImportError and `benchmarks/bench.py` failed at
10^5 enterprises (its synthetic data broke the range checks) while no test ran them.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "calibration").rglob("README.md")), *sorted((ROOT / "docs").glob("*.md"))]


def documented() -> set[str]:
    """The scripts and run.py sub-commands that the documentation tells a user to type."""
    out = set()
    for doc in DOCS:
        for m in re.finditer(r"python (run\.py|[\w/]+\.py)((?: [a-z][\w-]*)?)", doc.read_text(encoding="utf-8")):
            script, sub = m.group(1), m.group(2).strip()
            out.add(f"run.py {sub}".strip() if script == "run.py" else script)
    return out


def test_every_documented_command_is_run_by_some_test():
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    cmds = documented()
    assert {"run.py", "run.py calibrate", "run.py validate", "scenarios/data/derive_mines.py", "benchmarks/bench.py"} <= cmds
    missing = []
    for c in sorted(cmds):
        if c == "run.py":
            continue  # the bare command: `python run.py` in .ci/run and the run tests
        if c.startswith("run.py "):
            sub = c.split()[1]
            if not re.search(rf"""["']{re.escape(sub)}["']""", tests):
                missing.append(c)
        elif c not in tests:
            missing.append(c)
    assert not missing, f"documented but run by no test: {missing}"


@pytest.mark.slow
def test_derive_mines_script_rewrites_the_committed_table(tmp_path):
    data = tmp_path / "scenarios" / "data"
    shutil.copytree(ROOT / "scenarios" / "data", data)
    (data / "mines.csv").unlink()
    r = subprocess.run([sys.executable, str(data / "derive_mines.py")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "wrote 1075 enterprises" in r.stdout
    assert (data / "mines.csv").read_bytes() == (ROOT / "scenarios" / "data" / "mines.csv").read_bytes()


@pytest.mark.slow
def test_benchmark_quick_mode_runs_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick", "--json", str(out)], capture_output=True, text=True, timeout=900
    )
    assert r.returncode == 0, r.stderr
    table = json.loads(out.read_text())
    assert table["engine_equals_reference"] is True
    assert table["engine_speedup"] > 1 and table["batch_speedup"] > 1
    assert [s["n"] for s in table["scaling"]] == sorted(s["n"] for s in table["scaling"])
    assert "log-log slope" in r.stdout
    assert table["calibration"]["days"] == 549 and table["calibration"]["replicate_days_per_second"] > 0
    # both recording modes are measured (timing is reported, not asserted: since the observation was compiled,
    # recording every table costs a particle little more than recording only its targets' places)
    assert table["calibration"]["replicate_days_per_second_all_tables"] > 0
    phases = table["profile"]["phases"]
    assert (
        abs(sum(phases.values()) - 1) < 1e-9 and phases["compiled day: its draws, rules and observation (sim/model/kernel.py step)"] > 0.1
    )
    assert all(v > 0 for k, v in phases.items() if not k.startswith("the rest")), phases  # every phase names a function that runs
    steps = table["kernel_steps"]["steps"]  # measurement 7b: the compiled day by step
    assert table["kernel_steps"]["ns_per_enterprise_day"] > 0 and all(v >= 0 for v in steps.values())
    assert (
        steps["(3) decisions"] > 0
        and steps["(3) updates"] > 0
        and steps["today's draws (sim/model/draws.py)"] > 0
        and steps["the day's observables (sim/model/observation.py)"] > 0
    )
    assert "7. where one engine run's time goes" in r.stdout
    m8 = table["calibration_stage2"]  # measurement 8: the stage-2 calibration (quick: 16 particles, 2 populations)
    # 16 particles asked for: the full budget's ESS aim and cap scale with it (12 effective, 16 to 64 particles)
    assert 16 <= m8["population"] <= 64 and [p["population"] for p in m8["populations"]] == [0, 1]
    assert 0 < m8["final_ess"] <= 16 and m8["abc_seconds"] > 0 and m8["seconds"] >= m8["abc_seconds"]
    assert all(0 < p["acceptance"] <= 1 for p in m8["populations"])
    assert "8. stage-2 calibration" in r.stdout and "effective sample size of the last population" in r.stdout
    (thesis,) = table["thesis"]  # measurement 9, in quick mode a tiny thesis: 12 arms x 2 replicates and a search of 2 sets
    assert thesis["runs_arms"] == 24 and thesis["runs_screen"] == 2 * 11 * 1 and thesis["seconds"] > 0 and "9. thesis" in r.stdout


@pytest.mark.slow
def test_benchmark_synthetic_data_is_valid_at_100000_enterprises(tmp_path):
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench import synthetic_data
    from sim.inputs.network import load_world

    world = load_world(synthetic_data(tmp_path / "data", 100_000))
    assert 90_000 <= world.n <= 110_000


def test_every_example_command_of_the_readme_parses(tmp_path):
    """Every literal `python run.py ...` example of the README is a valid command line (placeholders aside)."""
    import run as cli

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = set()
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    spans = [m.group(1) for m in re.finditer(r"`([^`]*python run\.py[^`]*)`", prose)]  # inline, may wrap a line
    spans += [line for line in text.splitlines() if line.startswith("python run.py")]  # code blocks
    for span in spans:
        args = span.split("#")[0].split("python run.py", 1)[1].split()
        if any(a.isupper() or "<" in a or "[" in a or "|" in a for a in args):
            continue  # a pattern (SCENARIO, FOLDER, [--budget small|full]), not a literal example
        found.add(tuple(args))
    assert len(found) >= 10
    for args in found:
        try:
            ns = cli.parse(list(args))
        except SystemExit as exc:  # `--help` prints and exits 0; anything else is a broken example
            assert exc.code == 0 and "--help" in args, args
            continue
        assert callable(ns.func), args


@pytest.mark.slow
def test_installed_command_is_the_same_cli():
    """`pip install -e .` installs `miners-strike`, the same CLI as `python run.py` (pyproject's [project.scripts])."""
    exe = Path(sys.executable).with_name("miners-strike")
    assert exe.is_file(), "reinstall the project (pip install -c constraints.txt -e '.[dev]') to get the miners-strike command"
    a = subprocess.run([str(exe), "validate", "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    b = subprocess.run([sys.executable, str(ROOT / "run.py"), "validate", "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert a.returncode == 0 and b.returncode == 0
    assert a.stdout.split("options:")[1] == b.stdout.split("options:")[1]  # the same options, help and defaults
