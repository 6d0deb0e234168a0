from dataclasses import dataclass
from pathlib import Path

import pytest

from tsad_models.common.errors import ConfigError
from tsad_models.models.base import Detector
from tsad_models.models.config import build_config
from tsad_models.models.registry import (
    get_model_class,
    list_models,
    load_model_files,
    model_config_class,
    register_model,
    user_model_file,
)
from tsad_models.models.variants import check_models

REPO = Path(__file__).resolve().parents[1]


def test_builtin_models_are_listed():
    assert {"random", "pca", "knn", "iforest", "autoencoder"} <= set(list_models())


def test_registry_refuses_a_duplicate_name():
    @dataclass
    class Cfg:
        pass

    with pytest.raises(ValueError, match="belongs to the built-in model"):

        @register_model("pca", config=Cfg)
        class Other(Detector):
            def fit(self, train, val=None):
                return self

            def score(self, series):
                return series[:, 0]

    @register_model("twice_for_test", config=Cfg)
    class First(Detector):
        def fit(self, train, val=None):
            return self

        def score(self, series):
            return series[:, 0]

    with pytest.raises(ValueError, match="already registered"):

        @register_model("twice_for_test", config=Cfg)
        class Other(Detector):
            def fit(self, train, val=None):
                return self

            def score(self, series):
                return series[:, 0]


def test_registry_needs_a_dataclass_config():
    with pytest.raises(TypeError, match="dataclass"):
        register_model("x", config=dict)


def test_unknown_model_names_the_model():
    with pytest.raises(ConfigError, match="unknown model 'nope'.*registered models"):
        get_model_class("nope")


def test_build_config_checks_keys_and_types():
    cls = model_config_class("autoencoder")
    config = build_config(cls, {"epochs": 3, "lr": 1}, "models.autoencoder.variants.x")
    assert config.epochs == 3 and config.lr == 1.0 and isinstance(config.lr, float)
    with pytest.raises(ConfigError, match=r"models\.autoencoder\.variants\.x: unknown key 'epoch'"):
        build_config(cls, {"epoch": 3}, "models.autoencoder.variants.x")
    with pytest.raises(ConfigError, match=r"variants\.x\.epochs: expected an integer"):
        build_config(cls, {"epochs": "3"}, "models.autoencoder.variants.x")
    with pytest.raises(ConfigError, match="expected true/false|expected an integer"):
        build_config(cls, {"epochs": True}, "models.autoencoder.variants.x")
    with pytest.raises(ConfigError, match="window and step must be >= 1"):
        build_config(cls, {"window": 0}, "w")


def test_check_models_resolves_params_then_variant():
    config = {"models": {"pca": {"params": {"window": 8}, "variants": {"default": {}, "wide": {"window": 32}}}}}
    resolved = check_models(config)
    assert resolved[("pca", "default")]["window"] == 8
    assert resolved[("pca", "wide")]["window"] == 32


def test_check_models_names_the_unknown_model():
    with pytest.raises(ConfigError, match="models.nosuch: unknown model 'nosuch'"):
        check_models({"models": {"nosuch": {"variants": {"default": {}}}}})


def test_user_model_file_registers_and_is_tracked(tmp_path):
    (tmp_path / "mine.py").write_text(
        "from dataclasses import dataclass\n"
        "import numpy as np\n"
        "from tsad_models.models.base import Detector\n"
        "from tsad_models.models.registry import register_model\n"
        "@dataclass\nclass C:\n    scale: float = 2.0\n"
        "@register_model('mine_for_test', config=C)\n"
        "class M(Detector):\n"
        "    def fit(self, train, val=None): return self\n"
        "    def score(self, series): return self.config.scale * np.abs(series).sum(1)\n"
    )
    load_model_files(["mine.py"], base_dir=tmp_path)
    assert "mine_for_test" in list_models()
    assert user_model_file("mine_for_test") == ["mine.py"]
    assert user_model_file("pca") == []
    with pytest.raises(ConfigError, match="model_files: 'missing.py' does not exist"):
        load_model_files(["missing.py"], base_dir=tmp_path)


def test_a_builtin_model_is_imported_only_when_asked_for():
    import subprocess
    import sys

    code = (
        "import sys; from tsad_models.models.registry import get_model_class, list_models; "
        "assert 'latad' in list_models(); get_model_class('pca'); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("path", sorted((REPO / "config").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_validates_and_resolves_every_variant(path):
    """A study config that names a missing model, key or value would fail only when someone runs it."""
    import yaml

    pytest.importorskip("snakemake")
    from snakemake.utils import validate

    config = yaml.safe_load(path.read_text())
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    resolved = check_models(config, base_dir=REPO)
    modes = config.get("normalise", "train")  # normalise: [train, test] runs each variant twice (<variant>~testnorm)
    twice = 2 if isinstance(modes, list) and len(modes) == 2 else 1
    assert len(resolved) == twice * sum(
        len((m or {}).get("variants") or {"default": {}}) for m in config["models"].values()
    )
    from tsad_models.models.variants import check_dataset_params

    check_dataset_params(config, resolved)  # per-dataset settings resolve too


def test_dataset_params_sit_between_params_and_the_variant():
    from tsad_models.models.variants import check_dataset_params, job_config

    config = {
        "datasets": ["smd", "smap"],
        "models": {
            "pca": {
                "params": {"window": 8},
                "dataset_params": {"smap": {"window": 24, "step": 2}},
                "variants": {"default": {}, "wide": {"window": 32}},
            }
        },
    }
    resolved = check_models(config)
    by_dataset = check_dataset_params(config, resolved)
    assert job_config(resolved, by_dataset, "pca", "default", "smd")["window"] == 8  # no entry: params
    assert job_config(resolved, by_dataset, "pca", "default", "smap")["window"] == 24
    assert job_config(resolved, by_dataset, "pca", "wide", "smap")["window"] == 32  # the variant's own wins
    assert job_config(resolved, by_dataset, "pca", "wide", "smap")["step"] == 2  # the rest of the entry stays
    assert job_config(resolved, by_dataset, "pca", "default", "smap~entity")["window"] == 24  # a derived split


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"smpa": {"window": 24}}, r"models.pca.dataset_params: \['smpa'\] are not among the config's datasets"),
        ({"smap": {"widnow": 24}}, r"models.pca.variants.default \(with models.pca.dataset_params.smap\).*widnow"),
        ({"smap": {"window": 0}}, r"\(with models.pca.dataset_params.smap\): window and step must be >= 1"),
    ],
)
def test_a_wrong_dataset_params_entry_is_refused_naming_it(entry, message):
    from tsad_models.models.variants import check_dataset_params

    config = {"datasets": ["smap"], "models": {"pca": {"dataset_params": entry, "variants": {"default": {}}}}}
    with pytest.raises(ConfigError, match=message):
        check_dataset_params(config, check_models(config))
