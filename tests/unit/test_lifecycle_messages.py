"""Issue 31, class 13 (the results folder's part): messages say what happened, and nothing is written where it should not be.

An interrupt after the simulations says which chunks are kept (before: "no result written"); a full
disk names the file it could not write and leaves no `.tmp` file (before: pyarrow's message with no
file, and `.tmp` chunk files left); `--out ""` is refused in one line (before: results written into
the working folder).
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import run as cli
from tests.conftest import small_base

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def short(small_dir, tmp_path) -> Path:
    sc = tmp_path / "short.toml"
    sc.write_text(f'base = "{small_base(small_dir, sc.parent)}"\nname = "small"\nend = "1989-08-31"\n')
    return sc


def run_args(sc: Path, out: Path | str) -> list[str]:
    return ["run", str(sc), "-n", "6", "-s", "2", "--out", str(out), "-j", "1", "--no-figures", "-q", "--targets", ""]


def leftovers(out: Path) -> list[str]:
    return [str(p) for p in Path(out).rglob("*.tmp")]


def published(out: Path) -> list[Path]:
    return [p for p in Path(out).glob("*/*") if p.is_dir() and not p.name.startswith(".")]


# ---- --out "" ---------------------------------------------------------------------------------


@pytest.mark.parametrize("out", ["", " "])
@pytest.mark.parametrize(
    "command",
    [
        ["run"],
        ["compare", "scenarios/baseline.toml", "scenarios/no_concessions.toml"],
        ["thesis"],
        ["validate", "--targets", "calibration/targets/july1989.csv"],
        ["calibrate"],
        ["sensitivity"],
        ["explain", "scenarios/baseline.toml", "--date", "1989-07-12", "--town", "Prokopyevsk"],
    ],
)
def test_an_empty_out_is_refused_in_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys, command, out):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    words = [w if not w.startswith(("scenarios/", "calibration/")) else str(ROOT / w) for w in command]
    assert cli.main([*words, "--out", out]) == 2  # refused before anything is read or run
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err, err
    assert not list(work.iterdir())


# ---- an interrupt after the simulations ----------------------------------------------------------


def test_an_interrupt_after_the_simulations_says_the_chunks_are_kept(short, tmp_path, monkeypatch, capsys):
    from sim.model import metrics

    out = tmp_path / "res"

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(metrics, "first_and_last", stop)  # the first step after the runs
    assert cli.main(run_args(short, out)) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted: finished chunks are kept in" in err and "no result written" not in err, err
    monkeypatch.undo()
    assert cli.main(run_args(short, out)) == 0 and len(published(out)) == 1


# ---- a full disk -----------------------------------------------------------------------------------


def pyarrow_full_disk(monkeypatch, at: int) -> None:
    """The `at`-th Parquet file written gets half its bytes, then pyarrow's error for a full disk (no file named)."""
    real, count = pd.DataFrame.to_parquet, [0]

    def to_parquet(self, path, *args, **kwargs):
        count[0] += 1
        if count[0] < at:
            return real(self, path, *args, **kwargs)
        real(self, path, *args, **kwargs)
        Path(path).write_bytes(Path(path).read_bytes()[:200])
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)


# 5 chunk tables (basin, republic, town, oblast, areas) for the one chunk of -j 1, then the final tables
@pytest.mark.parametrize("at", [1, 3, 5, 6, 8])
def test_a_full_disk_names_the_file_and_leaves_no_temporary_file(short, tmp_path, monkeypatch, capsys, at):
    out = tmp_path / "res"
    pyarrow_full_disk(monkeypatch, at)
    assert cli.main(run_args(short, out)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and ".parquet" in err and str(out) in err, err
    assert not leftovers(out) and not published(out)
    if at > 5:  # the chunk was finished before the disk filled: kept, and said
        assert "finished chunks are kept in" in err
    monkeypatch.undo()
    assert cli.main(run_args(short, out)) == 0 and not leftovers(out) and len(published(out)) == 1


@pytest.fixture
def tiny_disk(tmp_path):
    """Mount points of small RAM file systems (root only; skipped elsewhere)."""
    mounted = []

    def make(size: str) -> Path:
        d = tmp_path / f"disk_{size}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(d)], capture_output=True)
        if r.returncode != 0:
            pytest.skip("cannot mount a small file system here (needs root)")
        mounted.append(d)
        return d

    yield make
    for d in mounted:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


@pytest.mark.parametrize("size", ["12k", "40k", "120k"])
def test_a_really_full_disk_names_the_file_and_leaves_no_temporary_file(short, tiny_disk, capsys, size):
    out = tiny_disk(size)
    code = cli.main(run_args(short, out / "res"))
    err = capsys.readouterr().err
    if code == 0:
        pytest.skip(f"{size} was enough for the whole result")
    assert code == 1 and err.count("\n") == 1 and "No space left on device" in err and str(out) in err, err
    assert not leftovers(out) and not published(out / "res")


def test_the_atomic_writer_names_the_file_of_an_os_error_without_one(tmp_path):
    from sim.run import results

    def fail(tmp):
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "Error writing bytes to file")

    with pytest.raises(OSError) as info:
        results._atomic(tmp_path / "table.parquet", fail)
    assert info.value.filename == str(tmp_path / "table.parquet") and info.value.strerror == os.strerror(errno.ENOSPC)
    assert not list(tmp_path.iterdir())


FIRST_FAILURES = {  # how an earlier command of the same process stopped with its finished chunks kept
    "disk full while writing the tables": ("write_tables", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "daily_basin.parquet"), 1),
    "an error while writing the tables": ("write_tables", RuntimeError("simulated failure"), RuntimeError),
    "Ctrl-C while writing the tables": ("write_tables", KeyboardInterrupt(), 130),
}


@pytest.mark.parametrize("case", FIRST_FAILURES)
def test_a_later_command_of_the_same_process_names_only_its_own_folder(short, tmp_path, monkeypatch, capsys, case):
    """A command that stopped with chunks kept is closed: a later command's interrupt does not name its folder (the API, a long session)."""
    from sim.run import results

    name, exc, outcome = FIRST_FAILURES[case]
    first, later = tmp_path / "first", tmp_path / "later"

    def fail(*args, **kwargs):
        raise exc

    with monkeypatch.context() as m:
        m.setattr(results, name, fail)
        if isinstance(outcome, int):
            assert cli.main(run_args(short, first)) == outcome
        else:
            with pytest.raises(outcome):
                cli.main(run_args(short, first))
    assert list(first.rglob("done_*")), "the first command kept its chunks"
    capsys.readouterr()

    def interrupt(self, first_replicate, tables):
        raise KeyboardInterrupt

    monkeypatch.setattr(results.ResultsFolder, "add_chunk", interrupt)
    assert cli.main(run_args(short, later)) == 130
    err = capsys.readouterr().err
    assert err.strip() == "interrupted: no result written" and str(first) not in err, err
