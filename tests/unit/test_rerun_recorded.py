"""Issue 31, class 12 (rerun's part): every results folder can be rerun, whoever wrote it and from wherever.

Before: a folder written through the Python API recorded `sim.api.run_scenario(...)`, which `rerun`
refused ("not a 'python run.py ...' command"); the command line recorded its words as typed, so a
relative path meant another file (or none) when `rerun` was started from another folder; and a
`calibrate` rerun that stopped said its populations were kept in the rerun's scratch folder, which
the rerun then removed (with a traceback when SIGTERM reached pyabc inside a database query).
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import date
from pathlib import Path

import pytest

import run as cli
from sim import api
from sim.analysis import calibration as cal
from sim.analysis import smc
from sim.api.recorded import repository_path
from sim.api.rerun import NOTHING_KEPT, recorded_command
from sim.inputs.errors import InputError
from sim.run import results
from sim.run.results import Stopped

ROOT = Path(__file__).resolve().parents[2]


class RecordedError(Exception):
    """The line a call would record (raised before anything runs)."""


@pytest.fixture
def spy(monkeypatch):
    """Stop every library command as soon as it has made the line its manifest records."""
    from sim.api.recorded import command_line

    def stop(*args, **kwargs):
        raise RecordedError(command_line(*args, **kwargs))

    for name in ("ensemble", "arms", "calibrate", "sensitivity", "tools"):  # the modules (sim.api's names are the functions)
        monkeypatch.setattr(importlib.import_module(f"sim.api.{name}"), "command_line", stop)


def rp(path: str) -> str:
    """A repository file named relative to the current folder, as a user elsewhere would type it."""
    return os.path.relpath(ROOT / path)


S = "scenarios/baseline.toml"
A, K = "scenarios/no_concessions.toml", "scenarios/kept_promises.toml"
T = "calibration/targets/july1989.csv"
P1, P2 = "calibration/priors.toml", "calibration/priors_1989_1990.toml"
CALLS = {  # the same call through the library and through the command line, with every path option relative
    "run": (
        lambda: api.run_scenario(rp(K), targets=rp(T), replicates=3, seed=5, draw_figures=False),
        lambda: ["run", rp(K), "--targets", rp(T), "-n", "3", "-s", "5", "--no-figures"],
        {"scenario": K, "targets": T},
    ),
    "run without targets": (
        lambda: api.run_scenario(Path(rp(S)), targets=None, fresh=True),
        lambda: ["run", rp(S), "--targets", "", "--fresh"],
        {"scenario": S, "targets": ""},
    ),
    "validate": (
        lambda: api.validate(rp(T), scenario=rp(K), reference="none", replicates=4, seed=2),
        lambda: ["validate", "--targets", rp(T), "--scenario", rp(K), "--reference", "none", "-n", "4", "-s", "2"],
        {"targets": T, "scenario": K},
    ),
    "compare": (
        lambda: api.compare([rp(S), Path(rp(A))], fork_at=date(1990, 1, 1), replicates=2, workers=1),
        lambda: ["compare", rp(S), rp(A), "--fork-at", "1990-01-01", "-n", "2", "-j", "1"],
        {"scenarios": [S, A]},
    ),
    "thesis": (
        lambda: api.thesis(sensitivity="", flip_points=0, flip_replicates=2, replicates=2, seed=4),
        lambda: ["thesis", "--sensitivity", "", "--flip-points", "0", "--flip-replicates", "2", "-n", "2", "-s", "4"],
        {},
    ),
    "calibrate": (
        lambda: api.calibrate(priors=rp(P1), population=4, generations=1, predictive=2, install=True, quiet=False),
        lambda: ["calibrate", "--priors", rp(P1), "--population", "4", "--generations", "1", "--predictive", "2", "--install"],
        {"priors": P1},
    ),
    "sensitivity": (
        lambda: api.sensitivity(budget="test", scenario=rp(S), arm=rp(A), suite=[rp(S), rp(K)], priors=[rp(P2)], targets=rp(T)),
        lambda: [
            "sensitivity",
            "--budget",
            "test",
            "--scenario",
            rp(S),
            "--arm",
            rp(A),
            "--suite",
            rp(S),
            rp(K),
            "--priors",
            rp(P2),
            "--targets",
            rp(T),
        ],
        {"scenario": S, "arm": A, "suite": [S, K], "priors": [P2], "targets": T},
    ),
    "sensitivity without priors": (
        lambda: api.sensitivity(budget="small", priors=[]),
        lambda: ["sensitivity", "--priors"],
        {"priors": []},
    ),
}


def recorded(call) -> str:
    with pytest.raises(RecordedError) as got:
        call()
    return str(got.value)


@pytest.mark.parametrize("name", CALLS)
def test_a_call_from_python_records_the_line_of_the_same_command_which_rerun_reads_the_same_from_anywhere(spy, tmp_path, monkeypatch, name):
    """Parts 1 and 2: the library and the command line record one line, its paths the repository's; rerun reads them alike anywhere."""
    library, words, paths = CALLS[name]
    here = tmp_path / "made" / "here"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)  # outside the repository: every relative path climbs out of it and back in
    line = recorded(library)
    assert line == recorded(lambda: cli.main(words())), "the library and the command line record different lines"
    assert line.startswith("python run.py ") and "/made/here" not in line and "../" not in line, line
    assert all(p in line.split() for p in [*paths.get("scenarios", []), *paths.get("suite", [])]), line

    monkeypatch.chdir(tmp_path)  # rerun started from another folder
    folder = tmp_path / "res" / "x" / "20260101T000000Z_01234567"
    folder.mkdir(parents=True)
    original, _ = recorded_command(folder, {"command": line}, cli.parse)
    for option, want in paths.items():
        got = getattr(original, option)
        if isinstance(want, list):
            assert [Path(g).resolve() for g in got] == [(ROOT / w).resolve() for w in want], (option, got)
        else:
            assert (got == "" == want) or Path(got).resolve() == (ROOT / want).resolve(), (option, got)
    library_shared = {"run": (3, 5), "validate": (4, 2), "compare": (2, None), "thesis": (2, 4)}
    if name in library_shared:
        assert (original.replicates, original.seed) == library_shared[name]


def test_the_line_writes_what_was_computed_not_where_or_how(spy, tmp_path):
    line = recorded(lambda: api.run_scenario(ROOT / S, out=tmp_path / "r", workers=2, quiet=False, fresh=True, replicates=2))
    assert line == "python run.py run scenarios/baseline.toml --targets calibration/targets/july1989.csv --replicates 2"
    outside = tmp_path / "odd name.toml"
    line = recorded(lambda: api.run_scenario(outside, targets=""))
    assert f"'{outside.as_posix()}'" in line  # a path outside the repository: absolute, quoted (rerun refuses it)
    assert repository_path(ROOT / "-x.toml") == "./-x.toml"  # never read as an option


def test_explain_records_its_line_too(spy, tmp_path):
    line = recorded(lambda: api.explain_town(rp(S), day=date(1989, 7, 12), town="Prokopyevsk", out=tmp_path / "res"))
    assert line == "python run.py explain scenarios/baseline.toml --date 1989-07-12 --town Prokopyevsk --replicate 0"


@pytest.mark.parametrize(
    "command",
    ["sim.api.run_scenario(scenario='scenarios/baseline.toml', replicates=20, seed=1)", "sim.api.thesis(replicates=2, flip_points=0)"],
)
def test_a_call_recorded_by_an_earlier_version_is_refused_in_one_line_saying_why(tmp_path, command):
    with pytest.raises(InputError) as exc:
        recorded_command(tmp_path, {"command": command}, cli.parse)
    msg = str(exc.value)
    assert "\n" not in msg and "call from Python recorded without its command line" in msg and "manifest.json" in msg, msg


# ---- part 3: a rerun that stops points at nothing it removes ------------------------------------------------


@pytest.fixture
def inside(small_dir):
    """The small world inside the repository (git-ignored results/): a rerun reads only files there."""
    d = ROOT / "results" / f".test_{uuid.uuid4().hex[:8]}"
    shutil.copytree(small_dir, d)
    (d / "t.csv").write_text(
        "date,basin,place,measure,value,low,high,kind,source,confidence\n"
        "1989-07-16,Kuzbass,,mines_on_strike,,2,10,interval,synthetic,high\n",
        encoding="utf-8",
    )
    (d / "p.toml").write_text(
        '[setup]\nscenario = "small.toml"\nend = "1989-07-31"\ntargets = "t.csv"\n'
        '[params.w_city]\nlo = 0.3\nhi = 6\nscale = "log"\nreason = "test"\n',
        encoding="utf-8",
    )
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Where the rerun makes its scratch folder (checked empty afterwards)."""
    d = tmp_path / "scratch"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


def interrupted_in_a_query(*args, **kwargs):
    """What pyabc does when SIGTERM arrives inside a database query: its own error, raised while closing, the interrupt behind it."""
    try:
        raise Stopped("terminated: no result written", code=143)
    except KeyboardInterrupt:
        raise RuntimeError("Can't reconnect until invalid transaction is rolled back") from None


def raising(exc):
    def f(*args, **kwargs):
        raise exc

    return f


CALIBRATE_STOPS = {  # how a calibration replayed by rerun stops: (what to replace, by what, exit status or exception)
    "interrupted in the ABC": ("run_abc", raising(KeyboardInterrupt()), 130),
    "SIGTERM inside a pyabc query": ("run_abc", interrupted_in_a_query, 143),
    "an error in the ABC": ("run_abc", raising(RuntimeError("simulated failure")), RuntimeError),
    "the report fails on a full disk": ("posterior_table", raising(OSError(errno.ENOSPC, "No space left on device", "x")), 1),
}


def rerun_stops(argv, scratch, capsys, outcome) -> str:
    if isinstance(outcome, int):
        assert cli.main(argv) == outcome
    else:
        with pytest.raises(outcome):
            cli.main(argv)
    err = capsys.readouterr().err
    assert not list(scratch.iterdir()), "the rerun left its scratch folder"
    assert "Traceback" not in err and "rerun_" not in err and "kept in" not in err and "--resume" not in err, err
    return err


@pytest.mark.parametrize("case", CALIBRATE_STOPS)
def test_a_stopped_calibrate_rerun_names_no_folder_it_removes(inside, scratch, tmp_path, monkeypatch, capsys, case):
    name, fake, outcome = CALIBRATE_STOPS[case]
    line = f"python run.py calibrate --priors {repository_path(inside / 'p.toml')} --population 4 --generations 1 --predictive 2"
    folder = tmp_path / "res" / "calibration" / "20260101T000000Z_01234567"
    folder.mkdir(parents=True)
    manifest = {"experiment": "calibration", "command": line, "root_seed": 1989, "predictive_seeds": [1, 2]}
    (folder / "manifest.json").write_text(json.dumps(manifest | {"data_files_sha256": {}, "config": {}}), encoding="utf-8")
    if name == "posterior_table":
        monkeypatch.setattr(smc, "run_abc", lambda *a, **k: None)
        monkeypatch.setattr(smc, "populations_table", lambda *a, **k: None)
    monkeypatch.setattr(smc if name == "run_abc" else cal, name, fake)
    err = rerun_stops(["rerun", str(folder), "-j", "1"], scratch, capsys, outcome)
    assert NOTHING_KEPT in err or "no result written" in err, err


@pytest.mark.parametrize(
    "stop, outcome",
    [
        (KeyboardInterrupt(), 130),
        (Stopped("terminated: no result written", code=143), 143),
        (RuntimeError("simulated failure"), RuntimeError),
        (OSError(errno.ENOSPC, "No space left on device", "chunk.parquet"), 1),
    ],
)
def test_a_run_rerun_stopped_after_a_chunk_names_no_folder_it_removes(inside, scratch, tmp_path, monkeypatch, capsys, stop, outcome):
    out = tmp_path / "res"
    argv = ["run", str(inside / "small.toml"), "-n", "2", "-s", "3", "--targets", "", "--out", str(out), "-j", "1", "--no-figures", "-q"]
    assert cli.main(argv) == 0
    (folder,) = list((out / "small").glob("[!.]*"))
    real = results.ResultsFolder.add_chunk

    def add_then_stop(self, first, tables):
        real(self, first, tables)  # the chunk is kept: the run says where, in the scratch folder
        raise stop

    monkeypatch.setattr(results.ResultsFolder, "add_chunk", add_then_stop)
    err = rerun_stops(["rerun", str(folder), "-j", "1"], scratch, capsys, outcome)
    assert NOTHING_KEPT in err or "no result written" in err, err


# ---- end to end: folders written by the library, rerun by the command line from another folder ---------------


def rerun_from(cwd: Path, folder: Path) -> str:
    r = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "rerun", str(folder), "-j", "1"], capture_output=True, text=True, cwd=cwd, timeout=900
    )
    assert r.returncode == 0 and "identical" in r.stdout and "DIFFERENT" not in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    return r.stdout


@pytest.mark.slow
def test_folders_written_by_the_library_rerun_identical_from_another_folder(inside, tmp_path, monkeypatch):
    """An API run, compare and validate, called with paths relative to one folder, rerun by `python run.py rerun` from another."""
    monkeypatch.chdir(inside / "data")
    sc, arm = Path("../small.toml"), inside / "no_news.toml"
    arm.write_text('base = "small.toml"\nname = "no_news"\n[mechanisms]\nnews = false\n', encoding="utf-8")
    shared = {"workers": 1, "draw_figures": False, "out": Path("../../.out_" + inside.name)}
    folders = [
        api.run_scenario(sc, targets="../t.csv", replicates=2, seed=6, **shared).folder,
        api.compare([sc, "../no_news.toml"], replicates=2, seed=9, **shared).folder,
        api.validate("../t.csv", scenario=sc, reference="none", replicates=2, **shared).folder,
    ]
    try:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        for folder in folders:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            assert manifest["command"].startswith("python run.py ") and "../" not in manifest["command"], manifest["command"]
            rerun_from(elsewhere, folder.resolve())
    finally:
        shutil.rmtree(ROOT / "results" / (".out_" + inside.name), ignore_errors=True)


@pytest.mark.slow
def test_a_calibration_by_the_library_reruns_identical_from_another_folder(inside, tmp_path, monkeypatch):
    monkeypatch.chdir(inside)
    res = api.calibrate(priors="p.toml", population=4, generations=1, predictive=2, workers=1, draw_figures=False, out=tmp_path / "res")
    line = json.loads((res.folder / "manifest.json").read_text(encoding="utf-8"))["command"]
    assert line.startswith(f"python run.py calibrate --priors {repository_path(inside / 'p.toml')} "), line
    out = rerun_from(tmp_path, res.folder)
    assert "posterior.parquet" in out and "populations.parquet" in out


@pytest.mark.parametrize(
    "kind, line, figures",
    [
        ("thesis", "python run.py thesis --sensitivity '' --flip-points 0 --replicates 2", True),
        ("thesis", "python run.py thesis --sensitivity '' --flip-points 0 --replicates 2 --no-figures", False),
        ("compare", f"python run.py compare {S} {A} --replicates 2", False),
    ],
)
def test_a_thesis_rerun_draws_the_figures_its_report_lists(tmp_path, monkeypatch, kind, line, figures):
    """A thesis report lists the figures drawn: a rerun without them wrote another report.md (DIFFERENT)."""
    folder = tmp_path / "res" / kind / "20260101T000000Z_01234567"
    folder.mkdir(parents=True)
    provenance = {"root_seed": 1, "replicate_seeds": [1, 2], "data_files_sha256": {}, "posterior_sha256": None}
    (folder / "manifest.json").write_text(json.dumps({"experiment": kind, "command": line} | provenance), encoding="utf-8")
    got = {}

    def replay(*args, options, **kwargs):
        got["draw_figures"], got["command"] = options.draw_figures, options.command
        raise RecordedError("replayed")

    monkeypatch.setattr(api, kind, replay)
    with pytest.raises(RecordedError):
        api.rerun(folder, cli.parse, quiet=True)
    assert got == {"draw_figures": figures, "command": line}  # and the line it records is the folder's, verbatim
