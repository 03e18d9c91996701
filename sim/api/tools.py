"""The smaller commands: `explain` a town's decisions, `plot` a folder's figures, the references, `serve` the app."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sim.api.common import BASELINE, ROOT, Result, read_manifest, rel
from sim.api.options import RunOptions, checked, iso_date, path_option, switch, text_option
from sim.api.recorded import command_line
from sim.figures import figures
from sim.inputs.errors import InputError, OptionError
from sim.run import results


@dataclass
class ExplainResult(Result):
    """The terms of one town's decisions on one day (`sim.analysis.explain.Explanation`) and where they were written."""

    explanation: object = None

    def text(self) -> str:  # noqa: D102 - Result.text
        from sim.analysis import explain

        return f"{explain.report(self.explanation)}\n-> {rel(self.folder)}"


def explain_town(
    scenario: str | Path,
    *,
    day: str,
    town: str,
    replicate: int = 0,
    options: RunOptions | None = None,
    **shared: Any,
) -> ExplainResult:
    """Why did `town`'s enterprises strike (or go back) on `day`? The terms of each decision (sim/analysis/explain.py), written with a figure.

    `day`: an ISO date or a `datetime.date`; `replicate`: its index (limits: `sim.inputs.limits.LIMITS`).
    Shared options: `options` (a `RunOptions`) or its fields as keywords (out, draw_figures, quiet,
    command; quiet is accepted for uniformity: explaining prints nothing on its own). It runs one
    replicate in this process: no replicates, seed, workers or cluster.
    """
    from sim.analysis import explain
    from sim.model.scenario import load_scenario

    o = RunOptions.build(options, **shared)
    o.refuse("replicates", "seed", "workers", "cluster", command="explain")
    *_, out, draw_figures, _quiet, command = o.values()
    path_option("scenario", scenario)
    day = iso_date("day", day)
    if day is None:
        raise OptionError("--date (day) is required: an ISO date (YYYY-MM-DD)")
    when = date.fromisoformat(day)
    text_option("town", town)
    checked("replicate", replicate, optional=False)
    command = command or command_line("explain_town", o, scenario=scenario, day=day, town=town, replicate=replicate)
    sc = load_scenario(scenario)
    ex = explain.explain(sc, when, town, replicate)
    digest = hashlib.sha256(json.dumps([sc.digest(), day, town, replicate]).encode()).hexdigest()[:8]
    folder = results.ResultsFolder(Path(out), "explain", digest, command, resume=False, repo=ROOT)
    with folder.assembling():
        folder.tables({"enterprises": ex.enterprises, "committees": ex.committees})
        if draw_figures:
            results.save_figure(figures.explanation(ex), folder.path / "figures", "explain")
        folder.manifest(
            {
                "experiment": "explain",
                "scenario": rel(sc.path),
                "date": day,
                "town": town,
                "replicate": replicate,
                "replicate_seed": ex.seed,
                "tables": {
                    "enterprises": "one row per enterprise of the town: the terms of its decision that day, hazard, probability, draw, acted",
                    "committees": "the town's and the basin's committee: active, stage, allegiance and that day's escalation terms",
                },
            },
        )
    return ExplainResult(folder.publish(), ex)


@dataclass
class PlotResult(Result):
    """The figures redrawn from a results folder."""

    names: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def text(self) -> str:  # noqa: D102 - Result.text
        return f"{len(self.names)} figures in {self.seconds:.1f} s -> {rel(self.folder)}: {', '.join(self.names)}"


def plot(folder: str | Path, *, arms: list[str] | None = None) -> PlotResult:
    """Redraw every figure of a finished results folder from its tables and manifest (no simulation); `arms`: the arms to show."""
    from sim.inputs.errors import InputError

    folder = Path(path_option("folder", folder))
    if arms is not None and (not isinstance(arms, (list, tuple)) or not all(isinstance(a, str) for a in arms)):
        raise OptionError(f"--arms (arms) must be a list of arm names, got {arms!r}")
    what = figures.kind(read_manifest(folder))  # a results folder is untrusted input: every file of it
    t0 = time.perf_counter()
    try:
        names = figures.draw(folder, arms=list(arms) if arms else None)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, LookupError) as exc:
        raise InputError(
            f"its manifest or tables are not what `{what}` writes ({type(exc).__name__}: {str(exc)[:200]})", file=str(folder)
        ) from None
    where = Path(folder) / "figures" / ("arms_" + "_".join(arms) if arms else "")
    return PlotResult(where, names, time.perf_counter() - t0)


def param_markdown() -> str:
    """The parameter table as markdown."""
    from sim.inputs.params import param_table

    lines = ["| name | default | unit | mechanism | range | meaning | source |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in param_table():
        lines.append(
            f"| `{r['name']}` | {r['default']:g} | {r['unit']} | {r['mechanism']} | {r['range']} | {r['meaning']} | {r['source']} |"
        )
    return "\n".join(lines) + "\n"


def _between_markers(readme: Path, start: str, end: str, body: str) -> None:
    """Replace what lies between the markers `start` and `end` of `readme` by `body`."""
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise OptionError(f"{readme}: markers {start} and {end} not found")
    a, b = text.index(start) + len(start), text.index(end)
    results.write_text(readme, text[:a] + body + text[b:])


def write_param_table(readme: Path = ROOT / "README.md") -> None:
    """Write the parameter table into `readme` between its markers `<!-- params:start -->` and `<!-- params:end -->`."""
    _between_markers(readme, "<!-- params:start -->", "<!-- params:end -->", "\n" + param_markdown())


def write_thesis_answer(report_md: str | Path, readme: Path = ROOT / "README.md") -> None:
    """Copy the answer of a thesis report (`report.md`, between its answer markers) into `readme`'s thesis section.

    The README then says what the report says, in the same words: run it after `python run.py thesis`
    (`python -c "from sim import api; api.write_thesis_answer('results/thesis/<...>/report.md')"`).
    """
    from sim.analysis.report import ANSWER_END, ANSWER_START, answer_block

    path = path_option("report_md", report_md)
    try:
        block = answer_block(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"not a thesis report with an answer ({exc})", file=str(path)) from None
    _between_markers(readme, ANSWER_START, ANSWER_END, block[len(ANSWER_START) : -len(ANSWER_END)])


def write_lever_reference(path: Path = ROOT / "docs" / "levers.md") -> None:
    """Write the lever reference (every event kind of a scenario, its keys, ranges, defaults, an example; the baseline's events) to `path`."""
    from sim.model.scenario import levers_page

    results.write_text(path, levers_page())


COOKIE_WARNING = "ignore:Cookies with samesite=none require https:UserWarning"
"""The one warning the app's server silences (see `serve`)."""


def serve(scenario: str | Path = BASELINE, *, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False) -> int:
    """Serve the interactive app (Mesa SolaraViz, sim/figures/viz.py) over `scenario` until Ctrl-C; returns the server's status."""
    import shutil
    import socket

    from sim.figures.plots_app import APP_TITLE
    from sim.model.scenario import load_scenario

    path_option("scenario", scenario)
    text_option("host", host)
    checked("port", port, optional=False)
    switch("open_browser", open_browser)
    sc = load_scenario(scenario)  # a bad scenario is one line here, before any server starts
    solara = shutil.which("solara", path=str(Path(sys.executable).parent)) or shutil.which("solara")
    if solara is None:
        raise OptionError("the interactive app is not installed in this environment: pip install -c constraints.txt -e '.[viz]'")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:  # fail before saying it serves
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OptionError(
                f"cannot serve on {host}:{port}: {exc.strerror or exc} (another program, or an earlier viz, holds it; try --port)"
            ) from None
    # offline and local: no version check against the package index, no telemetry
    cmd = [
        solara,
        "run",
        str(ROOT / "sim" / "figures" / "viz.py"),
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-check-version",
    ]
    cmd.append("--open" if open_browser else "--no-open")
    env = {
        **os.environ,
        "MINERS_VIZ_SCENARIO": str(Path(scenario).resolve()),
        "PYTHONPATH": str(ROOT),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_THEME_TITLE": APP_TITLE,  # the tab's title from the first byte (Solara's default: "Solara")
        # Solara warns in 12 lines on every page load from 127.0.0.1 that it falls back to a SameSite=Lax session cookie
        # (it would want https for SameSite=None, needed only inside another site's iframe): Lax is right for a local app
        "PYTHONWARNINGS": ",".join(filter(None, (os.environ.get("PYTHONWARNINGS"), COOKIE_WARNING))),
    }
    print(f"serving '{sc.name}' at http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)  # its own group: stopped whole below
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (the command line turns it into KeyboardInterrupt)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the server ends quietly on SIGTERM (on SIGINT it prints "Aborted!")
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        print("stopped", file=sys.stderr)
        return 0
