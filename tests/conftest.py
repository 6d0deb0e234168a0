import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


def pytest_configure(config):
    # keep torch on the CPU and single-threaded: tests must not depend on the machine (and two
    # threads on a busy 2-core machine make the small deep fits many times slower)
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import torch

    torch.set_num_threads(1)


def copy_workflow(dest):
    """Copy the workflow and the package (no results) into the folder dest; return dest.

    The workflow puts its own checkout first on the jobs' PYTHONPATH, so the copy's
    package is the code that runs (editing it there is what a developer does)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "config", "datasets", "profiles", ".test", "tsad_models"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture
def workflow_copy(tmp_path):
    """A fresh copy of the workflow and the package (no results) in a temporary working directory."""
    return copy_workflow(tmp_path)


@pytest.fixture(scope="session")
def processed_ucr135(tmp_path_factory):
    """The embedded UCR series 135, preprocessed once per test session."""
    from tsad_models.data.cards import load_card
    from tsad_models.data.preprocess import preprocess_entity

    path = tmp_path_factory.mktemp("processed") / "InternalBleeding16.npz"
    preprocess_entity(load_card(REPO / "datasets", "ucr135"), "InternalBleeding16", path)
    return path
