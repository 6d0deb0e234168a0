"""Snakemake adapter: tidy leaderboard -> report/leaderboard.md and figures."""

from tsad_models.common.logs import job_logging
from tsad_models.leaderboard.render import render_report

with job_logging(snakemake.log[0]):
    render_report(
        snakemake.input.leaderboard,
        snakemake.input.curves,
        list(snakemake.input.datacards),
        snakemake.input.runtimes,
        snakemake.params.report_dir,
        sections=list(snakemake.input.sections),
    )
