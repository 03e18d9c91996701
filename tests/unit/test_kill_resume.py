"""Killed with SIGKILL at a random point and run again, a thesis run and a calibration end as if never stopped.

(The ensemble `run` has the same test in test_resume.py.) The kill point is drawn from a seeded
generator (KILL_SEED, default 2026) so a failure can be repeated.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PICK = random.Random(int(os.environ.get("KILL_SEED", "2026")))


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "run.py"), *args]
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def finish(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def kill_when(p: subprocess.Popen, ready: Callable[[], bool], timeout: float = 600) -> None:
    """SIGKILL the command's whole process group (it and its workers) once `ready()` holds."""
    deadline = time.time() + timeout
    while time.time() < deadline and p.poll() is None and not ready():
        time.sleep(0.05)
    assert p.poll() is None, "the command finished before it could be killed: make it longer"
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()


def published(root: Path) -> list[Path]:
    return [d for d in root.iterdir() if not d.name.startswith(".")] if root.is_dir() else []


def test_thesis_killed_then_rerun_equals_an_uninterrupted_run(tmp_path):
    # 3 chunks of 2 replicates x 9 arms; the same command line (--out res) in two folders, so even
    # the report, which quotes the command, must be byte-identical
    args = ["thesis", "-n", "6", "--seed", "3", "-q", "-j", "3", "--no-figures", "--out", "res", "--flip-points", "0"]
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    killed.mkdir()
    straight.mkdir()
    chunks_before_kill = PICK.randint(1, 2)
    p = start(args, killed)
    kill_when(p, lambda: len(list(killed.glob("res/thesis/.partial_*/chunks/done_*"))) >= chunks_before_kill)
    (partial,) = list(killed.glob("res/thesis/.partial_*"))
    finished = len(list(partial.glob("chunks/done_*")))
    assert 1 <= finished < 3 and not published(killed / "res" / "thesis")

    finish(args, killed)
    (done,) = published(killed / "res" / "thesis")
    assert not list(killed.glob("res/thesis/.partial_*")) and not (done / "chunks").exists()
    manifest = json.loads((done / "manifest.json").read_text())
    assert len(manifest["resumed_from_chunks"]) >= finished

    finish(args, straight)
    (ref,) = published(straight / "res" / "thesis")
    for name in ("outcomes", "effects", "verdicts", "series"):
        pd.testing.assert_frame_equal(pd.read_parquet(done / f"{name}.parquet"), pd.read_parquet(ref / f"{name}.parquet"), obj=name)
    assert (done / "report.md").read_bytes() == (ref / "report.md").read_bytes()


def populations_in(db: Path) -> int:
    if not db.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as con:
            return con.execute("select count(*) from populations where t >= 0").fetchone()[0]
    except sqlite3.Error:  # not created yet, or locked by the writer
        return 0


def test_calibration_killed_then_resumed_equals_an_uninterrupted_run(tmp_path):
    args = ["calibrate", "--population", "16", "--generations", "3", "--predictive", "4", "-q", "-j", "2", "--no-figures", "--out", "res"]
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    killed.mkdir()
    straight.mkdir()
    populations_before_kill = PICK.randint(1, 2)
    p = start(args, killed)
    kill_when(p, lambda: any(populations_in(db) >= populations_before_kill for db in killed.glob("res/calibration/.partial_*/abc.db")))
    assert not published(killed / "res" / "calibration")

    finish([*args, "--resume"], killed)
    (done,) = published(killed / "res" / "calibration")
    assert json.loads((done / "manifest.json").read_text())["resumed"]
    finish(args, straight)
    (ref,) = published(straight / "res" / "calibration")
    for name in ("posterior", "populations", "posterior_summary", "targets_check", "daily_basin"):
        a, b = pd.read_parquet(done / f"{name}.parquet"), pd.read_parquet(ref / f"{name}.parquet")
        if name == "populations":  # wall-clock seconds per population differ; the rest must not
            a, b = a.drop(columns="seconds"), b.drop(columns="seconds")
        pd.testing.assert_frame_equal(a, b, obj=name)
