"""Snakemake adapter: stored scores of every entity -> metrics JSON."""

from tsad_models.common.files import save_json_atomic
from tsad_models.common.logs import job_logging
from tsad_models.evaluate import evaluate_job
from tsad_models.metrics.panel import EvalSettings

w = snakemake.wildcards
with job_logging(snakemake.log[0]):
    entities = list(snakemake.params.entities)
    evaluation = dict(snakemake.params.evaluation)
    settings = EvalSettings(**{**evaluation, "protocols": tuple(evaluation["protocols"])})
    result = evaluate_job(
        processed=dict(zip(entities, snakemake.input.processed, strict=True)),
        scores=dict(zip(entities, snakemake.input.scores, strict=True)),
        settings=settings,
        ids={"dataset": w.dataset, "model": w.model, "variant": w.variant, "seed": int(w.seed)},
    )
    save_json_atomic(snakemake.output[0], result)
