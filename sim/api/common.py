"""What every command of the library shares: the repository's paths, typed results, option limits, text helpers.

A library command (`sim.api.run_scenario`, `validate`, `compare`, ...) takes keyword options, writes
one results folder through `sim.run.results.ResultsFolder`, and returns a typed result whose `text()`
is what the command line prints. Progress bars and notes go to standard error unless `quiet`.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository: scenarios/, calibration/, the default results/ and the commit a manifest records."""
BASELINE = ROOT / "scenarios" / "baseline.toml"
TARGETS = ROOT / "calibration" / "targets" / "july1989.csv"
PRIORS = ROOT / "calibration" / "priors_1989_1990.toml"
PRIOR_STAGES = [ROOT / "calibration" / f for f in ("priors.toml", "priors_1989_1990.toml")]
RESULTS = ROOT / "results"


@dataclass
class Result:
    """What a library command returns: the published folder and what it found. `text()` is the command line's report."""

    folder: Path | None

    @property
    def status(self) -> int:
        """The command's exit status (0: done)."""
        return 0

    def text(self) -> str:
        """The report the command line prints (empty: nothing to say)."""
        return f"-> {rel(self.folder)}" if self.folder else ""


def rel(path: str | Path | None) -> str | None:
    """A path relative to the repository when it lies inside it (manifests carry no machine paths)."""
    if path is None:
        return None
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(path)


def read_manifest(folder: Path) -> dict:
    """The manifest of a results folder, read as untrusted input: a JSON object, or one line (`InputError`) naming it."""
    from sim.figures import figures
    from sim.inputs.errors import InputError

    where = str(Path(folder) / "manifest.json")
    try:
        manifest = figures.read(Path(folder))
    except (OSError, ValueError, RecursionError) as exc:  # no permission, an integer of 5,000 digits, nesting 10,000 deep
        raise InputError(f"unreadable manifest ({type(exc).__name__}: {str(exc)[:200]})", file=where) from None
    if not isinstance(manifest, dict):
        raise InputError(f"not a results folder's manifest: it holds a JSON {type(manifest).__name__}, not an object", file=where)
    return manifest


def progress(total: int, unit: str, quiet: bool, initial: int = 0):
    """A progress bar (runs done, rate, time left) on standard error; silent when quiet or not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit=unit, disable=quiet or not sys.stderr.isatty(), dynamic_ncols=True, smoothing=0.1)


def note(quiet: bool, message: str) -> None:
    """One line on standard error, unless quiet."""
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def cap_workers(workers: int | None, cluster: str | None) -> int | None:
    """More workers than cores only slows a run down: cap them, with a note."""
    cores = os.cpu_count() or 1
    if workers is not None and workers > cores and cluster is None:
        print(f"note: --workers {workers} is more than the {cores} cores here; using {cores}", file=sys.stderr)
        return cores
    return workers


def parameters_entry(sc) -> dict:
    """Manifest entries saying where the replicates' parameters came from (and which posterior draws the scenario replaced)."""
    return {
        "parameters": sc.parameters if sc.posterior else "defaults",
        "posterior_file": rel(sc.posterior) if sc.posterior else None,
        "posterior_sha256": sc.posterior_sha256(),
        "overrides_posterior": posterior_overrides(sc),
    }


def posterior_overrides(sc) -> list[str]:
    """Posterior-drawn parameters that the scenario sets to a constant instead (every replicate gets the scenario's value)."""
    if sc.posterior is None:
        return []
    from sim.inputs.posterior import posterior_for

    return sorted(set(sc.set_params) & set(posterior_for(sc.posterior).names))


def note_overrides(scenarios, quiet: bool) -> None:
    """One line when a scenario replaces posterior draws by constants: easy to do by accident in [params]."""
    for sc in scenarios:
        names = posterior_overrides(sc)
        if names:
            note(
                quiet, f"note: {sc.name} sets {', '.join(names)} in [params]: every replicate uses that value instead of its posterior draw"
            )


def num(x: float) -> str:
    """A signed number for people: thousands separators, no scientific notation, about three significant digits."""
    if not math.isfinite(x):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:+,.0f}"
    return f"{x:+.3g}" if abs(x) >= 0.001 or x == 0 else f"{x:+.6f}"


def is_share(measure: str) -> bool:
    """Whether a target measure is a share (0 to 1), printed with two decimals."""
    from sim.analysis.targets import SHARES

    return measure in SHARES


def historical(r) -> str:
    """The historical figure of a score row: a value, a range, a value with its range ("12,000 (10,000-14,000)"), or an open range ("at least 1")."""
    fmt = (lambda v: f"{v:.2f}") if is_share(r["measure"]) else (lambda v: f"{v:,.0f}")
    if r["kind"] != "interval":
        return fmt(r["value"])
    if math.isnan(r["high"]):
        return f"at least {fmt(r['low'])}"
    if math.isnan(r["low"]):
        return f"at most {fmt(r['high'])}"
    given = f"{fmt(r['value'])} " if math.isfinite(r["value"]) else ""  # the figure the row is judged by (sim.analysis.targets.observed)
    return f"{given}({fmt(r['low'])}-{fmt(r['high'])})" if given else f"{fmt(r['low'])}-{fmt(r['high'])}"


def verdict_words(scores) -> list[str]:
    """One word per row of a score table: inside 50%, inside 90%, outside (of the 25-75% and 5-95% bands), or not scored.

    A hit whose band says nothing (`informative` False) is marked "(uninformative)".
    """
    out = []
    for _, r in scores.iterrows():
        word = "not scored" if not r["scored"] else "inside 50%" if r["inside_50"] else "inside 90%" if r["inside_90"] else "outside"
        out.append(word + (" (uninformative)" if r["scored"] and r["inside_90"] and not r.get("informative", True) else ""))
    return out


def counted(v: float) -> str:
    """A simulated count: whole, with thousands separators, except a fraction below 10.

    A quantile falls between replicates: 0.45 is not 0, and a row at 0 is outside a band from 0.45.
    """
    return f"{v:.2g}" if 0 < abs(v) < 10 and v != round(v) else f"{v:,.0f}"


def scores_text(scores) -> str:
    """Each target against the ensemble's median and 90% band (5-95% of replicates), a line each, and the headline.

    The headline counts the rows inside the 90% band whose band is informative (`sim.analysis.targets.headline`);
    the hits whose band says nothing follow, each with its reason.
    """
    from sim.analysis import targets

    lines = [f"{'target (date, basin, place, measure)':76s} {'historical':>24s} {'model median [5% to 95%]':>30s}  in 90% band"]
    for _, r in scores.iterrows():
        where = f"{r['date']} {r['basin']}{', ' + r['place'] if r['place'] else ''} {r['measure']}"
        fmt = (lambda v: f"{v:.2f}") if is_share(r["measure"]) else counted
        hist = "on the day" if r["measure"] in ("first_strike", "last_day") else historical(r)
        if not r["scored"]:
            lines.append(f"{where:76s} {hist:>24s}   not scored: {r['reason']}")
            continue
        vals = [float(r[k]) for k in ("sim_median", "sim_p05", "sim_p95")]
        if not all(math.isfinite(v) for v in vals):  # e.g. an event that happened in no replicate
            sim = "never happened" if r["measure"] in ("first_strike", "last_day") else "no simulated value"
        elif r["measure"] in ("first_strike", "last_day"):  # days after the historical date
            q = [round(v) + 0 for v in vals]  # + 0 turns -0 into 0
            sim = f"{q[0]:+} days [{q[1]:+} to {q[2]:+}]"
        else:
            sim = f"{fmt(vals[0])} [{fmt(vals[1])} to {fmt(vals[2])}]"
        flag = "" if bool(r.get("informative", True)) else " (uninformative)"
        lines.append(f"{where:76s} {hist:>24s} {sim:>30s}  {'yes' if r['inside_90'] else 'NO'}{flag}")
    if not scores["scored"].any():
        lines.append(f"none of the {len(scores)} targets could be scored (see the reasons above)")
        return "\n".join(lines)
    lines.append(
        "(bands across replicates: 90% = 5-95%, 50% = 25-75%; a range is inside a band when the band holds its midpoint "
        "(or the value given with it) or lies wholly within the range; "
        "dated events: days after the historical date, negative = earlier)"
    )
    lines.append(targets.headline(scores))
    gone = targets.uninformative_rows(scores)
    if gone:
        lines += ["inside the 90% band but uninformative (the band says nothing about the row):", *gone]
    return "\n".join(lines)


def md_table(header: list[str], rows: list[list]) -> list[str]:
    """Lines of a markdown table."""
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)] + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
