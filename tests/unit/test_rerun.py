"""`python run.py rerun FOLDER`: a results folder holds what it takes to reproduce it, and the rerun checks it."""

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def run(*args, code=0):
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == code, r.stdout[-2000:] + r.stderr[-2000:]
    return r


@pytest.fixture
def inside(small_dir):
    """The small scenario and its data inside the repository (git-ignored results/): a rerun reads only files there."""
    d = ROOT / "results" / f".test_{uuid.uuid4().hex[:8]}"
    shutil.copytree(small_dir, d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def only_folder(root: Path) -> Path:
    (folder,) = [p for p in root.glob("*/*") if p.is_dir() and not p.name.startswith(".")]
    return folder


def test_rerun_of_a_run_is_identical_and_notices_a_changed_table(tmp_path, inside):
    out = tmp_path / "res"
    run("run", str(inside / "small.toml"), "-n", "3", "-s", "6", "--out", str(out), "-q", "-j", "2", "--no-figures")
    folder = only_folder(out)
    r = run("rerun", str(folder), "-j", "1")  # another worker count: the results must not depend on it
    assert "identical" in r.stdout and "daily_basin.parquet" in r.stdout and "DIFFERENT" not in r.stdout
    assert not list(out.rglob(".partial_*")) and only_folder(out) == folder  # the rerun left nothing behind

    t = pd.read_parquet(folder / "daily_basin.parquet")
    t.loc[t.index[-1], "strikers"] += 1  # one striker more on the last row
    t.to_parquet(folder / "daily_basin.parquet", index=False)
    r = run("rerun", str(folder), code=1)
    assert "DIFFERENT" in r.stdout and "daily_basin.parquet" in r.stdout
    assert "daily_republic.parquet" not in r.stdout.split("DIFFERENT")[1]  # only the changed table is named


def test_rerun_of_a_compare_folder_is_identical(tmp_path, inside):
    out = tmp_path / "res"
    sc = inside / "small.toml"
    arm = inside / "no_news.toml"
    arm.write_text(f'base = "{sc.as_posix()}"\nname = "no_news"\n[mechanisms]\nnews = false\n')
    run("compare", str(sc), str(arm), "-n", "2", "-s", "9", "--out", str(out), "-q", "-j", "1", "--no-figures")
    r = run("rerun", str(only_folder(out)), "-q")
    assert r.stdout.strip() == "identical"


def test_rerun_of_something_that_is_not_a_results_folder_is_one_line(tmp_path):
    r = run("rerun", str(tmp_path), code=2)
    assert r.stderr.count("\n") == 1 and "manifest.json" in r.stderr and "Traceback" not in r.stderr


def test_rerun_compares_every_file_both_ways_and_rtol_says_so(tmp_path, inside):
    out = tmp_path / "res"
    run("run", str(inside / "small.toml"), "-n", "2", "-s", "4", "--out", str(out), "-q", "-j", "1", "--no-figures")
    folder = only_folder(out)
    (folder / "daily_town.parquet").unlink()  # a table missing from the folder is a difference
    r = run("rerun", str(folder), code=1)
    assert "daily_town.parquet: written by the rerun, missing from the folder" in r.stdout
    # every table (efficacy is no column the figures read): the rerun records the option and reruns it
    run("run", str(inside / "small.toml"), "-n", "2", "-s", "5", "--out", str(tmp_path / "b"), "-q", "--no-figures", "--tables", "all")
    folder = only_folder(tmp_path / "b")
    t = pd.read_parquet(folder / "daily_basin.parquet")
    t["efficacy"] = t["efficacy"] * (1 + 1e-9)  # below any tolerance a historian would care about, but not the same bytes
    t.to_parquet(folder / "daily_basin.parquet", index=False)
    assert "DIFFERENT" in run("rerun", str(folder), code=1).stdout
    r = run("rerun", str(folder), "--rtol", "1e-6")
    assert "identical" in r.stdout and "not byte for byte" in r.stdout and "within rtol 1e-06" in r.stdout


@pytest.mark.parametrize(
    "command, why",
    [
        ("python run.py viz --port 9999", "writes no results folder"),
        ("python run.py run --help", "asks for help"),
        ("python run.py viz --host 0.0.0.0", "network address"),
        ("python run.py run /etc/passwd", "outside the repository"),
        ("python run.py run scenarios/baseline.toml --targets ../../x.csv", "outside the repository"),
        ("python run.py run --frobnicate", "does not parse"),
        ("python evil.py run", "not a 'python run.py"),
        ("python run.py run 'unterminated", "not a 'python run.py"),
    ],
)
def test_rerun_refuses_an_untrusted_recorded_command(tmp_path, command, why):
    folder = tmp_path / "baseline" / "20260101T000000Z_abcdef12"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"experiment": "baseline", "command": command, "scenario": {}}))
    r = run("rerun", str(folder), code=2)
    assert r.stderr.count("\n") == 1 and why in r.stderr and "Traceback" not in r.stderr, r.stderr
