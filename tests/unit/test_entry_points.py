"""Issue 31, classes 4-9 and 13: every entry point as strict as the command line.

4 every path a file names stays where it belongs; 5 every numeric option has one limit; 6 the
Python API is as strict as the command line and writes nothing when it refuses; 7 a results folder
is untrusted input; 8 every OS error on a scenario's `base` chain is one line; 9 a malformed
`--cluster` address is one line; 13 silent acceptances of input files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import run as cli
from sim.analysis.calibration import load_priors
from sim.inputs.errors import InputError
from sim.model.scenario import load_scenario

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


@pytest.mark.parametrize("target", [*ESCAPES, "link"])
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


@pytest.mark.parametrize("target", [*ESCAPES, "link"])
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


# ---- 5. every numeric option has one limit, for the command line, the library and rerun ----------

from sim import api  # noqa: E402
from sim.api.rerun import PROVENANCE, recorded_command  # noqa: E402
from sim.inputs.errors import OptionError  # noqa: E402
from sim.inputs.limits import LIMITS, checked  # noqa: E402

REQUIRED = {  # the least each command needs besides the option tried
    "run": ["run", "x.toml"],
    "calibrate": ["calibrate"],
    "validate": ["validate", "--targets", "x.csv"],
    "compare": ["compare", "a.toml", "b.toml"],
    "thesis": ["thesis"],
    "sensitivity": ["sensitivity"],
    "explain": ["explain", "x.toml", "--date", "1989-07-12", "--town", "T"],
    "rerun": ["rerun", "nowhere"],
    "viz": ["viz"],
}


def numeric_options():
    """Every option of every command whose value is a number: (command, flag, dest)."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return [
        (name, a.option_strings[0] if a.option_strings[0].startswith("--") else a.option_strings[-1], a.dest)
        for name, p in sub.choices.items()
        for a in p._actions
        if a.type in (int, float)
    ]


def bad_numbers(name: str) -> list:
    lim = LIMITS[name]
    if lim.kind is float:
        return [lim.lo - 0.5, lim.hi if lim.open_hi else lim.hi + 0.5, float("nan"), float("inf")]
    return [lim.lo - 1, lim.hi + 1, 10**400, -(10**30)]


def test_every_numeric_option_of_the_command_line_has_its_limit_in_one_place():
    opts = numeric_options()
    assert len(opts) >= 15
    missing = sorted({d for _, _, d in opts} - set(LIMITS))
    assert not missing, f"numeric options without a limit in sim/inputs/limits.py: {missing}"


@pytest.mark.parametrize("command, flag, dest", numeric_options())
def test_every_numeric_option_out_of_its_limit_is_one_line_exit_2_nothing_written(tmp_path, capsys, command, flag, dest):
    """`thesis --flip-points 100000000` reached 18 GB; `explain --replicate 10000000000` grew without bound."""
    for value in bad_numbers(dest):
        argv = [*REQUIRED[command], flag, str(value)]
        if command not in ("viz", "rerun"):
            argv += ["--out", str(tmp_path / "o")]
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and flag in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_a_limit_holds_at_its_edges(name):
    lim = LIMITS[name]
    assert checked(name, lim.kind(lim.lo)) == lim.lo
    if not lim.open_hi:
        assert checked(name, lim.kind(lim.hi)) == lim.hi
    for v in bad_numbers(name):
        with pytest.raises(OptionError):
            checked(name, v)


@pytest.mark.parametrize(
    "words",
    [
        ["thesis", "--flip-points", "100000000"],
        ["thesis", "--flip-replicates", "2000000"],
        ["thesis", "--flip-confirm", "2000000"],
        ["run", "-n", "10000000"],
        ["calibrate", "--population", "1"],
        ["compare", "a.toml", "b.toml", "--fork-at", "soon"],
        ["run", "--cluster", "notaurl"],
        ["run", "--out", ""],
    ],
)
def test_rerun_refuses_a_recorded_command_out_of_the_limits(tmp_path, words):
    manifest = {"command": "python run.py " + " ".join(w or "''" for w in words)}
    with pytest.raises(InputError) as exc:
        recorded_command(tmp_path, manifest, cli.parse)
    one_line(exc.value, "will not rerun")


# ---- 6. the library is as strict as the command line, and writes nothing when it refuses ----------

SCEN = str(ROOT / "scenarios" / "baseline.toml")
CALLS = {  # each library command with the least it needs
    "run_scenario": ((SCEN,), {}),
    "validate": ((TARGETS,), {}),
    "compare": (([SCEN, SCEN],), {}),
    "thesis": ((), {}),
    "calibrate": ((), {}),
    "sensitivity": ((), {}),
    "explain_town": ((SCEN,), {"day": "1989-07-12", "town": "Prokopyevsk"}),
}
WRONG = {
    "replicates": [-1, 0, "10", 10**7, 2.0, True, [3]],
    "seed": ["1", 10**400, -1, 1.5, False, 2**63],
    "workers": ["2", 0, -3, 2.0, True, 10**6],
    "cluster": ["notaurl", "tcp://", "tcp://127.0.0.1:notaport", "", "tcp://h:0", "tcp://h:70000", 8786, "tcp://h:1 x"],
    "out": ["", None, 5, True, 1.5],
    "draw_figures": ["no", 1, None, "False"],
    "quiet": ["yes", 0, None],
    "command": [5, b"python run.py", ["python"]],
}
OWN = {
    "run_scenario": {"targets": [5, True], "fresh": ["yes", 1]},
    "validate": {"reference": ["bogus", None, "", True], "scenario": [None, 5, ""]},
    "compare": {"fork_at": ["July", "1989-7-1", 19890801, __import__("datetime").datetime(1989, 8, 1)], "fresh": ["no"]},
    "thesis": {
        "flip_points": ["0", -1, 100_000_000, 1.0],
        "flip_replicates": [0, 2_000_000, "4"],
        "flip_confirm": [0, 2_000_000, "8"],
        "quick": ["yes", 1, None],
        "sensitivity": [5, True],
        "fork_at": ["1989/08/01"],
    },
    "calibrate": {
        "population": ["4", 1, 10**9],
        "generations": [0, "3", 10**6],
        "minutes": [0.1, "40", -5, float("inf"), True],
        "predictive": [0, "200", 10**8],
        "budget": ["huge", None],
        "priors": [None, 5],
        "install": ["yes"],
        "resume": [1],
    },
    "sensitivity": {"budget": ["tiny", 5], "suite": ["a.toml", 5], "priors": ["p.toml"], "targets": [5]},
    "explain_town": {"day": [None, "12 July", 19890712, "1989-07-32"], "town": [None, "", 5], "replicate": [-1, 10**10, "0", None]},
}
CASES = [(f, k, v) for f in CALLS for k, vs in WRONG.items() for v in vs if not (f == "explain_town" and k in ("workers", "cluster"))]
CASES += [(f, k, v) for f, d in OWN.items() for k, vs in d.items() for v in vs]
CASES += [("calibrate", "replicates", 5), ("sensitivity", "replicates", 5), ("explain_town", "seed", 1), ("explain_town", "workers", 1)]


@pytest.mark.parametrize("func, key, value", CASES, ids=[f"{f}-{k}-{v!r}"[:60] for f, k, v in CASES])
def test_a_wrong_library_call_raises_one_line_and_writes_nothing(tmp_path, monkeypatch, func, key, value):
    """`api.run_scenario(replicates="10")`, `seed=10**400`, `validate(reference="bogus")`, ... raised raw exceptions or ran."""
    import sim.analysis.calibration
    import sim.model.scenario

    def reached(*a, **k):  # a wrong call is refused before any input file is read (and long before any simulation)
        raise AssertionError(f"{func}({key}={value!r}) was accepted")

    monkeypatch.setattr(sim.model.scenario, "load_scenario", reached)
    monkeypatch.setattr(sim.analysis.calibration, "load_priors", reached)
    args, kw = CALLS[func]
    kw = {**kw, "out": tmp_path / "o", "quiet": True, key: value}
    with pytest.raises((OptionError, InputError)) as exc:
        getattr(api, func)(*args, **kw)
    assert "\n" not in str(exc.value) and str(exc.value)
    assert not (tmp_path / "o").exists()
    assert not list(tmp_path.rglob(".partial_*"))


@pytest.mark.parametrize(
    "call",
    [
        {"port": "8765"},
        {"port": 0},
        {"port": 70000},
        {"port": None},
        {"host": None},
        {"host": ""},
        {"open_browser": "yes"},
        {"scenario": None},
        {"folder": 5, "arms": None},
        {"folder": "x", "arms": "a,b"},
        {"folder": "x", "arms": [1]},
    ],
)
def test_serve_and_plot_are_as_strict(call):
    with pytest.raises(OptionError):
        (api.plot if "folder" in call else api.serve)(**call)


def test_run_options_are_one_frozen_value_the_functions_take(copy, tmp_path):
    import dataclasses

    opts = api.RunOptions(replicates=2, seed=3, workers=1, out=tmp_path / "a", draw_figures=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.replicates = 5
    a = api.run_scenario(copy / "small.toml", targets=None, options=opts)
    b = api.run_scenario(copy / "small.toml", targets=None, options=opts, out=tmp_path / "b")  # a keyword replaces a field
    assert a.replicates == b.replicates == 2 and a.folder.parent.parent == tmp_path / "a" and b.folder.parent.parent == tmp_path / "b"
    assert (a.folder / "daily_basin.parquet").read_bytes() == (b.folder / "daily_basin.parquet").read_bytes()
    with pytest.raises(OptionError, match=r"options must be a sim\.api\.RunOptions"):
        api.run_scenario(copy / "small.toml", options={"replicates": 2})


def test_dates_may_be_given_as_dates(copy, tmp_path):
    import datetime

    res = api.explain_town(copy / "small.toml", day=datetime.date(1989, 7, 12), town="Mezhdurechensk", out=tmp_path, draw_figures=False)
    assert res.explanation.day == datetime.date(1989, 7, 12)


# ---- 9. a malformed --cluster address is one line, exit 2, nothing written ----------------------


@pytest.mark.parametrize("address", ["notaurl", "tcp://", "tcp://127.0.0.1:notaport", "", "tcp://127.0.0.1:0", "http//x:1", ":8786"])
@pytest.mark.parametrize("command", ["run", "compare", "rerun", "calibrate", "validate", "thesis", "sensitivity"])
def test_a_malformed_cluster_address_is_one_line_before_anything_is_written(tmp_path, capsys, command, address):
    argv = [*REQUIRED[command], "--cluster", address]
    if command != "rerun":
        argv += ["--out", str(tmp_path / "o")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--cluster must be a Dask scheduler address" in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "127.0.0.1:8786", "tls://scheduler.example:8786", "tcp://[::1]:8786"])
def test_well_formed_cluster_addresses_pass(address):
    assert api.RunOptions(cluster=address).cluster == address


# ---- 7. a results folder is untrusted input, every file of it ----------------------------------

import json  # noqa: E402


@pytest.fixture(scope="module")
def run_folder(small_dir, tmp_path_factory):
    """A finished run folder of the small world (no figures), inside a copy of its scenario."""
    root = tmp_path_factory.mktemp("untrusted")
    shutil.copytree(small_dir, root / "s")
    res = api.run_scenario(root / "s" / "small.toml", replicates=2, seed=4, targets=None, workers=1, out=root / "res", draw_figures=False)
    return res.folder


def _mangled(run_folder, tmp_path, text: bytes | None, *, as_dir: bool = False) -> Path:
    d = tmp_path / "f"
    shutil.copytree(run_folder, d)
    m = d / "manifest.json"
    if as_dir:
        m.unlink()
        m.mkdir()
    else:
        m.write_bytes(text)
    return d


WHOLE = [b"[]", b'["experiment", "run"]', b'"run"', b"42", b"null", b"true", b"[" * 100_000 + b"]" * 100_000]
WHOLE += [b'{"root_seed": ' + b"9" * 5000 + b"}", b"\xff\xfe{}", b"", b"{", b'{"a": NaN', b"{}"]


@pytest.mark.parametrize("text", WHOLE, ids=[repr(t[:20]) for t in WHOLE])
def test_a_manifest_that_is_not_an_object_is_one_line_in_plot_and_rerun(run_folder, tmp_path, text):
    """A manifest.json holding a JSON list gave AttributeError in plot and rerun."""
    d = _mangled(run_folder, tmp_path, text)
    for call in (lambda: api.plot(d), lambda: api.rerun(d, cli.parse)):
        with pytest.raises(InputError) as exc:
            call()
        one_line(exc.value)


def test_a_manifest_folder_is_one_line(run_folder, tmp_path):
    d = _mangled(run_folder, tmp_path, None, as_dir=True)
    with pytest.raises(InputError):
        api.plot(d)


KINDS = {  # a manifest of each kind, with a command rerun would accept
    "run": {"scenario": {}, "command": f"python run.py run {BASELINE} -n 2"},
    "validate": {"experiment": "validate", "command": f"python run.py validate --targets {TARGETS} -n 2"},
    "compare": {"experiment": "compare", "command": f"python run.py compare {BASELINE} {BASELINE} -n 2"},
    "thesis": {"experiment": "thesis", "command": "python run.py thesis -n 2"},
    "calibration": {"experiment": "calibration", "command": "python run.py calibrate"},
    "sensitivity": {"experiment": "sensitivity", "command": "python run.py sensitivity"},
}
PROVENANCE_CASES = [(k, key, how) for k in KINDS for key in PROVENANCE[k] for how in ("missing", "wrong")]


@pytest.mark.parametrize("kind, key, how", PROVENANCE_CASES)
def test_a_manifest_without_its_provenance_is_refused_by_rerun(run_folder, tmp_path, kind, key, how):
    """A manifest missing data_files_sha256, replicate_seeds or posterior_sha256 still reran as "identical"."""
    manifest = json.loads((run_folder / "manifest.json").read_text())
    manifest = {k: v for k, v in manifest.items() if k not in ("scenario", "experiment", "command")} | KINDS[kind]
    manifest |= {k: {"list": [1], "dict": {"a": "b"}, "str": "x", "int": 1}[_type_name(t)] for k, t in PROVENANCE[kind].items()}
    if how == "missing":
        del manifest[key]
    else:
        manifest[key] = True if PROVENANCE[kind][key] is int else 3.5
    d = _mangled(run_folder, tmp_path, json.dumps(manifest).encode())
    with pytest.raises(InputError) as exc:
        api.rerun(d, cli.parse)
    one_line(exc.value, key, "will not rerun")


def _type_name(t) -> str:
    return (t[0] if isinstance(t, tuple) else t).__name__


@pytest.mark.slow  # draws the figures where the junk does not matter: minutes in all
@pytest.mark.parametrize("key", ["scenario", "experiment", "replicates"])
@pytest.mark.parametrize("junk", [[1, 2], 7, "x", None, {"name": 5}])
def test_a_manifest_with_wrong_values_is_one_line_in_plot(run_folder, tmp_path, key, junk):
    manifest = json.loads((run_folder / "manifest.json").read_text()) | {key: junk}
    d = _mangled(run_folder, tmp_path, json.dumps(manifest).encode())
    try:
        api.plot(d)
    except InputError as exc:
        one_line(exc)


def test_a_table_that_is_a_folder_or_broken_is_a_difference_not_a_traceback(run_folder, tmp_path):
    from sim.api.rerun import compare_results

    d = _mangled(run_folder, tmp_path, (run_folder / "manifest.json").read_bytes())
    (d / "daily_basin.parquet").write_bytes(b"not parquet")
    same, diffs = [], []
    compare_results(d, run_folder, 1e-9, same, diffs)
    assert any(x.startswith("daily_basin.parquet") for x in diffs), diffs


# ---- 13. silent acceptances of input files: one line each ---------------------------------------

from sim.analysis.targets import load_targets  # noqa: E402

HEADER = "date,basin,place,measure,value,low,high,kind,source,confidence\n"


def _targets(tmp_path, *rows: str) -> Path:
    f = tmp_path / "t.csv"
    f.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return f


@pytest.mark.parametrize("confidence", ["", "medium", "HIGH", "low", "certain", "approximate", "1", "high;approx"])
def test_an_unknown_confidence_is_one_line(tmp_path, confidence):
    f = _targets(
        tmp_path,
        "1989-07-15,Kuzbass,,strikers,,170000,185000,interval,s,high",
        f"1989-07-16,Kuzbass,,strikers,,1,2,interval,s,{confidence}",
    )
    with pytest.raises(InputError) as exc:
        load_targets(f)
    assert exc.value.line == 3 and exc.value.key == "confidence"
    one_line(exc.value, "t.csv", "confidence")


KIND_ROWS = [(m, k) for m in ("strikers", "mines_on_strike", "allegiance") for k in ("event",)]
KIND_ROWS += [(m, k) for m in ("first_strike", "last_day") for k in ("point", "interval")]


@pytest.mark.parametrize("measure, kind", KIND_ROWS)
def test_a_row_of_the_wrong_kind_for_its_measure_is_one_line(tmp_path, measure, kind):
    f = _targets(tmp_path, f"1989-07-15,Kuzbass,,{measure},0.5,0.2,0.8,{kind},s,high")
    with pytest.raises(InputError) as exc:
        load_targets(f)
    one_line(exc.value, "t.csv", "kind", measure)


def test_the_repository_targets_files_pass_the_new_checks():
    for f in (ROOT / "calibration" / "targets").glob("*.csv"):
        assert load_targets(f)


def _event_scenario(copy: Path, event: str) -> Path:
    f = copy / "ev.toml"
    f.write_text(f'base = "small.toml"\nname = "ev"\n[[events]]\n{event}\n', encoding="utf-8")
    return f


def test_basins_and_republics_that_contradict_each_other_are_one_line(copy, small):
    from sim.inputs.datafiles import REPUBLICS
    from sim.model.scenario import check_against

    _, world = small
    n = 0
    for b, name in enumerate(world.basin_names):
        for rep in sorted(set(REPUBLICS) - {REPUBLICS[world.basin_republic[b]]}):
            ev = f'kind = "repression"\nstart = "1989-09-01"\nend = "1989-10-01"\nlevel = 0.5\nbasins = ["{name}"]\nrepublics = ["{rep}"]'
            with pytest.raises(InputError) as exc:
                check_against(load_scenario(_event_scenario(copy, ev)), world)
            one_line(exc.value, "ev.toml", name, "republics")
            n += 1
    assert n >= 6


def test_a_seed_strike_town_outside_the_events_basins_is_one_line(copy, small):
    from sim.model.scenario import check_against

    _, world = small
    n = 0
    for c, town in enumerate(world.city_names):
        for b, basin in enumerate(world.basin_names):
            ev = f'kind = "seed_strike"\ndate = "1989-07-11"\ncity = "{town}"\nbasins = ["{basin}"]'
            sc = load_scenario(_event_scenario(copy, ev))
            if world.city_basin[c] == b:
                check_against(sc, world)  # its own basin: fine
                continue
            with pytest.raises(InputError) as exc:
                check_against(sc, world)
            one_line(exc.value, "ev.toml", town, "city")
            n += 1
    assert n >= 10


def test_a_given_posterior_missing_a_parameter_is_a_warning(tmp_path, capsys):
    import types

    import pandas as pd

    from sim.api.calibrate import note_missing_given

    full, given = tmp_path / "full.parquet", tmp_path / "given.parquet"
    pd.DataFrame({"w_city": [1.0, 2.0], "r_obey": [0.2, 0.3], "g_ref": [0.5, 0.6], "weight": [1.0, 1.0]}).to_parquet(full)
    pd.DataFrame({"w_city": [1.0, 2.0], "weight": [1.0, 1.0]}).to_parquet(given)
    setup = types.SimpleNamespace(given=given, path=tmp_path / "p.toml", names=("g_ref",))
    note_missing_given(setup, types.SimpleNamespace(posterior=full))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "r_obey" in err and "given.parquet" in err and "w_city" not in err
    pd.DataFrame({"w_city": [1.0], "r_obey": [0.2], "weight": [1.0]}).to_parquet(given)
    note_missing_given(setup, types.SimpleNamespace(posterior=full))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("how", ["folder_in_place", "full_disk", "no_permission"])
def test_a_failed_lever_reference_write_leaves_no_temporary_file(tmp_path, monkeypatch, how):
    target = tmp_path / "docs" / "levers.md"
    target.parent.mkdir()
    if how == "folder_in_place":
        target.mkdir()
        (target / "x").write_text("x")
    else:
        err = OSError(28, "No space left on device") if how == "full_disk" else PermissionError(13, "Permission denied")

        def fail(self, other):
            raise err

        monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(OSError):
        api.write_lever_reference(target)
    assert not list(target.parent.glob(".*.tmp"))
