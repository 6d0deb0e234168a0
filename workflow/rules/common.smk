# Parse-time setup: validate the config, resolve every model variant, list every job.
import os
import sys

from snakemake.utils import validate

REPO_ROOT = os.path.abspath(os.path.join(workflow.basedir, ".."))
# Jobs import tsad_models from this checkout, whichever environment runs them (also a
# --sdm conda one, which cannot pip-install a relative path). The workflow sets this
# variable for its jobs; it asks nothing of the user, so no envvars directive.
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
os.environ.update(
    PYTHONPATH=os.pathsep.join([REPO_ROOT] + [p for p in os.getenv("PYTHONPATH", "").split(os.pathsep) if p])
)

from tsad_models.data.cards import load_card
from tsad_models.data.sources import get_source
from tsad_models.registry import get_model_class, user_model_file
from tsad_models.workflow_config import check_models


validate(config, "../schemas/config.schema.yaml")

RESOLVED = check_models(config)  # {(model, variant): resolved config dict}
CARDS = {name: load_card(config["cards_dir"], name) for name in config["datasets"]}
ENTITIES = {name: card.entities for name, card in CARDS.items()}
SEEDS = [int(s) for s in config["seeds"]]
PROCESSED = "resources/processed"
REPORT_DIR = config["report_dir"]


wildcard_constraints:
    dataset="[A-Za-z0-9_.-]+",
    entity="[A-Za-z0-9_.-]+",
    model="[A-Za-z0-9_.-]+",
    variant="[A-Za-z0-9_.-]+",
    seed="[0-9]+",


def is_deep(model):
    from tsad_models.base import DeepDetector

    return issubclass(get_model_class(model), DeepDetector)


def metric_files():
    return [
        f"results/metrics/{dataset}/{model}/{variant}/seed{seed}.json"
        for dataset in config["datasets"]
        for (model, variant) in RESOLVED
        for seed in SEEDS
    ]


def fit_benchmarks():
    return [
        f"benchmarks/fit/{dataset}/{model}/{variant}/seed{seed}/{entity}.tsv"
        for dataset in config["datasets"]
        for (model, variant) in RESOLVED
        for seed in SEEDS
        for entity in ENTITIES[dataset]
    ]


REPORT_FILES = [
    f"{REPORT_DIR}/leaderboard.md",
    f"{REPORT_DIR}/leaderboard_summary.csv",
    f"{REPORT_DIR}/figures/headline_metrics.png",
    f"{REPORT_DIR}/figures/f1_pa_k_curves.png",
]
