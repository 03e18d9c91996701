"""Issue 31, class 10: a signal to the whole process group (what `timeout` and `kill -- -PGID` send) is one line.

The pool's workers get the signal too and die; the command must then act on the signal that reached
it (exit 143 for SIGTERM, 130 for SIGINT: one line, the finished chunks kept, the same command
resumes), not on the broken pool. Before: a `BrokenProcessPool` traceback and exit 1 in compare
(3 of 4 tries), sensitivity and the thesis flip search.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import small_base

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def start(args: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "run.py"), *args]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def group(pgid: int) -> list[str]:
    """The states of the running processes of a process group (zombies aside)."""
    ps = subprocess.run(["ps", "-o", "stat=", "-g", str(pgid)], capture_output=True, text=True).stdout.split()
    return [s for s in ps if not s.startswith("Z")]


def signal_group_when(p: subprocess.Popen, ready: Callable[[], bool], sig: int, timeout: float = 600) -> tuple[int, str]:
    deadline = time.time() + timeout
    while time.time() < deadline and p.poll() is None and not ready():
        time.sleep(0.05)
    assert p.poll() is None, "the command finished before the signal: make it longer"
    os.killpg(p.pid, sig)  # the whole group: the command, its forkserver and its pool's workers
    _, err = p.communicate(timeout=120)
    return p.returncode, err


def pool_running(p: subprocess.Popen, after: Callable[[], bool] = lambda: True) -> Callable[[], bool]:
    """Ready once `after()` holds and the command has at least two more processes than itself, its forkserver and tracker."""
    return lambda: after() and len(group(p.pid)) >= 5


def one_line(err: str, code: int, got: int) -> str:
    assert "Traceback" not in err and "BrokenProcessPool" not in err, err
    assert got == code and err.count("\n") == 1, (got, err)
    return err


SIGNALS = [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]


@pytest.mark.parametrize("chunks", [1, 3])
@pytest.mark.parametrize("sig, code, word", SIGNALS)
def test_compare_signalled_as_a_group_is_one_line_and_resumes(small_dir, tmp_path, chunks, sig, code, word):
    arm = tmp_path / "no_news.toml"
    arm.write_text(f'base = "{small_base(small_dir, arm.parent)}"\nname = "no_news"\n[mechanisms]\nnews = false\n')
    out = tmp_path / "res"
    args = ["compare", str(arm.parent / "small.toml"), str(arm), "-n", "250", "-s", "6", "-j", "2", "--out", str(out), "--no-figures", "-q"]
    p = start(args)
    # the arms run on threads of the command (no pool's workers to wait for): the group is the command itself
    got, err = signal_group_when(p, lambda: len(list(out.glob("compare/.partial_*/chunks/done_*"))) >= chunks, sig)
    err = one_line(err, code, got)
    assert word in err and "finished chunks are kept in" in err and "run the same command again" in err, err
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    (done,) = [d for d in (out / "compare").iterdir() if not d.name.startswith(".")]
    import pandas as pd

    assert len(pd.read_parquet(done / "outcomes.parquet")) == 500


def test_thesis_signalled_as_a_group_in_its_flip_search_keeps_its_chunks(tmp_path):
    # 41 points of 1 replicate: a task of the flip search per arm, so it runs in a pool. That the same
    # command then resumes (reusing the chunks, byte for byte) is test_resume_bytes.py's thesis test.
    out = tmp_path / "res"
    args = ["thesis", "-n", "2", "-s", "4", "-j", "2", "--out", str(out), "--no-figures", "-q", "--sensitivity", ""]
    p = start([*args, "--flip-points", "41", "--flip-replicates", "1", "--flip-confirm", "1"])
    chunks_done = [0.0]

    def in_flip_search() -> bool:  # both chunks of the arms are kept, and a pool runs again
        if len(list(out.glob("thesis/.partial_*/chunks/done_*"))) < 2:
            return False
        chunks_done[0] = chunks_done[0] or time.time()
        return time.time() - chunks_done[0] > 3

    got, err = signal_group_when(p, pool_running(p, in_flip_search), signal.SIGTERM)
    err = one_line(err, 143, got)
    assert "terminated: finished chunks are kept in" in err, err
    assert len(list(out.glob("thesis/.partial_*/chunks/done_*"))) == 2 and not list(out.glob("thesis/[!.]*"))


def test_sensitivity_signalled_as_a_group_is_one_line(tmp_path):
    out = tmp_path / "res"
    p = start(["sensitivity", "-j", "2", "--out", str(out), "--no-figures", "-q"])
    started = [0.0]

    def a_while_into_its_pool() -> bool:
        started[0] = started[0] or time.time()
        return time.time() - started[0] > 3

    got, err = signal_group_when(p, pool_running(p, a_while_into_its_pool), signal.SIGTERM)
    assert "terminated: no result written" in one_line(err, 143, got)
    assert not [d for d in out.glob("*/*") if not d.name.startswith(".")]
