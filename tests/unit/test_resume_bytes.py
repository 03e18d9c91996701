"""Issue 31, classes 1, 2 and 13: a run stopped at any point and resumed ends byte for byte as an uninterrupted one.

Stopped after its first chunk, after its last chunk, between its phases (compare's effects, the
thesis's flip search) or while assembling its folder, a run, a compare and a thesis resume (with a
pool of two workers) into a folder whose every table and report has the bytes of an uninterrupted
run's, and the manifest the same entries (timings, executor and resumption aside). Before: a resume
whose chunks had all finished raised `ValueError: max_workers must be greater than 0`, and tables
assembled from resumed chunks recorded `datetime64[ms]` where a straight run recorded `[s]`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim import api
from sim.api.rerun import MANIFEST_VOLATILE
from sim.run import results
from tests.conftest import small_base

ROOT = Path(__file__).resolve().parents[2]


def files(folder: Path) -> dict[str, bytes]:
    """Every file of a results folder (figures aside: none are drawn here) but the manifest, by its path inside."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def assert_same_result(folder: Path, ref: Path) -> None:
    a, b = files(folder), files(ref)
    assert sorted(a) == sorted(b)
    differ = [name for name in a if a[name] != b[name]]
    assert not differ, f"these files differ in bytes from an uninterrupted run's: {differ}"
    ma, mb = (json.loads((f / "manifest.json").read_text()) for f in (folder, ref))
    skip = MANIFEST_VOLATILE | {"command", "git_commit", "versions"}
    assert {k: v for k, v in ma.items() if k not in skip} == {k: v for k, v in mb.items() if k not in skip}


def stop_after_chunks(monkeypatch, n: int) -> None:
    """Ctrl-C right after the n-th chunk is on disk."""
    real, count = results.write_chunk, [0]

    def write_chunk(*args, **kwargs):
        real(*args, **kwargs)
        count[0] += 1
        if count[0] == n:
            raise KeyboardInterrupt

    monkeypatch.setattr(results, "write_chunk", write_chunk)


def stop_in(monkeypatch, owner, name: str) -> None:
    """Ctrl-C when `owner.name` is first called (a phase after the simulations)."""

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(owner, name, stopped)


def interrupted_then_resumed(monkeypatch, call, stop) -> tuple[Path, str]:
    """Run `call` with `stop` armed (it must stop with its chunks kept and say so), then again: the resumed folder."""
    stop(monkeypatch)
    with pytest.raises(KeyboardInterrupt) as info:
        call()
    monkeypatch.undo()
    message = results.Stopped.of(info.value).message
    assert "finished chunks are kept in" in message and "no result written" not in message, message
    return call().folder, message


# ---- run: the baseline over July-August 1989 (its targets give target_series and targets_check) ----


@pytest.fixture(scope="module")
def short_baseline(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("short")
    sc = d / "short.toml"
    sc.write_text(f'base = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\nname = "short"\nend = "1989-08-31"\n')
    return sc


@pytest.fixture(scope="module")
def run_reference(short_baseline, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref")
    return api.run_scenario(short_baseline, replicates=6, seed=3, workers=2, out=out, draw_figures=False).folder


RUN_STOPS = {
    "after the first of two chunks": lambda mp: stop_after_chunks(mp, 1),
    "after the last chunk": lambda mp: stop_after_chunks(mp, 2),
    "while writing the tables": lambda mp: stop_in(mp, results, "write_tables"),
    "while writing the manifest": lambda mp: stop_in(mp, results, "write_manifest"),
}


@pytest.mark.parametrize("where", list(RUN_STOPS))
def test_run_stopped_anywhere_resumes_to_the_same_bytes(short_baseline, run_reference, tmp_path, monkeypatch, where):
    def call():
        return api.run_scenario(short_baseline, replicates=6, seed=3, workers=2, out=tmp_path, draw_figures=False)

    folder, _ = interrupted_then_resumed(monkeypatch, call, RUN_STOPS[where])
    assert json.loads((folder / "manifest.json").read_text())["resumed_from_chunks"]
    assert not list(tmp_path.glob("*/.partial_*")) and not (folder / "chunks").exists()
    assert_same_result(folder, run_reference)


# ---- compare: two arms of the small world, 2 chunks of 3 paired replicates ---------------------


@pytest.fixture(scope="module")
def arms(small_dir, tmp_path_factory) -> list[str]:
    d = tmp_path_factory.mktemp("arms")
    sc = d / small_base(small_dir, d)
    arm = d / "no_news.toml"
    arm.write_text(f'base = "{sc.name}"\nname = "no_news"\n[mechanisms]\nnews = false\n')
    return [str(sc), str(arm)]


@pytest.fixture(scope="module")
def compare_reference(arms, tmp_path_factory) -> Path:
    return api.compare(arms, replicates=6, seed=2, workers=2, out=tmp_path_factory.mktemp("ref"), draw_figures=False).folder


def _stop_in_effects(mp):
    from sim.analysis import experiments

    stop_in(mp, experiments, "paired_effects")


COMPARE_STOPS = {
    "after the first of two chunks": lambda mp: stop_after_chunks(mp, 1),
    "after the last chunk": lambda mp: stop_after_chunks(mp, 2),
    "between the runs and the effects": _stop_in_effects,
    "while writing the tables": lambda mp: stop_in(mp, results, "write_tables"),
}


@pytest.mark.parametrize("where", list(COMPARE_STOPS))
def test_compare_stopped_anywhere_resumes_to_the_same_bytes(arms, compare_reference, tmp_path, monkeypatch, where):
    def call():
        return api.compare(arms, replicates=6, seed=2, workers=2, out=tmp_path, draw_figures=False)

    folder, _ = interrupted_then_resumed(monkeypatch, call, COMPARE_STOPS[where])
    assert_same_result(folder, compare_reference)


# ---- thesis: the twelve arms, 2 chunks of 1 replicate, a flip search of one point ----------------

THESIS = {"replicates": 2, "seed": 5, "workers": 2, "draw_figures": False, "sensitivity": "", "flip_points": 1}
THESIS |= {"flip_replicates": 1, "flip_confirm": 1, "command": "thesis"}  # the report quotes the command: the same in both


def _stop_in_flip_search(mp):
    from sim.analysis import flips

    stop_in(mp, flips, "search")


THESIS_STOPS = {
    "after the first of two chunks": lambda mp: stop_after_chunks(mp, 1),
    "in its flip search": _stop_in_flip_search,
}


@pytest.mark.slow
@pytest.mark.parametrize("where", list(THESIS_STOPS))
def test_thesis_stopped_anywhere_resumes_to_the_same_bytes(tmp_path, monkeypatch, where):
    folder, _ = interrupted_then_resumed(monkeypatch, lambda: api.thesis(out=tmp_path / "a", **THESIS), THESIS_STOPS[where])
    ref = api.thesis(out=tmp_path / "b", **THESIS).folder
    assert (folder / "report.md").is_file()
    assert_same_result(folder, ref)


# ---- the class of 2: every table, whatever made it, is written in the types it is read back in ----


def test_a_table_written_read_back_and_written_again_has_the_same_bytes(run_reference, compare_reference, tmp_path):
    import pandas as pd

    for folder in (run_reference, compare_reference):
        for path in sorted(folder.glob("*.parquet")):
            again = tmp_path / path.name
            results.write_tables(tmp_path, {path.stem: pd.read_parquet(path)})
            assert again.read_bytes() == path.read_bytes(), f"{path.name}: another schema once read back"
