"""Reading and writing results folders: the only module that writes files.

A results folder `results/<experiment>/<UTC timestamp>_<hash>/` holds `manifest.json` (resolved
scenario, seeds, git commit, package versions, command line, input file hashes), tidy Parquet
tables and `figures/`. The folder is assembled under a temporary name and renamed when complete,
so an interrupted run never leaves a half-written result.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
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


COMMAND_FOLDERS = ("calibration", "validate", "compare", "thesis", "sensitivity", "explain")
"""The experiment folders of the commands under a results root: no scenario may be named as one (its runs would land among them)."""


def check_experiment(name: str, file: str | Path | None = None) -> None:
    """Refuse (one line) a scenario name that is a command's folder: `plot`, `rerun` and `thesis` would misread its results."""
    if name.lower() in COMMAND_FOLDERS:
        from sim.inputs.errors import InputError

        raise InputError(
            f"name {name!r} is the results folder of a command ({', '.join(COMMAND_FOLDERS)}); give the scenario another name",
            file=str(file) if file else None,
            key="name",
        )


def key(*parts: Any, files: Iterable[str | Path | None] = ()) -> str:
    """The key of a result: a hash of what it is computed from, its options (`parts`, as JSON) and every input file's content.

    A file enters by its bytes, never its path (a copy elsewhere has the same key; a file changed in
    one bound has another). `None` stands for an input not given. The key names the result's folder,
    its lock and which unfinished folder it resumes.
    """
    h = hashlib.sha256(json.dumps(list(parts), sort_keys=True, default=str).encode())
    for f in files:
        h.update(b"\0" + (_sha256(Path(f)).encode() if f else b"none"))
    return h.hexdigest()[:16]


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


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write `path` through `write(tmp)` into a hidden temporary file beside it, then rename it into place.

    On any failure (a full disk, Ctrl-C) the temporary file is removed, so nothing half-written is
    left, and an OS error names `path` (pyarrow's own errors name no file).
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        tmp.replace(path)
    except BaseException as exc:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            code = exc.errno or next((c for c in (errno.ENOSPC, errno.EDQUOT, errno.EIO) if os.strerror(c) in str(exc)), None)
            raise OSError(code, os.strerror(code) if code else str(exc), str(path)) from exc
        raise


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    """A table with the column types it has when read back from Parquet, so every way of making it writes the same bytes.

    Parquet holds no timestamps in seconds: a `datetime64[s]` column (what pandas makes of dates) is
    read back as `datetime64[ms]`. A table assembled from resumed chunks (read back) and one computed
    in one go (in memory) must record the same type, or their files differ in bytes though not in values.
    Names held as categoricals in memory (`sim.run.runner.named`) are written as the strings they stand for.
    """
    coarse = {
        c: "datetime64[ms]" for c, t in df.dtypes.items() if isinstance(t, np.dtype) and t.kind == "M" and np.datetime_data(t)[0] == "s"
    } | {c: "str" for c, t in df.dtypes.items() if isinstance(t, pd.CategoricalDtype)}
    return df.astype(coarse) if coarse else df


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    _atomic(path, lambda tmp: canonical(df).to_parquet(tmp, index=False))


def write_tables(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Write each table as Parquet (atomically: temporary file, then rename), in its canonical column types."""
    for name, df in tables.items():
        _write_parquet(df, folder / f"{name}.parquet")


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write manifest.json."""
    write_text(folder / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically (temporary file, then rename)."""
    _atomic(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def install_file(src: Path, dst: Path) -> None:
    """Copy a finished file into the repository (e.g. a posterior into calibration/fitted/), atomically."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    _atomic(dst, lambda tmp: shutil.copyfile(src, tmp))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def plan_sha256(plan: dict[str, Any] | None) -> str | None:
    """The fingerprint of a plan that each chunk's marker records (a plan edited after its chunks were written differs)."""
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest() if plan is not None else None


def write_chunk(
    folder: Path, first: int, tables: dict[str, pd.DataFrame], replicates: int | None = None, plan: dict[str, Any] | None = None
) -> None:
    """Append one finished chunk of replicates to an unfinished result: its tables, then its marker.

    Each file is written atomically; the marker `chunks/done_<first>` comes last, so a chunk counts as
    finished only when all its tables are on disk (a run killed mid-chunk redoes that chunk). The marker
    records the chunk's replicates, the plan it was cut by and the SHA-256 of each of its files, against
    which a resumed run checks them (`read_chunks`).
    """
    d = folder / "chunks"
    d.mkdir(exist_ok=True)
    files = {}
    for name, df in tables.items():
        path = d / f"{name}_{first:09d}.parquet"
        _write_parquet(df, path)
        files[name] = _sha256(path)
    record = {"first": first, "replicates": replicates, "plan": plan_sha256(plan), "files": files}
    write_text(d / f"done_{first:09d}", json.dumps(record, sort_keys=True))


def read_chunks(
    folder: Path, names: tuple[str, ...], plan: dict[str, Any] | None = None
) -> tuple[dict[int, dict[str, pd.DataFrame]], list[tuple[Path, str]]]:
    """The finished chunks of an unfinished result (first replicate -> its tables), and the damaged ones.

    A chunk counts only if its marker is whole, it holds the replicates the plan gives it (first, and
    `chunk` of them, fewer at the end), and every table file is the one the marker records (SHA-256)
    with exactly those replicates. Every other one is listed as (path, why) and removed, to be run again.
    """
    d = folder / "chunks"
    out: dict[int, dict[str, pd.DataFrame]] = {}
    damaged: list[tuple[Path, str]] = []
    for m in sorted(d.glob("done_*")) if d.is_dir() else []:
        first, why, path = None, None, m
        try:
            first = int(m.name.split("_", 1)[1])
            record = json.loads(m.read_text(encoding="utf-8"))
            files, n = record["files"], record["replicates"]
            if record["first"] != first or set(files) != set(names) or record["plan"] != plan_sha256(plan):
                raise ValueError
        except (OSError, ValueError, KeyError, TypeError):
            damaged.append((m, "its marker is not a finished chunk's record (damaged, or written by an older version)"))
            _remove_chunk(d, m, first, names)
            continue
        if plan is not None:
            reps, size = plan["replicates"], plan["chunk"]
            expected = min(size, reps - first)
            if first % size or not 0 <= first < reps or n != expected:
                why = f"it holds {n} replicates from {first}, the plan ({size} per chunk of {reps}) none such"
        tables = {}
        for name in names if why is None else ():
            path = d / f"{name}_{first:09d}.parquet"
            try:
                if _sha256(path) != files[name]:
                    why = "its content is not what the chunk wrote (changed since)"
                    break
                tables[name] = pd.read_parquet(path)
            except Exception:  # missing, a folder, unreadable: pyarrow and the OS raise several kinds
                why = "it cannot be read"
                break
            got = set(tables[name]["replicate"].unique()) if "replicate" in tables[name] else None
            if got and n is not None and got != set(range(first, first + n)):
                why = f"it holds replicates {min(got)}-{max(got)} ({len(got)}), not {first}-{first + n - 1}"
                break
        if why is not None:
            damaged.append((path, why))
            _remove_chunk(d, m, first, names)
            continue
        out[first] = tables
    return out, damaged


def _remove_chunk(d: Path, marker: Path, first: int | None, names: tuple[str, ...]) -> None:
    """Remove a damaged chunk: its marker first (so it no longer counts), then its files, whatever they are."""
    paths = [marker] + ([d / f"{n}_{first:09d}.parquet" for n in names] if first is not None else [])
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with suppress(OSError):
                p.unlink(missing_ok=True)


def read_plan(folder: Path, plan: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The plan recorded in an unfinished result if it is sound for `plan`, else `plan` itself; and why the recorded one was not.

    Sound: a JSON object with the same entries as `plan`, the same values but for the chunk size (which
    depends on the workers of the first run), and a chunk size from 1 to the replicates.
    """
    path = folder / "chunks" / "plan.json"
    if not path.exists():
        return plan, None
    try:
        got = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return plan, "it is not readable JSON"
    if not isinstance(got, dict) or set(got) != set(plan):
        return plan, f"its entries are not {sorted(plan)}"
    if any(got[k] != v for k, v in plan.items() if k != "chunk"):
        return plan, "it is the plan of another run (" + ", ".join(
            f"{k} {got[k]!r}" for k, v in plan.items() if k != "chunk" and got[k] != v
        ) + ")"
    size = got["chunk"]
    if type(size) is not int or not 1 <= size <= max(1, int(plan.get("replicates", size))):
        return plan, f"its chunk size {size!r} is not a whole number from 1 to the replicates"
    return got, None


def write_plan(folder: Path, plan: dict[str, Any]) -> dict[str, Any]:
    """Record (or read back, when resuming and sound) how an ensemble is cut into chunks."""
    path = folder / "chunks" / "plan.json"
    got, why = read_plan(folder, plan)
    if path.exists() and why is None:
        return got
    path.parent.mkdir(exist_ok=True)
    write_text(path, json.dumps(plan))
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
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            (tmp / "figures").mkdir(exist_ok=True)
        else:
            discard(tmp)
        raise


def discard(tmp: Path) -> None:
    """Remove an unfinished result folder."""
    shutil.rmtree(tmp, ignore_errors=True)


_OPEN: list[ResultsFolder] = []
"""Result folders of this process not yet published or given up: what an interrupt anywhere leaves behind."""


class Stopped(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM during a run, with the one line to print about what was kept."""

    def __init__(self, message: str = "interrupted: no result written", code: int = 130) -> None:
        super().__init__(message)
        self.message, self.code = message, code

    @classmethod
    def of(cls, exc: BaseException) -> Stopped:
        """The one line for an interrupt (Ctrl-C or SIGTERM, anywhere in a command): where its finished chunks are kept, if any."""
        if getattr(exc, "said", False):
            return exc  # already says what its folder kept (that folder is closed since)
        code = getattr(exc, "code", 130)
        what = "terminated" if code == 143 else "interrupted"
        kept = [f"finished chunks are kept in {shown(f.path)}; run the same command again to resume" for f in _OPEN if f.has_chunks()]
        out = cls(f"{what}: {kept[-1] if kept else 'no result written'}", code)
        out.said = True
        return out


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
    resumed when the same command left one (`resume`), with its plan and finished chunks, each checked
    against the key and the plan first (what is damaged is said, removed and run again); tables,
    texts and figures are written into it atomically; the manifest gets the command (passed in, not
    read from `sys.argv`), the git commit and the package versions; `publish` renames it into place
    whole. A run that stops, at any point, keeps its finished chunks (the same command resumes from
    them; `Stopped.of` says so) and otherwise leaves nothing.

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
        self.command, self.repo, self.digest = command, repo, digest
        self._plan: dict[str, Any] | None = None
        _OPEN.append(self)

    def _closed(self) -> None:
        _OPEN[:] = [f for f in _OPEN if f is not self]

    def plan(self, plan: dict[str, Any]) -> dict[str, Any]:
        """How the run is cut into chunks (read back when resuming, if sound: else its chunks are run again)."""
        plan = {**plan, "key": self.digest}
        got, why = read_plan(self.path, plan)
        if why is None and any(r.get("plan") != plan_sha256(got) for r in self._markers()):
            why = "it changed after its chunks were written (they record another plan)"
        if why is not None:
            n = len(list((self.path / "chunks").glob("done_*")))
            drop_chunks(self.path)
            say(f"{shown(self.path / 'chunks' / 'plan.json')}: {why}; its {n} finished chunks are discarded and run again")
        self._plan = write_plan(self.path, got)
        return self._plan

    def _markers(self) -> list[dict]:
        """The readable records of the chunk markers (the others are damaged chunks, found by `read_chunks`)."""
        out = []
        for m in (self.path / "chunks").glob("done_*"):
            with suppress(OSError, ValueError):
                record = json.loads(m.read_text(encoding="utf-8"))
                out += [record] if isinstance(record, dict) else []
        return out

    def done_chunks(self, names: tuple[str, ...]) -> dict[int, dict[str, pd.DataFrame]]:
        """The finished chunks on disk that are sound (first replicate -> its tables); damaged ones are said, removed and run again."""
        out, damaged = read_chunks(self.path, names, self._plan)
        if damaged:
            (path, why), more = damaged[0], len(damaged) - 1
            say(f"{shown(path)}: {why}; {'this chunk is' if not more else f'this and {more} other chunks are'} discarded and run again")
        return out

    def add_chunk(self, first: int, tables: dict[str, pd.DataFrame]) -> None:
        """Keep one finished chunk."""
        n = min(self._plan["chunk"], self._plan["replicates"] - first) if self._plan else None
        write_chunk(self.path, first, tables, n, self._plan)

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
                self.discard()
            try:
                if isinstance(exc, KeyboardInterrupt):
                    raise Stopped.of(exc) from None
                if kept:
                    self._say_kept(exc)
                raise
            finally:
                self._closed()  # said: a later command of this process does not name this folder
        if on_stop:
            on_stop()

    @contextmanager
    def assembling(self) -> Iterator[ResultsFolder]:
        """Fill the folder; on any error (or Ctrl-C) remove what was being assembled (finished chunks are kept and said)."""
        try:
            with assembling(self.path):
                yield self
        except KeyboardInterrupt as exc:
            stopped = Stopped.of(exc)  # names the folder if its chunks are kept
            self._closed()
            raise stopped from None
        except BaseException as exc:
            if self.has_chunks() and isinstance(exc, OSError):
                self._say_kept(exc)
            self._closed()  # said: a later command of this process does not name this folder
            raise

    def _say_kept(self, exc: BaseException) -> None:
        """Tell, with the error that stopped the run, that its finished chunks are kept: in an OS error's own line, else in one of its own."""
        kept = f"finished chunks are kept in {shown(self.path)}: run the same command again to resume"
        if isinstance(exc, OSError) and exc.strerror and "finished chunks are kept" not in exc.strerror:
            exc.strerror = f"{exc.strerror}; {kept}"  # the command line prints an OS error in one line, with its file
        elif not isinstance(exc, OSError):
            say(f"stopped; {kept}", prefix="")

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
        self._closed()

    def publish(self) -> Path:
        """Rename the finished folder into place, whole; returns where it is."""
        self.final = finish(self.path, self.final)
        self._closed()
        return self.final


def say(message: str, prefix: str = "note: ") -> None:
    """One line on standard error about the folder's lifecycle (what was kept, what was damaged and is run again)."""
    print(f"{prefix}{message}", file=sys.stderr, flush=True)


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
