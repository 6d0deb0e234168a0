"""The package's shape: one folder per stage, imports in one direction, no cycles, and the
code fingerprints the workflow derives from the imports."""

import ast
from pathlib import Path

import pytest

from tsad_models.common.fingerprint import TABLES_OF_CONTENTS, PackageCode, import_statements

from .conftest import REPO

PACKAGE_DIR = REPO / "tsad_models"
CODE = PackageCode(PACKAGE_DIR)

# stage -> the stages its modules may import (the data flow: data -> models -> scores -> metrics
# and selection -> leaderboard)
ALLOWED = {
    "common": {"common"},
    "data": {"common", "data"},
    "augment": {"common", "augment"},
    "models": {"common", "data", "augment", "models"},
    "metrics": {"common", "metrics"},
    "selection": {"common", "selection"},  # reads stored score files: never data (labels) or metrics
    "evaluate": {"common", "data", "metrics"},
    "leaderboard": {"common", "leaderboard"},
    "cli": {"common", "metrics", "leaderboard"},
    "": set(),  # tsad_models/__init__.py
}


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def package_files():
    return sorted(p for p in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts)


def import_graph() -> dict[str, set[str]]:
    return {CODE.module_name(path): set(CODE.imports(path)) for path in package_files()}


def test_top_level_is_one_folder_per_stage():
    top = sorted(p.name for p in PACKAGE_DIR.iterdir() if p.name != "__pycache__" and not p.name.startswith("."))
    assert top == [
        "__init__.py",
        "augment",
        "cli.py",
        "common",
        "data",
        "evaluate.py",
        "leaderboard",
        "metrics",
        "models",
        "selection",
    ]


@pytest.mark.parametrize("module", sorted(import_graph()))
def test_imports_go_one_way(module):
    allowed = ALLOWED[stage(module)]
    wrong = sorted(m for m in import_graph()[module] if stage(m) not in allowed | {""})
    assert not wrong, (
        f"{module} ({stage(module) or 'package root'}) imports {wrong}; it may import only {sorted(allowed)}"
    )


def test_no_import_cycles():
    graph = import_graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(module, path):
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_nothing_in_the_package_imports_snakemake():
    for path in package_files():
        modules = [base for base, _ in import_statements(path.read_text(), "tsad_models", str(path))]
        assert not [m for m in modules if m and m.split(".")[0] == "snakemake"], path


@pytest.mark.parametrize("module", sorted(TABLES_OF_CONTENTS))
def test_the_tables_of_contents_are_only_tables(module):
    """The code fingerprints leave these modules out: no logic may hide there, only name -> module."""
    tree = ast.parse(CODE.module_file(module).read_text())
    docstring, *tables = tree.body
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant) and tables
    for table in tables:
        assert isinstance(table, ast.Assign) and isinstance(table.value, ast.Dict)
        entries = table.value.keys + table.value.values
        assert all(isinstance(node, ast.Constant) and isinstance(node.value, str) for node in entries)
        assert all(CODE.module_file(value.value) is not None for value in table.value.values)


def _names(paths, code=CODE):
    return {code.module_name(p) or p.name for p in paths}


def test_closure_follows_lazy_imports_and_skips_the_tables():
    latad = _names(CODE.closure(modules=("tsad_models.models.latad",)))
    assert {"tsad_models.augment", "tsad_models.models.trainer", "tsad_models.models.kmeans"} <= latad
    assert "tsad_models.models" not in latad  # the table of contents
    autoencoder = _names(CODE.closure(modules=("tsad_models.models.autoencoder",)))
    assert "tsad_models.augment" not in autoencoder and "tsad_models.models.trainer" in autoencoder
    # a family's module is named at run time for its members only (pyod:ECOD), not for every job
    fit_score = _names(CODE.closure(files=(REPO / "workflow/scripts/fit_score.py",)))
    assert "tsad_models.models.registry" in fit_score and "tsad_models.models.pyod_adapter" not in fit_score
    evaluate = _names(CODE.closure(files=(REPO / "workflow/scripts/evaluate.py",)))
    assert "tsad_models.metrics._kernels" in evaluate  # the C source of the compiled kernels
    assert not any(m.startswith("tsad_models.leaderboard") for m in evaluate if m)


def test_digest_changes_with_the_code_and_only_with_it(tmp_path):
    package = tmp_path / "tsad_models"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "a.py").write_text("def f():\n    from . import b\n    return b.g()\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\ndef g():\n    return 1\n"
    )
    (package / "sub" / "c.py").write_text("X = 1\n")
    code = PackageCode(package)
    before = code.digest(modules=("tsad_models.sub.a",))
    assert _names(code.closure(modules=("tsad_models.sub.a",)), code) == {
        "tsad_models",
        "tsad_models.sub",
        "tsad_models.sub.a",
        "tsad_models.sub.b",
    }  # c: type-only import
    (package / "sub" / "c.py").write_text("X = 2\n")
    assert PackageCode(package).digest(modules=("tsad_models.sub.a",)) == before
    (package / "sub" / "b.py").write_text(Path(package / "sub" / "b.py").read_text() + "# an edit\n")
    assert PackageCode(package).digest(modules=("tsad_models.sub.a",)) != before


def test_the_workflow_declares_every_figure_the_report_draws():
    import re

    from tsad_models.leaderboard.figures import FIGURES

    common = (REPO / "workflow/rules/common.smk").read_text()
    declared = re.search(r"REPORT_FIGURES = \[(.*?)\]", common, re.S).group(1)
    assert re.findall(r'"(\w+)"', declared) == FIGURES
    captions = {p.stem for p in (REPO / "workflow/report").glob("*.rst")}
    assert set(FIGURES) <= captions, sorted(set(FIGURES) - captions)


def test_the_step_body_is_written_once():
    """Only the base's ``optimizer_step`` calls backward, clips, steps an optimizer or clears gradients: a model
    returns its loss (``training_loss``) or, with several optimizers, calls ``optimizer_step`` (issue 27)."""
    step_calls = {"backward", "zero_grad", "clip_grad_norm_", "clip_grad_value_"}
    found = []
    for path in sorted((PACKAGE_DIR / "models").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name, owner = node.func.attr, node.func.value
            stepping = name == "step" and "optim" in ast.unparse(owner) and "sched" not in ast.unparse(owner)
            if name in step_calls or stepping:
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}")
    assert found and all(entry.startswith("base.py:") for entry in found), found
    assert len(found) == 5, found  # one backward, two clip modes, one step, one clear
