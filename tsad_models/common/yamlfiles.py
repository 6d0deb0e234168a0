"""YAML files a person writes (workflow configs, dataset cards), read strictly: a syntax error or a key given
twice in one mapping is an error naming the file and the line. PyYAML (and Snakemake's config loading)
keep the later of two equal keys without a word, which drops, e.g., every model of a pasted second
``models:`` block."""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import ConfigError


class _UniqueKeys(yaml.SafeLoader):
    path = "?"


def _mapping(loader: _UniqueKeys, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise ConfigError(
                f"{loader.path}: line {line}: key {key!r} is given twice in one mapping (first on line {seen[key]}); "
                "YAML would keep only the later one, silently: merge the two"
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: str | Path, what: str = "file"):
    """The YAML document in ``path``; ConfigError for invalid YAML or a repeated key (``what`` names the kind of
    file in the fix, e.g. "dataset card")."""
    text = Path(path).read_text(encoding="utf-8")
    loader = _UniqueKeys(text)
    loader.path = str(path)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"{path}: not valid YAML{where} ({problem}); fix the {what}") from None
    finally:
        loader.dispose()
