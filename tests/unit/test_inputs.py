"""Bad input gives the project's InputError naming the file and key or line; the CLI prints one line."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.inputs.errors import InputError
from sim.inputs.network import load_world
from sim.inputs.params import Params
from sim.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def scenario(tmp_path: Path, body: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(body, encoding="utf-8")
    return p


BASE = f'base = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\n'


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('nmae = "x"\n', "nmae"),
        (BASE + "[params]\nw_cty = 1.0\n", "w_cty"),
        (BASE + "[params]\nw_city = -1.0\n", "w_city"),
        (BASE + '[params]\nw_city = "high"\n', "w_city"),
        (BASE + "[mechanisms]\ncontagion = 1\n", "contagion"),
        (BASE + "[mechanisms]\nglasnost = true\n", "glasnost"),
        (BASE + 'start = "1989-13-01"\n', "start"),
        (BASE + 'end = "1989-06-01"\n', "end"),
        (BASE + "replicates = 0\n", "replicates"),
        (BASE + '[[events]]\nkind = "concession"\ndate = "1995-01-01"\nrelief = 0.1\n', "date"),
        (BASE + '[[events]]\nkind = "concesion"\ndate = "1989-08-01"\n', "kind"),
        (BASE + '[[events]]\nkind = "concession"\ndate = "1989-08-01"\nrelief = 3.0\n', "relief"),
        (BASE + '[[events]]\nkind = "concession"\ndate = "1989-08-01"\nrelif = 0.1\n', "relif"),
        (BASE + '[[events]]\nkind = "repression"\nstart = "1989-09-01"\nend = "1989-08-01"\n', "end"),
    ],
)
def test_bad_scenarios_name_file_and_key(tmp_path, body, key):
    path = scenario(tmp_path, body)
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert str(path) in msg and key in msg and "\n" not in msg


def test_malformed_toml_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="malformed TOML"):
        load_scenario(scenario(tmp_path, "name = \n"))
    with pytest.raises(InputError, match="not found"):
        load_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "bytes.toml"
    bad.write_bytes(b"name = '\xff\xfe'\n")
    with pytest.raises(InputError, match="UTF-8"):
        load_scenario(bad)


def test_only_one_level_of_base(tmp_path):
    a = scenario(tmp_path, BASE + 'name = "a"\n', "a.toml")
    b = scenario(tmp_path, f'base = "{a.name}"\n', "b.toml")
    with pytest.raises(InputError, match="one level"):
        load_scenario(b)
    c = scenario(tmp_path, 'base = "c.toml"\n', "c.toml")
    with pytest.raises(InputError, match="itself"):
        load_scenario(c)


def test_inheritance_merges_params_and_events(tmp_path):
    path = scenario(
        tmp_path,
        BASE + 'name = "child"\n[params]\nw_city = 2.0\n[[events]]\nkind = "news"\nstart = "1989-07-01"\nend = "1989-08-01"\nlevel = 0.2\n',
    )
    sc = load_scenario(path)
    base = load_scenario(ROOT / "scenarios" / "baseline.toml")
    assert sc.name == "child" and sc.params.w_city == 2.0 and sc.params.w_basin == base.params.w_basin
    assert len(sc.events) == len(base.events) + 1


def test_child_with_shorter_horizon_drops_inherited_later_events(tmp_path):
    sc = load_scenario(scenario(tmp_path, BASE + 'end = "1989-08-31"\n'))
    assert sc.end.isoformat() == "1989-08-31" and all((e.date or e.start).isoformat() <= "1989-08-31" for e in sc.events)
    assert any(e.kind == "seed_strike" for e in sc.events)
    path = scenario(
        tmp_path, BASE + 'end = "1989-08-31"\n[[events]]\nkind = "news"\nstart = "1990-01-01"\nend = "1990-02-01"\n', "late.toml"
    )
    with pytest.raises(InputError, match=r"\[\[events\]\] #1 \(news\)"):
        load_scenario(path)


def test_params_reject_unknown_and_out_of_range():
    with pytest.raises(InputError, match="unknown key"):
        Params().replace(nope=1.0)
    with pytest.raises(InputError, match="out of range"):
        Params().replace(out_share=2.0)


def copy_data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(ROOT / "scenarios" / "data", d)
    return d


@pytest.mark.parametrize(
    ("file", "edit", "needle"),
    [
        (
            "mines.csv",
            lambda t: t.replace(",Kuzbass,Mezhdurechensk,RSFSR,underground,", ",Kuzbass,Mezhdurechensk,RSFSR,undergrund,", 1),
            "line 2",
        ),
        (
            "mines.csv",
            lambda t: t.replace(",Kuzbass,Mezhdurechensk,RSFSR,underground,", ",Kuzbas,Mezhdurechensk,RSFSR,underground,", 1),
            "basin",
        ),
        ("grievances.csv", lambda t: t.replace("Kuzbass,0.70", "Kuzbass,1.70", 1), "wage"),
        ("grievances.csv", lambda t: t.replace("Kuzbass,0.70", "Kuzbass,lots", 1), "line 2"),
        ("cities.csv", lambda t: t.split("\n", 1)[0].replace("lat,", "") + "\n", "lat"),
        ("movements.csv", lambda t: t.replace("1989-07-01", "1989-07-41", 1), "date"),
    ],
)
def test_broken_data_files_name_file_and_line(tmp_path, file, edit, needle):
    d = copy_data(tmp_path)
    p = d / file
    p.write_text(edit(p.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_world(d)
    assert file in str(exc.value) and needle in str(exc.value)


def test_missing_data_file(tmp_path):
    d = copy_data(tmp_path)
    (d / "mines.csv").unlink()
    with pytest.raises(InputError, match=r"mines\.csv: data file not found"):
        load_world(d)


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.slow
def test_cli_bad_scenario_one_line_no_traceback_no_results(tmp_path):
    path = scenario(tmp_path, BASE + "[params]\nw_cty = 1.0\n")
    out = tmp_path / "results"
    r = cli("run", str(path), "--replicates", "2", "--out", str(out))
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "w_cty" in lines[0] and str(path) in lines[0]
    assert "Traceback" not in r.stderr
    assert not out.exists() or not any(out.rglob("*"))


@pytest.mark.slow
def test_cli_unknown_basin_or_town_in_events(tmp_path):
    for body in (
        '[[events]]\nkind = "concession"\ndate = "1989-08-01"\nbasins = ["Kuzbas"]\n',
        '[[events]]\nkind = "seed_strike"\ndate = "1989-08-01"\ncity = "Atlantis"\n',
    ):
        path = scenario(tmp_path, BASE + body)
        r = cli("run", str(path), "--replicates", "2", "--out", str(tmp_path / "res"))
        lines = r.stderr.strip().splitlines()
        assert r.returncode != 0 and len(lines) == 1 and str(path) in lines[0] and "[[events]] #" in lines[0]


@pytest.mark.slow
def test_cli_missing_data_file(tmp_path):
    d = copy_data(tmp_path)
    (d / "cities.csv").unlink()
    path = scenario(tmp_path, BASE + f'data = "{d.name}"\n')
    r = cli("run", str(path), "--replicates", "2", "--out", str(tmp_path / "res"))
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "cities.csv" in r.stderr


@pytest.mark.slow
def test_cli_help_on_every_command():
    for args in ([], ["run"], ["params"]):
        r = cli(*args, "--help")
        assert r.returncode == 0 and "usage" in r.stdout


@pytest.mark.slow
def test_cli_unwritable_results_folder_one_line(tmp_path, small_dir):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    r = cli("run", str(small_dir / "small.toml"), "-n", "2", "--out", str(blocker / "results"), "--no-figures")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


@pytest.mark.slow
def test_cli_bad_counts(tmp_path, small_dir):
    for args in (["-n", "0"], ["--seed", "-1"]):
        r = cli("run", str(small_dir / "small.toml"), *args, "--out", str(tmp_path / "res"), "--no-figures")
        assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "res").exists() or not any((tmp_path / "res").rglob("*.parquet"))
