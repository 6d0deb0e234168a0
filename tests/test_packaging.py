"""The three dependency lists (pyproject, environment.yml, the rules' conda env) must agree."""

import sys

import yaml

from .conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _pip_entries(path):
    env = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {entry.replace(" ", "") for entry in pip if not entry.startswith("-e")}


def test_dependency_lists_agree():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {d.replace(" ", "") for d in project["dependencies"]}
    extras = project["optional-dependencies"]
    workflow_extra = {d.replace(" ", "") for d in extras["workflow"]}
    test_extra = {d.replace(" ", "") for d in extras["test"]}
    assert _pip_entries(REPO / "environment.yml") == runtime | workflow_extra | test_extra
    # the rules' environment: runtime + data packages and readers (snakemake itself runs the rules)
    data = {"aeon==1.6.0", "timeeval-gutentag==1.5.0", "pyarrow>=14"}
    assert _pip_entries(REPO / "workflow/envs/tsad.yaml") == runtime | data


def test_torch_pin_admits_the_tested_version_and_nothing_newer_than_2_14_1():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    torch_spec = next(d for d in project["dependencies"] if d.startswith("torch"))
    assert "<=2.14.1" in torch_spec
