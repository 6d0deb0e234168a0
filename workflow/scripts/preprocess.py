"""Snakemake adapter: one raw entity -> processed .npz."""

from tsad_models.common.logs import job_logging
from tsad_models.data.cards import resolve_card
from tsad_models.data.preprocess import preprocess_entity

with job_logging(snakemake.log[0]):
    card = resolve_card(snakemake.wildcards.dataset, snakemake.params.cards_dir, snakemake.params.custom)
    preprocess_entity(card, snakemake.wildcards.entity, snakemake.output[0], snakemake.params.constant_channels)
