"""A sweep directory's own bookkeeping: the marker and manifest, the owner's lock, and the checks resume makes.

A sweep directory holds a hidden ``.flowlab/`` folder that flowlab writes when the sweep starts:
``sweep.json`` (the marker: which grid and settings the sweep runs, and, while an interrupted
``--redo-changed`` is unfinished, ``redo``: the runs still to redo), ``lock`` (the PID of the
process that owns the sweep now) and, while a run's folder is swapped in, ``swap.*.json`` (a note of
the swap's folders, for a resume to finish what a killed process left half done). ``--resume`` works only on a directory with that marker, so it
never deletes or writes into a folder flowlab did not create. Inside a run's folder, only the files
flowlab writes there are ever removed (``clear_run_dir``): a user's notes beside a run stay.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

from .atomic import write_atomic
from .status import RunStatus

__all__ = ["HIDDEN", "NotASweep", "SweepLocked", "SweepLock", "sweep_path", "create_sweep_dir", "read_manifest",
           "write_manifest", "open_sweep", "check_run_dir", "check_results_file", "damage", "scratch_dir",
           "clear_run_dir", "run_entries", "recover_run_writes", "begin_swap"]

HIDDEN = ".flowlab"
MANIFEST = "sweep.json"
FORMAT = 1


class NotASweep(ValueError):
    """``resume`` was given a directory flowlab did not create as a sweep."""


class SweepLocked(RuntimeError):
    """Another live process owns the sweep directory."""


def sweep_path(logdir, name):
    """The directory a sweep started now would get, ``<logdir>/<name>-<YYYYmmdd-HHMMSS>``; nothing is made."""
    return Path(logdir) / f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def create_sweep_dir(logdir, name, manifest, path=None):
    """Creates ``path`` (default ``sweep_path(logdir, name)``), or ``<path>-N`` if it exists (a new
    directory, never an existing one), writes its manifest and returns ``(path, lock)`` with the lock held."""
    base = Path(path) if path is not None else sweep_path(logdir, name)
    Path(logdir).mkdir(parents=True, exist_ok=True)
    path, n = base, 2
    while True:
        try:
            path.mkdir()  # atomic: two sweeps started in the same second get two directories
            break
        except FileExistsError:
            path, n = Path(f"{base}-{n}"), n + 1
    try:
        (path / HIDDEN).mkdir()
        lock = SweepLock(path)
        write_manifest(path, manifest)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)  # ours, just made: leave no half-made sweep behind
        raise
    return path, lock


def write_manifest(path, manifest):
    data = {"format": FORMAT, **manifest}
    write_atomic(Path(path) / HIDDEN / MANIFEST, (json.dumps(data, indent=1) + "\n").encode())


def read_manifest(path):
    """The manifest dict of the sweep at ``path``; raises NotASweep if it has none (or it is unreadable)."""
    path = Path(path)
    marker = path / HIDDEN / MANIFEST
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise NotASweep(f"not a flowlab sweep: {path} {what}; give --resume a sweep directory "
                        "that flowlab made (<logdir>/<name>-<time>)")
    try:
        data = json.loads(marker.read_text())
    except FileNotFoundError:
        raise NotASweep(f"not a flowlab sweep: {path} (it has no {HIDDEN}/{MANIFEST}, which flowlab writes when a "
                        "sweep starts); flowlab resumes only sweep directories it made, and leaves this one "
                        "untouched: start a new sweep without --resume") from None
    except (OSError, ValueError) as exc:
        raise NotASweep(f"not a flowlab sweep: {marker} cannot be read ({exc}); start a new sweep") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("runs"), list) \
            or not all(isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("config"), dict)
                       for r in data["runs"]):
        raise NotASweep(f"not a flowlab sweep: {marker} is not a sweep manifest this flowlab can read; "
                        "start a new sweep")
    varied = data.get("varied", [])
    if not isinstance(varied, list) or not all(isinstance(v, str) for v in varied) \
            or not all(isinstance(r["config"].get("extra", {}) or {}, dict)
                       and isinstance(r["config"].get("hidden", []), (list, tuple))
                       and all(isinstance(w, int) and not isinstance(w, bool) for w in r["config"].get("hidden", []))
                       for r in data["runs"]):
        raise NotASweep(f"not a flowlab sweep: {marker} is damaged (a field holds the wrong kind of value: "
                        "'varied' a list of names, 'hidden' a list of widths, 'extra' a mapping); start a new sweep")
    names = [r["name"] for r in data["runs"]]
    bad = next((n for n in names if not _is_run_name(n)), None)
    if bad is not None or len(set(names)) != len(names):
        what = (f"run name {bad!r} is not the name of a folder in the sweep" if bad is not None
                else "it names a run twice")
        raise NotASweep(f"not a flowlab sweep: {marker} is damaged ({what}); flowlab writes nothing outside a "
                        "sweep's own run folders: start a new sweep")
    return data


def _is_run_name(name):
    """Whether ``name`` is a run folder's name: one path component, not hidden, with no control character."""
    return (bool(name) and name not in (".", "..") and not name.startswith(".") and "/" not in name
            and name.isprintable() and len(name.encode()) <= 255)


def open_sweep(path):
    """The manifest and the held lock of an existing sweep (for resume)."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    manifest = read_manifest(path)
    lock = SweepLock(path)
    return path, manifest, lock


class SweepLock:
    """An exclusive ``fcntl.flock`` on ``<sweep>/.flowlab/lock``, holding the owner's PID.

    The kernel drops the lock when its process dies, however it dies, so a lock left by a dead
    process is simply taken over.
    """

    def __init__(self, sweep_dir):
        self.path = Path(sweep_dir) / HIDDEN / "lock"
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise ValueError(f"resume: {self.path} is a symbolic link (to {os.readlink(self.path)}); flowlab does "
                             "not write through it: remove the link (flowlab makes the lock itself), then resume") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = _read_pid(self.fd)
            os.close(self.fd)
            self.fd = None
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                who = f"flowlab process {owner}" if owner else "another flowlab process"
                raise SweepLocked(f"{sweep_dir} is in use by {who}: one process runs a sweep at a time; wait for "
                                  f"it to finish, or stop it (kill {owner or '<pid>'}) and resume again") from None
            raise
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)

    def release(self):
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            os.close(self.fd)  # closing drops the flock
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _read_pid(fd):
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None


def scratch_dir(sweep_dir):
    """A fresh folder for the sweep's temporary files (shared datasets) inside its hidden folder, so a
    killed driver leaves them where the next resume of the sweep clears them."""
    hidden = Path(sweep_dir) / HIDDEN
    for old in hidden.glob("scratch-*"):
        shutil.rmtree(old, ignore_errors=True)  # left by a driver that was killed; we hold the lock now
    folder = hidden / f"scratch-{os.getpid()}"
    folder.mkdir()
    return folder


def check_results_file(sweep_dir):
    """Raises ValueError if a link or a folder stands where the sweep writes its results.csv."""
    path = Path(sweep_dir) / "results.csv"
    if path.is_symlink() or (path.exists() and not path.is_file()):
        kind = "a symbolic link" if path.is_symlink() else "a folder"
        raise ValueError(f"resume: {path} is {kind}, where the sweep writes its results, and flowlab "
                         "did not make it: move it, or start a new sweep")


def check_run_dir(sweep_dir, name):
    """Raises ValueError if run ``name`` would write outside ``sweep_dir`` (a symbolic link in its place), or
    onto something of the user's: a link or a file where its train/ or validation/ folder goes, a link or a
    folder where its run.json or model.npz goes."""
    run = Path(sweep_dir) / name
    if run.is_symlink():
        raise ValueError(f"resume: {run} is a symbolic link (to {os.readlink(run)}); flowlab does not write "
                         "through links out of a sweep: remove the link, or start a new sweep")
    if run.is_dir():  # what a redone run writes must not land on (or through) a thing of the user's
        for sub in _EVENT_DIRS:
            if (run / sub).is_symlink() or ((run / sub).exists() and not (run / sub).is_dir()):
                kind = "a symbolic link" if (run / sub).is_symlink() else "a file"
                raise ValueError(f"resume: {run / sub} is {kind}, where the run writes its event files; flowlab "
                                 "does not write through links or over files it did not make: move it, or start a "
                                 "new sweep")
        for name in ("run.json", "model.npz"):
            path = run / name
            if path.is_symlink() or (path.exists() and not path.is_file()):
                kind = "a symbolic link" if path.is_symlink() else "a folder"
                raise ValueError(f"resume: {path} is {kind}, in the way of the run's own file of that name, and "
                                 "flowlab did not make it: move it, or start a new sweep")
    return run


def damage(run_dir, record):
    """Why a finished run's files cannot be kept, or None: run.json's shape, model.npz, the event files."""
    run_dir = Path(run_dir)
    if not isinstance(record.get("metrics"), dict) or not isinstance(record.get("status"), str):
        return "run.json has the wrong shape"
    if record["status"] != RunStatus.DIVERGED:
        model = run_dir / "model.npz"
        if not model.is_file():
            return "model.npz is missing"
        import zipfile

        try:
            with zipfile.ZipFile(model) as z:
                if z.testzip() is not None or "__config__.npy" not in z.namelist():
                    return "model.npz is damaged"
        except (OSError, zipfile.BadZipFile):
            return "model.npz is damaged"
    events = [p for p in run_dir.rglob("events.out.tfevents.*") if p.is_file()]
    if not any(p.parent.name == "train" for p in events):
        return "its training event file is missing"
    if not any(p.parent == run_dir for p in events):
        return "its HParams event file (beside run.json) is missing"
    for p in events:
        if not _whole_records(p):
            return f"{p.relative_to(run_dir)} is truncated or damaged"
    return None


def _whole_records(path):
    """Whether an event file is a sequence of whole TFRecords: [length u64][crc u32][data][crc u32], each
    length's checksum right (crc32c, masked)."""
    import struct

    import crc32c

    def masked(data):
        crc = crc32c.crc32c(data)
        return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    try:
        blob = path.read_bytes()
    except OSError:
        return False
    offset = 0
    while offset < len(blob):
        header = blob[offset:offset + 12]
        if len(header) < 12:
            return False
        length, = struct.unpack("<Q", header[:8])
        if struct.unpack("<I", header[8:12])[0] != masked(header[:8]):
            return False
        end = offset + 12 + length + 4
        if end > len(blob):
            return False
        data = blob[offset + 12:offset + 12 + length]
        if struct.unpack("<I", blob[end - 4:end])[0] != masked(data):
            return False
        offset = end
    return True


# --- what in a run directory is flowlab's ---------------------------------------------------------------

#: What flowlab writes in a run directory: run.json, model.npz, event files at the top and in train/ and
#: validation/ (and the temporary files of an interrupted atomic write of the first two).
_EVENT_DIRS = ("train", "validation")


def _is_flowlab_file(rel):
    name = rel[-1]
    if len(rel) == 2:
        return rel[0] in _EVENT_DIRS and name.startswith("events.out.tfevents.")
    return (name in ("run.json", "model.npz") or name.startswith("events.out.tfevents.")
            or (name.startswith(".run.json.") and name.endswith(".tmp"))
            or (name.startswith(".model.npz.") and name.endswith(".partial")))


def run_entries(run_dir):
    """``(relative path parts, flowlab's?)`` for every entry of ``run_dir`` but its train/ and validation/
    folders, whose entries come one by one instead. A folder, or a link, never counts as flowlab's file."""
    out = []
    with os.scandir(run_dir) as entries:
        for entry in entries:
            if entry.name in _EVENT_DIRS and entry.is_dir(follow_symlinks=False):
                with os.scandir(entry.path) as inner:
                    for e in inner:
                        rel = (entry.name, e.name)
                        out.append((rel, _is_flowlab_file(rel) and e.is_file(follow_symlinks=False)))
            else:
                rel = (entry.name,)
                out.append((rel, _is_flowlab_file(rel) and entry.is_file(follow_symlinks=False)))
    return out


def clear_run_dir(run_dir):
    """Removes what flowlab wrote in ``run_dir`` and leaves the rest: a redone run starts with no stale
    event files, and a file of the user's beside a run (notes, plots) stays where it is.

    flowlab's files are ``run.json``, ``model.npz`` and ``events.out.tfevents.*`` at the top,
    ``events.out.tfevents.*`` in ``train/`` and ``validation/`` (which go too once empty), and the
    temporary files of an interrupted write of the first two. A link in place of ``train/`` or
    ``validation/`` is refused: flowlab does not write through it.
    """
    run_dir = Path(run_dir)
    for sub in _EVENT_DIRS:
        if (run_dir / sub).is_symlink():
            raise ValueError(f"{run_dir / sub} is a symbolic link; flowlab does not write through it")
    for rel, is_ours in run_entries(run_dir):
        if is_ours:
            os.unlink(run_dir.joinpath(*rel))
    for sub in _EVENT_DIRS:
        try:
            (run_dir / sub).rmdir()
        except OSError:  # missing, or holding the user's files
            pass


# --- a swap (``runner.write_run_files``) that a killed driver left half done ---------------------------

#: In HIDDEN, ``swap.<time>.<pid>.<token>.json`` notes a run swap under way, naming its two folders.


def begin_swap(run_dir, staging, old):
    """Notes, in the sweep's hidden folder, that run ``run_dir`` is about to be swapped through the folders
    ``staging`` and ``old`` (siblings of it); returns the note's path (for the swap to remove once done),
    or None outside a sweep. Only folders so noted are ever recovered: a folder of the user's that
    happens to be named like one is not touched."""
    run_dir = Path(run_dir)
    hidden = run_dir.parent / HIDDEN
    if not hidden.is_dir() or hidden.is_symlink():
        return None
    note = hidden / f"swap.{time.time_ns():020d}.{os.getpid()}.{Path(staging).name[-16:-4]}.json"
    # One small write: a process killed during it leaves no note or an unreadable one, and no folders yet.
    note.write_text(json.dumps({"run": run_dir.name, "new": Path(staging).name, "old": Path(old).name}))
    return note


def recover_run_writes(sweep_dir, names=None):
    """Finishes or undoes the run-folder swaps a killed driver left in ``sweep_dir`` (those its hidden
    folder has a note of; ``names``, if given, limits them to these runs); returns a line for each
    user's entry it could not put back, which stays where it is, named.

    A run's folder that is missing while its old copy exists was moved aside after the staged copy was
    whole: the staged copy becomes the run (or the old one, if none is staged). A missing folder with
    no old copy is a run written for the first time, whose staged copy may be partial: it is not taken,
    and resume redoes the run. Otherwise the run's folder stands, and the user's entries the swap had
    moved aside go back into it. What is left of flowlab's in the two folders then goes; a folder that
    still holds an entry of the user's (its place in the run taken since) keeps only that.
    """
    sweep_dir = Path(sweep_dir)
    hidden = sweep_dir / HIDDEN
    if not hidden.is_dir() or hidden.is_symlink():
        return []
    kept = []
    for note in sorted(hidden.glob("swap.*.json")):
        try:
            swap = json.loads(note.read_text())
            run, new, old = swap["run"], swap["new"], swap["old"]
            if not all(isinstance(n, str) and n and "/" not in n and n not in (".", "..") for n in (run, new, old)) \
                    or not (new.startswith(f".{run}.") and new.endswith(".new")) \
                    or not (old.startswith(f".{run}.") and old.endswith(".old")):
                raise ValueError
        except (OSError, ValueError, TypeError, KeyError):
            note.unlink(missing_ok=True)  # cut short as it was written: no folder was made after it
            continue
        if names is not None and run not in names:
            continue
        target, staged, older = sweep_dir / run, sweep_dir / new, sweep_dir / old
        real = [f for f in (staged, older) if f.is_dir() and not f.is_symlink()]
        if not os.path.lexists(target) and older in real:
            back = staged if staged in real else older
            os.replace(back, target)
            real.remove(back)
        for folder in real:
            stuck = []
            for rel, is_ours in run_entries(folder):
                if is_ours:
                    continue
                if os.path.lexists(target.joinpath(*rel)):
                    stuck.append(rel)
                    continue
                target.joinpath(*rel[:-1]).mkdir(parents=True, exist_ok=True)
                os.replace(folder.joinpath(*rel), target.joinpath(*rel))
            if stuck:
                clear_run_dir(folder)
                kept += [f"{folder.joinpath(*rel)} (its place, {target.joinpath(*rel)}, is taken)" for rel in stuck]
            else:
                shutil.rmtree(folder)
        note.unlink()
    return kept
