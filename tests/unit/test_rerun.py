"""`python run.py rerun FOLDER`: a results folder holds what it takes to reproduce it, and the rerun checks it."""

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def run(*args, code=0):
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == code, r.stdout[-2000:] + r.stderr[-2000:]
    return r


def only_folder(root: Path) -> Path:
    (folder,) = [p for p in root.glob("*/*") if p.is_dir() and not p.name.startswith(".")]
    return folder


def test_rerun_of_a_run_is_identical_and_notices_a_changed_table(tmp_path, small_dir):
    out = tmp_path / "res"
    run("run", str(small_dir / "small.toml"), "-n", "3", "-s", "6", "--out", str(out), "-q", "-j", "2", "--no-figures")
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


def test_rerun_of_a_compare_folder_is_identical(tmp_path, small_dir):
    out = tmp_path / "res"
    sc = small_dir / "small.toml"
    arm = tmp_path / "no_news.toml"
    arm.write_text(f'base = "{sc.as_posix()}"\nname = "no_news"\n[mechanisms]\nnews = false\n')
    run("compare", str(sc), str(arm), "-n", "2", "-s", "9", "--out", str(out), "-q", "-j", "1", "--no-figures")
    r = run("rerun", str(only_folder(out)), "-q")
    assert r.stdout.strip() == "identical"


def test_rerun_of_something_that_is_not_a_results_folder_is_one_line(tmp_path):
    r = run("rerun", str(tmp_path), code=2)
    assert r.stderr.count("\n") == 1 and "manifest.json" in r.stderr and "Traceback" not in r.stderr
