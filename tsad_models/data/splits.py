"""The evaluation split as a protocol axis: which data trains and which tests.

- ``paper``: the split the dataset's paper used, as its card defines it (SMD/SMAP/MSL/PSM:
  the published train/test files; DSADS: AMSL's pooled shuffle, card ``dsads_amsl``).
- ``time``: per entity, the earlier part trains and the later part tests (DSADS per subject,
  card ``dsads``: in each activity's recording the first 60 % of the segments train).
- ``entity``: leave entities out.  The entities are cut into ``folds`` contiguous groups in
  the configured order; an entity of fold k is tested on its own test split by a model trained
  on the training splits of every entity outside fold k, so it is a subject or machine the
  model has never seen.  Derived in the workflow as the dataset ``<dataset>~entity``.

A card names its own split with the field ``split`` (default ``paper``) and the dataset it
is a split of with ``split_of`` (default its own name): the leaderboard puts the splits of
one ``split_of`` side by side.  Labels never decide what trains: the training part of every
split is a function of the entities' training splits only (tests/test_splits.py).
"""

from __future__ import annotations

import numpy as np

from ..common.errors import ConfigError, DataError
from .entity import Entity

SPLITS = ("paper", "time", "entity")
DERIVED = "~"  # <dataset>~<split>: a split derived from a dataset in the workflow
DERIVABLE = ("entity",)


def derived_name(dataset: str, split: str) -> str:
    return f"{dataset}{DERIVED}{split}"


def parse_name(name: str) -> tuple[str, str | None]:
    """(base dataset, derived split or None) of a dataset name as the workflow uses it."""
    base, _, split = name.partition(DERIVED)
    return base, (split or None)


def card_split(card) -> tuple[str, str]:
    """(split, split_of) a card declares for its own train/test."""
    split = card.get("split", "paper")
    if split not in SPLITS:
        raise DataError(f"{card.path}: split {split!r} is not one of {list(SPLITS)}")
    return split, card.get("split_of", card.name)


def entity_folds(entities: list[str], folds: int) -> list[list[str]]:
    """``folds`` contiguous groups of ``entities`` (their order kept), sizes differing by at most one."""
    if folds < 2 or folds > len(entities):
        raise ConfigError(
            f"an entity split needs 2 <= folds <= the number of entities ({len(entities)}), got folds={folds}"
        )
    return [list(group) for group in np.array_split(np.asarray(entities, dtype=object), folds)]


def fold_of(held_out: str, order: list[str], folds: int) -> tuple[int, list[str]]:
    """(the fold of ``held_out``, the entities of every other fold: those its model trains on)."""
    groups = entity_folds(order, folds)
    fold = next(i for i, group in enumerate(groups) if held_out in group)
    return fold, [name for i, group in enumerate(groups) if i != fold for name in group]


def leave_entities_out(held_out: str, raw: dict[str, Entity], folds: int, order: list[str]) -> Entity:
    """``held_out``'s test split, with the training splits of every entity outside its fold as training data.

    ``raw`` holds (at least) the entities of ``order`` that are outside ``held_out``'s fold, and
    ``held_out`` itself; only the test split of ``held_out`` and the training splits of the
    others are read."""
    fold, trainers = fold_of(held_out, order, folds)
    channels = raw[held_out].channels
    for name in trainers:
        if raw[name].channels != channels:
            raise DataError(
                f"entity split: {name} has channels {raw[name].channels[:4]}..., {held_out} has {channels[:4]}...; "
                "entities of one dataset must share their channels to train one model"
            )
    return Entity(
        name=held_out,
        train=np.concatenate([raw[name].train for name in trainers]),
        test=raw[held_out].test,
        labels=raw[held_out].labels,
        channels=channels,
        meta={
            **raw[held_out].meta,
            "split": "entity",
            "fold": fold,
            "folds": folds,
            "trained_on": trainers,
            "train_test": f"trained on {len(trainers)} entities outside fold {fold} of {folds}, tested on this one",
        },
    )
