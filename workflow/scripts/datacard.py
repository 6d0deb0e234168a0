"""Snakemake adapter: processed entities -> datacard.json."""

from tsad_models.common.logs import job_logging
from tsad_models.data.cards import resolve_card
from tsad_models.data.datacard import write_datacard
from tsad_models.data.splits import parse_name

with job_logging(snakemake.log[0]):
    base, _ = parse_name(snakemake.wildcards.dataset)  # <dataset>~entity: a split derived from <dataset>
    card = resolve_card(base, snakemake.params.cards_dir, snakemake.params.custom)
    write_datacard(card, list(snakemake.input.entities), snakemake.output[0], name=snakemake.wildcards.dataset)
