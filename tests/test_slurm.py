"""The workflow on a real one-node SLURM cluster (tools/slurm_local.sh) through profiles/slurm.

Slow (about 3 minutes on 2 cores: every job is an sbatch job that starts Snakemake anew);
needs root, since the cluster's daemons are started here. Skips, naming what is missing,
where that or Debian's Slurm packages cannot be had.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .conftest import REPO, copy_workflow

pytestmark = pytest.mark.slow

SLURM_LOCAL = REPO / "tools" / "slurm_local.sh"
CONFIG = ".test/config/config.yaml"
# exit code of tools/slurm_local.sh: Slurm cannot be had on this machine (not root, no apt, apt failed)
UNAVAILABLE = 3


def need_plugin():
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip("snakemake-executor-plugin-slurm is not installed (workflow extra: pip install -e '.[workflow]')")


def slurm_local(*args, timeout=900):
    return subprocess.run(["bash", str(SLURM_LOCAL), *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running one-node cluster for the session; stopped at the end (by the pids in its pid
    files, through `tools/slurm_local.sh down`), also when a test failed. A cluster that was
    already up before the session is left running."""
    if os.geteuid() != 0:
        pytest.skip(
            "needs root: `tools/slurm_local.sh up` installs Debian's slurmctld, slurmd, slurm-client "
            "and munge and starts munged, slurmctld and slurmd"
        )
    need_plugin()
    was_up = slurm_local("status").returncode == 0
    try:
        up = slurm_local("up")
        if up.returncode == UNAVAILABLE:
            pytest.skip(f"`tools/slurm_local.sh up` cannot make Slurm available here: {up.stderr.strip()}")
        assert up.returncode == 0, f"tools/slurm_local.sh up failed:\n{up.stdout}{up.stderr}"
        yield
    finally:
        if not was_up:
            down = slurm_local("down", timeout=300)
            assert down.returncode == 0, f"tools/slurm_local.sh down failed:\n{down.stdout}{down.stderr}"
            # its config gone too: with one and no controller, every later Snakemake start waits 9 s
            # (the SLURM executor plugin runs `scontrol show config` when it loads)
            assert not Path("/etc/slurm/slurm.conf").exists()


def run_snakemake(cwd, *args, timeout):
    """Run Snakemake in cwd; return (completed process, wall seconds)."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    try:
        command = [sys.executable, "-m", "snakemake", *args]
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        # leave no jobs of this run queued on the cluster (they are named by the run's id)
        output = error.stdout.decode() if isinstance(error.stdout, bytes) else (error.stdout or "")
        output += error.stderr.decode() if isinstance(error.stderr, bytes) else (error.stderr or "")
        run_id = re.search(r"SLURM run ID: (\S+)", output)
        if run_id:
            subprocess.run(["scancel", "--name", run_id.group(1)], capture_output=True)
        raise AssertionError(f"snakemake {' '.join(args)} ran past {timeout} s:\n{output[-5000:]}") from error
    wall = time.perf_counter() - start
    output = f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    assert result.returncode == 0, f"snakemake {' '.join(args)} failed:\n{output}"
    return result, wall


def without_timings(info):
    """A score file's info record without its wall-clock entries (they differ between any two runs)."""
    if isinstance(info, dict):
        return {
            key: without_timings(value)
            for key, value in info.items()
            if "seconds" not in key and key != "peak_rss_mb"  # measurements of the run, not its results
        }
    if isinstance(info, list):
        return [without_timings(value) for value in info]
    return info


def test_workflow_runs_on_slurm_and_matches_a_local_run(slurm_cluster, tmp_path, record_property, capsys):
    on_slurm = copy_workflow(tmp_path / "slurm")
    result, slurm_wall = run_snakemake(
        on_slurm,
        "--workflow-profile",
        "profiles/slurm",
        "--configfile",
        CONFIG,
        # check every 5 s once a job has finished instead of the plugin's 40 s (the cluster's
        # MinJobAge of 600 s keeps squeue's answer reliable), and keep every job's SLURM log
        "--slurm-init-seconds-before-status-checks",
        "5",
        "--slurm-keep-successful-logs",
        timeout=1500,
    )
    log = result.stdout + result.stderr

    # every job but the target rule went through sbatch, each with its own SLURM log
    total = int(re.search(r"^total\s+(\d+)$", log, re.MULTILINE).group(1))
    local = len(re.findall(r"^localrule \w+:", log, re.MULTILINE))
    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log))
    assert local == 1 and len(submitted) == total - local > 0, log[-3000:]
    slurm_ids = set(submitted.values())
    logs = list((on_slurm / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert sorted(path.stem for path in logs) == sorted(slurm_ids)
    # and the controller knows them all as completed jobs of this run
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    queue = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--name", run_id, "--format=%i|%T"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    states = dict(line.split("|") for line in queue.split())
    assert states == dict.fromkeys(slurm_ids, "COMPLETED")

    # the same config run locally (profiles/default) gives the same numbers
    local_copy = copy_workflow(tmp_path / "local")
    _, local_wall = run_snakemake(local_copy, "--cores", "2", "--configfile", CONFIG, timeout=900)

    def leaderboard(root):
        table = pd.read_csv(root / "results" / "leaderboard.csv")
        keys = [column for column in table.columns if column != "value"]
        return table.sort_values(keys).reset_index(drop=True)

    pd.testing.assert_frame_equal(leaderboard(on_slurm), leaderboard(local_copy), check_exact=False, rtol=0, atol=1e-12)

    score_files = sorted(path.relative_to(on_slurm) for path in (on_slurm / "results" / "scores").rglob("*.npz"))
    assert score_files
    assert score_files == sorted(
        path.relative_to(local_copy) for path in (local_copy / "results" / "scores").rglob("*.npz")
    )
    for name in score_files:
        with np.load(on_slurm / name) as a, np.load(local_copy / name) as b:
            assert sorted(a.files) == sorted(b.files), name
            for key in a.files:
                if key == "info":  # JSON text: the same record but for timings
                    assert without_timings(json.loads(str(a[key]))) == without_timings(json.loads(str(b[key]))), name
                    continue
                # bit-identical scores: same dtype, shape and bytes
                assert (a[key].dtype, a[key].shape) == (b[key].dtype, b[key].shape), (name, key)
                assert a[key].tobytes() == b[key].tobytes(), (name, key)

    record_property("slurm_jobs", len(submitted))
    record_property("slurm_wall_seconds", round(slurm_wall, 1))
    record_property("local_wall_seconds", round(local_wall, 1))
    with capsys.disabled():
        print(
            f"\n[test_slurm] {len(submitted)} SLURM jobs in {slurm_wall:.0f} s; "
            f"the same config locally: {local_wall:.0f} s"
        )


def test_slurm_profile_requests_what_the_rules_declare(tmp_path):
    """Without a cluster: the profile is valid and turns the rules' resources into sbatch
    options (a dry run of the SLURM executor prints no sbatch call, so check the resources)."""
    need_plugin()
    workdir = copy_workflow(tmp_path / "wf")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--workflow-profile", "profiles/slurm", "--configfile", CONFIG],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "slurm_partition=debug" in result.stdout and "runtime=60" in result.stdout
    # device: cpu in the test config: no deep-model job asks for a GPU
    assert "gpu=1" not in result.stdout
