"""tools/gpu_hours.py: the config's jobs counted as the workflow does, hours from hand-made records checked by hand."""

import importlib.util
import json
import sys

import pytest
import yaml

from .conftest import REPO

# the embedded series of the small configs: their lengths need no download
UCR, UCR_TRAIN, UCR_TEST = "InternalBleeding16", 1200, 6301  # fit split 960 = 1200 - round(0.2 x 1200)
ECG, ECG_TRAIN = "ecg-diff-count-3", 10000  # fit split 8000


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("gpu_hours", REPO / "tools" / "gpu_hours.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_hours"] = module  # dataclasses resolve the module by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("gpu_hours", None)


def small_config(tmp_path, *, datasets=("ucr135", "ecg3"), seeds=(0, 1), models=None, **extra):
    config = {
        "datasets": list(datasets),
        "cards_dir": str(REPO / "datasets"),
        "seeds": list(seeds),
        "models": models
        or {
            "random": {"variants": {"default": {}}},
            "autoencoder": {"params": {"epochs": 10}, "variants": {"default": {}}},
            "usad": {"variants": {"default": {}}},
        },
        **extra,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def resolved(tool, config_path, model, variant="default"):
    return tool.plan_jobs(tool.load_config(config_path)).resolved[(model, variant)]


def write_job(root, model, *, config, device, epoch_seconds, dataset="ucr135", entity=UCR, seed=0, peak=None, tsv=True):
    """A fit job's record as the workflow leaves it: the job JSON and Snakemake's benchmark TSV."""
    job = f"{dataset}/{model}/default/seed{seed}/{entity}"
    info = {"device": device, "history": {"epoch_seconds": epoch_seconds}}
    if peak is not None:
        info["max_cuda_memory_bytes"] = peak
    record = {
        "model": model,
        "config": config,
        "fit_points": 960,
        "val_points": 240,
        "test_points": UCR_TEST,
        "fit_seconds": sum(epoch_seconds) + 1.0,
        "score_seconds": 0.5,
        "fit_info": info,
    }
    path = root / "results" / "scores" / f"{job}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    if tsv:
        bench = root / "benchmarks" / "fit" / f"{job}.tsv"
        bench.parent.mkdir(parents=True, exist_ok=True)
        bench.write_text("s\th:m:s\tmax_rss\tmax_vms\tcpu_time\n12.5\t0:00:12\t300.0\t900.0\t11.0\n")
    return path


def run(tool, config_path, records, scale_cpu=False):
    plan = tool.plan_jobs(tool.load_config(config_path))
    found, unused = tool.read_records(records)
    lengths = tool.series_lengths(plan, found, None)
    rows = {row.label: row for row in tool.estimate(plan, found, lengths, scale_cpu=scale_cpu)}
    return plan, rows, found, unused


def test_jobs_are_datasets_x_entities_x_variants_x_seeds(tool, tmp_path):
    models = {
        "random": {"variants": {"default": {}}},
        "autoencoder": {"variants": {"default": {}, "wide": {"hidden": 128}}},
        "usad": {"variants": {"default": {}}},
    }
    subset = small_config(
        tmp_path, datasets=("synthetic", "ucr135", "ecg3"), seeds=(0, 1, 2), models=models,
        entities={"synthetic": ["extremum", "pattern"]},
    )  # fmt: skip
    plan = tool.plan_jobs(tool.load_config(subset))
    # by hand: (2 synthetic series + 1 + 1) entities x 4 variants x 3 seeds
    assert plan.n_jobs == 4 * 4 * 3 == 48
    assert len(plan.jobs("random", "default")) == 4 * 3
    # a derived split counts as the workflow runs it: <dataset>~entity, only the split_models on it
    split = small_config(
        tmp_path, datasets=("synthetic", "ucr135", "ecg3"), seeds=(0, 1, 2), models=models,
        entities={"synthetic": ["extremum", "pattern"]}, splits={"synthetic": {"entity": {"folds": 2}}},
        split_models=["random"],
    )  # fmt: skip
    plan = tool.plan_jobs(tool.load_config(split))
    assert plan.datasets.datasets == ["synthetic", "ucr135", "ecg3", "synthetic~entity"]
    assert len(plan.jobs("random", "default")) == (4 + 2) * 3 and len(plan.jobs("usad", "default")) == 4 * 3
    assert plan.n_jobs == 48 + 2 * 3
    assert sorted(plan.resolved) == [("autoencoder", "default"), ("autoencoder", "wide"), ("random", "default"),
                                     ("usad", "default")]  # fmt: skip
    # without the subset the card lists its 6 series (from the GutenTAG suite file, nothing generated)
    whole = small_config(tmp_path, datasets=("synthetic", "ucr135", "ecg3"), seeds=(0, 1, 2), models=models)
    assert tool.plan_jobs(tool.load_config(whole)).n_jobs == (6 + 1 + 1) * 4 * 3
    # a config file replaces config/config.yaml: none of its models or datasets creep in
    assert set(plan.config["datasets"]) == {"synthetic", "ucr135", "ecg3"} and "pca" not in plan.config["models"]


def test_downloaded_datasets_list_their_entities_from_the_card_alone(tool, tmp_path):
    path = small_config(tmp_path, datasets=("smd", "ucr2021"), seeds=(0,))
    plan = tool.plan_jobs(tool.load_config(path))
    assert len(plan.entities["smd"]) == 28 and len(plan.entities["ucr2021"]) == 250 and not plan.unlisted
    assert plan.n_jobs == (28 + 250) * 3


def test_gpu_hours_by_hand_and_linear_in_epochs(tool, tmp_path):
    hours = {}
    for epochs in (10, 20):
        folder = tmp_path / f"e{epochs}"
        folder.mkdir()
        models = {"autoencoder": {"params": {"epochs": epochs}, "variants": {"default": {}}}}
        config_path = small_config(folder, models=models)
        config = resolved(tool, config_path, "autoencoder")
        write_job(folder / "run", "autoencoder", config={**config, "epochs": 2}, device="cuda:0",
                  epoch_seconds=[0.6, 0.4])  # fmt: skip
        _, rows, _, _ = run(tool, config_path, [folder / "run"])
        row = rows["autoencoder"]
        # windows of 32 points every point: 960 - 32 + 1 = 929 in the record; 929 (ucr135) and 8000 - 32 + 1 = 7969
        # (ecg3) per job; 2 seeds; the record's rate is 0.5 s per epoch over its 929 windows
        assert row.gpu_rate.value == pytest.approx(0.5 / 929)
        assert row.known_jobs == 4 and row.work == epochs * (929 + 7969) * 2
        hours[epochs] = row.hours()
        assert hours[epochs] == pytest.approx(epochs * (929 + 7969) * 2 * (0.5 / 929) / 3600)
    assert hours[20] == pytest.approx(2 * hours[10])
    assert hours[10] == pytest.approx(0.02661, abs=1e-5)  # 177,960 window-epochs x 0.538 ms


def test_a_model_without_records_is_not_measured_not_zero(tool, tmp_path):
    config_path = small_config(tmp_path)
    config = resolved(tool, config_path, "autoencoder")
    write_job(tmp_path / "run", "autoencoder", config=config, device="cuda:0", epoch_seconds=[0.5])
    plan, rows, found, unused = run(tool, config_path, [tmp_path / "run"])
    assert rows["usad"].gpu_rate is None and rows["usad"].hours() is None
    assert rows["usad"].mismatch == "no record of this model"
    assert rows["random"].hours() is None  # CPU-only, and no record either
    args = tool.argparse.Namespace(config_label="small.yaml", records=["run"], no_default_records=True)
    text = tool.render(plan, list(rows.values()), tool.series_lengths(plan, found, None), found, unused, args)
    usad_line = next(line for line in text.splitlines() if line.startswith("| usad"))
    assert usad_line.count("not measured") >= 3 and "no record of this model" in usad_line
    total_line = next(line for line in text.splitlines() if line.startswith("| **total**"))
    assert f"**{tool._fmt_hours(rows['autoencoder'].hours())}** + 1 not measured" in total_line
    assert "Not measured on a GPU: usad." in text


def test_a_record_at_other_settings_does_not_count(tool, tmp_path):
    config_path = small_config(tmp_path)
    config = resolved(tool, config_path, "autoencoder")
    write_job(tmp_path / "run", "autoencoder", config={**config, "hidden": 256}, device="cuda:0", epoch_seconds=[0.5])
    _, rows, _, _ = run(tool, config_path, [tmp_path / "run"])
    assert rows["autoencoder"].hours() is None
    assert "hidden 256 (target 64)" in rows["autoencoder"].mismatch


def test_cpu_records_scale_only_when_asked_by_a_measured_ratio(tool, tmp_path):
    config_path = small_config(tmp_path)
    autoencoder, usad = resolved(tool, config_path, "autoencoder"), resolved(tool, config_path, "usad")
    write_job(tmp_path / "run", "autoencoder", config=autoencoder, device="cuda:0", epoch_seconds=[0.5], seed=0)
    write_job(tmp_path / "run", "autoencoder", config=autoencoder, device="cpu", epoch_seconds=[5.0], seed=1)
    write_job(tmp_path / "run", "usad", config=usad, device="cpu", epoch_seconds=[2.0])
    _, rows, _, _ = run(tool, config_path, [tmp_path / "run"])
    assert rows["usad"].cpu_rate.value == pytest.approx(2.0 / 956)  # 960 - 5 + 1 windows
    assert rows["usad"].hours() is None
    _, rows, _, _ = run(tool, config_path, [tmp_path / "run"], scale_cpu=True)
    assert rows["usad"].gpu_seconds_per_unit() == pytest.approx(2.0 / 956 / 10)  # autoencoder: 5.0 s CPU / 0.5 s GPU
    # 250 epochs x (956 + 7996 windows) x 2 seeds
    assert rows["usad"].hours() == pytest.approx(250 * (956 + 7996) * 2 * 2.0 / 956 / 10 / 3600)


def test_peak_gpu_memory_says_how_many_jobs_fit(tool, tmp_path):
    config_path = small_config(tmp_path)
    config = resolved(tool, config_path, "autoencoder")
    write_job(tmp_path / "run", "autoencoder", config=config, device="cuda:0", epoch_seconds=[0.5], peak=2 * 2**30)
    plan, rows, found, _ = run(tool, config_path, [tmp_path / "run"])
    lines = tool.sharing_lines([r for r in rows.values() if r.deep], found)
    text = "\n".join(lines)
    assert "| autoencoder | yes" in text and "2,048" in text
    assert "40 on an 80 GB GPU" in text and "70 on a 141 GB GPU" in text
    assert "no record says" not in text and "GPU utilisation" in text  # sharing itself: not measured


def test_a_benchmark_without_its_job_record_is_listed_not_used(tool, tmp_path):
    config_path = small_config(tmp_path)
    config = resolved(tool, config_path, "autoencoder")
    job = write_job(tmp_path / "run", "autoencoder", config=config, device="cuda:0", epoch_seconds=[0.5])
    job.unlink()
    _, rows, found, unused = run(tool, config_path, [tmp_path / "run"])
    assert found == [] and len(unused) == 1 and unused[0].endswith(f"seed0/{UCR}.tsv")


@pytest.mark.parametrize(
    "broken, name",
    [
        ("s\th:m:s\tmax_rss\nabc\t0:00:01\t10\n", "tsv"),  # 's' not a number
        ("seconds\tmax_rss\n1.0\t10\n", "tsv"),  # no 's' column
        ("{not json", "json"),
    ],
)
def test_a_malformed_record_names_its_file(tool, tmp_path, capsys, broken, name):
    config_path = small_config(tmp_path)
    config = resolved(tool, config_path, "autoencoder")
    job = write_job(tmp_path / "run", "autoencoder", config=config, device="cuda:0", epoch_seconds=[0.5])
    tsv = tmp_path / "run" / "benchmarks" / "fit" / "ucr135" / "autoencoder" / "default" / "seed0" / f"{UCR}.tsv"
    bad = job if name == "json" else tsv
    bad.write_text(broken)
    with pytest.raises(tool.RecordError, match=str(bad)):
        tool.read_records([tmp_path / "run"])
    code = tool.main(["--config", str(config_path), "--records", str(tmp_path / "run"), "--no-default-records"])
    assert code == 2 and str(bad) in capsys.readouterr().err


def test_the_command_prints_and_writes_the_table(tool, tmp_path, capsys):
    config_path = small_config(tmp_path)
    config = resolved(tool, config_path, "autoencoder")
    write_job(tmp_path / "run", "autoencoder", config=config, device="cuda:0", epoch_seconds=[0.5])
    out = tmp_path / "cost.md"
    argv = ["--config", str(config_path), "--records", str(tmp_path / "run"), "--no-default-records"]
    assert tool.main([*argv, "--processed", str(tmp_path / "none"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed == out.read_text()
    assert "**12 fit jobs**" in printed  # 2 entities x 3 variants x 2 seeds
    line = next(line for line in printed.splitlines() if line.startswith("| autoencoder"))
    # 10 epochs x (929 + 7969) windows x 2 seeds x 0.5 / 929 s = 95.8 s = 0.03 GPU-h
    cells = [cell.strip() for cell in line.split("|")]
    assert cells[4] == "4" and cells[5] == "177,960" and cells[7] == "0.03"


def test_series_lengths_prefer_the_processed_files(tool, tmp_path):
    import numpy as np

    from tsad_models.common.files import save_npz_atomic

    config_path = small_config(tmp_path)
    plan = tool.plan_jobs(tool.load_config(config_path))
    processed = tmp_path / "processed"
    save_npz_atomic(processed / "ucr135" / f"{UCR}.npz", train=np.zeros((500, 1), np.float32), test=np.zeros((7, 1)))
    lengths = tool.series_lengths(plan, [], processed)
    assert lengths[("ucr135", UCR)] == (500, 7, "processed data")
    assert lengths[("ecg3", ECG)] == (ECG_TRAIN, 10000, "embedded source")
    assert tool.series_lengths(plan, [], None)[("ucr135", UCR)] == (UCR_TRAIN, UCR_TEST, "embedded source")


def test_a_study_a_user_publishes_is_not_counted_unless_named(tool, tmp_path, capsys):
    """The default records are the project's studies; a user's study beside them is named and left out."""
    import shutil

    published = tmp_path / "published"
    for name in ("tranad_lag_cpu", "my_laptop_study"):
        (published / name).mkdir(parents=True)
        shutil.copy(REPO / "report" / "published" / "tranad_lag_cpu" / "jobs.json.gz", published / name)
        shutil.copy(REPO / "report" / "published" / "tranad_lag_cpu" / "runtimes.csv", published / name)
    chosen = tool.project_studies(published)
    assert [p.name for p in chosen] == ["tranad_lag_cpu"]
    assert "my_laptop_study" in capsys.readouterr().err
    # named with --records it counts, as the project's study does
    mine, _ = tool.read_records([published / "my_laptop_study"])
    ours, _ = tool.read_records(chosen)
    assert len(mine) == len(ours) > 0
    # every project study named in the tool is one the repository publishes
    assert set(tool.PROJECT_STUDIES) <= {p.name for p in (REPO / "report" / "published").iterdir()}


def test_jobs_at_per_dataset_settings_are_counted_not_priced_at_the_base_rate(tool, tmp_path):
    """`dataset_params` gives one dataset other settings: its jobs stay in the count but out of the hours."""
    models = {"autoencoder": {"params": {"epochs": 10}, "dataset_params": {"ecg3": {"window": 64}},
                              "variants": {"default": {}}}}  # fmt: skip
    config_path = small_config(tmp_path, models=models)
    config = resolved(tool, config_path, "autoencoder")
    write_job(tmp_path / "run", "autoencoder", config={**config, "epochs": 2}, device="cuda:0",
              epoch_seconds=[0.6, 0.4])  # fmt: skip
    _, rows, _, _ = run(tool, config_path, [tmp_path / "run"])
    row = rows["autoencoder"]
    assert row.jobs == 4 and row.own_settings == 2 and row.known_jobs == 2  # ecg3's 2 seeds not priced
    assert row.work == 10 * 929 * 2


def test_the_gpu_busy_fraction_of_a_job_record_is_read(tool, tmp_path):
    path = write_job(tmp_path / "run", "autoencoder", config={"window": 32}, device="cuda:0", epoch_seconds=[0.5],
                     peak=2**30)  # fmt: skip
    job = json.loads(path.read_text())
    job["fit_info"]["history"].update(gpu_busy_fraction=0.42, gpu_busy_steps=20)
    path.write_text(json.dumps(job))
    (record,) = tool.read_records([tmp_path / "run"])[0]
    assert record.gpu_busy == 0.42 and record.gpu_peak_mib == 1024
