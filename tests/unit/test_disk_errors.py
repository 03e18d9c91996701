"""A results folder that cannot be written (read-only file system, disk full) is one clear line; earlier results stay intact."""

import errno
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import run as cli
from sim.run import results

ROOT = Path(__file__).resolve().parents[2]


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def read_only_dir() -> Path | None:
    """A folder on a read-only file system (even root cannot write there), if this machine has one."""
    for d in (Path("/sys/kernel"), Path("/proc/sys")):
        probe = d / "miners_strike_probe"
        try:
            probe.mkdir()
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                return d
            continue
        probe.rmdir()
    return None


@pytest.mark.slow
def test_read_only_results_folder_is_one_line(small_dir):
    ro = read_only_dir()
    if ro is None:
        pytest.skip("no read-only file system on this machine to write into")
    cmd = [sys.executable, str(ROOT / "run.py"), "run", str(small_dir / "small.toml"), "-n", "2", "--out", str(ro / "res"), "-j", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and str(ro) in r.stderr, r.stderr


def test_disk_full_while_writing_tables_keeps_earlier_results(small_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "res"
    args = ["run", str(small_dir / "small.toml"), "-n", "2", "-s", "3", "--out", str(out), "-j", "1", "-q", "--no-figures"]
    assert cli.main(args) == 0
    before = tree(out)
    real = results.write_tables

    def full(folder, tables):  # the first table goes to disk, then the disk is full
        first = dict(list(tables.items())[:1])
        real(folder, first)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "daily_republic.parquet"))

    monkeypatch.setattr(results, "write_tables", full)
    capsys.readouterr()
    assert cli.main([*args[:5], "4", *args[6:]]) == 1  # another seed: a new folder
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "daily_republic.parquet" in err
    after = tree(out)
    assert {k: v for k, v in after.items() if k in before} == before  # the earlier result is intact
    # nothing of the failed one is published: only its lock and its finished chunks (to resume once there is space)
    new = set(after) - set(before)
    assert new and all(k.startswith(".locks/") or ("/.partial_" in k and "/chunks/" in k) for k in new), new
    assert len([p for p in out.glob("*/*") if p.is_dir() and not p.name.startswith(".")]) == 1
