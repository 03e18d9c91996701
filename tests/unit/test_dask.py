"""A real Dask cluster on loopback (a scheduler and two workers) runs an ensemble identical to the serial run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.run.runner import run_ensemble

pytestmark = pytest.mark.slow

pytest.importorskip("distributed")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = (tmp_path / "dask.log").open("w")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=log,
            stderr=log,
        )
    ]
    from distributed import Client

    deadline = time.time() + 60
    while True:
        try:
            Client(address, timeout="2s").close()
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    for k in range(2):
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard", "--name", f"w{k}"],
                stdout=log,
                stderr=log,
                cwd=ROOT,  # the workers import the project from the repository, installed or not
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        )
    with Client(address, timeout="10s") as c:
        c.wait_for_workers(2, timeout=60)
    yield address
    for p in procs[::-1]:
        p.terminate()
    for p in procs:
        p.wait(timeout=30)
    log.close()


def test_dask_cluster_gives_the_serial_tables(small, cluster):
    import faulthandler

    faulthandler.dump_traceback_later(300, exit=True)  # a stuck cluster fails the run here instead of hanging CI
    sc, _ = small
    serial, seeds = run_ensemble(sc, 12, 21, workers=1, chunk=3)
    distributed, seeds2 = run_ensemble(sc, 12, 21, chunk=3, cluster=cluster)
    assert seeds == seeds2
    for name in ("basin", "republic", "town"):
        pd.testing.assert_frame_equal(getattr(serial, name), getattr(distributed, name), obj=name)
    assert serial.basin["strikers"].max() > 0
    faulthandler.cancel_dump_traceback_later()


def test_run_command_on_dask_writes_byte_identical_tables(small_dir, cluster, tmp_path):
    import faulthandler

    faulthandler.dump_traceback_later(300, exit=True)
    common = ["run", str(small_dir / "small.toml"), "-n", "6", "-s", "13", "-q", "--no-figures"]
    for out, where in (("serial", ["-j", "1"]), ("dask", ["--cluster", cluster])):
        r = subprocess.run(
            [sys.executable, str(ROOT / "run.py"), *common, *where, "--out", str(tmp_path / out)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
        assert r.returncode == 0, r.stderr[-2000:]
    (a,) = (tmp_path / "serial" / "small").iterdir()
    (b,) = (tmp_path / "dask" / "small").iterdir()
    tables = sorted(p.name for p in a.glob("*.parquet"))
    assert len(tables) >= 5
    for name in tables:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    faulthandler.cancel_dump_traceback_later()


def test_unreachable_cluster_is_one_line_error(small):
    from sim.inputs.errors import InputError

    sc, _ = small
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        run_ensemble(sc, 2, 1, cluster=f"tcp://127.0.0.1:{free_port()}")
