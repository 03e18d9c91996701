"""Issue 31, class 3: an unfinished folder is checked, plan and every chunk, before anything of it is reused.

A chunk that is not what its run wrote (a file replaced by a folder, truncated, edited, missing, its
marker garbled, a chunk the plan has no place for) is said in one line, removed and run again; a plan
that is not readable or not this run's (an edited chunk size, another seed, a JSON list) discards
every chunk. Either way the resumed result has the bytes of an uninterrupted run. Before: exit 0 with
350 of 400 replicates (a chunk replaced by a folder), 1.1 million duplicated rows (a plan whose chunk
size was edited), a traceback (a malformed plan).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from sim import api
from sim.run import results
from tests.conftest import small_base

ARGS = {"replicates": 6, "seed": 7, "workers": 2, "targets": None, "draw_figures": False}  # two chunks of 3


@pytest.fixture(scope="module")
def scenario(small_dir, tmp_path_factory) -> Path:
    sc = tmp_path_factory.mktemp("sc") / "short.toml"
    sc.write_text(f'base = "{small_base(small_dir, sc.parent)}"\nname = "small"\nend = "1989-08-31"\n')
    return sc


@pytest.fixture(scope="module")
def reference(scenario, tmp_path_factory) -> Path:
    return api.run_scenario(scenario, out=tmp_path_factory.mktemp("ref"), **ARGS).folder


@pytest.fixture(scope="module")
def stopped(scenario, tmp_path_factory) -> Path:
    """A results root holding the run stopped once both its chunks were on disk."""
    out = tmp_path_factory.mktemp("stopped")
    real, count = results.write_chunk, [0]

    def write_chunk(*args, **kwargs):
        real(*args, **kwargs)
        count[0] += 1
        if count[0] == 2:
            raise KeyboardInterrupt

    results.write_chunk = write_chunk
    try:
        with pytest.raises(KeyboardInterrupt):
            api.run_scenario(scenario, out=out, **ARGS)
    finally:
        results.write_chunk = real
    return out


def rewrite(path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    edit(pd.read_parquet(path)).to_parquet(path, index=False)


def as_folder(path: Path) -> None:
    data = path.read_bytes()
    path.unlink()
    path.mkdir()
    (path / "part.parquet").write_bytes(data)


def marker(chunks: Path, change: dict) -> None:
    m = chunks / "done_000000003"
    m.write_text(json.dumps(json.loads(m.read_text()) | change))


def plan(chunks: Path, text: str) -> None:
    (chunks / "plan.json").write_text(text)


def edited_plan(chunks: Path, **change) -> None:
    plan(chunks, json.dumps(json.loads((chunks / "plan.json").read_text()) | change))


def extra_chunk(chunks: Path) -> None:
    """A chunk the plan has no place for: a copy of the last one, named as if it began at replicate 6."""
    for p in chunks.glob("*_000000003*"):
        shutil.copy(p, chunks / p.name.replace("000000003", "000000006"))
    marker_path = chunks / "done_000000006"
    marker_path.write_text(json.dumps(json.loads(marker_path.read_text()) | {"first": 6}))


CHUNK_DAMAGE = {
    "a table replaced by a folder": (lambda c: as_folder(c / "basin_000000003.parquet"), "basin_000000003.parquet"),
    "a table truncated": (lambda c: (c / "town_000000003.parquet").write_bytes((c / "town_000000003.parquet").read_bytes()[:300]), "town_"),
    "a table without one replicate": (lambda c: rewrite(c / "basin_000000003.parquet", lambda d: d[d["replicate"] != 5]), "basin_"),
    "a table with a value edited": (
        lambda c: rewrite(c / "republic_000000000.parquet", lambda d: d.assign(strikers=d["strikers"] + 1)),
        "republic_000000000",
    ),
    "a table of another chunk": (lambda c: shutil.copy(c / "oblast_000000000.parquet", c / "oblast_000000003.parquet"), "oblast_000000003"),
    "a table missing": (lambda c: (c / "areas_000000000.parquet").unlink(), "areas_000000000"),
    "a marker garbled": (lambda c: (c / "done_000000000").write_text("0"), "done_000000000"),
    "a marker with another replicate count": (lambda c: marker(c, {"replicates": 2}), "done_000000003"),
    "a marker naming other files": (lambda c: marker(c, {"files": {"basin": "0" * 64}}), "done_000000003"),
    "a chunk the plan has no place for": (extra_chunk, "done_000000006"),
}

PLAN_DAMAGE = {
    "its chunk size edited": lambda c: edited_plan(c, chunk=2),
    "its chunk size zero": lambda c: edited_plan(c, chunk=0),
    "its chunk size not a number": lambda c: edited_plan(c, chunk="3"),
    "its chunk size beyond the replicates": lambda c: edited_plan(c, chunk=10**9),
    "another seed": lambda c: edited_plan(c, seed=8),
    "another key": lambda c: edited_plan(c, key="0" * 64),
    "an entry missing": lambda c: plan(c, json.dumps({k: v for k, v in json.loads((c / "plan.json").read_text()).items() if k != "seed"})),
    "malformed JSON": lambda c: plan(c, '{"replicates": 6, "chunk": '),
    "a JSON list": lambda c: plan(c, "[6, 7, 3]"),
    "not UTF-8": lambda c: (c / "plan.json").write_bytes(b"\xff\xfe"),
    "a folder": lambda c: ((c / "plan.json").unlink(), (c / "plan.json").mkdir()),
}


def resume_damaged(stopped: Path, tmp_path: Path, scenario: Path, damage, capsys) -> tuple[Path, str]:
    out = tmp_path / "res"
    shutil.copytree(stopped, out)
    (chunks,) = list(out.glob("small/.partial_*/chunks"))
    damage(chunks)
    capsys.readouterr()
    folder = api.run_scenario(scenario, out=out, **ARGS).folder
    return folder, capsys.readouterr().err


@pytest.mark.parametrize("what", list(CHUNK_DAMAGE))
def test_a_damaged_chunk_is_said_and_run_again(stopped, reference, scenario, tmp_path, capsys, what):
    damage, named = CHUNK_DAMAGE[what]
    folder, err = resume_damaged(stopped, tmp_path, scenario, damage, capsys)
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and named in notes[0] and "discarded and run again" in notes[0], err
    sound = 2 if what == "a chunk the plan has no place for" else 1  # the sound ones are reused
    assert len(json.loads((folder / "manifest.json").read_text())["resumed_from_chunks"]) == sound
    for p in sorted(reference.glob("*.parquet")):
        assert (folder / p.name).read_bytes() == p.read_bytes(), p.name


@pytest.mark.parametrize("what", list(PLAN_DAMAGE))
def test_a_damaged_plan_discards_every_chunk_and_says_why(stopped, reference, scenario, tmp_path, capsys, what):
    folder, err = resume_damaged(stopped, tmp_path, scenario, PLAN_DAMAGE[what], capsys)
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "plan.json" in notes[0] and "discarded and run again" in notes[0], err
    assert json.loads((folder / "manifest.json").read_text())["resumed_from_chunks"] == []
    for p in sorted(reference.glob("*.parquet")):
        assert (folder / p.name).read_bytes() == p.read_bytes(), p.name
