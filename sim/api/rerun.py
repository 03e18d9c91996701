"""Run a results folder's recorded command again into a scratch folder and compare every result with the recorded ones."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.api.common import ROOT, Result, read_manifest, rel
from sim.api.options import RunOptions, check_options, checked, path_option
from sim.figures import figures
from sim.inputs.errors import InputError, OptionError
from sim.run import results
from sim.run.results import Stopped

RERUN_SKIP = {"manifest.json"}
"""Files compared otherwise: the manifest key by key (timings, executor and the like may differ)."""
TIMING_COLUMNS = {"populations": ["seconds"]}
"""Columns that record wall-clock time, left out when a rerun's tables are compared."""
MANIFEST_VOLATILE = {
    "run_seconds",
    "abc_seconds",
    "predictive_seconds",
    "executor",
    "resumed",
    "resumed_from_chunks",
    "chunk_replicates",
    "workers",
}
"""Manifest keys that describe how a run went (time, executor, resumption), not what it computed."""
PATH_OPTIONS = ("scenario", "scenarios", "targets", "priors", "arm", "suite", "sensitivity")
"""Options of a recorded command that name files the rerun reads: each must lie in the repository or the folder."""
RERUNNABLE = ("run", "calibrate", "validate", "compare", "thesis", "sensitivity")
PROVENANCE = {
    "run": {"root_seed": int, "replicate_seeds": list, "data_files_sha256": dict, "posterior_sha256": (str, type(None))},
    "validate": {
        "root_seed": int,
        "replicate_seeds": list,
        "data_files_sha256": dict,
        "posterior_sha256": (str, type(None)),
        "targets_sha256": str,
    },
    "compare": {"root_seed": int, "replicate_seeds": list, "data_files_sha256": dict, "posterior_sha256": (str, type(None))},
    "thesis": {"root_seed": int, "replicate_seeds": list, "data_files_sha256": dict, "posterior_sha256": (str, type(None))},
    "calibration": {"root_seed": int, "predictive_seeds": list, "data_files_sha256": dict, "config": dict},
    "sensitivity": {"root_seed": int, "data_files_sha256": dict},
}
"""What each kind of folder must record of its inputs for a rerun to say "identical": without it, nothing would be compared."""


@dataclass
class RerunResult(Result):
    """A rerun: which results are identical, which differ, and notes (another commit, other package versions)."""

    command: str = ""
    same: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rtol: float | None = None
    seconds: float = 0.0
    quiet: bool = False

    @property
    def identical(self) -> bool:
        """True when every result and the manifest are the same."""
        return not self.diffs

    @property
    def status(self) -> int:  # noqa: D102 - Result.status
        return 0 if self.identical else 1

    def text(self) -> str:  # noqa: D102 - Result.text
        lines = [f"note: {n}" for n in self.notes]
        if self.rtol is not None:
            lines.append(f"note: tables compared within a relative tolerance of {self.rtol:g} (--rtol), not byte for byte")
        if self.diffs:
            lines.append(f"DIFFERENT: {len(self.diffs)} of {len(self.diffs) + len(self.same)} results differ from {rel(self.folder)}")
            lines += [f"  {d}" for d in self.diffs]
        elif self.quiet:
            lines.append("identical")
        else:
            lines.append(f"identical: {len(self.same)} results ({', '.join(self.same)}) and the manifest, rerun in {self.seconds:.0f} s")
        return "\n".join(lines)


def recorded_command(folder: Path, manifest: dict, parse: Callable[[list[str]], Any]) -> tuple[Any, list[str]]:
    """The recorded command of a results folder, parsed by the command line's `parse` and checked (a results folder is untrusted input).

    Only simulation commands with their recorded options are rerun: a command that does not parse,
    asks for help, names `viz`, `--host` or a file outside the repository and the folder is refused.
    A relative path in the line is the repository's (`sim.api.recorded`), whatever the working folder:
    the options returned name the files absolutely.
    """
    where = str(folder / "manifest.json")
    recorded = manifest.get("command", "")

    def refuse(why: str) -> InputError:
        return InputError(f"will not rerun the recorded command {recorded!r}: {why}", file=where, key="command")

    try:
        words = shlex.split(recorded) if isinstance(recorded, str) else []
    except ValueError:
        words = []
    if isinstance(recorded, str) and recorded.startswith("sim.api."):
        raise refuse("a call from Python recorded without its command line (by an earlier version): make the call again")
    if len(words) < 2 or words[0] != "python" or Path(words[1]).name != "run.py":
        raise refuse("not a 'python run.py ...' command")
    rest = words[2:]
    if any(w in ("-h", "--help", "--host") or w.startswith("--host=") for w in rest):
        raise refuse("it asks for help or a network address")
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            original = parse(rest)
    except SystemExit:
        raise refuse("it does not parse as a command of this run.py") from None
    if original.command not in RERUNNABLE:
        raise refuse(f"'{original.command}' writes no results folder to reproduce")
    try:
        check_options(original)  # the limits a typed command gets
    except OptionError as exc:
        raise refuse(str(exc)) from None
    inside = (ROOT.resolve(), folder.resolve())
    for opt in PATH_OPTIONS:
        value = getattr(original, opt, None)
        paths = [str(ROOT / v) if v else v for v in (value if isinstance(value, list) else [value])]  # ROOT / an absolute path: itself
        for v, p in zip(value if isinstance(value, list) else [value], paths, strict=True):
            if p and not any(Path(p).resolve().is_relative_to(d) for d in inside):
                raise refuse(f"--{opt} {v} lies outside the repository and the results folder")
        if value is not None:
            setattr(original, opt, paths if isinstance(value, list) else paths[0])
    return original, rest


def rerun(
    folder: str | Path,
    parse: Callable[[list[str]], Any],
    *,
    rtol: float | None = None,
    options: RunOptions | None = None,
    **shared: Any,
) -> RerunResult:
    """Run `folder`'s recorded command again (same seed and files, no figures but a thesis's) into a scratch folder and compare every result.

    `parse` is the command line's parser (`run.parse`): it turns the recorded words into options with
    `command` and `func`. Tables are compared byte for byte (within `rtol` if given; wall-clock columns
    aside), the manifest key by key (timings and executor aside). The recorded options are checked
    as a typed command's (`check_options`, then `RunOptions` when the command runs). Shared options of
    this call: `options` (a `RunOptions`) or workers, cluster and quiet as keywords (how to run, never what).
    """
    o = RunOptions.build(options, **shared)  # before the folder is read
    o.refuse("replicates", "seed", command="rerun")
    workers, cluster, quiet = o.workers, o.cluster, o.quiet
    checked("rtol", rtol)
    path_option("folder", folder)
    folder = Path(folder)
    manifest = read_manifest(folder)  # a results folder is untrusted input: every file of it
    kind = figures.kind(manifest)
    original, _ = recorded_command(folder, manifest, parse)
    for key, typ in PROVENANCE.get(kind, {}).items():
        if key not in manifest or not isinstance(manifest[key], typ) or isinstance(manifest[key], bool):
            what = f"lacks '{key}'" if key not in manifest else f"holds a {type(manifest[key]).__name__} for '{key}'"
            raise InputError(
                f"will not rerun: the manifest {what}, the provenance a rerun is checked against",
                file=str(folder / "manifest.json"),
                key=key,
            )
    notes = []
    now = results.git_commit(ROOT)
    if manifest.get("git_commit") != now:
        notes.append(f"recorded at commit {manifest.get('git_commit')}, now {now}")
    versions, installed = manifest.get("versions"), results.versions()  # once: reading every distribution's metadata takes a second
    for name, old in (versions if isinstance(versions, dict) else {}).items():
        new = installed.get(name)
        if new != old:
            notes.append(f"{name} {old} then, {new} now")
    scratch = Path(tempfile.mkdtemp(prefix="rerun_"))
    diffs, same = [], []
    try:
        original.out, original.quiet = str(scratch), True
        original.no_figures = original.no_figures or kind != "thesis"  # a thesis report lists the figures drawn: draw them too
        if original.command == "calibrate":
            original.install = False  # a rerun never replaces the committed posterior
            original.resume = False
        original.workers, original.cluster = workers, cluster  # how to run is this call's, never the folder's
        if not quiet:
            print(f"rerunning: {manifest['command']}  ({kind}; recorded seed {manifest.get('root_seed')})", flush=True)
        original.command_line = manifest["command"]  # the line the results record (a thesis report quotes it) is the original's
        t0 = time.perf_counter()
        with scratch_notes(scratch):
            code = original.func(original)
        if code != 0:
            raise OptionError(f"the rerun exited with status {code}")
        (new,) = [p for p in scratch.glob("*/*") if p.is_dir() and not p.name.startswith(".")]
        compare_results(folder, new, rtol, same, diffs)
        new_manifest = json.loads((new / "manifest.json").read_text(encoding="utf-8"))
        volatile = MANIFEST_VOLATILE | {"git_commit", "versions", "command", "tables"}
        for key in sorted(set(manifest) | set(new_manifest)):
            if key in volatile:
                continue
            if (key in manifest) != (key in new_manifest):
                by = "the rerun" if key in new_manifest else "the folder"
                notes.append(f"manifest key '{key}' is recorded by {by} only (another version of run.py)")
            elif manifest[key] != new_manifest[key]:
                diffs.append(f"manifest.json: '{key}' differs")
        elapsed = time.perf_counter() - t0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return RerunResult(folder, manifest["command"], same, diffs, notes, rtol, elapsed, quiet)


NOTHING_KEPT = "the rerun worked in a scratch folder it removes: nothing is kept and nothing resumes (rerun the folder again)"


class ScratchNotes(io.TextIOBase):
    """Standard error while a rerun replays its command: a line that names the scratch folder is said once as what happens to it.

    A replay that stops says where its finished chunks or populations are kept ("run the same command
    with --resume"): in the scratch folder, which the rerun then removes.
    """

    def __init__(self, name: str, stream: Any) -> None:
        self.name, self.stream, self.said, self.line = name, stream, False, ""

    def writable(self) -> bool:  # noqa: D102 - io's
        return True

    def write(self, text: str) -> int:  # noqa: D102 - io's
        *lines, self.line = (self.line + text).split("\n")
        for line in lines:
            if self.name not in line:
                self.stream.write(line + "\n")
            elif not self.said:
                self.stream.write(f"note: stopped; {NOTHING_KEPT}\n")
                self.said = True
        return len(text)

    def flush(self) -> None:  # noqa: D102 - io's
        if self.line:
            self.write("\n")
        self.stream.flush()


@contextlib.contextmanager
def scratch_notes(scratch: Path):
    """Around the replay: no line on standard error, nor an OS error's message, points into the scratch folder as if it were kept."""
    stream = ScratchNotes(scratch.name, sys.stderr)
    try:
        with contextlib.redirect_stderr(stream):
            yield
    except Stopped as exc:  # "interrupted: finished chunks are kept in <scratch>; ..."
        if scratch.name not in exc.message:
            raise
        what = "terminated" if exc.code == 143 else "interrupted"
        stopped = Stopped(f"{what}: no result written ({NOTHING_KEPT})", exc.code)
        stopped.said = True  # what it says stands (`Stopped.of`)
        raise stopped from None
    except OSError as exc:  # "...; finished chunks are kept in <scratch>: run the same command again to resume"
        if exc.strerror and scratch.name in exc.strerror:
            exc.strerror = "; ".join([*(p for p in exc.strerror.split("; ") if scratch.name not in p), NOTHING_KEPT])
        raise
    finally:
        stream.flush()


def compare_results(folder: Path, new: Path, rtol: float | None, same: list[str], diffs: list[str]) -> None:
    """Compare every table and report of two results folders, appending to `same` and `diffs`."""

    def results_in(d: Path) -> set[str]:
        return {p.name for p in d.iterdir() if p.is_file() and p.name not in RERUN_SKIP and p.suffix in (".parquet", ".md")}

    for name in sorted(results_in(folder) | results_in(new)):
        path, other = folder / name, new / name
        if not path.is_file():
            diffs.append(f"{name}: written by the rerun, missing from the folder")
            continue
        if not other.is_file():
            diffs.append(f"{name}: in the folder, not written by the rerun")
            continue
        try:
            if path.read_bytes() == other.read_bytes():
                same.append(name)
                continue
        except OSError as exc:  # a folder in place of a table, no permission
            diffs.append(f"{name}: unreadable ({exc.strerror or exc})")
            continue
        drop = TIMING_COLUMNS.get(path.stem, [])
        if path.suffix == ".parquet" and (drop or rtol is not None):
            try:
                a, b = pd.read_parquet(path), pd.read_parquet(other)
            except Exception as exc:  # pyarrow raises several types for a broken file
                diffs.append(f"{name}: unreadable ({type(exc).__name__})")
                continue
            a, b = a.drop(columns=[c for c in drop if c in a]), b.drop(columns=[c for c in drop if c in b])
            try:
                if rtol is None:
                    pd.testing.assert_frame_equal(a, b, check_exact=True)
                else:
                    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=rtol, atol=0.0)
                how = [f"without its timing columns {drop}" if drop else "", f"within rtol {rtol:g}" if rtol is not None else ""]
                same.append(f"{name} ({', '.join(h for h in how if h)})")
                continue
            except AssertionError as exc:
                diffs.append(f"{name}: {' '.join(str(exc).split())[:200]}")
                continue
        diffs.append(f"{name}: the bytes differ")
