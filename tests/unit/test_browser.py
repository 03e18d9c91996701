"""The interactive app in a real browser: `python run.py viz` driven by headless Chromium.

The test starts the app on a free port of 127.0.0.1, opens it in headless Chromium (Debian's
`chromium` and `chromedriver`, through Selenium with an explicit driver path, so nothing is
downloaded), waits for the network drawing, reads the date and the striker count the page prints,
presses Step until the strike has begun, and checks that the count changed. It saves a screenshot
to `results/browser/viz.png` (or to $BROWSER_SCREENSHOT_DIR). Without a browser it is skipped with
the reason; `.ci/run` installs Debian's packages where it can.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
DRIVER = os.environ.get("CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")
SHOTS = Path(os.environ.get("BROWSER_SCREENSHOT_DIR", ROOT / "results" / "browser"))

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
if not (Path(CHROMIUM).is_file() and Path(DRIVER).is_file()):
    pytest.skip(
        f"no headless browser: install Debian's chromium and chromium-driver (looked for {CHROMIUM} and {DRIVER})", allow_module_level=True
    )
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app(tmp_path):
    port = free_port()
    log = (tmp_path / "viz.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "viz", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail(f"the app did not start: {(tmp_path / 'viz.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its children, whatever happened
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    text = (tmp_path / "viz.log").read_text()  # `python run.py viz` printed 12 lines of a cookie warning per page load
    assert "Warning" not in text and "samesite" not in text, text[-2000:]


@pytest.fixture
def browser():
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1500,1100"):
        opts.add_argument(a)
    opts.binary_location = CHROMIUM
    d = webdriver.Chrome(service=Service(DRIVER), options=opts)
    d.set_page_load_timeout(120)
    try:
        yield d
    finally:
        d.quit()


def page_text(d) -> str:
    return d.find_element(By.TAG_NAME, "body").text


def strikers(d) -> int:
    m = re.search(r"Strikers: ([\d,]+)", page_text(d))
    assert m, page_text(d)[:2000]
    return int(m.group(1).replace(",", ""))


def test_app_shows_the_network_and_the_striker_count_changes_when_stepped(app, browser):
    d = browser
    d.get(app)
    WebDriverWait(d, 120).until(lambda d: "Strikers:" in page_text(d) and "enterprises in" in page_text(d))
    # the network drawing: a rendered image beside its caption
    WebDriverWait(d, 60).until(lambda d: any((img.get_property("naturalWidth") or 0) > 300 for img in d.find_elements(By.TAG_NAME, "img")))
    assert "1,075 enterprises in" in page_text(d)
    assert "Day 0 of" in page_text(d)
    WebDriverWait(d, 30).until(lambda d: "miners' strike" in d.title)  # the tab says what the page is, not "Solara"
    assert "Each dot is a coal enterprise" in page_text(d)  # the legend
    before = strikers(d)
    step = d.find_element(By.XPATH, "//button[contains(., 'Step')]")
    for day in range(1, 13):  # the first strike is on 10 July: twelve steps reach 12 July
        step.click()
        WebDriverWait(d, 60).until(lambda d, day=day: f"Day {day} of" in page_text(d))
    after = strikers(d)
    assert "12 July 1989" in page_text(d)
    assert after != before and after > 0, (before, after)
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert d.save_screenshot(str(SHOTS / "viz.png"))
    assert (SHOTS / "viz.png").stat().st_size > 10_000
