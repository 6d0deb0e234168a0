"""Snakemake adapter: fit one model variant on one entity, store validation and test scores."""

from tsad_models.common.logs import job_logging
from tsad_models.models.config import build_config
from tsad_models.models.registry import load_model_files, model_config_class
from tsad_models.models.run import fit_and_score

w = snakemake.wildcards
with job_logging(snakemake.log[0], threads=snakemake.threads) as log:
    load_model_files(snakemake.params.model_file)
    config = build_config(
        model_config_class(w.model), dict(snakemake.params.model_config), f"models.{w.model}.variants.{w.variant}"
    )
    log.info("fit %s/%s seed %s on %s/%s with %s", w.model, w.variant, w.seed, w.dataset, w.entity, config)
    fit_and_score(
        entity_path=snakemake.input.entity,
        model=w.model,
        model_config=config,
        seed=int(w.seed),
        device=snakemake.params.device,
        val_fraction=float(snakemake.params.val_fraction),
        scores_path=snakemake.output.scores,
        info_path=snakemake.output.info,
        embeddings=snakemake.params.embeddings,
        config_key=f"models.{w.model} (params, or variants.{w.variant})",
    )
