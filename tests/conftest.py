"""Shared fixtures: a small synthetic world (fast, exact tests) and the real baseline."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.inputs.process import threads_and_backend  # noqa: E402

# as the command line does, before numpy is first imported: one BLAS thread per process (worker
# processes inherit it) and a backend that needs no screen
threads_and_backend()

import signal  # noqa: E402

# A shell without job control starts a background command (`.ci/run ... &`, nohup) with SIGINT ignored,
# and an ignored signal stays ignored across exec: every process the tests start would then ignore the
# Ctrl-C they send it, and Python would install no KeyboardInterrupt handler. Catching SIGINT here resets
# it to the default in every child (a caught signal is reset at exec), as in a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

import pytest  # noqa: E402

from sim.inputs.datafiles import load_inputs  # noqa: E402
from sim.inputs.network import derive_mines, load_world  # noqa: E402
from sim.model.scenario import load_scenario  # noqa: E402
from sim.run.results import write_mines  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.toml"


# Two tiers. `python -m pytest` runs the quick one: the tests marked `slow` (they start processes, send
# signals, run statistical checks or take more than about 1.5 s) are left out. `python -m pytest --all`
# runs every test, as CI does. A marker expression of one's own (`-m slow`, `-m "not slow"`) is used as given.
def pytest_addoption(parser):
    parser.addoption("--all", action="store_true", dest="all_tiers", help="run every test, the slow tier too (what CI runs)")


def pytest_configure(config):
    if config.option.all_tiers:
        if config.option.markexpr:
            raise pytest.UsageError("--all runs every test: give it no -m")
    elif not config.option.markexpr:
        config.option.markexpr = "not slow"


_LEFT_OUT = []


def pytest_deselected(items):
    _LEFT_OUT.extend(i for i in items if i.get_closest_marker("slow"))


def pytest_terminal_summary(terminalreporter, config):
    if _LEFT_OUT and not config.option.all_tiers and config.option.markexpr == "not slow":
        terminalreporter.write_line(
            f"{len(_LEFT_OUT)} slow tests left out (the quick tier); `python -m pytest --all` runs every test, as CI does"
        )


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def make_small_data(folder: Path) -> Path:
    """Write a small three-basin data folder (about 40 enterprises) and derive its mines."""
    folder.mkdir(parents=True, exist_ok=True)
    basins = [
        {
            "basin": "Kuzbass",
            "republic": "RSFSR",
            "mines_underground": 10,
            "open_pits": 2,
            "plants": 4,
            "workforce": 30000,
            "source": "test",
        },
        {
            "basin": "Donbas",
            "republic": "Ukrainian SSR",
            "mines_underground": 12,
            "open_pits": 0,
            "plants": 4,
            "workforce": 30000,
            "source": "test",
        },
        {
            "basin": "Karaganda",
            "republic": "Kazakh SSR",
            "mines_underground": 6,
            "open_pits": 1,
            "plants": 2,
            "workforce": 12000,
            "source": "test",
        },
    ]
    cities = []
    for b, towns in (
        ("Kuzbass", [("Mezhdurechensk", 53.7, 88.0), ("Novokuznetsk", 53.8, 87.1), ("Prokopyevsk", 53.9, 86.7)]),
        ("Donbas", [("Donetsk", 48.0, 37.8), ("Makiivka", 48.0, 38.0), ("Horlivka", 48.3, 38.1)]),
        ("Karaganda", [("Karaganda", 49.8, 73.1), ("Saran", 49.8, 72.8)]),
    ):
        rep = next(x["republic"] for x in basins if x["basin"] == b)
        for k, (name, lat, lon) in enumerate(towns):
            cities.append(
                {
                    "basin": b,
                    "city": name,
                    "republic": rep,
                    "oblast": f"{b} oblast",
                    "lat": lat,
                    "lon": lon,
                    "population_1989": 100000 * (k + 1),
                    "mines_known": "",
                    "pits_known": "",
                    "is_hub": int(k == 0),
                    "source": "test",
                }
            )
    griev = [
        {"basin": "Kuzbass", "wage": 0.7, "ecology": 0.75, "privilege": 0.55, "ethnic_gap": 0.0, "paternalism": 0.82},
        {"basin": "Donbas", "wage": 0.6, "ecology": 0.75, "privilege": 0.65, "ethnic_gap": 0.9, "paternalism": 0.82},
        {"basin": "Karaganda", "wage": 0.5, "ecology": 0.65, "privilege": 0.5, "ethnic_gap": 0.1, "paternalism": 0.82},
    ]
    moves = [
        {"date": "1989-07-01", "republic": r, "strength": s, "source": "test"}
        for r, s in (("RSFSR", 0.1), ("Ukrainian SSR", 0.1), ("Kazakh SSR", 0.05))
    ] + [{"date": "1990-03-04", "republic": "Ukrainian SSR", "strength": 0.3, "source": "test"}]
    _write(folder / "basins.csv", basins)
    _write(folder / "cities.csv", cities)
    _write(folder / "grievances.csv", griev)
    _write(folder / "movements.csv", moves)
    t = load_inputs(folder)
    write_mines(derive_mines(t["basins"], t["cities"]), folder / "mines.csv")
    return folder


SMALL_SCENARIO = """
name = "small"
start = "1989-07-01"
end = "1990-06-30"
data = "data"
replicates = 4
seed = 11

[[events]]
kind = "seed_strike"
date = "1989-07-10"
city = "Mezhdurechensk"
count = 1

[[events]]
kind = "concession"
date = "1989-07-20"
basins = ["Kuzbass"]
relief = 0.15
political = 0.3

[[events]]
kind = "concession"
date = "1989-08-03"
relief = 0.1

[[events]]
kind = "shock"
date = "1990-01-10"
name = "price rise"
wage = 0.2
trust = -0.1

[[events]]
kind = "repression"
start = "1989-09-01"
end = "1989-10-01"
basins = ["Donbas"]
level = 0.5

[[events]]
kind = "cut_communication"
start = "1989-11-01"
end = "1989-12-01"
levels = ["delegate"]
share = 0.9

[[events]]
kind = "news"
start = "1990-02-01"
end = "1990-03-01"
level = 0.5
"""


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("small")
    make_small_data(root / "data")
    (root / "small.toml").write_text(SMALL_SCENARIO, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def small(small_dir):
    sc = load_scenario(small_dir / "small.toml")
    return sc, load_world(sc.data)


@pytest.fixture(scope="session")
def baseline():
    sc = load_scenario(BASELINE)
    return sc, load_world(sc.data)


def small_base(small_dir: Path, where: Path) -> str:
    """The small scenario as a `base` for a scenario file written in `where`: its files copied there.

    A scenario may name only files beside it or in the repository (issue 31, class 4), so a test's
    scenario in a folder of its own takes a copy of the small world rather than a path to it.
    """
    import shutil

    where.mkdir(parents=True, exist_ok=True)
    shutil.copytree(small_dir, where, dirs_exist_ok=True)
    return "small.toml"
