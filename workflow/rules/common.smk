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
from tsad_models.data.plan import plan_datasets
from tsad_models.data.splits import parse_name
from tsad_models.data.source import get_source, source_module
from tsad_models.models.registry import get_model_class, user_model_file
from tsad_models.models.variants import check_dataset_params, check_models, check_selection, job_config


# a key given twice in a config file (e.g. a pasted second `models:` block) would silently drop the first
from tsad_models.common.yamlfiles import load_yaml

for configfile_path in workflow.overwrite_configfiles or [Path("config/config.yaml")]:
    if Path(configfile_path).is_file():
        load_yaml(configfile_path, "config file")

validate(config, "../schemas/config.schema.yaml")

RESOLVED = check_models(config)  # {(model, variant): resolved config dict}
BY_DATASET = check_dataset_params(config, RESOLVED)  # {(model, variant, dataset): config} where dataset_params set one
SELECTION = config.get("selection") or {}
SELECTION_DEFAULTS = check_selection(config, RESOLVED)  # {model: default variant}; {} = no selection study
# The datasets, their entities and the stricter splits derived from them (<dataset>~entity: each entity
# tested by a model trained on the entities of the other folds); tools/gpu_hours.py plans with the same code.
PLAN = plan_datasets(config, config["cards_dir"], RESOLVED)
CARDS, ENTITIES = PLAN.cards, PLAN.entities
ENTITY_SPLITS, SPLIT_NOTES = PLAN.entity_splits, PLAN.split_notes
DATASETS = PLAN.datasets  # every dataset the jobs run on


def variants_on(dataset):
    """The (model, variant) pairs run on a dataset: all, or on a derived split those of `split_models`."""
    return PLAN.variants_on(dataset, RESOLVED)


SEEDS = [int(s) for s in config["seeds"]]
PROCESSED = "resources/processed"
REPORT_DIR = config["report_dir"]


wildcard_constraints:
    dataset="[A-Za-z0-9_.-]+(?:~entity)?",  # <dataset>~entity: a split derived from a dataset
    entity="[A-Za-z0-9_.-]+",
    model="[A-Za-z0-9_.-]+(?::[A-Za-z0-9_]+)?",  # pyod:<Class> names a PyOD detector
    variant="[A-Za-z0-9_.-]+(?:~testnorm)?",  # <variant>~testnorm: run with normalise: test (config level)
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


def fit_jobs():
    """(dataset, model, variant, seed, entity) of every fit job."""
    for dataset in DATASETS:
        for model, variant in variants_on(dataset):
            for seed in SEEDS:
                for entity in ENTITIES[dataset]:
                    yield dataset, model, variant, seed, entity


def fit_benchmarks():
    return [f"benchmarks/fit/{d}/{m}/{v}/seed{s}/{e}.tsv" for d, m, v, s, e in fit_jobs()]


def kept_intermediates():
    """The processed series and the stored scores: files the project keeps (`tsad-bench evaluate`
    and the published studies re-read them), so they are targets of `all` as well. Snakemake does not
    remake a missing file whose consumers are up to date: a job killed while it was remaking one of
    these (its old output deleted) would otherwise leave it missing after a completed rerun."""
    processed = [f"{PROCESSED}/{dataset}/{entity}.npz" for dataset in DATASETS for entity in ENTITIES[dataset]]
    scores = [
        f"results/scores/{d}/{m}/{v}/seed{s}/{e}.{suffix}" for d, m, v, s, e in fit_jobs() for suffix in ("npz", "json")
    ]
    # the metrics files and benchmark records too: a killed `--forcerun evaluate` deletes a metrics file,
    # and without this the plain rerun would find the leaderboard up to date and leave it missing
    return processed + scores + metric_files() + fit_benchmarks()


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
