"""Command-line messages a user reads (issue 20, first items): unknown commands, resumed runs."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("word, hint", [("comapre", "did you mean 'compare'?"), ("simulate", ""), ("thesys", "did you mean 'thesis'?")])
def test_an_unknown_command_names_itself_the_commands_and_a_near_one(word, hint):
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), word, "a.toml"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"unknown command '{word}'" in r.stderr and "commands: run, calibrate, validate, compare, thesis" in r.stderr
    assert hint in r.stderr


def test_a_resumed_run_says_how_much_it_resumed(small_dir, tmp_path, monkeypatch, capsys):
    import run as cli_module
    from sim.figures import figures

    d = tmp_path / "s"
    shutil.copytree(small_dir, d)
    argv = ["run", str(d / "small.toml"), "-n", "6", "-s", "2", "--out", str(tmp_path / "res"), "-j", "1"]

    def stop(folder):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "draw", stop)
    assert cli_module.main(argv) == 130
    monkeypatch.undo()
    capsys.readouterr()
    assert cli_module.main([*argv, "--no-figures"]) == 0
    err = capsys.readouterr().err
    assert "resumed 6 of 6 replicates from " in err and ".partial_" in err


@pytest.mark.slow
def test_compare_prints_effects_with_units_the_interval_named_and_no_scientific_notation(tmp_path, small_dir):
    shutil.copytree(small_dir, tmp_path, dirs_exist_ok=True)  # a scenario names files beside it or in the repository only
    sc = tmp_path / "small.toml"
    arm = tmp_path / "no_contagion.toml"
    arm.write_text(f'base = "{sc.as_posix()}"\nname = "no_contagion"\n[mechanisms]\ncontagion = false\n')  # an effect to state
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "compare",
            str(sc),
            str(arm),
            "-n",
            "3",
            "--out",
            str(tmp_path / "o"),
            "-j",
            "1",
            "--no-figures",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stdout.splitlines() if "(effect of the lever = " in x]  # what the lever did, in words, then the sum
    assert lines and all(
        "90% bootstrap interval" in x and "minus" not in x.split("(")[0] and " the lever " in x.split("(")[0] for x in lines
    )
    assert "persons" in r.stdout and "e+0" not in r.stdout and "e-0" not in r.stdout


@pytest.mark.slow
def test_the_tutorial_scenario_runs_as_written_and_says_it_replaces_a_posterior_draw(tmp_path):
    """README tutorial, step 3: the weak_contagion scenario, inside the repository as a user writes it."""
    import json
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(base = \"baseline.toml\"\nname = \"weak_contagion\".*?)```", readme, flags=re.S).group(1)
    f = ROOT / "scenarios" / "weak_contagion.toml"
    assert not f.exists()
    try:
        f.write_text(block, encoding="utf-8")
        r = subprocess.run(
            [
                sys.executable,
                str(ROOT / "run.py"),
                "run",
                str(f),
                "-n",
                "2",
                "--seed",
                "1989",
                "--out",
                str(tmp_path / "o"),
                "--no-figures",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
    finally:
        f.unlink()
    assert r.returncode == 0, r.stderr
    assert "note: weak_contagion sets w_basin in [params]" in r.stderr
    (man,) = (tmp_path / "o" / "weak_contagion").glob("*/manifest.json")
    assert json.loads(man.read_text())["overrides_posterior"] == ["w_basin"]


@pytest.mark.slow
def test_every_option_states_its_default_in_help():
    import argparse

    import run

    parser = run.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    fmt = run.Formatter("run.py")
    missing = [
        (name, a.option_strings[0])
        for name, sp in sub.choices.items()
        for a in sp._actions
        if a.option_strings
        and not isinstance(a, (argparse._HelpAction, argparse._StoreTrueAction))
        and not a.required  # a required option has no default
        and "default" not in fmt._get_help_string(a)
    ]
    assert not missing, missing
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "thesis", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "(default: 200)" in " ".join(r.stdout.split())


def test_every_outcome_has_a_human_name():
    from sim.model.metrics import OUTCOME_LABELS, OUTCOMES

    assert set(OUTCOME_LABELS) == set(OUTCOMES)
    assert all(label and "_" not in label for label in OUTCOME_LABELS.values())


def test_the_glossary_glosses_every_basin_of_the_data():
    import csv

    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    with (ROOT / "scenarios" / "data" / "basins.csv").open(encoding="utf-8") as fh:
        basins = [r["basin"] for r in csv.DictReader(fh) if r["basin"] != "USSR"]
    assert basins and all(f"| {b} |" in text for b in basins)
    assert "docs/glossary.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_gallery_describes_every_figure_a_command_draws_and_its_pictures_exist():
    import re

    src = (ROOT / "sim" / "figures" / "figures.py").read_text(encoding="utf-8")
    names = set(re.findall(r'\(\s*"([a-z0-9_]+)",\s*plots(?:_[a-z]+)?\.plot_', src)) | set(
        re.findall(r'^\s+"([a-z_]+)",\n\s+plots(?:_[a-z]+)?\.plot_', src, flags=re.M)
    )
    text = (ROOT / "docs" / "gallery.md").read_text(encoding="utf-8")
    assert len(names) >= 12, names
    missing = [n for n in names if f"**`{n}`**" not in text]
    assert not missing, missing
    for pic in re.findall(r"\]\((gallery/[a-z0-9_]+\.png)\)", text):
        assert (ROOT / "docs" / pic).is_file(), pic


@pytest.mark.slow
def test_the_gallery_script_draws_every_pictured_figure(tmp_path):
    import re

    r = subprocess.run(
        [sys.executable, str(ROOT / "docs/make_gallery.py"), "--out", str(tmp_path), "--replicates", "2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    pictured = set(re.findall(r"\]\(gallery/([a-z0-9_]+\.png)\)", (ROOT / "docs" / "gallery.md").read_text(encoding="utf-8")))
    assert pictured and pictured <= {p.name for p in tmp_path.glob("*.png")}
