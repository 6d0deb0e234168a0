"""Which datasets and entities a config runs, and on which of them each model variant runs.

One function for the workflow (``workflow/rules/common.smk``, at parse time) and for
``tools/gpu_hours.py`` (which counts a config's jobs without running it), so that both
list the same jobs: the config's datasets with their chosen entities, plus the stricter
splits derived from them (``<dataset>~entity``, ``splits.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..common.errors import ConfigError
from .cards import resolve_card
from .splits import derived_name


@dataclass
class DatasetPlan:
    cards: dict  # {dataset: card}; a derived split shares its base dataset's card
    entities: dict  # {dataset: [entity, ...]}
    entity_splits: dict = field(default_factory=dict)  # {<base>~entity: {folds, entities}}
    split_notes: dict = field(default_factory=dict)  # {split_of: why a configured split cannot apply}
    unlisted: dict = field(default_factory=dict)  # {dataset: why its card cannot list entities} (lenient only)
    split_models: list = field(default_factory=list)  # the models run on derived splits ([] = all)

    @property
    def datasets(self) -> list[str]:
        """Every dataset the jobs run on: the configured ones, then the derived splits."""
        return list(self.entities)

    def variants_on(self, dataset: str, resolved) -> list[tuple[str, str]]:
        """The (model, variant) pairs of ``resolved`` run on ``dataset``: all, or on a derived split
        those of the config key ``split_models``."""
        if dataset in self.entity_splits and self.split_models:
            return [(m, v) for (m, v) in resolved if m in self.split_models]
        return list(resolved)


def plan_datasets(config: dict, cards_dir, resolved, *, lenient: bool = False) -> DatasetPlan:
    """The datasets, entities and derived splits of ``config`` (validated against its schema);
    ``resolved``: its model variants ({(model, variant): config}).  ``lenient``: a card that cannot
    list its entities without its files is noted in ``unlisted`` instead of raising (a cost estimate)."""
    unlisted_custom = sorted(set(config["custom_datasets"]) - set(config["datasets"]))
    if unlisted_custom:  # defined but never run would be a silent no-op
        raise ConfigError(
            f"config key custom_datasets: {unlisted_custom} defined but not listed in `datasets`; "
            "add them to `datasets` to run them, or delete their entries"
        )
    unknown_datasets = sorted(set(config["entities"]) - set(config["datasets"]))
    if unknown_datasets:
        raise ConfigError(f"config key entities: datasets {unknown_datasets} are not in `datasets`")
    unknown_split_models = sorted(set(config["split_models"]) - {model for model, _ in resolved})
    if unknown_split_models:
        raise ConfigError(f"config key split_models: {unknown_split_models} are not under `models`")

    plan = DatasetPlan(cards={}, entities={}, split_models=list(config["split_models"]))
    for name in config["datasets"]:
        card = plan.cards[name] = resolve_card(name, cards_dir, config["custom_datasets"])
        wanted = config["entities"].get(name)
        try:
            listed = card.entities
        except Exception as exc:
            if not lenient:
                raise
            if wanted is None:
                plan.unlisted[name] = f"{type(exc).__name__}: {exc}"
                continue
            listed = list(wanted)
        if wanted is not None:
            unknown = sorted(set(wanted) - set(listed))
            if unknown:
                raise ConfigError(
                    f"config key entities.{name}: unknown entities {unknown}; "
                    f"the card {card.path} lists {listed[:5]}..."
                )
        plan.entities[name] = list(wanted) if wanted is not None else list(listed)

    # stricter splits derived from a listed dataset; one that cannot apply (fewer entities than folds)
    # is said in the report, not silently dropped
    for base, spec in config["splits"].items():
        if base not in plan.cards:
            raise ConfigError(
                f"config key splits.{base}: {base!r} is not in `datasets`; add it there or delete the entry"
            )
        if "entity" not in spec or base not in plan.entities:
            continue
        folds, entities = int(spec["entity"].get("folds", 2)), plan.entities[base]
        if len(entities) < folds:
            plan.split_notes[plan.cards[base].get("split_of", base)] = (
                f"the entity split cannot apply to {base}: it has {len(entities)} entit"
                f"{'y' if len(entities) == 1 else 'ies'}, fewer than its {folds} folds"
            )
            continue
        derived = derived_name(base, "entity")
        plan.entity_splits[derived] = {"folds": folds, "entities": entities}
        plan.cards[derived], plan.entities[derived] = plan.cards[base], entities
    return plan
