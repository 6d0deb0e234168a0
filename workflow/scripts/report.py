"""Snakemake adapter: tidy leaderboard -> report/leaderboard.{md,html,csv,json,tex} and figures."""

import numpy as np

from tsad_models.common.logs import job_logging
from tsad_models.data.entity import load_entity
from tsad_models.leaderboard.render import render_report
from tsad_models.leaderboard.tables import model_name

p = snakemake.params
with job_logging(snakemake.log[0]):
    traces, scores = [], iter(snakemake.input.trace_scores)
    for dataset, entity, path in zip(p.datasets, p.trace_entities, snakemake.input.trace_entities, strict=True):
        trace = {"dataset": dataset, "entity": entity, "seed": p.trace_seed, "labels": load_entity(path).labels}
        trace["scores"] = {}
        for model, variant in p.models:  # the rule lists the score files in this order
            with np.load(next(scores), allow_pickle=False) as data:
                trace["scores"][model_name(model, variant)] = data["test"]
        traces.append(trace)
    render_report(
        snakemake.input.leaderboard,
        snakemake.input.curves,
        list(snakemake.input.datacards),
        snakemake.input.runtimes,
        p.report_dir,
        sections=list(snakemake.input.sections),
        provenance_csv=snakemake.input.provenance,
        traces=traces,
        split_notes=dict(p.split_notes),
    )
