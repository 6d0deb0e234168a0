"""Snakemake adapter: processed entities -> datacard.json."""

from tsad_models.common.logs import job_logging
from tsad_models.data.cards import resolve_card
from tsad_models.data.datacard import write_datacard

with job_logging(snakemake.log[0]):
    card = resolve_card(snakemake.wildcards.dataset, snakemake.params.cards_dir, snakemake.params.custom)
    write_datacard(card, list(snakemake.input.entities), snakemake.output[0])
