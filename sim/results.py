"""Reading and writing results folders: the only module that writes files.

A results folder `results/<experiment>/<UTC timestamp>_<hash>/` holds `manifest.json` (resolved
scenario, seeds, git commit, package versions, command line, input file hashes), tidy Parquet
tables and `figures/`. The folder is assembled under a temporary name and renamed when complete,
so an interrupted run never leaves a half-written result.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd


def git_commit(root: Path) -> str:
    """The repository's HEAD commit (with '-dirty' if there are uncommitted changes), or 'unknown'."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def versions() -> dict[str, str]:
    """Python and the version of every installed distribution (any of them can change a result).

    Names are normalised (lower case, '-' for '_' and '.'), as in `constraints.txt`.
    """
    out = {"python": platform.python_version()}
    for d in sorted(metadata.distributions(), key=lambda d: d.metadata["Name"] or ""):
        name = re.sub(r"[-_.]+", "-", d.metadata["Name"] or "").lower()
        if name:
            out[name] = d.version
    return out


_LOCKS: dict[Path, Any] = {}


class BusyError(Exception):
    """Another process is running the same command into the same results folder."""


def lock(root: Path, experiment: str, digest: str) -> None:
    """Hold, for the life of this process, the lock of one command's results (experiment and hash).

    A second identical command started meanwhile gets `BusyError` (one line) instead of writing into the
    same unfinished folder. The lock is the kernel's (`fcntl.flock`): it is released when the
    process ends, however it ends, so a killed run never leaves a stale lock behind.
    """
    import fcntl

    path = (root / ".locks" / f"{experiment}_{digest}").resolve()  # beside the experiments, not among their folders
    if path in _LOCKS:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise BusyError(
            f"another run of the same command is writing into {root / experiment} (lock .locks/{path.name}); wait for it to finish"
        ) from None
    _LOCKS[path] = fh


def new_folder(root: Path, experiment: str, digest: str, resume: Path | None = None) -> tuple[Path, Path]:
    """(temporary folder to fill, final folder name) for a new result, or for resuming `resume`.

    Takes the command's lock first (see `lock`).
    """
    lock(root, experiment, digest)
    if resume is not None:
        stamp = resume.name.split("_")[1]
        return resume, root / experiment / f"{stamp}_{digest}"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = root / experiment / f"{stamp}_{digest}"
    tmp = root / experiment / f".partial_{stamp}_{digest}"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "figures").mkdir(parents=True)
    return tmp, final


def write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Write each table as Parquet (atomically: temporary file, then rename)."""
    for name, df in tables.items():
        tmp = folder / f".{name}.parquet.tmp"
        df.to_parquet(tmp, index=False)
        tmp.replace(folder / f"{name}.parquet")


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write manifest.json."""
    tmp = folder / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(folder / "manifest.json")


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically (temporary file, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:  # a full disk, a folder in the file's place: no temporary file left behind
        if tmp.is_file():
            tmp.unlink()
        raise


def install_file(src: Path, dst: Path) -> None:
    """Copy a finished file into the repository (e.g. a posterior into calibration/fitted/), atomically."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)


def write_chunk(folder: Path, first: int, tables: dict[str, pd.DataFrame]) -> None:
    """Append one finished chunk of replicates to an unfinished result: its tables, then its marker.

    Each file is written atomically; the marker `chunks/done_<first>` comes last, so a chunk counts as
    finished only when all its tables are on disk (a run killed mid-chunk redoes that chunk).
    """
    d = folder / "chunks"
    d.mkdir(exist_ok=True)
    for name, df in tables.items():
        tmp = d / f".{name}_{first:09d}.parquet.tmp"
        df.to_parquet(tmp, index=False)
        tmp.replace(d / f"{name}_{first:09d}.parquet")
    marker = d / f".done_{first:09d}.tmp"
    marker.write_text(str(first), encoding="utf-8")
    marker.replace(d / f"done_{first:09d}")


def read_chunks(folder: Path, names: tuple[str, ...]) -> dict[int, dict[str, pd.DataFrame]]:
    """The finished chunks of an unfinished result: first replicate -> its tables."""
    d = folder / "chunks"
    out = {}
    for m in sorted(d.glob("done_*")) if d.is_dir() else []:
        try:
            first = int(m.name.split("_")[1])
        except ValueError:
            raise _damaged(m) from None
        tables = {}
        for n in names:
            path = d / f"{n}_{first:09d}.parquet"
            try:
                tables[n] = pd.read_parquet(path)
            except Exception:  # missing, truncated or not Parquet at all: pyarrow raises several kinds
                raise _damaged(path) from None
        out[first] = tables
    return out


def _damaged(path: Path):
    from sim.errors import InputError

    return InputError(
        "a finished chunk of the unfinished run cannot be read; run the same command with --fresh to start anew",
        file=str(path),
    )


def write_plan(folder: Path, plan: dict[str, Any]) -> dict[str, Any]:
    """Record (or read back, when resuming) how an ensemble is cut into chunks."""
    path = folder / "chunks" / "plan.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(plan), encoding="utf-8")
    tmp.replace(path)
    return plan


def drop_chunks(folder: Path) -> None:
    """Remove the chunk files once the final tables are written."""
    shutil.rmtree(folder / "chunks", ignore_errors=True)


def partial_folders(root: Path, experiment: str, digest: str) -> list[Path]:
    """Unfinished result folders of an experiment with this digest, newest last (to resume)."""
    return sorted((root / experiment).glob(f".partial_*_{digest}"))


def finish(tmp: Path, final: Path) -> Path:
    """Publish a completed result folder by renaming it into place; then drop its chunks.

    The finished chunks go only after the rename: a run stopped at any moment before keeps them (the
    same command resumes from them), and one stopped between the two steps leaves at worst a
    `chunks/` folder inside a complete result.
    """
    if final.exists():  # the same command, finished twice within one second of the clock
        final = final.with_name(f"{final.name}_{datetime.now(UTC).strftime('%f')}")
    tmp.rename(final)
    drop_chunks(final)
    return final


@contextmanager
def assembling(tmp: Path) -> Iterator[Path]:
    """Fill a temporary result folder; on any error (or Ctrl-C) remove what was being assembled.

    Finished chunks of replicates (`chunks/`) are kept, so that the same command resumes from them
    instead of redoing the simulations; a folder with none is removed whole. Nothing half-written is
    ever published.
    """
    try:
        yield tmp
    except BaseException:
        if any((tmp / "chunks").glob("done_*")):
            for p in tmp.iterdir():
                if p.name != "chunks":
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
            (tmp / "figures").mkdir()
        else:
            discard(tmp)
        raise


def discard(tmp: Path) -> None:
    """Remove an unfinished result folder."""
    shutil.rmtree(tmp, ignore_errors=True)


class Stopped(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM during a run, with the one line to print about what was kept."""

    def __init__(self, message: str = "interrupted: no result written", code: int = 130) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def shown(path: Path) -> str:
    """A path as a message shows it: relative to the working folder where it lies below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class ResultsFolder:
    """One result in the making, and the one place its folder's lifecycle is written.

    The key (`experiment`, `digest`) names it; the unfinished folder `.partial_<time>_<digest>` is
    resumed when the same command left one (`resume`), with its plan and finished chunks; tables,
    texts and figures are written into it atomically; the manifest gets the command (passed in, not
    read from `sys.argv`), the git commit and the package versions; `publish` renames it into place
    whole. A run that stops keeps its finished chunks (the same command resumes from them) and
    otherwise leaves nothing.

    Args:
        root: the results root (`--out`).
        experiment: the experiment's name (the scenario's, or the command's).
        digest: the key of what is computed (scenario, seeds, options).
        command: the command line that makes it (recorded in the manifest).
        resume: resume an unfinished folder of the same key if there is one (False: `--fresh`).
        usable: which unfinished folders may be resumed (default: any).
        repo: the repository whose git commit the manifest records (None: none recorded unless given).
    """

    def __init__(
        self,
        root: Path,
        experiment: str,
        digest: str,
        command: str,
        resume: bool = True,
        usable: Callable[[Path], bool] | None = None,
        repo: Path | None = None,
    ) -> None:
        found = [f for f in partial_folders(Path(root), experiment, digest) if usable is None or usable(f)]
        self.resumed_from = found[-1] if found and resume else None
        self.path, self.final = new_folder(Path(root), experiment, digest, resume=self.resumed_from)
        self.command, self.repo = command, repo

    def plan(self, plan: dict[str, Any]) -> dict[str, Any]:
        """How the run is cut into chunks (read back when resuming)."""
        return write_plan(self.path, plan)

    def done_chunks(self, names: tuple[str, ...]) -> dict[int, dict[str, pd.DataFrame]]:
        """The finished chunks on disk: first replicate -> its tables."""
        return read_chunks(self.path, names)

    def add_chunk(self, first: int, tables: dict[str, pd.DataFrame]) -> None:
        """Keep one finished chunk."""
        write_chunk(self.path, first, tables)

    def has_chunks(self) -> bool:
        """True once a chunk is finished (a stopped run keeps the folder to resume)."""
        return any((self.path / "chunks").glob("done_*"))

    @contextmanager
    def running(self, on_stop: Callable[[], None] | None = None) -> Iterator[ResultsFolder]:
        """Around a chunked run: if it stops, keep its finished chunks (to resume) or drop the empty folder.

        Ctrl-C and SIGTERM become `Stopped` with the one line to print; `on_stop` runs first (e.g. close a progress bar).
        """
        try:
            yield self
        except BaseException as exc:
            if on_stop:
                on_stop()
            kept = self.has_chunks()
            if not kept:
                discard(self.path)
            if isinstance(exc, KeyboardInterrupt):
                code = getattr(exc, "code", 130)
                what = "terminated" if code == 143 else "interrupted"
                if kept:
                    raise Stopped(
                        f"{what}: finished chunks are kept in {shown(self.path)}; run the same command again to resume", code
                    ) from None
                raise Stopped(f"{what}: no result written", code) from None
            if kept:
                print(f"stopped; finished chunks are kept in {shown(self.path)}: run the same command again to resume", file=sys.stderr)
            raise
        if on_stop:
            on_stop()

    @contextmanager
    def assembling(self) -> Iterator[ResultsFolder]:
        """Fill the folder; on any error (or Ctrl-C) remove what was being assembled (finished chunks are kept)."""
        with assembling(self.path):
            yield self

    def tables(self, tables: dict[str, pd.DataFrame]) -> None:
        """Write tables as Parquet."""
        write_tables(self.path, tables)

    def text(self, name: str, text: str) -> None:
        """Write a text file (a report, a README)."""
        write_text(self.path / name, text)

    def manifest(self, entries: dict[str, Any], repo: Path | None = None) -> dict[str, Any]:
        """Write manifest.json: the entries, then the command, git commit (of `repo`) and package versions, where not given."""
        m = dict(entries)
        m.setdefault("command", self.command)
        if (repo or self.repo) is not None:
            m.setdefault("git_commit", git_commit(repo or self.repo))
        m.setdefault("versions", versions())
        write_manifest(self.path, m)
        return m

    def discard(self) -> None:
        """Give up: remove the unfinished folder."""
        discard(self.path)

    def publish(self) -> Path:
        """Rename the finished folder into place, whole; returns where it is."""
        self.final = finish(self.path, self.final)
        return self.final


def write_mines(rows: list[dict], path: Path) -> None:
    """Write derived enterprise rows to mines.csv (atomically)."""
    import csv

    cols = ["id", "name", "basin", "city", "republic", "kind", "workforce", "lat", "lon", "source"]
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def save_figure(fig: Any, folder: Path, name: str) -> list[Path]:
    """Write a Figure as PNG and SVG into `folder`; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "svg"):
        path = folder / f"{name}.{ext}"
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, dpi=130, format=ext)
        os.replace(tmp, path)  # a figure being redrawn is never seen half-written
        paths.append(path)
    return paths
