"""Snakemake adapter: one raw entity -> processed .npz."""

from tsad_models.common.logs import job_logging
from tsad_models.data.cards import resolve_card
from tsad_models.data.preprocess import preprocess_entity
from tsad_models.data.splits import parse_name

with job_logging(snakemake.log[0]):
    base, _ = parse_name(snakemake.wildcards.dataset)  # <dataset>~entity: a split derived from <dataset>
    card = resolve_card(base, snakemake.params.cards_dir, snakemake.params.custom)
    preprocess_entity(
        card,
        snakemake.wildcards.entity,
        snakemake.output[0],
        snakemake.params.constant_channels,
        entity_split=snakemake.params.entity_split,
    )
