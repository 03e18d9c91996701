"""The lever reference (docs/levers.md) is generated from the registry, current, and every example in it runs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.inputs.network import load_world
from sim.model.interventions import KINDS
from sim.model.scenario import check_against, events_table, lever_reference, levers_page, load_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_docs_levers_is_current_and_documents_every_key():
    text = (ROOT / "docs" / "levers.md").read_text(encoding="utf-8")
    assert text == levers_page(), "docs/levers.md is stale: python run.py levers --write"
    for kind, cls in KINDS.items():
        assert f"## `{kind}`" in text
        for key in cls.KEYS:
            assert cls.DOCS.get(key), f"{kind}.{key} has no meaning in DOCS"


def test_every_example_of_the_reference_loads_on_the_real_data(tmp_path):
    text = lever_reference()
    blocks = re.findall(r"```toml\n(\[\[events\]\].*?)```", text, flags=re.S)
    assert len(blocks) == len(KINDS)
    base = (ROOT / "scenarios" / "baseline.toml").as_posix()
    for i, block in enumerate(blocks):
        f = tmp_path / f"ex{i}.toml"
        f.write_text(f'base = "{base}"\nname = "ex{i}"\n' + block, encoding="utf-8")
        sc = load_scenario(f)
        check_against(sc, load_world(sc.data))
        assert sc.events[-1].kind == list(KINDS)[i]


@pytest.mark.slow
def test_levers_command_prints_the_reference():
    r = subprocess.run([sys.executable, str(ROOT / "run.py"), "levers"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0 and r.stdout == levers_page()


def test_the_page_lists_every_dated_event_of_the_baseline_with_its_source():
    sc = load_scenario(ROOT / "scenarios" / "baseline.toml", require_posterior=False)
    text = (ROOT / "docs" / "levers.md").read_text(encoding="utf-8")
    rows = [line for line in text.split("## The baseline's dated events", 1)[1].splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == len(sc.events) + 1  # the header and one row per event
    assert events_table(sc) in text
    for ev, row in zip(sc.events, rows[1:], strict=True):
        assert row.startswith(f"| {ev.date} | `{ev.kind}` |") and ev.source and "(none)" not in row
    assert any("`town_concession` | Mezhdurechensk" in r and "1989-07-13" in r for r in rows)
