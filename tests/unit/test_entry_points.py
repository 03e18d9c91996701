"""Issue 31, classes 4-9 and 13: every entry point as strict as the command line.

4 every path a file names stays where it belongs; 5 every numeric option has one limit; 6 the
Python API is as strict as the command line and writes nothing when it refuses; 7 a results folder
is untrusted input; 8 every OS error on a scenario's `base` chain is one line; 9 a malformed
`--cluster` address is one line; 13 silent acceptances of input files.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import run as cli
from sim.calibration import load_priors
from sim.errors import InputError
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASELINE = (ROOT / "scenarios" / "baseline.toml").as_posix()
TARGETS = (ROOT / "calibration" / "targets" / "july1989.csv").as_posix()
PRIOR = '[params.g_ref]\nlo = 0.4\nhi = 0.7\nreason = "test"\n'


@pytest.fixture
def copy(small_dir, tmp_path):
    d = tmp_path / "s"
    shutil.copytree(small_dir, d)
    return d


def one_line(exc: Exception, *words: str) -> str:
    msg = str(exc)
    assert "\n" not in msg and all(w in msg for w in words), msg
    return msg


# ---- 4. every path a file names stays where it belongs -----------------------------------------

ESCAPES = ["../x", "../../x", "../../../../../../../../x", "a/../../x", "./../x", "/tmp/x", "/etc/passwd", "//x", "sub/../../../x"]


@pytest.mark.parametrize("target", ESCAPES + ["link"])
@pytest.mark.parametrize("key", ["install", "scenario", "targets", "given"])
def test_a_priors_file_names_no_path_outside_where_it_belongs(tmp_path, key, target):
    """`calibrate --install` with `[setup] install = "../posterior.parquet"` overwrote the repository's README.md."""
    d = tmp_path / "deep" / "cal"
    d.mkdir(parents=True)
    (d / "sub").mkdir()
    if target == "link":  # a link beside the priors file that points out of it
        (d / "fitted").mkdir()
        outside = tmp_path / "outside.parquet"
        (d / "fitted" / "link.parquet").symlink_to(outside)
        (d / "link").symlink_to(tmp_path)
        target = "fitted/link.parquet" if key == "install" else "link/x"
    elif key == "install":
        target += ".parquet"
    setup = {"scenario": BASELINE, "end": "1989-07-31", "targets": TARGETS, key: target}
    path = d / "priors.toml"
    path.write_text("[setup]\n" + "".join(f'{k} = "{v}"\n' for k, v in setup.items()) + PRIOR, encoding="utf-8")
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(InputError) as exc:
        load_priors(path)
    one_line(exc.value, "priors.toml", key)
    argv = ["calibrate", "--priors", str(path), "--install", "--out", str(tmp_path / "res"), "-q"]
    assert cli.main(argv) == 2  # the command line refuses it before anything is written
    assert sorted(tmp_path.rglob("*")) == before


def test_the_repository_priors_files_install_into_their_fitted_folder():
    for f in ("priors.toml", "priors_1989_1990.toml"):
        s = load_priors(ROOT / "calibration" / f)
        assert s.install.parent == ROOT / "calibration" / "fitted" and s.install.suffix == ".parquet"
        assert s.scenario == ROOT / "scenarios" / "baseline.toml"


@pytest.mark.parametrize("target", ESCAPES + ["link"])
@pytest.mark.parametrize("key", ["base", "data", "parameters"])
def test_a_scenario_names_no_path_outside_the_repository_or_its_folder(copy, tmp_path, key, target):
    if target == "link":
        (copy / "link").symlink_to(tmp_path)
        target = "link/x"
    if key == "parameters":
        target += ".parquet"
    text = (copy / "small.toml").read_text(encoding="utf-8").replace('data = "data"\n', "")
    (copy / "c.toml").write_text(f'{key} = "{target}"\n' + text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_scenario(copy / "c.toml")
    one_line(exc.value, "c.toml", key)
    assert cli.main(["run", str(copy / "c.toml"), "--out", str(tmp_path / "res"), "-q"]) == 2
    assert not (tmp_path / "res").exists()


def test_paths_inside_the_folder_or_the_repository_are_accepted(copy):
    (copy / "sub").mkdir()
    shutil.move(copy / "data", copy / "sub" / "data")
    (copy / "small.toml").write_text((copy / "small.toml").read_text().replace('data = "data"', 'data = "sub/./data"'))
    assert load_scenario(copy / "small.toml").data == (copy / "sub" / "data").resolve()
    (copy / "child.toml").write_text(f'base = "{BASELINE}"\nname = "child"\n')  # the repository's baseline, by absolute path
    assert load_scenario(copy / "child.toml").data == ROOT / "scenarios" / "data"


# ---- 8. every OS error on a scenario's base chain is one line ----------------------------------


def _base(d: Path, case: str) -> str:
    """Make the file `base` names go wrong in one way; return the name to write."""
    if case == "loop":
        (d / "a.toml").symlink_to(d / "b.toml")
        (d / "b.toml").symlink_to(d / "a.toml")
        return "a.toml"
    if case == "self_loop":
        (d / "l.toml").symlink_to(d / "l.toml")
        return "l.toml"
    if case == "broken_link":
        (d / "broken.toml").symlink_to(d / "nowhere.toml")
        return "broken.toml"
    if case == "folder":
        (d / "dir.toml").mkdir()
        return "dir.toml"
    if case == "not_utf8":
        (d / "bad.toml").write_bytes(b'name = "\xff"\n')
        return "bad.toml"
    if case == "not_toml":
        (d / "bad.toml").write_bytes(b"name = \n")
        return "bad.toml"
    if case == "long_name":
        return "x" * 300 + ".toml"
    if case == "long_path":
        return "/".join(["y" * 200] * 30) + ".toml"
    if case == "nul":
        return "a\\u0000b.toml"
    if case == "file_as_folder":
        (d / "f").write_text("x")
        return "f/base.toml"
    if case == "missing":
        return "missing.toml"
    if case == "empty":
        return ""
    if case == "device":
        return "/dev/null"
    raise AssertionError(case)


BASE_CASES = ["loop", "self_loop", "broken_link", "folder", "not_utf8", "not_toml", "long_name", "long_path", "nul"]
BASE_CASES += ["file_as_folder", "missing", "empty", "device"]


@pytest.mark.parametrize("case", BASE_CASES)
def test_every_os_error_on_the_base_chain_is_one_line(copy, tmp_path, case, capsys):
    """`base` naming a loop of links gave a RuntimeError traceback from scenario.py in run and sensitivity --scenario."""
    child = copy / "child.toml"
    child.write_text(f'base = "{_base(copy, case)}"\nname = "child"\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_scenario(child)
    msg = str(exc.value)
    assert "\n" not in msg and ("child.toml" in msg or "bad.toml" in msg), msg
    out = tmp_path / "res"
    for argv in (["run", str(child)], ["sensitivity", "--scenario", str(child), "--budget", "test"]):
        assert cli.main([*argv, "--out", str(out), "-q"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: "), err
    assert not out.exists()


def test_an_unreadable_base_file_is_one_line(copy, monkeypatch):
    """Permission denied (tests run as root here, so the read itself is made to fail)."""
    child = copy / "child.toml"
    child.write_text('base = "small.toml"\nname = "child"\n', encoding="utf-8")
    real = Path.read_bytes

    def denied(self):
        if self.name == "small.toml":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(InputError) as exc:
        load_scenario(child)
    one_line(exc.value, "small.toml", "Permission denied")
