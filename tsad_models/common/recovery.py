"""Crash-safe reruns: the lock of a killed Snakemake run, and the temporary files of killed writes.

Snakemake's file persistence locks a run's files with ``.snakemake/locks/<n>.input.lock`` and
``<n>.output.lock``; a run killed by SIGKILL (or a power loss) leaves them, and the next run
stops with a LockException until ``--unlock``.  The lock files do not say who wrote them, so
the workflow (``workflow/Snakefile``) keeps an owner record beside them:

1. ``claim``: when the main Snakemake process parses the workflow, before Snakemake takes its
   locks, it writes ``.snakemake/locks/owner-<host>-<pid>.json``: its pid, the start time of
   that pid (``/proc/<pid>/stat``, so a reused pid is not taken for it), the host name, the
   kernel's boot id and the pid namespace (a process is judged only from the machine and pid
   namespace it ran in), and the time;
2. ``bind``: once the run holds its locks (``onstart``), the record names its lock files
   (name, inode, modification time);
3. ``release``: a process that exits normally deletes its record (Snakemake deletes its own
   locks then); only a killed process leaves one.

``remove_stale_locks`` (called at parse time, before Snakemake locks) then deletes a lock file
only when its owner is proven dead on this machine:

- a lock bound to a record: stale when that record's process is dead;
- a lock no record binds (its run was killed in the instant between locking and ``onstart``):
  stale when the records that could have written it, the unbound ones older than the lock,
  exist and all name dead processes on this machine.  This assumes the lock is not that of a
  run without owner records (code from before them) started after the kill; every start drops
  the records of dead processes that cannot own a lock, which keeps that span short.

Every other lock stays: one whose owner lives, one of another machine or pid namespace, one
without any record (a run of code from before these records, or with another workflow).
Snakemake's own LockException then stands, and ``unknown`` lists those locks so the workflow
can say how to remove them.  The records only add information: delete them and Snakemake
behaves as it always did.

``sweep_temporaries`` deletes the abandoned temporary files of atomic writes
(``tsad_models/common/files.py``: no live process holds their lock) under the given folders.

Linux gives the full check (``/proc``); elsewhere a pid that exists counts as alive (a reused
pid then keeps a stale lock: the safe side)."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from .files import is_temporary, remove_if_abandoned, save_json_atomic

LOCK_FILE = re.compile(r"[0-9]+\.(input|output)\.lock")  # Snakemake's FilePersistence lock files
OWNER_PREFIX = "owner-"
# a claim is written before the lock; the lock's time comes from the file system's (coarser) clock
CLOCK_SLACK_S = 1.0


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def machine() -> dict:
    """Where pids mean something: host name, boot id and pid namespace."""
    return {
        "host": socket.gethostname(),
        "boot_id": _read("/proc/sys/kernel/random/boot_id"),
        "pid_namespace": _pid_namespace(),
    }


def process_start(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks after boot) of process ``pid`` from ``/proc``; None if
    there is no such process (or no ``/proc``)."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after "pid (comm) ": the command may hold spaces
    return fields[0], fields[19]


def this_process() -> dict:
    """The owner record of the calling process."""
    pid = os.getpid()
    stat = process_start(pid)
    return {"pid": pid, "start": stat[1] if stat else None, **machine(), "time": time.time()}


def is_alive(record: dict) -> bool | None:
    """Whether the process a record names still runs: True, False, or None when this machine
    cannot tell (another host, boot or pid namespace, or a malformed record)."""
    here = machine()
    if any(record.get(key) != here[key] for key in here):
        return None
    pid = record.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    if Path("/proc/self/stat").exists():
        stat = process_start(pid)
        if stat is None:
            return False
        state, start = stat
        if state in ("Z", "X"):  # killed, not yet reaped by its parent
            return False
        return record.get("start") is None or start == record["start"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_path(lock_dir: str | Path, record: dict) -> Path:
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", str(record.get("host")))
    return Path(lock_dir) / f"{OWNER_PREFIX}{host}-{record['pid']}.json"


def claim(lock_dir: str | Path) -> Path:
    """Record the calling process as a future lock owner (before Snakemake locks); its path."""
    record = this_process()
    path = owner_path(lock_dir, record)
    save_json_atomic(path, record)  # creates the folder
    return path


def _lock_id(path: Path) -> dict | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return {"name": path.name, "inode": stat.st_ino, "mtime_ns": stat.st_mtime_ns}


def bind(owner: str | Path, lock_files) -> None:
    """Name the lock files the run of record ``owner`` now holds."""
    owner = Path(owner)
    try:
        record = json.loads(owner.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = this_process()  # removed meanwhile (e.g. by another run's unlock): write it again
    locks = [lock for lock in (_lock_id(Path(p)) for p in lock_files) if lock]
    save_json_atomic(owner, {**record, "locks": locks})


def release(owner: str | Path, pid: int) -> None:
    """Delete the record of process ``pid`` as it exits normally (not from a forked child)."""
    if os.getpid() == pid:
        Path(owner).unlink(missing_ok=True)


@dataclass
class LockReport:
    removed: list[Path] = field(default_factory=list)  # stale locks deleted
    owners: list[dict] = field(default_factory=list)  # the dead owners they belonged to
    live: list[Path] = field(default_factory=list)  # kept: their owner runs
    live_owners: list[dict] = field(default_factory=list)  # the records of those running owners
    unknown: list[Path] = field(default_factory=list)  # kept: no record, or one this machine cannot judge


def _records(lock_dir: Path) -> list[tuple[Path, dict | None]]:
    records = []
    for path in sorted(lock_dir.glob(f"{OWNER_PREFIX}*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            record = None  # unreadable: an owner nobody can judge
        records.append((path, record if isinstance(record, dict) else None))
    return records


def _binds(record: dict, lock: dict) -> bool:
    return any(
        isinstance(held, dict) and all(held.get(key) == lock[key] for key in ("name", "inode", "mtime_ns"))
        for held in record.get("locks") or ()
    )


def remove_stale_locks(lock_dir: str | Path) -> LockReport:
    """Delete the lock files in ``lock_dir`` whose owners are proven dead (see the module)."""
    lock_dir = Path(lock_dir)
    report = LockReport()
    if not lock_dir.is_dir():
        return report
    # the locks first, the records after: a record written meanwhile is then seen as a possible owner
    locks = [(p, _lock_id(p)) for p in sorted(lock_dir.iterdir()) if LOCK_FILE.fullmatch(p.name)]
    records = _records(lock_dir)
    me = os.getpid()
    others = [
        (path, record) for path, record in records if not (record and record.get("pid") == me and is_alive(record))
    ]
    verdicts = {}  # record path -> is_alive

    def alive(path, record):
        if path not in verdicts:
            verdicts[path] = is_alive(record) if record is not None else None
        return verdicts[path]

    dead_owners, still_needed = set(), set()
    for path, lock in locks:
        if lock is None:
            continue
        bound = [(p, r) for p, r in others if r is not None and _binds(r, lock)]
        if bound:
            candidates = bound
        else:  # unbound: every record not bound (to its own locks) and older than the lock
            lock_time = lock["mtime_ns"] / 1e9
            candidates = [
                (p, r)
                for p, r in others
                if r is None
                or "locks" not in r
                and (not isinstance(r.get("time"), (int, float)) or r["time"] - CLOCK_SLACK_S <= lock_time)
            ]
        verdict = [alive(p, r) for p, r in candidates]
        if candidates and all(v is False for v in verdict):
            if _lock_id(path) == lock and _unlink(path):  # the very file judged, not a new lock of that name
                report.removed.append(path)
                dead_owners.update(p for p, _ in candidates)
                continue
        still_needed.update(p for p, _ in candidates)
        if any(v is True for v in verdict):
            report.live.append(path)
            for (_, record), v in zip(candidates, verdict, strict=True):
                if v is True and record not in report.live_owners:
                    report.live_owners.append(record)
        else:
            report.unknown.append(path)
    # the records of dead processes go with their locks, or at once when they may own none (a run
    # killed before it locked)
    for path, record in others:
        if record is not None and alive(path, record) is False and path not in still_needed:
            if path in dead_owners:
                report.owners.append(record)
            _unlink(path)
    return report


def _unlink(path: Path) -> bool:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # not ours to delete (another user's folder): Snakemake decides, as before
        return False
    return True


def sweep_temporaries(roots) -> list[Path]:
    """Delete the abandoned temporary files of atomic writes under the folders ``roots``."""
    removed = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in files:
                if is_temporary(name) and remove_if_abandoned(os.path.join(folder, name)):
                    removed.append(Path(folder) / name)
    return removed


def describe_owner(record: dict) -> str:
    """``pid N on HOST, started at TIME`` for a message."""
    started = record.get("time")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if isinstance(started, (int, float)) else "?"
    return f"pid {record.get('pid')} on {record.get('host')}, started at {when}"
