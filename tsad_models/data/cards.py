"""Dataset cards: one YAML file per dataset in the repository's ``datasets/`` folder.

A card says where the data comes from (``source``), its licence and citation, its
entities and its train/test convention.  ``load_card`` reads and checks a card;
``card.entities`` lists the entity names the workflow expands over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.errors import ConfigError, DataError
from ..common.yamlfiles import load_yaml
from .source import get_source

# a name becomes a folder name: it starts with a letter or digit (never `.` or `..`)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
NAME_RULE = "may only use letters, digits, '_', '.', '-' and must start with a letter or digit"
REQUIRED_KEYS = ("name", "title", "source", "licence", "citation", "train_test")


@dataclass
class DatasetCard:
    name: str
    source: str
    path: Path
    fields: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        try:
            return self.fields[key]
        except KeyError:
            raise DataError(f"{self.path}: dataset card has no key {key!r}") from None

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def resolve(self, relative: str) -> Path:
        """A path named in the card, relative to the card's folder."""
        return self.path.parent / relative

    @property
    def entities(self) -> list[str]:
        names = get_source(self.source).entities(self)
        for name in names:
            if not NAME_PATTERN.match(name):
                raise DataError(f"{self.path}: entity name {name!r} {NAME_RULE}")
        return names


def load_card(cards_dir: str | Path, name: str) -> DatasetCard:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ConfigError(f"config key datasets: dataset name {name!r} {NAME_RULE}")
    path = Path(cards_dir) / f"{name}.yaml"
    if not path.is_file():
        available = sorted(p.stem for p in Path(cards_dir).glob("*.yaml") if not p.stem.startswith("_"))
        raise ConfigError(
            f"config key datasets: unknown dataset {name!r} (no card {path}); available: {', '.join(available)}"
        )
    try:
        fields = load_yaml(path, "dataset card") or {}
    except ConfigError as exc:
        raise DataError(str(exc)) from None
    if not isinstance(fields, dict):
        raise DataError(f"{path}: a dataset card is a YAML mapping (key: value lines), got {type(fields).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in fields]
    if missing:
        raise DataError(f"{path}: dataset card lacks key(s) {missing}")
    if fields["name"] != name:
        raise DataError(f"{path}: card name {fields['name']!r} differs from its file name {name!r}")
    return DatasetCard(name=name, source=fields["source"], path=path, fields=fields)


def custom_card(name: str, spec: dict) -> DatasetCard:
    """A card for your own TimeEval-format files, from the config key ``custom_datasets``."""
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"config key custom_datasets: name {name!r} {NAME_RULE}")
    unknown = sorted(set(spec) - {"test", "train", "train_fraction", "allow_train_anomalies", "licence", "citation"})
    if unknown or "test" not in spec:
        raise ConfigError(
            f"config key custom_datasets.{name}: needs `test` (and optionally `train`, `train_fraction`, "
            f"`allow_train_anomalies`); unknown keys: {unknown}"
        )
    if spec.get("train") and "train_fraction" in spec:
        raise ConfigError(
            f"config key custom_datasets.{name}: `train` and `train_fraction` together; `train_fraction` cuts the "
            "test file when there is no train file, so one of them would be ignored: keep one"
        )
    for part in ("test", "train"):
        if spec.get(part) and not Path(spec[part]).is_file():
            raise ConfigError(
                f"config key custom_datasets.{name}.{part}: no file {spec[part]} (relative paths start at the "
                f"working directory, {Path.cwd()}); fix the path"
            )
    fields = {
        "name": name,
        "title": f"your data: {spec['test']}",
        "source": "timeeval",
        "licence": spec.get("licence", "yours"),
        "citation": spec.get("citation", ""),
        "train_test": "a separate train file"
        if spec.get("train")
        else f"the first {spec.get('train_fraction', 0.3):.0%} of the file trains, the rest tests",
        **spec,
    }
    return DatasetCard(name=name, source="timeeval", path=Path(spec["test"]), fields=fields)


def resolve_card(name: str, cards_dir: str | Path, custom_datasets: dict | None = None) -> DatasetCard:
    """The card of a configured dataset: your own files (``custom_datasets``) or ``<cards_dir>/<name>.yaml``."""
    if custom_datasets and name in custom_datasets:
        if (Path(cards_dir) / f"{name}.yaml").is_file():
            raise ConfigError(
                f"config key custom_datasets.{name}: {name!r} is the name of a dataset card ({Path(cards_dir) / name}"
                ".yaml); your data would be published under that dataset's name: rename your entry (and in `datasets`)"
            )
        return custom_card(name, custom_datasets[name])
    return load_card(cards_dir, name)
