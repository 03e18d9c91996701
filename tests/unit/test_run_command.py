"""The run command end to end: results folder contents, identical tables for the same seed."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def run(args, cwd=ROOT):
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=cwd, timeout=900)
    assert r.returncode == 0, r.stderr
    return r


def folders(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*") if p.is_dir() and not p.name.startswith("."))


def test_run_writes_manifest_tables_figures_and_is_reproducible(tmp_path, small_dir):
    sc = small_dir / "small.toml"
    out = tmp_path / "res"
    run(["run", str(sc), "--replicates", "3", "--seed", "7", "--out", str(out), "--workers", "1", "--quiet"])
    run(["run", str(sc), "--replicates", "3", "--seed", "7", "--out", str(out), "--workers", "2", "--quiet"])
    a, b = folders(out)
    man = json.loads((a / "manifest.json").read_text())
    for key in ("scenario", "replicate_seeds", "git_commit", "versions", "command", "data_files_sha256"):
        assert key in man
    assert man["root_seed"] == 7 and len(man["replicate_seeds"]) == 3
    assert len(list((a / "figures").glob("*.png"))) >= 2
    tables = sorted(p.name for p in a.glob("*.parquet"))
    assert {"daily_basin.parquet", "daily_republic.parquet", "daily_town.parquet", "basin_events.parquet"} <= set(tables)
    for name in tables:  # serial and two processes: byte-identical files
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    t = pd.read_parquet(a / "daily_basin.parquet")
    assert set(t["replicate"]) == {0, 1, 2} and t["strikers"].max() > 0
    assert not list(out.rglob(".partial_*"))


def test_other_seed_gives_other_tables(tmp_path, small_dir):
    sc = small_dir / "small.toml"
    out = tmp_path / "res"
    run(["run", str(sc), "-n", "2", "-s", "1", "--out", str(out), "--no-figures", "-q"])
    run(["run", str(sc), "-n", "2", "-s", "2", "--out", str(out), "--no-figures", "-q"])
    a, b = folders(out)
    assert not pd.read_parquet(a / "daily_basin.parquet").equals(pd.read_parquet(b / "daily_basin.parquet"))
    for name in ("daily_basin", "daily_republic", "daily_town"):
        assert (a / f"{name}.parquet").read_bytes() != (b / f"{name}.parquet").read_bytes(), name
