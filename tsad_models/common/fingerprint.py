"""Code fingerprints: the package files a job runs, found by reading import statements, and their digest.

Snakemake reruns a job when the rule's own script changes, not when the package code the
script imports does.  The workflow gives each rule a param holding the digest of every
file of the package its job can import (the closure of the script's imports, lazy ones
inside functions included, plus the modules named at run time: the model's file, the
dataset source's module).  Snakemake compares params with those recorded for each output,
so an edit reruns exactly the jobs whose code it touched, and what depends on their outputs.

Two modules are tables of contents, not code a job runs: ``tsad_models.models`` (model
name -> module) and ``tsad_models.data.sources`` (source name -> module).  They are left
out, and so are the imports they would lead to: a job depends on its own entry, whose
module is added by name; adding a model or a source to a table reruns nothing else.

The closure is a static over-approximation: a lazily imported module counts even in a job
that never reaches the import.  That can rerun a job needlessly, never miss an edit.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

PACKAGE = "tsad_models"
TABLES_OF_CONTENTS = frozenset({"tsad_models.models", "tsad_models.data.sources"})


class PackageCode:
    """The source files of the package in ``package_dir`` and the imports between them."""

    def __init__(self, package_dir: str | Path):
        self.root = Path(package_dir).resolve()
        self._imports: dict[Path, frozenset[str]] = {}

    def module_file(self, module: str) -> Path | None:
        """The file of a module of the package: ``a/b.py``, ``a/b/__init__.py``, or ``a/b.c`` (a C extension)."""
        if module != PACKAGE and not module.startswith(PACKAGE + "."):
            return None
        if module == PACKAGE:
            return self.root / "__init__.py"
        relative = Path(*module.split(".")[1:])
        for candidate in (
            self.root / relative.with_suffix(".py"),
            self.root / relative / "__init__.py",
            self.root / relative.with_suffix(".c"),
        ):
            if candidate.is_file():
                return candidate
        return None

    def module_name(self, path: Path) -> str | None:
        """The module a file of the package defines; None for a file outside it."""
        path = Path(path).resolve()
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return None
        parts = [PACKAGE, *relative.with_suffix("").parts]
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    def imports(self, path: Path) -> frozenset[str]:
        """The package modules a file imports, anywhere in it (a C file imports nothing)."""
        if path not in self._imports:
            self._imports[path] = self._read_imports(path) if path.suffix == ".py" else frozenset()
        return self._imports[path]

    def _read_imports(self, path: Path) -> frozenset[str]:
        module = self.module_name(path)
        package = module if module and path.name == "__init__.py" else (module.rpartition(".")[0] if module else None)
        found = set()
        for base, names in import_statements(path.read_text(), package, filename=str(path)):
            for name in names:  # `from a import b`: b may be a module or a name defined in a
                submodule = f"{base}.{name}" if name else base
                found.add(submodule if self.module_file(submodule) else base)
        return frozenset(m for m in found if self.module_file(m) is not None)

    def closure(self, *, modules: tuple[str, ...] = (), files: tuple[str | Path, ...] = ()) -> list[Path]:
        """Every package file the given modules and files can import (with their parent packages)."""
        seen: set[Path] = set()
        pending = [Path(f).resolve() for f in files]
        pending += [self._file(m) for m in modules]
        while pending:
            path = pending.pop()
            if path in seen:
                continue
            seen.add(path)
            for module in self.imports(path) | self._parents(self.module_name(path)):
                if module not in TABLES_OF_CONTENTS:
                    pending.append(self._file(module))
        return sorted(seen)

    def digest(self, *, modules: tuple[str, ...] = (), files: tuple[str | Path, ...] = ()) -> str:
        """sha256 (16 hex digits) of the names and contents of ``closure(...)``."""
        hasher = hashlib.sha256()
        for path in self.closure(modules=modules, files=files):
            name = self.module_name(path) or path.name
            hasher.update(f"{name}\0".encode())
            hasher.update(path.read_bytes())
        return hasher.hexdigest()[:16]

    def _file(self, module: str) -> Path:
        path = self.module_file(module)
        if path is None:
            raise ValueError(f"{module} is not a module of {self.root}")
        return path

    @staticmethod
    def _parents(module: str | None) -> set[str]:
        if not module:
            return set()
        parts = module.split(".")
        return {".".join(parts[:i]) for i in range(1, len(parts))}


def import_statements(source: str, package: str | None, filename: str = "<source>") -> list[tuple[str, list[str]]]:
    """``(module, [names])`` of every import in ``source``, relative ones resolved against
    ``package``; ``import a.b`` gives ``("a.b", [""])``.  Imports under ``if TYPE_CHECKING:``
    run no code and are left out; imports inside functions (lazy ones) are in."""
    out = []
    tree = ast.parse(source, filename=filename)
    type_only = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If) and _is_type_checking(branch.test)
        for stmt in branch.body
        for node in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            out.extend((alias.name, [""]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if package is None:
                    continue  # a relative import outside the package: not ours
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module
            out.append((base, [alias.name for alias in node.names]))
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )
