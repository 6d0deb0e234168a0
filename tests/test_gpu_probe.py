"""tools/gpu_probe.sh on the CPU (--tiny): a real Snakemake run of every deep model variant, its per-job table,
records that tools/gpu_hours.py reads, and jobs cut by the time limit listed as unfinished, not dropped."""

import importlib.util
import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from .conftest import REPO

pytestmark = pytest.mark.slow


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve the module by name
    spec.loader.exec_module(module)
    return module


def probe(out, *args, timeout=600):
    return subprocess.run(["bash", str(REPO / "tools/gpu_probe.sh"), "--tiny", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)  # fmt: skip


def test_the_paper_probe_runs_paper_yaml_s_settings_but_epochs():
    """The records count for config/paper.yaml only if every other setting is the paper config's."""
    from tsad_models.models.variants import check_models

    gpu_probe = load_tool("gpu_probe")
    config = gpu_probe.probe_config(tiny=False, epochs=2, mirror="/mirror")
    assert config["datasets"] == ["smd"] and config["entities"] == {"smd": ["machine-1-2"]}
    paper = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    ours, theirs = check_models(config), check_models(paper)
    deep = set(gpu_probe.deep_models(paper))
    assert {m for m, _ in ours} == deep and "latad" in deep and "random" not in deep
    for key, resolved in ours.items():
        assert resolved["epochs"] == 2 and resolved.get("patience", 0) == 0
        same = {k: v for k, v in resolved.items() if k not in ("epochs", "patience")}
        assert same == {k: v for k, v in theirs[key].items() if k not in ("epochs", "patience")}, key


def test_the_tiny_probe_writes_every_job_and_records_gpu_hours_reads(tmp_path):
    out = tmp_path / "probe"
    result = probe(out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = pd.read_csv(out / "probe.csv")
    config = yaml.safe_load((out / "probe.yaml").read_text())
    planned = {(m, v) for m, e in config["models"].items() for v in (e.get("variants") or {"default": {}})}
    assert set(zip(table.model, table.variant, strict=True)) == planned and len(planned) >= 10
    assert table.finished.all() and (table.epochs == 1).all() and (table.seconds_per_epoch > 0).all()
    assert table.device.eq("cpu").all() and table.peak_gpu_mib.isna().all()  # no GPU: nothing made up
    gpu_hours = load_tool("gpu_hours")
    records, unused = gpu_hours.read_records([out / "records"])
    assert len(records) == len(planned) and not unused
    assert all("jobs sharing the GPU" in r.note for r in records)  # 4 jobs at once: said with each record
    assert json.loads((out / "records/probe.json").read_text()) == {"jobs_per_gpu": 4}
    assert not list((out / "records").rglob("*.npz"))  # no scores kept
    assert "folders" in (out / "cost.md").read_text() and str(out / "records") in (out / "cost.md").read_text()
    assert not (REPO / "probe_out").exists()  # the checkout's folders are untouched


def test_jobs_the_time_limit_cut_are_listed_as_unfinished(tmp_path):
    out = tmp_path / "cut"
    result = probe(out, "--limit", "4", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "exit 124" in result.stdout
    table = pd.read_csv(out / "probe.csv")
    assert len(table) >= 10 and (~table.finished).any()
    assert "no (the probe's time limit)" in (out / "probe.md").read_text()
