"""Snakemake adapter: fetch and verify a dataset's raw files (mirror first), then write verified.json."""

from tsad_models.common.files import save_json_atomic
from tsad_models.common.logs import job_logging
from tsad_models.data.cards import load_card
from tsad_models.data.download import download_dataset

with job_logging(snakemake.log[0]):
    card = load_card(snakemake.params.cards_dir, snakemake.wildcards.dataset)
    record = download_dataset(card, list(snakemake.params.entities), "resources/raw", snakemake.params.mirror)
    save_json_atomic(snakemake.output[0], record)
