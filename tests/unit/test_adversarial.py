"""Issue 14's adversarial pass, class by class: each test holds the command or file that failed before.

5 resume never mixes inputs; 6 no work thrown away at the end; 7 signals; 8 two identical commands at
once; 9 names become paths safely; 10 every value the readers can produce; 11 command-line limits;
12 no crash after publishing; 14 the loader fixes (TOML integers, nesting, control characters, short
rows, duplicated columns, unknown republic, a basin without towns).
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.inputs.errors import InputError
from sim.inputs.network import load_world
from sim.model.scenario import load_scenario
from sim.run.runner import world_for

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, code=None, cwd=ROOT, timeout=600):
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)
    if code is not None:
        assert r.returncode == code, r.stdout[-1500:] + r.stderr[-1500:]
    return r


def one_line(r) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    return r.stderr


def published(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*") if p.is_dir() and not p.name.startswith("."))


@pytest.fixture
def copy(small_dir, tmp_path):
    d = tmp_path / "s"
    shutil.copytree(small_dir, d)
    return d


# ---- 5. resume never mixes inputs ------------------------------------------------------------


def test_resume_key_changes_with_the_content_of_a_data_file(copy):
    a = load_scenario(copy / "small.toml").digest()
    g = copy / "data" / "grievances.csv"
    g.write_text(g.read_text().replace("0.7", "0.71", 1))
    b = load_scenario(copy / "small.toml").digest()
    assert a != b
    # the folder's name and path do not enter: a copy elsewhere has the same key
    other = copy.parent / "elsewhere"
    shutil.copytree(copy, other)
    assert load_scenario(other / "small.toml").digest() == b


@pytest.mark.slow
def test_a_killed_run_resumed_after_a_data_edit_starts_anew(copy, tmp_path):
    out = tmp_path / "res"
    # long enough that the signal finds it running (the engine runs 400 small-world replicates in about a second)
    args = ["run", str(copy / "small.toml"), "-n", "5000", "-s", "3", "--out", str(out), "-j", "1", "--no-figures", "-q"]
    p = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    chunks = out / "small"
    deadline = time.time() + 300
    while time.time() < deadline and not list(chunks.glob(".partial_*/chunks/done_*")):
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    p.wait(60)
    assert list(chunks.glob(".partial_*/chunks/done_*")), "no chunk was kept"
    g = copy / "data" / "grievances.csv"
    g.write_text(g.read_text().replace("0.7", "0.71", 1))
    args[3] = "4"  # fewer replicates, same otherwise: quick
    cli(*args[:3], "20", *args[4:], code=0)
    (folder,) = published(out)
    import json

    man = json.loads((folder / "manifest.json").read_text())
    assert man["resumed_from_chunks"] == []  # the old chunks (old data) were not reused


# ---- 6 and 7. interrupts: nothing thrown away, one line, resumable, no process left --------


def _start(args, out: Path):
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _group_ends(pgid: int, timeout: float = 20) -> bool:
    """True once no process of the group is running (zombies awaiting their reaper hold no memory and do not count)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ps = subprocess.run(["ps", "-o", "stat=", "-g", str(pgid)], capture_output=True, text=True).stdout.split()
        if all(st.startswith("Z") for st in ps):
            return True
        time.sleep(0.25)
    return False


def _wait_for_chunk(out: Path, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if list(out.rglob(".partial_*/chunks/done_*")):
            return
        time.sleep(0.1)
    raise AssertionError("no chunk finished in time")


@pytest.mark.slow
@pytest.mark.parametrize("sig, code, word", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])
def test_signal_to_a_pool_run_ends_every_process_prints_one_line_and_resumes(copy, tmp_path, sig, code, word):
    out = tmp_path / "res"
    args = ["run", str(copy / "small.toml"), "-n", "3000", "-s", "8", "--out", str(out), "-j", "2", "--no-figures", "-q"]
    p = _start(args, out)  # long enough that the signal finds it running
    _wait_for_chunk(out)
    os.kill(p.pid, sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == code, err
    assert "Traceback" not in err and err.count("\n") == 1 and word in err and "run the same command again" in err, err
    assert _group_ends(p.pid), "a worker, forkserver or resource tracker of its process group is still running"
    cli(*args[:-1], code=0)  # the same command resumes
    assert published(out)


@pytest.mark.slow
def test_interrupt_while_assembling_keeps_the_finished_chunks(copy, tmp_path, monkeypatch):
    """A failure after the simulations (here: the figures) keeps the chunks, so the same command does not redo the runs."""
    import run as cli_module
    from sim.figures import figures

    out = tmp_path / "res"
    argv = ["run", str(copy / "small.toml"), "-n", "6", "-s", "2", "--out", str(out), "-j", "1", "-q"]

    def boom(folder):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "draw", boom)
    assert cli_module.main(argv) == 130
    (partial,) = list((out / "small").glob(".partial_*"))
    assert list((partial / "chunks").glob("done_*")) and not (partial / "manifest.json").exists()
    monkeypatch.undo()
    assert cli_module.main(argv) == 0
    import json

    (folder,) = published(out)
    assert json.loads((folder / "manifest.json").read_text())["resumed_from_chunks"] == [0]
    assert not (folder / "chunks").exists()


@pytest.mark.slow
def test_options_are_checked_before_any_simulation(tmp_path):
    r = one_line(cli("thesis", "-n", "2", "--sensitivity", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"), code=2))
    assert "sensitivity" in r and not list((tmp_path / "o").rglob("*.parquet"))
    r = one_line(cli("run", "--targets", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"), code=2))
    assert "missing.csv" in r
    ro = tmp_path / "ro"
    ro.write_text("a file, not a folder")
    r = cli("validate", "--targets", str(ROOT / "calibration/targets/july1989.csv"), "-n", "2", "--out", str(ro), code=1)
    one_line(r)


@pytest.mark.slow
def test_a_damaged_chunk_is_one_line_naming_it_and_is_run_again(copy, tmp_path):
    """(Issue 31 made this a note and a rerun of the chunk, not a refusal: tests/unit/test_resume_damage.py has the class.)"""
    out = tmp_path / "res"
    args = ["run", str(copy / "small.toml"), "-n", "600", "-s", "9", "--out", str(out), "-j", "1", "--no-figures", "-q"]
    p = _start(args, out)
    _wait_for_chunk(out)
    os.kill(p.pid, signal.SIGTERM)
    p.communicate(timeout=60)
    (chunk,) = list(out.rglob(".partial_*/chunks/basin_000000000.parquet"))
    chunk.write_bytes(b"not parquet")
    (partial,) = list(out.rglob(".partial_*"))
    for extra in partial.glob("chunks/done_*"):  # keep only the damaged chunk, so that the resume is quick
        if extra.name != "done_000000000":
            extra.unlink()
    err = one_line(cli(*args, code=0))
    assert "basin_000000000.parquet" in err and "discarded and run again" in err


# ---- 8. two identical commands at once --------------------------------------------------------


@pytest.mark.slow
def test_two_identical_commands_at_once_one_refuses_with_one_line(copy, tmp_path):
    out = tmp_path / "res"
    # long enough that the first is still running when the second starts (the engine runs 400 small-world replicates in seconds)
    args = ["run", str(copy / "small.toml"), "-n", "20000", "-s", "5", "--out", str(out), "-j", "1", "--no-figures", "-q"]
    p = _start(args, out)
    _wait_for_chunk(out)
    err = one_line(cli(*args, code=1))
    assert "another run of the same command" in err
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=60)


# ---- 9. names become paths safely --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["/tmp/x", "../../x", "", ".", "..", "a\x00b", "a/b", ".hidden", "x" * 81])
def test_scenario_names_that_are_not_safe_folder_names_are_refused(copy, tmp_path, name):
    f = copy / "bad.toml"
    f.write_text(f'base = "small.toml"\nname = "{name.replace(chr(0), "\\u0000")}"\n')
    with pytest.raises(InputError, match="name"):
        load_scenario(f)
    r = cli("run", str(f), "-n", "1", "--out", str(tmp_path / "o"), code=2)
    one_line(r)
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").rglob("*.parquet"))


# ---- 10. every value the TOML and CSV readers can produce ---------------------------------------


def test_toml_date_time_is_one_line(copy):
    f = copy / "dt.toml"
    f.write_text('base = "small.toml"\nname = "dt"\n[[events]]\nkind = "shock"\ndate = 1989-07-15T12:00:00\nwage = 0.1\n')
    with pytest.raises(InputError, match="not a date-time"):
        load_scenario(f)


def test_byte_order_marks_are_stripped(copy):
    f = copy / "small.toml"
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    g = copy / "data" / "grievances.csv"
    g.write_bytes(b"\xef\xbb\xbf" + g.read_bytes())
    sc = load_scenario(f)
    assert load_world(sc.data).n > 0


def test_an_event_ending_after_the_horizon_is_refused(copy):
    f = copy / "late.toml"
    f.write_text('base = "small.toml"\nname = "late"\n[[events]]\nkind = "news"\nstart = "1990-06-01"\nend = "1990-08-01"\nlevel = 0.5\n')
    with pytest.raises(InputError, match="outside the horizon"):
        load_scenario(f)
    f.write_text('base = "small.toml"\nname = "ok"\n[[events]]\nkind = "news"\nstart = "1990-06-01"\nend = "1990-07-01"\nlevel = 0.5\n')
    assert load_scenario(f).events[-1].end.isoformat() == "1990-07-01"  # [start, end): the day after the last day is fine


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/dev/null", "/proc", "nonexistent/deep/file.toml", "x" * 5000 + ".toml", "a\x01b.toml"])
def test_file_system_oddities_in_a_scenario_path_are_one_line(tmp_path, path):
    r = cli("run", path, "--out", str(tmp_path / "o"), code=2)
    one_line(r)


# ---- 11. command-line values have the same limits as files ---------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, words",
    [
        (["run", "-n", "2000000"], "--replicates"),
        (["run", "-s", str(2**64)], "--seed"),
        (["run", "-s", "1" * 400], "--seed"),
        (["run", "-s", "-1"], "--seed"),
        (["run", "-n", "ten"], "invalid int"),
        (["compare", "a.toml", "b.toml", "--fork-at", "July"], "--fork-at"),
        (["viz", "--port", "99999"], "--port"),
        (["validate", "--targets", "x.csv", "-n", "0"], "--replicates"),
        (["rerun", ".", "--rtol", "2"], "rtol"),
    ],
)
def test_command_line_values_out_of_range_are_one_line(tmp_path, args, words):
    r = cli(*args, "--out", str(tmp_path / "o"), code=2) if args[0] not in ("viz", "rerun") else cli(*args, code=2)
    assert words in one_line(r)


@pytest.mark.slow
def test_more_workers_than_cores_are_capped_with_a_note(copy, tmp_path):
    r = cli("run", str(copy / "small.toml"), "-n", "2", "-j", "64", "--out", str(tmp_path / "o"), "--no-figures", "-q", code=0)
    assert f"using {os.cpu_count()}" in r.stderr


# ---- 12. no crash after publishing ----------------------------------------------------------------


@pytest.mark.slow
def test_baseline_with_one_replicate_prints_its_summary(tmp_path):
    r = cli("run", "-n", "1", "-s", "2", "--out", str(tmp_path / "o"), code=0)
    assert "scored targets" in r.stdout and "Traceback" not in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("change", [["--targets", "NOSCORE"], ["W_BASIN0"], ["NOCONTAGION"]])
def test_runs_with_nothing_to_score_or_nothing_spreading_finish_cleanly(copy, tmp_path, change):
    sc = copy / "small.toml"
    if change == ["W_BASIN0"]:
        sc = copy / "w.toml"
        sc.write_text('base = "small.toml"\nname = "w"\n[params]\nw_basin = 0\n')
        change = []
    if change == ["NOCONTAGION"]:
        sc = copy / "c.toml"
        sc.write_text('base = "small.toml"\nname = "c"\n[mechanisms]\ncontagion = false\n')
        change = []
    if change[:1] == ["--targets"]:
        t = tmp_path / "noscore.csv"
        t.write_text(
            "date,basin,place,measure,value,low,high,kind,source,confidence\n1989-07-15,Kuzbass,Nowhere-town,strikers,5,,,point,test,high\n"
        )
        change = ["--targets", str(t)]
    else:
        change = ["--targets", str(ROOT / "calibration" / "targets" / "july1989.csv")]
    r = cli("run", str(sc), "-n", "2", "--out", str(tmp_path / "o"), *change, code=0)
    assert "Traceback" not in r.stderr and ("scored targets" in r.stdout or "could be scored" in r.stdout)
    (folder,) = published(tmp_path / "o")
    assert (folder / "manifest.json").is_file() and list((folder / "figures").glob("*.png"))
    r = cli("validate", "--scenario", str(sc), "-n", "2", "--out", str(tmp_path / "v"), *change, code=0)
    assert "Traceback" not in r.stderr


def test_score_table_has_every_column_when_nothing_is_scored():
    from sim.analysis.targets import SCORE_COLUMNS, score

    df = score([], pd.DataFrame(), world_for(ROOT / "scenarios" / "data"))
    assert list(df.columns) == SCORE_COLUMNS and df.empty


# ---- 14. the loader fixes of the fuzz branch ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, words",
    [
        ("x = " + "1" * 5000 + "\n", "4300 digits"),
        ("x = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
        ('name = "a\x1b[31mb"\n', "\\x1b"),
    ],
)
def test_toml_oddities_are_one_line(tmp_path, text, words):
    f = tmp_path / "odd.toml"
    f.write_text(text)
    r = cli("run", str(f), code=2)
    assert words in one_line(r)


@pytest.mark.parametrize(
    "fname, edit, words",
    [
        ("grievances.csv", lambda t: t.replace("\n", "\nKuzbass,0.7\n", 1).replace("Kuzbass,0.7,", "Kuzbassx,0.7,", 1), "fewer fields"),
        ("grievances.csv", lambda t: t.replace("wage", "basin", 1), "appears twice"),
        ("mines.csv", lambda t: t.replace("RSFSR", "Atlantis", 1), "unknown republic"),
        ("basins.csv", None, "has no town"),
    ],
)
def test_data_table_oddities_are_one_line(copy, fname, edit, words):
    f = copy / "data" / fname
    if edit is None:  # a basin without towns
        c = copy / "data" / "cities.csv"
        c.write_text("\n".join(line for line in c.read_text().splitlines() if not line.startswith("Karaganda")) + "\n")
    else:
        f.write_text(edit(f.read_text()))
    with pytest.raises(InputError, match=words) as exc:
        load_world(copy / "data")
    assert "\n" not in str(exc.value)
