"""The library API (`sim.api`): each command callable from Python, with a typed result, the same results as the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import run as cli
from sim import api
from sim.inputs.errors import OptionError


@pytest.fixture
def copy(small_dir, tmp_path):
    d = tmp_path / "s"
    shutil.copytree(small_dir, d)
    return d


def test_run_scenario_from_python_equals_the_command_line(copy, tmp_path):
    """The same scenario and seed give byte-identical tables from `api.run_scenario` and `python run.py run`."""
    res = api.run_scenario(copy / "small.toml", replicates=3, seed=5, targets=None, workers=1, out=tmp_path / "a", draw_figures=False)
    assert isinstance(res, api.RunResult) and res.status == 0 and res.replicates == 3 and res.failed_chunks == 0
    assert res.folder.is_dir() and not res.folder.name.startswith(".")
    manifest = json.loads((res.folder / "manifest.json").read_text())
    assert manifest["command"].startswith("python run.py run ") and manifest["replicates"] == 3  # the line rerun replays
    assert res.text().startswith("3 replicates of 'small' in ") and res.folder.name in res.text()
    argv = [
        "run",
        str(copy / "small.toml"),
        "-n",
        "3",
        "-s",
        "5",
        "--targets",
        "",
        "-j",
        "1",
        "--out",
        str(tmp_path / "b"),
        "--no-figures",
        "-q",
    ]
    assert cli.main(argv) == 0
    (other,) = (tmp_path / "b" / "small").glob("*_*")
    assert json.loads((other / "manifest.json").read_text())["command"] == manifest["command"]  # one call, one line
    for table in ("daily_basin", "daily_republic", "basin_events"):
        assert (res.folder / f"{table}.parquet").read_bytes() == (other / f"{table}.parquet").read_bytes(), table


def test_compare_from_python_returns_the_paired_effects(copy, tmp_path):
    arm = copy / "arm.toml"
    arm.write_text(
        (copy / "small.toml").read_text().replace('name = "small"', 'name = "arm"') + "\n", encoding="utf-8"
    )  # the same scenario under another name: every paired effect is exactly 0
    res = api.compare([copy / "small.toml", arm], replicates=3, seed=1, workers=1, out=tmp_path, draw_figures=False)
    assert isinstance(res, api.ArmsResult) and res.arms == 2 and res.verdicts is None
    assert isinstance(res.effects, pd.DataFrame) and len(res.effects) > 0
    assert (res.effects["mean"].abs().fillna(0) == 0).all()
    assert (res.folder / "effects.parquet").is_file()


def test_library_options_are_checked_with_one_line_errors(copy, tmp_path):
    with pytest.raises(OptionError, match="at least two scenarios"):
        api.compare([copy / "small.toml"], out=tmp_path / "out")
    with pytest.raises(OptionError, match=r"^--tables must be one of figures, all, got 'every'$"):
        api.run_scenario(copy / "small.toml", tables="every", out=tmp_path / "out")
    with pytest.raises(OptionError, match=r"--date \(day\) must be an ISO date"):
        api.explain_town(copy / "small.toml", day="12 July", town="x", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.slow
def test_the_readme_example_of_the_library_runs(tmp_path, capsys):
    """The README's Python example runs as written (results into a scratch folder, no figures)."""
    import functools
    import re
    import types

    text = (cli.ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "from sim import api" in b]
    proxy = types.SimpleNamespace(
        **{n: functools.partial(getattr(api, n), out=tmp_path, draw_figures=False) for n in ("run_scenario", "compare", "validate")}
    )
    exec(block.replace("from sim import api", ""), {"api": proxy})
    assert "scored targets inside the 90% band and informative" in capsys.readouterr().out
    assert {p.parent.name for p in tmp_path.glob("*/*_*") if p.is_dir()} == {"baseline", "compare", "validate"}


@pytest.mark.slow
def test_a_script_without_a_main_guard_runs_on_two_workers(copy, tmp_path):
    """Issue 30: library calls saved as a plain script (no `if __name__ == "__main__":`) run on two workers.

    Ensembles and paired arms run their chunks on threads of the script's process, so no worker process
    re-imports the script (before: a `BusyError`, then `ValueError: No objects to concatenate`).
    """
    arm = copy / "arm.toml"
    arm.write_text((copy / "small.toml").read_text().replace('name = "small"', 'name = "arm"') + "\n", encoding="utf-8")
    small, out = str(copy / "small.toml"), str(tmp_path / "out")
    script = tmp_path / "my_study.py"
    script.write_text(
        "from sim import api\n"
        f"res = api.run_scenario({small!r}, replicates=6, seed=3, targets=None, workers=2, out={out!r}, draw_figures=False)\n"
        f"arms = api.compare([{small!r}, {str(arm)!r}], replicates=6, seed=3, workers=2, out={out!r}, draw_figures=False)\n"
        "print('done', res.replicates, arms.arms)\n",
        encoding="utf-8",
    )
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.split() == ["done", "6", "2"], r.stderr[-2000:]
