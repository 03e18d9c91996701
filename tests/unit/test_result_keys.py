"""Issue 31, class 11: a result's key covers the content of every input it reads (results.key).

Before: two `validate` runs whose targets files differed in one bound had the same key, so the second,
started while the first ran, was refused as "the same command" (and their folders had one name).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim import api
from sim.run import results

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ROOT / "calibration" / "targets" / "july1989.csv"


def edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = TARGETS.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_key_follows_every_file_by_content_not_path(tmp_path):
    a = tmp_path / "a.csv"
    shutil.copy(TARGETS, a)
    elsewhere = tmp_path / "sub" / "b.csv"
    elsewhere.parent.mkdir()
    shutil.copy(TARGETS, elsewhere)
    assert results.key("x", 1, files=[a]) == results.key("x", 1, files=[elsewhere])  # the same content anywhere
    one_bound = edited(tmp_path, "c.csv", "158,150,170", "158,150,171")
    keys = {
        results.key("x", 1, files=[a]),
        results.key("x", 1, files=[one_bound]),  # one bound
        results.key("x", 2, files=[a]),  # an option
        results.key("x", 1, files=[a, a]),  # another input file
        results.key("x", 1, files=[a, None]),  # an input not given
        results.key("x", 1, files=[]),
    }
    assert len(keys) == 6


@pytest.fixture(scope="module")
def short_targets(tmp_path_factory) -> tuple[Path, Path]:
    """Two targets files of July 1989 that differ in one bound (the July 15 Kuzbass mines: high 170 or 171)."""
    d = tmp_path_factory.mktemp("targets")
    return edited(d, "a.csv", "158,150,170", "158,150,170"), edited(d, "b.csv", "158,150,170", "158,150,171")


def test_two_validate_runs_whose_targets_differ_in_one_bound_have_two_keys(short_targets, tmp_path):
    a, b = short_targets
    opts = {"replicates": 1, "seed": 1, "reference": "none", "workers": 1, "draw_figures": False, "out": tmp_path}
    fa, fb = api.validate(a, **opts).folder, api.validate(b, **opts).folder
    ka, kb = fa.name.split("_")[1], fb.name.split("_")[1]  # <time>_<key>[_<microseconds> when in the same second]
    assert ka != kb
    # and the reference forecast is part of what is computed: another key (without running it: the key alone)
    assert results.key("d", "none", files=[a]) != results.key("d", "prior", files=[a])
