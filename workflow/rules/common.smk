# Parse-time setup: validate the config, resolve every model variant, list every job.
import functools
import inspect
import os
import sys
from pathlib import Path

from snakemake.utils import validate

# this file is <repo>/workflow/rules/common.smk, whichever Snakefile included it
REPO_ROOT = str(Path(workflow.current_basedir).resolve().parents[1])
# Jobs import tsad_models from this checkout, whichever environment runs them (also a
# --sdm conda one, which cannot pip-install a relative path). The workflow sets this
# variable for its jobs; it asks nothing of the user, so no envvars directive.
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
os.environ.update(
    PYTHONPATH=os.pathsep.join([REPO_ROOT] + [p for p in os.getenv("PYTHONPATH", "").split(os.pathsep) if p])
)

import tsad_models
from tsad_models.common.fingerprint import PackageCode
from tsad_models.data.cards import resolve_card
from tsad_models.data.splits import derived_name, parse_name
from tsad_models.data.source import get_source, source_module
from tsad_models.models.registry import get_model_class, user_model_file
from tsad_models.models.variants import check_models, check_selection


validate(config, "../schemas/config.schema.yaml")

RESOLVED = check_models(config)  # {(model, variant): resolved config dict}
SELECTION = config.get("selection") or {}
SELECTION_DEFAULTS = check_selection(config, RESOLVED)  # {model: default variant}; {} = no selection study
unlisted_custom = sorted(set(config["custom_datasets"]) - set(config["datasets"]))
if unlisted_custom:  # defined but never run would be a silent no-op
    raise ValueError(
        f"config key custom_datasets: {unlisted_custom} defined but not listed in `datasets`; "
        "add them to `datasets` to run them, or delete their entries"
    )
CARDS = {name: resolve_card(name, config["cards_dir"], config["custom_datasets"]) for name in config["datasets"]}


def chosen_entities(name, card):
    """The entities of a dataset to run: all of the card's, or the config's `entities` subset."""
    wanted = config["entities"].get(name)
    if wanted is None:
        return card.entities
    unknown = sorted(set(wanted) - set(card.entities))
    if unknown:
        raise ValueError(f"config key entities.{name}: unknown entities {unknown}; the card {card.path} lists {card.entities[:5]}...")
    return list(wanted)


unknown_datasets = sorted(set(config["entities"]) - set(config["datasets"]))
if unknown_datasets:
    raise ValueError(f"config key entities: datasets {unknown_datasets} are not in `datasets`")
ENTITIES = {name: chosen_entities(name, card) for name, card in CARDS.items()}

# Stricter splits derived from a listed dataset (tsad_models/data/splits.py): <dataset>~entity has the same
# entities, each tested by a model trained on the entities of the other folds. A split that cannot apply
# (fewer entities than folds) is said in the report (SPLIT_NOTES), not silently dropped.
ENTITY_SPLITS, SPLIT_NOTES = {}, {}
for base, spec in config["splits"].items():
    if base not in CARDS:
        raise ValueError(f"config key splits.{base}: {base!r} is not in `datasets`; add it there or delete the entry")
    folds = int(spec["entity"].get("folds", 2)) if "entity" in spec else None
    if folds is None:
        continue
    if len(ENTITIES[base]) < folds:
        SPLIT_NOTES[CARDS[base].get("split_of", base)] = (
            f"the entity split cannot apply to {base}: it has {len(ENTITIES[base])} entit"
            f"{'y' if len(ENTITIES[base]) == 1 else 'ies'}, fewer than its {folds} folds"
        )
        continue
    derived = derived_name(base, "entity")
    ENTITY_SPLITS[derived] = {"folds": folds, "entities": ENTITIES[base]}
    CARDS[derived], ENTITIES[derived] = CARDS[base], ENTITIES[base]
unknown_split_models = sorted(set(config["split_models"]) - {model for model, _ in RESOLVED})
if unknown_split_models:
    raise ValueError(f"config key split_models: {unknown_split_models} are not under `models`")
DATASETS = list(config["datasets"]) + list(ENTITY_SPLITS)  # every dataset the jobs run on


def variants_on(dataset):
    """The (model, variant) pairs run on a dataset: all, or on a derived split those of `split_models`."""
    if dataset in ENTITY_SPLITS and config["split_models"]:
        return [(m, v) for (m, v) in RESOLVED if m in config["split_models"]]
    return list(RESOLVED)
SEEDS = [int(s) for s in config["seeds"]]
PROCESSED = "resources/processed"
REPORT_DIR = config["report_dir"]


wildcard_constraints:
    dataset="[A-Za-z0-9_.-]+(?:~entity)?",  # <dataset>~entity: a split derived from a dataset
    entity="[A-Za-z0-9_.-]+",
    model="[A-Za-z0-9_.-]+(?::[A-Za-z0-9_]+)?",  # pyod:<Class> names a PyOD detector
    variant="[A-Za-z0-9_.-]+",
    seed="[0-9]+",


PACKAGE_DIR = Path(tsad_models.__file__).parent  # the code the jobs import
CODE = PackageCode(PACKAGE_DIR)
SCRIPTS_DIR = Path(REPO_ROOT) / "workflow" / "scripts"


@functools.cache
def code_of(script, modules=(), files=()):
    """Digest of the package code a rule's script can run: as a rule param, an edit reruns
    exactly the jobs that run the edited code (tsad_models/common/fingerprint.py)."""
    return CODE.digest(modules=modules, files=(SCRIPTS_DIR / script, *files))


def data_code(script, dataset):
    """A data job's code: its script's imports and the module of the dataset's source."""
    return code_of(script, modules=(source_module(CARDS[dataset].source),))


def model_code(model):
    """The fit job's code: its script's imports and the model's own file (with its imports)."""
    return code_of("fit_score.py", files=(inspect.getsourcefile(get_model_class(model)),))


def is_downloaded(dataset):
    return get_source(CARDS[dataset].source).downloads


def raw_inputs(dataset):
    """What preprocessing needs besides the card: the source's local files, or the download stamp."""
    card = CARDS[dataset]
    stamp = [f"resources/raw/{card.name}/verified.json"] if is_downloaded(dataset) else []
    return [str(p) for p in get_source(card.source).inputs(card)] + stamp


def is_deep(model):
    from tsad_models.models.base import DeepDetector

    return issubclass(get_model_class(model), DeepDetector)


def metric_files():
    return [
        f"results/metrics/{dataset}/{model}/{variant}/seed{seed}.json"
        for dataset in DATASETS
        for (model, variant) in variants_on(dataset)
        for seed in SEEDS
    ]


def fit_benchmarks():
    return [
        f"benchmarks/fit/{dataset}/{model}/{variant}/seed{seed}/{entity}.tsv"
        for dataset in DATASETS
        for (model, variant) in variants_on(dataset)
        for seed in SEEDS
        for entity in ENTITIES[dataset]
    ]


def kept_intermediates():
    """The processed series and the stored scores: files the project keeps (`tsad-bench evaluate`
    and the published studies re-read them), so they are targets of `all` as well. Snakemake does not
    remake a missing file whose consumers are up to date: a job killed while it was remaking one of
    these (its old output deleted) would otherwise leave it missing after a completed rerun."""
    return [
        f"{PROCESSED}/{dataset}/{entity}.npz" for dataset in DATASETS for entity in ENTITIES[dataset]
    ] + [
        f"results/scores/{dataset}/{model}/{variant}/seed{seed}/{entity}.{suffix}"
        for dataset in DATASETS
        for (model, variant) in variants_on(dataset)
        for seed in SEEDS
        for entity in ENTITIES[dataset]
        for suffix in ("npz", "json")
    ]


def selection_embeddings(model):
    """The fit job's embedding settings (stored with its scores for DSV), or None for a model not under selection."""
    if model not in SELECTION_DEFAULTS:
        return None
    return {"augmented_fraction": SELECTION["augmented_fraction"], "max_windows": SELECTION["max_windows"]}


SELECTION_FILES = (
    [
        f"{REPORT_DIR}/selection.md",
        f"{REPORT_DIR}/selection_summary.csv",
        f"{REPORT_DIR}/selection_units.csv",
        f"{REPORT_DIR}/figures/snooping_gap.png",
    ]
    + [f"{REPORT_DIR}/figures/augmentation_heatmap_{model}.png" for model in sorted(SELECTION_DEFAULTS)]
    if SELECTION_DEFAULTS
    else []
)

REPORT_FIGURES = [
    "headline_metrics",
    "f1_pa_k_curves",
    "seed_spread",
    "ablation_deltas",
    "runtime_memory",
    "score_traces",
    "split_comparison",
    "cd_datasets",
    "cd_entities",
]  # = tsad_models.leaderboard.figures.FIGURES (tests/test_workflow.py checks)
REPORT_FILES = [
    f"{REPORT_DIR}/leaderboard.{suffix}" for suffix in ("md", "html", "csv", "json", "tex")
] + [f"{REPORT_DIR}/figures/{name}.png" for name in REPORT_FIGURES] + SELECTION_FILES
