"""Issue 31, classes 1 and 2 from outside: run, compare and thesis killed with SIGKILL, then run again, equal an uninterrupted run byte for byte.

Killed (the whole process group, `kill -9`) once their first chunk is on disk, or once every chunk is
(while the figures are drawn), the same command resumes into a folder whose every table and report
has the bytes of an uninterrupted run's. Before: the resume of a folder whose chunks had all finished
raised `ValueError: max_workers must be greater than 0`, and the tables of a resumed run recorded
`datetime64[ms]` where an uninterrupted one recorded `[s]`, so `rerun` of any resumed folder said DIFFERENT.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import small_base
from tests.unit.test_kill_resume import finish, kill_when, published, start

pytestmark = pytest.mark.slow


def results_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in (".parquet", ".md")}


def killed_then_resumed(args: list[str], experiment: str, chunks: int, tmp_path: Path, name: str) -> Path:
    d = tmp_path / name
    d.mkdir()
    p = start(args, d)
    kill_when(p, lambda: len(list(d.glob(f"res/{experiment}/.partial_*/chunks/done_*"))) >= chunks)
    assert not published(d / "res" / experiment)
    finish(args, d)
    (done,) = published(d / "res" / experiment)
    assert not list(d.glob(f"res/{experiment}/.partial_*")) and not (done / "chunks").exists()
    return done


def check(args: list[str], experiment: str, total: int, tmp_path: Path) -> None:
    """Killed after the first chunk and after the last; both resumed folders equal a straight run's, file by file."""
    straight = tmp_path / "straight"
    straight.mkdir()
    finish(args, straight)
    (ref,) = published(straight / "res" / experiment)
    expected = results_of(ref)
    for chunks in (1, total):
        got = results_of(killed_then_resumed(args, experiment, chunks, tmp_path, f"killed_after_{chunks}"))
        assert sorted(got) == sorted(expected)
        differ = [n for n in got if got[n] != expected[n]]
        assert not differ, f"killed after {chunks} of {total} chunks, then resumed: {differ} differ in bytes"


# the figures are drawn (several seconds after the last chunk): the kill after every chunk lands in them


def test_run_killed_then_resumed_is_byte_identical(small_dir, tmp_path):
    sc = tmp_path / "short.toml"
    sc.write_text(f'base = "{small_base(small_dir, sc.parent)}"\nname = "small"\nend = "1989-08-31"\n')
    check(
        ["run", str(sc), "-n", "150", "-s", "4", "-j", "2", "-q", "--out", "res", "--targets", ""], "small", 3, tmp_path
    )  # 3 chunks of 50


def test_compare_killed_then_resumed_is_byte_identical(small_dir, tmp_path):
    arm = tmp_path / "no_news.toml"
    arm.write_text(f'base = "{small_base(small_dir, arm.parent)}"\nname = "no_news"\n[mechanisms]\nnews = false\n')
    args = ["compare", str(arm.parent / "small.toml"), str(arm), "-n", "60", "-s", "4", "-j", "2", "-q", "--out", "res"]
    check(args, "compare", 3, tmp_path)  # chunks of 25, 25 and 10


def test_thesis_killed_then_resumed_is_byte_identical(tmp_path):
    args = ["thesis", "-n", "2", "-s", "3", "-j", "2", "-q", "--out", "res", "--flip-points", "0", "--sensitivity", ""]
    check(args, "thesis", 2, tmp_path)
