"""Results as they come: an ensemble killed with SIGKILL part-way resumes, and ends equal to an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REPS = "3000"


def command(scenario: Path, out: Path) -> list[str]:
    args = ["-n", REPS, "--seed", "4", "--out", str(out), "--no-figures", "-q", "-j", "2", "--targets", ""]
    return [sys.executable, str(ROOT / "run.py"), "run", str(scenario), *args]


def test_sigkill_then_rerun_equals_an_uninterrupted_run(small_dir, tmp_path):
    sc = small_dir / "short.toml"  # the small world over July-August 1989: 3,000 runs in seconds
    sc.write_text('base = "small.toml"\nname = "small"\nend = "1989-08-31"\n', encoding="utf-8")
    out = tmp_path / "killed"
    p = subprocess.Popen(command(sc, out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    markers: list[Path] = []
    while time.time() < deadline and p.poll() is None:
        markers = list(out.glob("small/.partial_*/chunks/done_*"))
        if len(markers) >= 8:
            break
        time.sleep(0.05)
    assert p.poll() is None, "the run finished before it could be killed: make it longer"
    os.killpg(p.pid, signal.SIGKILL)  # the whole process group: the run and its worker processes
    p.wait()
    (partial,) = list(out.glob("small/.partial_*"))
    finished_before = len(list(partial.glob("chunks/done_*")))
    assert 8 <= finished_before < 3000 // 50
    assert not [d for d in (out / "small").iterdir() if not d.name.startswith(".")]  # nothing published yet

    r = subprocess.run(command(sc, out), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    (done,) = [d for d in (out / "small").iterdir() if not d.name.startswith(".")]
    assert not list(out.glob("small/.partial_*")) and not (done / "chunks").exists()
    man = json.loads((done / "manifest.json").read_text())
    assert len(man["resumed_from_chunks"]) >= finished_before

    ref_out = tmp_path / "straight"
    r = subprocess.run(command(sc, ref_out), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    (ref,) = [d for d in (ref_out / "small").iterdir() if not d.name.startswith(".")]
    for name in ("daily_basin", "daily_republic", "basin_events"):
        pd.testing.assert_frame_equal(pd.read_parquet(done / f"{name}.parquet"), pd.read_parquet(ref / f"{name}.parquet"), obj=name)
    assert pd.read_parquet(done / "daily_basin.parquet")["replicate"].nunique() == 3000
