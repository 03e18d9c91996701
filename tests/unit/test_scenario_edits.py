"""Issue 30, scenarios as users write them: moving an inherited event's date is one documented recipe, and errors point at
the user's own table and number every event one way (by the table that wrote it)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from sim.inputs.errors import InputError
from sim.inputs.network import load_world
from sim.model.scenario import check_against, lever_reference, load_scenario

ROOT = Path(__file__).resolve().parents[2]
BASE = f'base = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\nname = "mine"\n'


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "mine.toml"
    p.write_text(BASE + body, encoding="utf-8")
    return p


def refused(tmp_path: Path, body: str) -> str:
    """The one-line error of loading a scenario with `body` (it must fail)."""
    with pytest.raises(InputError) as err:
        load_scenario(write(tmp_path, body))
    return str(err.value)


def kuzbass_deals(sc) -> list[date]:
    return [e.date for e in sc.events if e.kind == "concession" and tuple(e.basins) == ("Kuzbass",)]


def test_the_documented_recipe_moves_an_inherited_event(tmp_path):
    """The recipe of docs/levers.md, as written there, moves the Kuzbass deal of 17 July to 12 July and keeps its terms."""
    (recipe,) = re.findall(r"```toml\n(\[\[events_modify\]\].*?)```", lever_reference(), flags=re.S)
    sc = load_scenario(write(tmp_path, recipe))
    base = load_scenario(ROOT / "scenarios" / "baseline.toml")
    assert date(1989, 7, 17) in kuzbass_deals(base)
    assert kuzbass_deals(sc) == [d if d != date(1989, 7, 17) else date(1989, 7, 12) for d in kuzbass_deals(base)]
    moved = next(e for e in sc.events if e.kind == "concession" and e.date == date(1989, 7, 12))
    old = next(e for e in base.events if e.kind == "concession" and e.date == date(1989, 7, 17))
    assert (moved.relief, moved.political, moved.source) == (old.relief, old.political, old.source)
    assert len(sc.events) == len(base.events)


def test_an_error_in_a_modified_inherited_event_names_the_users_table(tmp_path):
    """`[[events_modify]]` with a bad value: the error named `[[events]] #k of the base file`, blaming the base file."""
    msg = refused(tmp_path, '[[events_modify]]\nkind = "concession"\ndate = "1989-07-17"\nrelief = 50.0\n')
    assert "[[events_modify]] #1 (the base file's [[events]] #" in msg and "mine.toml" in msg and "relief" in msg
    moved_out = '[[events_modify]]\nkind = "concession"\ndate = "1989-07-17"\nnew_date = "1995-01-01"\n'
    with pytest.raises(InputError, match=r"\[\[events_modify\]\] #1 .*outside the horizon"):
        load_scenario(write(tmp_path, moved_out))  # a moved event is not silently dropped as an inherited one past the end


def test_a_table_that_matches_nothing_says_how_to_move_and_lists_the_base_events(tmp_path):
    """Writing the new date under `date` (the match key) matched nothing, with no hint of what would."""
    msg = refused(tmp_path, '[[events_modify]]\nkind = "concession"\nbasins = ["Kuzbass"]\ndate = "1989-07-12"\n')
    assert "[[events_modify]] #1: no inherited event matches" in msg and "new_date" in msg and "concession 1989-07-17" in msg


def test_an_own_event_is_numbered_the_same_at_load_and_against_the_world(tmp_path):
    """The user's first own event was `[[events]] #1` at load but `#15` (its place after the inherited ones) in the world check."""
    base = load_scenario(ROOT / "scenarios" / "baseline.toml")
    sc = load_scenario(write(tmp_path, '[[events]]\nkind = "concession"\ndate = "1989-08-01"\nbasins = ["Kuzbas"]\n'))
    with pytest.raises(InputError) as err:
        check_against(sc, load_world(sc.data))
    msg = str(err.value)
    assert "[[events]] #1 (concession): unknown basin 'Kuzbas'" in msg and "mine.toml" in msg
    assert f"#{len(base.events) + 1}" not in msg
    bad = load_scenario(write(tmp_path, '[[events_modify]]\nkind = "concession"\ndate = "1989-07-17"\nnew_basins = ["Kuzbas"]\n'))
    with pytest.raises(InputError, match=r"\[\[events_modify\]\] #1 \(the base file's \[\[events\]\] #\d+\) \(concession\): unknown basin"):
        check_against(bad, load_world(bad.data))


def test_labels_are_no_part_of_the_scenario_content(tmp_path):
    """How errors name events leaves the scenario's hash (results folders, resume keys) as it was."""
    sc = load_scenario(ROOT / "scenarios" / "baseline.toml")
    assert sc.event_labels and "event_labels" not in sc.to_dict()
    assert sc.with_changes(events=sc.events[:1]).event_labels == ()


@pytest.mark.slow
def test_run_with_a_bad_modified_event_is_one_line_naming_the_users_table(tmp_path):
    """The exact command: `python run.py run mine.toml` with a bad [[events_modify]]."""
    path = write(tmp_path, '[[events_modify]]\nkind = "concession"\ndate = "1989-07-17"\nrelief = 50.0\n')
    r = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "run", str(path), "-n", "2", "--out", str(tmp_path / "res")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0 and len(lines) == 1 and "Traceback" not in r.stderr
    assert str(path) in lines[0] and "[[events_modify]] #1" in lines[0]
