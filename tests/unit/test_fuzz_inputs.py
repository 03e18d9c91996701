"""Property-based fuzzing of every input file: malformed input always ends in one clear InputError.

Hypothesis generates malformed scenario files, data tables, targets files and priors files from
valid ones (wrong types, unknown and missing keys, dates out of range or reversed, negative counts,
empty files, bytes that are not UTF-8, duplicated rows, cycles of `base =`, huge numbers, broken
syntax). Every example must raise `InputError` (no other exception) whose one-line message names
the file and the key or line. A few of them also go through `run.py` end to end: exit status 2,
one line on standard error, no results folder.

Examples per test are fixed (`derandomize`: the same examples in CI every time) and sum to
`TOTAL_EXAMPLES`; each test counts the examples it really ran, and the last test checks the total.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sim.analysis.calibration import load_priors  # noqa: E402
from sim.analysis.targets import load_targets  # noqa: E402
from sim.inputs.errors import InputError  # noqa: E402
from sim.inputs.network import load_world  # noqa: E402
from sim.inputs.params import Params  # noqa: E402
from sim.model.scenario import TOP_KEYS, check_against, load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {"scenario": 420, "data": 260, "targets": 220, "priors": 140}
TOTAL_EXAMPLES = sum(EXAMPLES.values())
RAN: dict[str, int] = dict.fromkeys(EXAMPLES, 0)
FIELDS = {f.name: f for f in __import__("dataclasses").fields(Params)}
NUMERIC = [n for n, f in FIELDS.items() if isinstance(f.default, float) and not isinstance(f.default, bool)]


def fuzz(n: int):
    return settings(
        max_examples=n,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def check_error(exc: InputError, path: Path) -> None:
    """The error names the file and the key or line, on one line."""
    msg = str(exc)
    assert "\n" not in msg, msg
    assert path.name in msg, (path, msg)
    assert (exc.key is not None and exc.key in msg) or exc.line is not None or "line" in msg, msg


@pytest.fixture(scope="module")
def world_dir(small_dir):
    return small_dir  # conftest's small world: small.toml beside its data folder


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
junk = st.one_of(
    st.text(max_size=8).map(lambda s: '"' + s.replace("\\", "").replace('"', "").replace("\n", "") + '"'),
    st.sampled_from(["[1, 2]", "true", "{ a = 1 }", "1989-07-10"]),
)
huge = st.sampled_from(["1e308", "-1e308", "inf", "-inf", "nan", "1e999", "99999999999999999999999999", "-99999999999999999999"])
bad_dates = st.one_of(
    st.sampled_from(["1989-02-30", "1989-13-01", "0000-01-01", "1989-7-1", "yesterday", "", "1989/07/10", "10.07.1989"]),
    st.dates().filter(lambda d: d.year < 1989 or d.year > 1991).map(str),
)

SCENARIO_MUTATIONS = st.one_of(
    st.tuples(st.just("unknown_top"), names.filter(lambda k: k not in TOP_KEYS)),
    st.tuples(st.just("unknown_param"), names.filter(lambda k: k not in FIELDS)),
    st.tuples(st.just("param_type"), st.tuples(st.sampled_from(NUMERIC), junk)),
    st.tuples(st.just("param_range"), st.tuples(st.sampled_from(NUMERIC), huge)),
    st.tuples(
        st.just("mechanism"), st.tuples(st.sampled_from(["contagion", "news", "fatigue", names]), st.sampled_from(["1", '"yes"', "0.5"]))
    ),
    st.tuples(st.just("date"), st.tuples(st.sampled_from(["start", "end"]), bad_dates)),
    st.tuples(st.just("reversed"), st.just(None)),
    st.tuples(
        st.just("count"), st.tuples(st.just("replicates"), st.sampled_from(["0", "-1", "1.5", '"ten"', "1e9", "99999999999999999999"]))
    ),
    st.tuples(st.just("count"), st.tuples(st.just("seed"), st.sampled_from(["-1", "-5", "1.5", '"ten"', "true", "99999999999999999999"]))),
    st.tuples(
        st.just("event"),
        st.sampled_from(
            [
                'kind = "concesion"\ndate = "1989-08-01"',
                'kind = "concession"\ndate = "1995-01-01"\nrelief = 0.1',
                'kind = "concession"\ndate = "1989-08-01"\nrelief = 7.0',
                'kind = "seed_strike"\ndate = "1989-07-10"\ncity = "Atlantis"\ncount = 1',
                'kind = "seed_strike"\ndate = "1989-07-10"\ncity = "Donetsk"\ncount = -3',
                'kind = "repression"\nstart = "1989-09-01"\nend = "1989-08-01"\nlevel = 0.5',
                'kind = "repression"\nstart = "1989-08-01"\nend = "1989-09-01"\nlevel = 1e308',
                'kind = "concession"\nbasins = ["Narnia"]\ndate = "1989-08-01"\nrelief = 0.1',
                'kind = "shock"',
                "date = 1989-08-01",
            ]
        ),
    ),
    st.tuples(st.just("empty"), st.sampled_from(["", "   \n", "# only a comment\n"])),
    st.tuples(st.just("bytes"), st.binary(min_size=1, max_size=6).map(lambda b: b"\xff" + b)),
    st.tuples(st.just("cycle"), st.sampled_from(["self", "pair"])),
    st.tuples(st.just("syntax"), st.sampled_from(["name = ", "[params", "= 3", 'name = "x"', "a = 1\na = 2", "x = [1, 2"])),
    st.tuples(st.just("missing_base"), names),
)


def write_scenario(folder: Path, kind: str, arg) -> Path:
    """A malformed scenario in `folder` (beside its data folder)."""
    good = (folder.parent / "small.toml").read_text(encoding="utf-8")
    path = folder / "s.toml"
    child = 'base = "../small.toml"\nname = "fuzz"\n'
    if kind == "unknown_top":
        path.write_text(child + f"{arg} = 1\n", encoding="utf-8")
    elif kind == "unknown_param":
        path.write_text(child + f"[params]\n{arg} = 1.0\n", encoding="utf-8")
    elif kind in ("param_type", "param_range"):
        path.write_text(child + f"[params]\n{arg[0]} = {arg[1]}\n", encoding="utf-8")
    elif kind == "mechanism":
        path.write_text(child + f"[mechanisms]\n{arg[0]} = {arg[1]}\n", encoding="utf-8")
    elif kind == "date":
        path.write_text(child + f'{arg[0]} = "{arg[1]}"\n', encoding="utf-8")
    elif kind == "reversed":
        path.write_text(child + 'start = "1990-06-30"\nend = "1989-07-01"\n', encoding="utf-8")
    elif kind == "count":
        path.write_text(child + f"{arg[0]} = {arg[1]}\n", encoding="utf-8")
    elif kind == "event":
        path.write_text(child + f"[[events]]\n{arg}\n", encoding="utf-8")
    elif kind == "empty":
        path.write_text(arg, encoding="utf-8")
    elif kind == "bytes":
        path.write_bytes(child.encode() + b'description = "' + arg + b'"\n')
    elif kind == "cycle":
        if arg == "self":
            path.write_text('base = "s.toml"\nname = "fuzz"\n', encoding="utf-8")
        else:
            (folder / "t.toml").write_text('base = "s.toml"\nname = "t"\n', encoding="utf-8")
            path.write_text('base = "t.toml"\nname = "fuzz"\n', encoding="utf-8")
    elif kind == "syntax":
        path.write_text(good.replace('name = "small"', arg if arg != 'name = "x"' else 'name = "small"\nname = "x"', 1), encoding="utf-8")
    elif kind == "missing_base":
        path.write_text(f'base = "{arg}.toml"\nname = "fuzz"\n', encoding="utf-8")
    return path


@pytest.mark.slow
@fuzz(EXAMPLES["scenario"])
@given(SCENARIO_MUTATIONS)
def test_malformed_scenarios_give_one_line_errors(world_dir, mutation):
    kind, arg = mutation
    with tempfile.TemporaryDirectory(dir=world_dir) as d:
        path = write_scenario(Path(d), kind, arg)
        with pytest.raises(InputError) as exc:
            sc = load_scenario(path)
            check_against(sc, load_world(sc.data))
        check_error(exc.value, path)
    RAN["scenario"] += 1


DATA_FILES = ("basins.csv", "cities.csv", "grievances.csv", "movements.csv", "mines.csv")
NUMERIC_COLUMNS = {
    "basins.csv": ["mines_underground", "open_pits", "plants", "workforce"],
    "cities.csv": ["lat", "lon", "population_1989"],
    "grievances.csv": ["wage", "ecology", "privilege", "ethnic_gap", "paternalism"],
    "movements.csv": ["strength"],
    "mines.csv": ["workforce"],
}
KEY_COLUMNS = {"basins.csv": "basin", "cities.csv": "city", "grievances.csv": "basin", "movements.csv": "republic", "mines.csv": "basin"}
CELL = st.one_of(
    huge.filter(lambda v: v != "nan"), st.sampled_from(["-250000", "abc", "1,5", "0x10", "1e400", "--"])
)  # wrong in every numeric column

DATA_MUTATIONS = st.one_of(
    st.tuples(st.just("drop_column"), st.sampled_from(DATA_FILES), st.integers(0, 50)),
    st.tuples(st.just("cell"), st.sampled_from(DATA_FILES), st.tuples(st.integers(0, 4), st.integers(0, 60), CELL)),
    st.tuples(st.just("duplicate_row"), st.sampled_from(DATA_FILES), st.integers(0, 60)),
    st.tuples(st.just("empty"), st.sampled_from(DATA_FILES), st.sampled_from(["", "\n", "header only"])),
    st.tuples(st.just("bytes"), st.sampled_from(DATA_FILES), st.tuples(st.integers(0, 60), st.binary(min_size=1, max_size=4))),
    st.tuples(st.just("unknown_name"), st.sampled_from(DATA_FILES), st.tuples(st.integers(0, 60), names)),
    st.tuples(st.just("extra_field"), st.sampled_from(DATA_FILES), st.integers(0, 60)),
)


SHARED_KINDS = ("duplicate_row", "empty", "bytes", "extra_field")


def shared_mutation(path: Path, header: list[str], body: list[list[str]], kind: str, arg, dump) -> None:
    """The mutations every CSV input shares: a repeated row, an empty file, bytes that are not UTF-8, a surplus field."""
    if kind == "duplicate_row":
        r = arg % len(body)
        dump([header, *body[: r + 1], body[r], *body[r + 1 :]])
    elif kind == "empty":
        path.write_text(",".join(header) + "\n" if arg == "header only" else arg, encoding="utf-8")
    elif kind == "bytes":
        r, b = arg
        lines = path.read_bytes().split(b"\n")
        i = 1 + r % (len(lines) - 2)
        lines[i] = lines[i] + b"\xff" + b
        path.write_bytes(b"\n".join(lines))
    elif kind == "extra_field":
        body[arg % len(body)].append("surplus")
        dump([header, *body])


def mutate_csv(path: Path, kind: str, arg) -> bool:
    """Apply a mutation to a CSV file; False if it does not apply (e.g. a column that is not read)."""
    import csv
    import io

    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]

    def dump(rs) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rs)
        path.write_text(buf.getvalue(), encoding="utf-8")

    if kind == "drop_column":
        needed = [c for c in header if c in NUMERIC_COLUMNS[path.name] + [KEY_COLUMNS[path.name], "basin", "date", "republic"]]
        col = header.index(needed[arg % len(needed)])
        dump([[v for i, v in enumerate(r) if i != col] for r in rows])
    elif kind == "cell":
        c, r, value = arg
        cols = NUMERIC_COLUMNS[path.name]
        col = header.index(cols[c % len(cols)])
        row = body[r % len(body)]
        row[col] = value
        dump([header, *body])
    elif kind in SHARED_KINDS:
        shared_mutation(path, header, body, kind, arg, dump)
    elif kind == "unknown_name":
        r, name = arg
        col = header.index(KEY_COLUMNS[path.name])
        body[r % len(body)][col] = "Zz" + name
        dump([header, *body])
    return True


@pytest.mark.slow
@fuzz(EXAMPLES["data"])
@given(DATA_MUTATIONS)
def test_malformed_data_tables_give_one_line_errors(world_dir, mutation):
    kind, fname, arg = mutation
    with tempfile.TemporaryDirectory(dir=world_dir) as d:
        data = Path(d) / "data"
        shutil.copytree(world_dir / "data", data)
        mutate_csv(data / fname, kind, arg)
        with pytest.raises(InputError) as exc:
            load_world(data)
        named = [f for f in DATA_FILES if f in str(exc.value)]  # the file at fault: the mutated one, or one that refers to it
        assert named, str(exc.value)
        check_error(exc.value, data / named[0])
    RAN["data"] += 1


# (A measure the model does not produce is not malformed: `validate` lists such a row as not scored, with the reason.)
TARGET_MUTATIONS = st.one_of(
    st.tuples(st.just("drop_column"), st.sampled_from(["date", "basin", "measure", "value", "low", "high", "kind"])),
    st.tuples(
        st.just("cell"),
        st.tuples(
            st.sampled_from(["value", "low", "high"]),
            st.integers(0, 20),
            st.sampled_from(["-5", "-1e308", "abc", "1e999", "inf", "-170000"]),
        ),
    ),
    st.tuples(st.just("date"), st.tuples(st.integers(0, 20), bad_dates)),
    st.tuples(st.just("reversed"), st.integers(0, 20)),
    st.tuples(st.just("kind"), st.tuples(st.integers(0, 20), names.filter(lambda k: k not in ("point", "interval", "event")))),
    st.tuples(st.just("duplicate_row"), st.integers(0, 20)),
    st.tuples(st.just("empty"), st.sampled_from(["", "\n", "header only"])),
    st.tuples(st.just("bytes"), st.tuples(st.integers(0, 20), st.binary(min_size=1, max_size=4))),
    st.tuples(st.just("extra_field"), st.integers(0, 20)),
)


@fuzz(EXAMPLES["targets"])
@given(TARGET_MUTATIONS)
def test_malformed_targets_files_give_one_line_errors(tmp_path_factory, mutation):
    import csv
    import io

    kind, arg = mutation
    d = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    path = d / "targets.csv"
    shutil.copy(ROOT / "calibration" / "targets" / "july1989.csv", path)
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]

    def dump(rs) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rs)
        path.write_text(buf.getvalue(), encoding="utf-8")

    if kind == "drop_column":
        col = header.index(arg)
        dump([[v for i, v in enumerate(r) if i != col] for r in rows])
    elif kind == "cell":
        name, r, value = arg
        row = body[r % len(body)]
        row[header.index(name)] = value
        if row[header.index("kind")] == "event" and name == "value":
            row[header.index("kind")] = "point"
        dump([header, *body])
    elif kind == "date":
        r, value = arg
        body[r % len(body)][0] = value
        dump([header, *body])
    elif kind == "reversed":
        row = body[arg % len(body)]
        row[header.index("kind")], row[header.index("low")], row[header.index("high")] = "interval", "200", "100"
        dump([header, *body])
    elif kind == "kind":
        r, value = arg
        body[r % len(body)][header.index(kind)] = value
        dump([header, *body])
    elif kind in SHARED_KINDS:
        shared_mutation(path, header, body, kind, arg, dump)
    with pytest.raises(InputError) as exc:
        load_targets(path)
    check_error(exc.value, path)
    shutil.rmtree(d)
    RAN["targets"] += 1


PRIOR_MUTATIONS = st.one_of(
    st.tuples(st.just("unknown_param"), names.filter(lambda k: k not in FIELDS)),
    st.tuples(
        st.just("bounds"),
        st.sampled_from(
            [
                "lo = 0.7\nhi = 0.4",
                "lo = 0.5\nhi = 0.5",
                "lo = -5.0\nhi = 0.5",
                "lo = 0.4\nhi = 1e308",
                'lo = "a"\nhi = 0.5',
                "hi = 0.5",
                "lo = 0.4",
            ]
        ),
    ),
    st.tuples(st.just("scale"), st.sampled_from(['scale = "cubic"', "scale = 3"])),
    st.tuples(st.just("reason"), st.sampled_from(['reason = ""', "reason = 5", None])),
    st.tuples(
        st.just("setup"),
        st.sampled_from(['end = "1989-02-30"', 'end = "1999-01-01"', 'scenario = "nowhere.toml"', 'targets = "nowhere.csv"', "colour = 1"]),
    ),
    st.tuples(st.just("empty"), st.sampled_from(["", "[setup]\n"])),
    st.tuples(st.just("bytes"), st.binary(min_size=1, max_size=4)),
)


@fuzz(EXAMPLES["priors"])
@given(PRIOR_MUTATIONS)
def test_malformed_priors_give_one_line_errors(tmp_path_factory, mutation):
    kind, arg = mutation
    d = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    path = d / "priors.toml"
    setup = f'[setup]\nscenario = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\nend = "1989-07-31"\ntargets = "{(ROOT / "calibration" / "targets" / "july1989.csv").as_posix()}"\n'
    good = '[params.g_ref]\nlo = 0.4\nhi = 0.7\nreason = "test"\n'
    if kind == "unknown_param":
        text = setup + good + f'[params.{arg}]\nlo = 0.1\nhi = 0.2\nreason = "x"\n'
    elif kind == "bounds":
        text = setup + f'[params.g_ref]\n{arg}\nreason = "test"\n'
    elif kind == "scale":
        text = setup + good + arg + "\n"
    elif kind == "reason":
        text = setup + "[params.g_ref]\nlo = 0.4\nhi = 0.7\n" + (f"{arg}\n" if arg else "")
    elif kind == "setup":
        key = arg.split(" = ")[0]
        lines = [ln for ln in setup.splitlines() if not ln.startswith(key + " ")]
        text = "\n".join([*lines, arg]) + "\n" + good
    elif kind == "empty":
        text = arg
    if kind == "bytes":
        path.write_bytes((setup + good).encode() + b'[params.w_city]\nreason = "\xff' + arg + b'"\n')
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_priors(path)
    check_error(exc.value, path)
    shutil.rmtree(d)
    RAN["priors"] += 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "body",
    [
        'base = "baseline.toml"\nname = "x"\n[params]\nw_city = "high"\n',
        'base = "baseline.toml"\nname = "x"\nreplicates = 99999999999999999999\n',
        'base = "cycle.toml"\nname = "x"\n',
        "",
    ],
)
def test_malformed_scenario_on_the_command_line_is_one_line_and_writes_nothing(tmp_path, body):
    scen = ROOT / "scenarios"
    path = tmp_path / "cycle.toml"
    path.write_text(body.replace('"baseline.toml"', f'"{(scen / "baseline.toml").as_posix()}"'), encoding="utf-8")
    out = tmp_path / "res"
    r = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "run", str(path), "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr and "cycle.toml" in r.stderr
    assert not out.exists() or not any(out.rglob("*"))


@pytest.mark.slow
def test_the_fuzzing_ran_every_example():
    """Run after the fuzz tests (file order): the examples counted add up to TOTAL_EXAMPLES (at least 1,000)."""
    if not all(RAN.values()):
        pytest.skip("run the whole file to count the examples")
    assert TOTAL_EXAMPLES >= 1000
    assert sum(RAN.values()) == TOTAL_EXAMPLES, RAN
