"""Snakemake adapter: metrics JSON files -> tidy leaderboard CSV, PA%K curves, provenance, runtimes."""

from tsad_models.common.logs import job_logging
from tsad_models.leaderboard.collect import collect, collect_runtimes

with job_logging(snakemake.log[0]):
    collect(
        list(snakemake.input.metrics),
        snakemake.output.leaderboard,
        snakemake.output.curves,
        snakemake.output.provenance,
    )
    collect_runtimes(list(snakemake.input.benchmarks), snakemake.output.runtimes)
