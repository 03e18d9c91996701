"""`python run.py viz` as a process (issue 14, class 13): offline, one line on a busy port, nothing left after SIGTERM.

Needs no browser: it talks HTTP on loopback only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_running(pgid: int) -> list[str]:
    ps = subprocess.run(["ps", "-o", "stat=,args=", "-g", str(pgid)], capture_output=True, text=True).stdout.splitlines()
    return [p for p in ps if not p.strip().startswith("Z")]


def test_viz_is_offline_refuses_a_busy_port_in_one_line_and_leaves_nothing_after_sigterm(tmp_path):
    port = free_port()
    log = (tmp_path / "viz.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "viz", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, (tmp_path / "viz.log").read_text()[-2000:]
                time.sleep(0.5)
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert kids, "viz started no server process"
        for pid in kids:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert b"--no-check-version" in args, args  # no version check against the package index
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert b"SOLARA_TELEMETRY_MIXPANEL_ENABLE=False" in env  # no telemetry
        server_group = os.getpgid(int(kids[0]))

        # a second viz on the same port: one line, and it never claims to serve
        r = subprocess.run([sys.executable, str(ROOT / "run.py"), "viz", "--port", str(port)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and "cannot serve" in r.stderr and r.stderr.count("\n") == 1 and "serving" not in r.stdout, r

        proc.send_signal(signal.SIGTERM)  # to run.py alone, as a service manager would
        assert proc.wait(timeout=30) == 0
        deadline = time.time() + 20
        while group_running(server_group) and time.time() < deadline:
            time.sleep(0.25)
        assert not group_running(server_group), "the server child outlived viz"
        with socket.socket() as s:  # the port is free again (no listener; a closed connection may linger in TIME_WAIT)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
    finally:
        if proc.poll() is None or group_running(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    text = (tmp_path / "viz.log").read_text()
    assert "New version of Solara" not in text and "stopped" in text
    # `python run.py viz` printed 12 lines of a cookie warning on every page load, and its page was titled "Solara"
    assert "Warning" not in text and "samesite" not in text, text
    assert "<title>The 1989 Soviet miners&#39; strike" in page or "<title>The 1989 Soviet miners' strike" in page


def test_ctrl_c_stops_viz_with_one_line(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "viz", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline
                time.sleep(0.5)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C in a terminal sends
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0
    assert out.rstrip().endswith("stopped") and "Aborted" not in out and "Traceback" not in out, out
