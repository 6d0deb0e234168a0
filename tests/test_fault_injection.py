"""Crash-safe reruns: the workflow killed (SIGKILL) at random points, then rerun the README's
way (plain ``snakemake``, no ``--unlock``), ends with the results of an uninterrupted run and
no temporary file left; a live run's lock is never taken (tsad_models/common/recovery.py)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from tsad_models.common import recovery
from tsad_models.common.files import atomic_path, is_temporary, remove_abandoned_temporaries, save_text_atomic

from .conftest import copy_workflow

fcntl = pytest.importorskip("fcntl")

# the cheapest real workflow: embedded data, two fast models, two seeds (13 jobs, ~15 s on 2 cores)
KILL_CONFIG = {
    "datasets": ["ucr135"],
    "seeds": [0, 1],
    "device": "cpu",
    "models": {"random": {"variants": {"default": {}}}, "pca": {"variants": {"default": {}}}},
}
KILL_POINTS = 24  # half kill the whole process group, half one running job
SEED = 17
# every atomic write in the jobs waits this long before its rename (a slow disk), so that kills
# at random times also land while a temporary file exists
SLOW_WRITE_S = 0.12
SLOW_WRITES = textwrap.dedent(f'''
    """Test only (tests/test_fault_injection.py): jobs' atomic writes wait before their rename."""
    import os
    import re
    import sys
    import time

    _replace = os.replace
    _TEMPORARY = re.compile(r"\\..+\\.[a-z0-9_]{{8}}\\.tmp")


    def _slow_replace(src, dst, *args, **kwargs):
        if ".snakemake/scripts/" in " ".join(sys.argv) and _TEMPORARY.fullmatch(os.path.basename(os.fsdecode(src))):
            time.sleep({SLOW_WRITE_S})
        return _replace(src, dst, *args, **kwargs)


    os.replace = _slow_replace
''')


def snakemake_command(*args):
    """The README's command: the environment's ``snakemake`` (the default profile: rerun-incomplete)."""
    entry = Path(sys.executable).with_name("snakemake")
    return [str(entry) if entry.exists() else sys.executable, *([] if entry.exists() else ["-m", "snakemake"]), *args]


class Workdir:
    """A copy of the workflow in which Snakemake runs in its own process group."""

    def __init__(self, path: Path, config: dict):
        self.path = copy_workflow(path)
        (path / "kill.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        inject = path / "inject"
        inject.mkdir()
        (inject / "sitecustomize.py").write_text(SLOW_WRITES)
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(inject), os.environ.get("PYTHONPATH", "")])}
        self.runs = 0

    def start(self, *args) -> tuple[subprocess.Popen, Path]:
        self.runs += 1
        log = self.path / f"run{self.runs:03d}.log"
        with open(log, "w") as handle:
            proc = subprocess.Popen(
                snakemake_command("--configfile", "kill.yaml", *args),
                cwd=self.path,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: os.killpg reaches Snakemake and its jobs
                env=self.env,
            )
        return proc, log

    def run(self, *args, timeout=300) -> tuple[int, str]:
        proc, log = self.start(*args)
        try:
            rc = proc.wait(timeout=timeout)
        finally:
            kill_group(proc)
        return rc, log.read_text()


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


SHELLS = {"sh", "bash", "dash", "zsh"}


def job_processes(proc: subprocess.Popen) -> list:
    """The running jobs of a Snakemake process: Python processes running a rule's script."""
    import psutil  # Snakemake's own dependency

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    jobs = []
    for child in children:
        try:  # the Python process itself, not a shell around it
            if child.name() not in SHELLS and any(".snakemake/scripts/" in part for part in child.cmdline()):
                jobs.append(child)
        except psutil.Error:
            pass
    return jobs


def leftovers(root: Path) -> list[str]:
    """Temporary files, journals and staging folders anywhere outside .snakemake/ (our outputs
    never start with a dot); download ``.part`` files would be resumable on purpose, and are allowed."""
    found = []
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root)
        if rel == Path("."):  # Snakemake's own folder, the test's injection and the copied test config
            dirs[:] = [d for d in dirs if d not in (".snakemake", "inject", ".test")]
        for name in dirs + files:
            if name.endswith(".part"):
                continue
            if name.startswith(".") or name.endswith(".tmp"):
                found.append(str(rel / name))
    return sorted(found)


def lock_files(root: Path) -> list[str]:
    locks = root / ".snakemake" / "locks"
    return sorted(p.name for p in locks.glob("*.lock")) if locks.is_dir() else []


TIMING = re.compile(r".*_seconds$|^peak_rss_mb$")  # measurements of a run, not its results


def without_timings(obj):
    if isinstance(obj, dict):
        return {k: without_timings(v) for k, v in obj.items() if not TIMING.match(k)}
    if isinstance(obj, list):
        return [without_timings(v) for v in obj]
    return obj


FINAL = (
    "resources/processed/**/*.npz",
    "resources/processed/**/*.json",
    "results/scores/**/*.npz",
    "results/scores/**/*.json",
    "results/metrics/**/*.json",
    "results/leaderboard.csv",
    "results/pak_curves.csv",
    "results/provenance.csv",
    "report/leaderboard.csv",
)


def final_results(root: Path) -> dict[str, object]:
    """Every final result, its timing fields (fit and score seconds) left out; arrays as bytes."""
    out = {}
    for pattern in FINAL:
        for path in sorted(root.glob(pattern)):
            key = str(path.relative_to(root))
            if path.suffix == ".npz":
                with np.load(path) as data:
                    arrays = {}
                    for name in data.files:
                        value = data[name]
                        if name == "info":  # the job record, as JSON
                            arrays[name] = without_timings(json.loads(str(value)))
                        else:
                            arrays[name] = (value.dtype.str, value.shape, value.tobytes())
                    out[key] = arrays
            elif path.suffix == ".json":
                out[key] = without_timings(json.loads(path.read_text()))
            else:
                out[key] = path.read_text()
    return out


def test_fault_injection_kills_at_random_points_then_reruns(tmp_path):
    started = time.monotonic()
    work = Workdir(tmp_path / "work", KILL_CONFIG)
    rc, log = work.run()
    assert rc == 0, log[-3000:]
    reference = final_results(work.path)
    assert len([k for k in reference if k.startswith("results/scores/") and k.endswith(".npz")]) == 4
    assert len([k for k in reference if k.startswith("results/metrics/")]) == 4
    reference_s = time.monotonic() - started
    assert not leftovers(work.path) and not lock_files(work.path)

    rng = random.Random(SEED)
    kinds = ["group", "job"] * (KILL_POINTS // 2)
    rng.shuffle(kinds)
    kills = []  # one dict per kill point
    completions = reruns_recovered = 0

    def reset():
        """Remove outputs so that the next run has work to be killed in: the report and the tables
        always, each fit job's scores and metrics at even odds, the processed data (hence all) at
        one in four.  (Snakemake does not remake a missing file that nothing missing needs.)"""
        doomed = [work.path / "report", *(work.path / "results").glob("*.csv")]
        for scores in sorted((work.path / "results/scores").glob("*/*/*/seed*")):
            if rng.random() < 0.5:
                metrics = work.path / "results/metrics" / scores.relative_to(work.path / "results/scores")
                doomed += [scores, metrics.with_suffix(".json")]
        doomed += [work.path / "resources"] if rng.random() < 0.25 else []
        for path in doomed:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)

    def finished(proc, log, killed_job):
        """Check how a Snakemake process ended; True if it completed the workflow."""
        nonlocal completions, reruns_recovered
        text = log.read_text()
        assert "LockException" not in text and "cannot be locked" not in text, text[-3000:]
        reruns_recovered += "removed the stale lock of a killed Snakemake run" in text
        if proc.returncode == 0:
            completions += 1
            assert final_results(work.path) == reference
            assert leftovers(work.path) == [], leftovers(work.path)
            return True
        # a run ends in error only when we killed one of its jobs
        expected = proc.returncode == -signal.SIGKILL or (proc.returncode == 1 and killed_job)
        assert expected, (proc.returncode, text[-3000:])
        return False

    reset()
    proc, log = work.start()
    killed_job = False
    for kind in kinds:
        before = set(leftovers(work.path))
        while True:  # a kill point needs a live run; one that completed first is checked and restarted
            assert time.monotonic() - started < 900, f"fault injection still running after 900 s: {kills}"
            if proc.poll() is not None:
                if finished(proc, log, killed_job):
                    reset()
                proc, log = work.start()
                killed_job = False
            if kind == "group":
                delay = rng.uniform(0.0, reference_s)
                try:
                    proc.wait(timeout=delay)
                    continue  # ended before the kill point
                except subprocess.TimeoutExpired:
                    pass
                mid_job = bool(job_processes(proc))
                kill_group(proc)
                point = {"kind": kind, "after_s": round(delay, 2), "mid_job": mid_job}
            else:
                # the first or the second job this Snakemake starts, some time into it
                nth, seen, victim = rng.randint(1, 2), set(), None
                while proc.poll() is None and victim is None:
                    jobs = job_processes(proc)
                    seen.update(job.pid for job in jobs)
                    victim = max(jobs, key=lambda job: job.pid) if jobs and len(seen) >= nth else None
                    time.sleep(0.02)
                if victim is None:
                    continue
                time.sleep(rng.uniform(0.0, 0.5))
                try:
                    name = Path(victim.cmdline()[-1]).name
                    if victim.status() == "zombie":
                        continue  # the job ended meanwhile: not a kill point
                    victim.send_signal(signal.SIGKILL)
                except Exception:  # the job ended meanwhile: not a kill point
                    continue
                killed_job = True
                point = {"kind": kind, "job": name, "mid_job": True}
                # let Snakemake notice; it goes on with the other jobs (keep-going) and fails at the end
                time.sleep(0.3)
            point["left_temporary"] = bool({n for n in leftovers(work.path) if n.endswith(".tmp")} - before)
            # a lock, and the owner record of the killed Snakemake: its lock is left for the rerun
            owner = list((work.path / ".snakemake/locks").glob(f"owner-*-{proc.pid}.json"))
            point["left_lock"] = proc.poll() is not None and bool(lock_files(work.path)) and bool(owner)
            kills.append(point)
            if kind == "group":  # the rerun: the README's command again, no --unlock
                finished(proc, log, killed_job)
                proc, log = work.start()
                killed_job = False
            break

    # the last rerun(s) to completion
    while True:
        proc.wait(timeout=300)
        if finished(proc, log, killed_job):
            break
        proc, log = work.start()
        killed_job = False
    elapsed = time.monotonic() - started

    groups = [k for k in kills if k["kind"] == "group"]
    summary = {
        "kill points": len(kills),
        "process group": len(groups),
        "single job": len(kills) - len(groups),
        "mid-job": sum(k["mid_job"] for k in kills),
        "left a temporary file": sum(k["left_temporary"] for k in kills),
        "left a lock": sum(k["left_lock"] for k in kills),
        "reruns that removed a stale lock": reruns_recovered,
        "snakemake starts": work.runs,
        "completed runs compared": completions,
        "seconds": round(elapsed, 1),
        "reference run seconds": round(reference_s, 1),
        "orphaned .snakemake/scripts": len(list((work.path / ".snakemake/scripts").glob("tmp*"))),
    }
    print("\nfault injection:", json.dumps(summary))
    for point in kills:
        print("  ", point)
    assert len(kills) >= 20 and len(groups) >= 10 and len(kills) - len(groups) >= 10
    assert reruns_recovered >= 1 and sum(k["left_lock"] for k in kills) >= 1  # the recovery was exercised
    assert final_results(work.path) == reference and leftovers(work.path) == []
    assert not lock_files(work.path)


def test_a_lost_score_file_is_remade_by_the_rerun(tmp_path):
    """What made the kill test flaky: a fit job rerun (its processed input remade, byte-identical) and
    killed has lost its old scores, while the metrics made from them stay up to date. Snakemake remakes a
    missing file only if something that needs it must run, so the stored scores and the processed series
    are targets of `all` themselves (workflow/rules/common.smk, kept_intermediates)."""
    work = Workdir(tmp_path / "work", KILL_CONFIG)
    rc, log = work.run()
    assert rc == 0, log[-3000:]
    reference = final_results(work.path)
    lost = [
        work.path / "results/scores/ucr135/random/default/seed1/InternalBleeding16.npz",
        work.path / "results/scores/ucr135/random/default/seed1/InternalBleeding16.json",
        work.path / "resources/processed/ucr135/InternalBleeding16.npz",
    ]
    for path in lost:
        path.unlink()
    rc, log = work.run()
    assert rc == 0, log[-3000:]
    assert all(path.exists() for path in lost), log[-3000:]
    assert final_results(work.path) == reference


@pytest.mark.parametrize("rule, lost", [("evaluate", "results/metrics"), ("report", "report")])
def test_a_killed_forced_rerun_is_completed_by_the_plain_rerun(tmp_path, rule, lost):
    """`--forcerun evaluate` (or `report`) deletes its outputs before remaking them; killed then, the
    plain rerun must remake every one of them (the metrics files are targets of `all` themselves)."""
    work = Workdir(tmp_path / "work", KILL_CONFIG)
    rc, log = work.run()
    assert rc == 0, log[-3000:]
    reference = final_results(work.path)
    outputs = sorted(p for p in (work.path / lost).rglob("*") if p.is_file())
    proc, _ = work.start("--forcerun", rule)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and all(p.exists() for p in outputs):
        time.sleep(0.01)
    kill_group(proc)
    assert not all(p.exists() for p in outputs), "the kill must land after the forced rerun deleted an output"
    rc, log = work.run()
    assert rc == 0, log[-3000:]
    assert all(p.exists() for p in outputs), [str(p) for p in outputs if not p.exists()]
    assert final_results(work.path) == reference and leftovers(work.path) == []


def test_a_live_run_keeps_its_lock(tmp_path):
    """A second Snakemake started while one runs stops, naming the run that holds the folder and never
    advising --unlock (which is refused while that run lives); a dry run is not stopped; the first run is
    untouched; and after the first is killed, the lock is judged stale (a dry run says so)."""
    work = Workdir(tmp_path / "work", KILL_CONFIG)
    first, first_log = work.start()
    owner = None
    deadline = time.monotonic() + 120
    while owner is None and time.monotonic() < deadline and first.poll() is None:
        for path in (work.path / ".snakemake/locks").glob("owner-*.json"):
            record = json.loads(path.read_text())
            owner = record if record.get("locks") else None
        time.sleep(0.05)
    assert owner is not None and owner["pid"] == first.pid, first_log.read_text()[-3000:]
    rc, second = work.run()
    assert rc != 0 and f"another run is still running in this folder (pid {first.pid} on " in second, second[-3000:]
    assert "wait for it to finish (do not run `snakemake --unlock` while it runs" in second
    assert "LockException" not in second and "It can be removed with the --unlock argument" not in second
    assert "removed the stale lock" not in second
    rc, unlock = work.run("--unlock")
    assert rc != 0 and "--unlock is refused while it runs: it would let two runs write the same files" in unlock
    rc, dry = work.run("-n")  # looking is always allowed
    assert rc == 0 and "another run is still running" not in dry, dry[-3000:]
    assert first.poll() is None, "the first run must still be running"
    assert set(lock_files(work.path)) == {"0.input.lock", "0.output.lock"}
    kill_group(first)
    # as if killed in the instant between locking and onstart: its record names no lock yet
    (record_path,) = (work.path / ".snakemake/locks").glob(f"owner-*-{first.pid}.json")
    record_path.write_text(json.dumps({k: v for k, v in json.loads(record_path.read_text()).items() if k != "locks"}))
    rc, dry = work.run("-n")  # the check runs in a dry run too
    assert rc == 0 and f"removed the stale lock of a killed Snakemake run (pid {first.pid} " in dry, dry[-3000:]
    assert "cannot be locked" not in dry and not lock_files(work.path)


# ---- unit tests: tsad_models/common/recovery.py and the temporary files of common/files.py


def sleeper():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def record_of(pid, **changes):
    start = recovery.process_start(pid)
    return {"pid": pid, "start": start[1] if start else None, **recovery.machine(), "time": time.time(), **changes}


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_is_alive_checks_pid_start_time_and_machine():
    me = record_of(os.getpid())
    assert recovery.is_alive(me) is True
    assert recovery.is_alive({**me, "start": "1"}) is False  # the pid was reused by another process
    assert recovery.is_alive({**me, "pid": dead_pid()}) is False
    assert recovery.is_alive({**me, "host": "elsewhere"}) is None  # another machine: cannot tell
    assert recovery.is_alive({**me, "boot_id": "an earlier boot"}) is None
    assert recovery.is_alive({**me, "pid": "x"}) is None
    child = sleeper()
    try:
        assert recovery.is_alive(record_of(child.pid)) is True
        child.kill()
        time.sleep(0.1)
        assert recovery.is_alive(record_of(child.pid)) is False  # a zombie not yet reaped is dead too
    finally:
        child.wait()


def make_lock(lock_dir: Path, name: str, age_s: float = 0.0) -> Path:
    path = lock_dir / name
    path.write_text("results/x\n")
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


def write_record(lock_dir: Path, record: dict, locks=None) -> Path:
    path = recovery.owner_path(lock_dir, record)
    path.write_text(json.dumps(record))
    if locks is not None:
        recovery.bind(path, locks)
    return path


def test_claim_bind_release(tmp_path):
    owner = recovery.claim(tmp_path)
    record = json.loads(owner.read_text())
    assert record["pid"] == os.getpid() and recovery.is_alive(record) is True and "locks" not in record
    lock = make_lock(tmp_path, "0.output.lock")
    recovery.bind(owner, [lock, tmp_path / "1.input.lock"])  # a path that does not exist is left out
    assert [held["name"] for held in json.loads(owner.read_text())["locks"]] == ["0.output.lock"]
    recovery.release(owner, os.getpid() + 1)  # not from another (forked) process
    assert owner.exists()
    recovery.release(owner, os.getpid())
    assert not owner.exists()


def test_the_lock_of_a_dead_owner_is_removed_and_a_live_ones_kept(tmp_path):
    child = sleeper()
    try:
        dead = make_lock(tmp_path, "0.output.lock")
        killed = dead_pid()
        dead_owner = write_record(tmp_path, record_of(killed), [dead])
        live = make_lock(tmp_path, "1.output.lock")
        write_record(tmp_path, record_of(child.pid), [live])
        report = recovery.remove_stale_locks(tmp_path)
        assert report.removed == [dead] and report.live == [live] and report.unknown == []
        assert [owner["pid"] for owner in report.owners] == [killed]
        assert not dead.exists() and not dead_owner.exists() and live.exists()
    finally:
        child.kill()
        child.wait()


def test_a_lock_replaced_under_the_same_name_is_not_its_old_owners(tmp_path):
    lock = make_lock(tmp_path, "0.output.lock", age_s=10)
    write_record(tmp_path, record_of(dead_pid(), time=time.time() - 20), [lock])
    lock.unlink()
    new = make_lock(tmp_path, "0.output.lock")  # another run's lock now, with no record: unknown
    report = recovery.remove_stale_locks(tmp_path)
    assert new.exists() and report.unknown == [new] and report.removed == []


def test_unbound_locks_killed_between_locking_and_onstart(tmp_path):
    """A run killed after Snakemake locked but before it named its locks: its lock is stale if
    every record that could have written it (unbound, older than the lock) is dead here."""
    lock = make_lock(tmp_path, "0.output.lock")
    write_record(tmp_path, record_of(dead_pid(), time=time.time() - 5))
    report = recovery.remove_stale_locks(tmp_path)
    assert report.removed == [lock] and not list(tmp_path.glob("owner-*"))

    # a live unbound record older than the lock may be its owner (between locking and onstart): kept
    child = sleeper()
    try:
        lock = make_lock(tmp_path, "0.output.lock")
        write_record(tmp_path, record_of(dead_pid(), time=time.time() - 5))
        write_record(tmp_path, record_of(child.pid, time=time.time() - 5))
        report = recovery.remove_stale_locks(tmp_path)
        assert report.live == [lock] and lock.exists() and report.removed == []
        assert len(list(tmp_path.glob("owner-*"))) == 2  # the dead one may own the lock: kept as well
    finally:
        child.kill()
        child.wait()
    for path in tmp_path.glob("owner-*"):
        path.unlink()

    # a record newer than the lock did not write it; a bound record is not a candidate either
    lock = make_lock(tmp_path, "0.output.lock", age_s=30)
    newer = write_record(tmp_path, record_of(dead_pid()))
    other = make_lock(tmp_path, "1.output.lock")
    write_record(tmp_path, record_of(dead_pid(), time=time.time() - 60), [other])
    report = recovery.remove_stale_locks(tmp_path)
    assert report.unknown == [lock] and lock.exists()  # no possible owner on record: Snakemake decides
    assert report.removed == [other] and not newer.exists()  # a dead record that owns nothing is dropped


def test_locks_without_a_checkable_owner_are_kept(tmp_path):
    plain = make_lock(tmp_path, "0.input.lock")  # a run from before the owner records
    assert recovery.remove_stale_locks(tmp_path).unknown == [plain]
    foreign = write_record(tmp_path, record_of(12345, host="another-node", time=time.time() - 5))
    assert recovery.remove_stale_locks(tmp_path).unknown == [plain] and foreign.exists()
    foreign.unlink()
    (tmp_path / "owner-broken-1.json").write_text("{not json")
    write_record(tmp_path, record_of(dead_pid(), time=time.time() - 5))
    assert recovery.remove_stale_locks(tmp_path).unknown == [plain] and plain.exists()
    assert recovery.remove_stale_locks(tmp_path / "missing").removed == []


def test_abandoned_temporaries_are_swept_and_live_ones_kept(tmp_path):
    out = tmp_path / "results" / "a"
    out.mkdir(parents=True)
    abandoned = out / ".x.json.k3j9_a0b.tmp"
    abandoned.write_text("half")
    live = out / ".y.json.zz99aa11.tmp"
    live.write_text("being written")
    part = out / ".raw.bin.part"  # a resumable download: not ours to remove
    part.write_text("bytes")
    other = out / ".notes.tmp"  # not an atomic write's name
    other.write_text("")
    holder = os.open(live, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # a live writer (another open file description)
    try:
        assert recovery.sweep_temporaries([tmp_path / "results"]) == [abandoned]
        assert live.exists() and part.exists() and other.exists() and not abandoned.exists()
    finally:
        os.close(holder)
    assert recovery.sweep_temporaries([tmp_path / "results"]) == [live]


def test_an_atomic_write_removes_the_abandoned_temporaries_of_its_own_target(tmp_path):
    assert is_temporary(".a.b.csv.abcd_123.tmp", "a.b.csv") and not is_temporary(".a.b.csv.abcd_123.tmp", "b.csv")
    mine = tmp_path / ".out.csv.abcdefgh.tmp"
    theirs = tmp_path / ".out.csv.x.abcdefgh.tmp"  # the temporary file of "out.csv.x", another target
    for path in (mine, theirs):
        path.write_text("killed")
    save_text_atomic(tmp_path / "out.csv", "a,b\n")
    assert (tmp_path / "out.csv").read_text() == "a,b\n"
    assert not mine.exists() and theirs.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.csv.x.abcdefgh.tmp", "out.csv"]
    assert remove_abandoned_temporaries(tmp_path) == [theirs]


def test_a_write_in_progress_is_never_swept(tmp_path):
    """The writer holds the lock on its temporary file until the rename."""
    target = tmp_path / "big.txt"
    seen = {}

    def write(tmp):
        seen["swept"] = recovery.sweep_temporaries([tmp_path]) + remove_abandoned_temporaries(tmp_path)
        seen["exists"] = Path(tmp).exists()
        Path(tmp).write_text("done")

    with atomic_path(target) as tmp:
        write(tmp)
    assert seen == {"swept": [], "exists": True} and target.read_text() == "done"

    with pytest.raises(RuntimeError), atomic_path(tmp_path / "failed.txt") as tmp:  # a failed write: no trace
        Path(tmp).write_text("half")
        raise RuntimeError("the writer failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]
