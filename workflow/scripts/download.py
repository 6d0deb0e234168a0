"""Snakemake adapter: fetch and verify a dataset's raw files (mirror first); verified.json is the record."""

from tsad_models.common.logs import job_logging
from tsad_models.data.cards import load_card
from tsad_models.data.download import download_dataset

with job_logging(snakemake.log[0]):
    card = load_card(snakemake.params.cards_dir, snakemake.wildcards.dataset)
    # it writes resources/raw/<dataset>/verified.json, this rule's output, last
    download_dataset(card, list(snakemake.params.entities), "resources/raw", snakemake.params.mirror)
