"""Issue 31, class 12 (the results folder's part): a scenario's results never land among a command's, and plot reads every folder right.

Before: a scenario named "compare", "thesis" or "validate" was run into that command's folder and
`plot` then misread it; `plot` on an `explain` folder failed with "missing table".
"""

from __future__ import annotations

import json
import shutil

import pytest

import run as cli
from sim.run import results
from tests.conftest import small_base


@pytest.mark.parametrize("name", [*results.COMMAND_FOLDERS, "Compare", "THESIS"])
def test_a_scenario_named_as_a_command_folder_is_refused_in_one_line(small_dir, tmp_path, capsys, name):
    sc = tmp_path / "named.toml"
    sc.write_text(f'base = "{small_base(small_dir, sc.parent)}"\nname = "{name}"\n')
    out = tmp_path / "res"
    assert cli.main(["run", str(sc), "-n", "2", "--out", str(out), "-j", "1", "--no-figures", "-q", "--targets", ""]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "named.toml" in err and "name" in err and "results folder of a command" in err, err
    assert not out.exists() or not list(out.rglob("*.parquet"))


def test_plot_reads_a_run_folder_as_a_run_whatever_its_experiment_says(small_dir, tmp_path, capsys):
    """A run folder written before such names were refused (its manifest says experiment 'compare') is drawn as a run."""
    sc = tmp_path / "short.toml"
    sc.write_text(f'base = "{small_base(small_dir, sc.parent)}"\nname = "small"\nend = "1989-08-31"\n')
    out = tmp_path / "res"
    assert cli.main(["run", str(sc), "-n", "2", "--out", str(out), "-j", "1", "--no-figures", "-q", "--targets", ""]) == 0
    (folder,) = list((out / "small").glob("[!.]*"))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["experiment"] = "compare"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    moved = out / "compare" / folder.name
    moved.parent.mkdir()
    shutil.move(folder, moved)
    assert cli.main(["plot", str(moved), "-q"]) == 0
    assert (moved / "figures" / "wave_july1989.png").is_file()


def test_plot_of_an_explain_folder_is_one_line(tmp_path, capsys):
    folder = tmp_path / "explain" / "20260101T000000Z_0123abcd"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"experiment": "explain", "scenario": "scenarios/baseline.toml"}))
    assert cli.main(["plot", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "explain folder" in err and "missing table" not in err, err
