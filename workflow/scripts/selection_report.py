"""Snakemake adapter: selectors against the true metric -> report/selection.md, its tables and figures."""

from tsad_models.common.logs import job_logging
from tsad_models.leaderboard.selection import render_selection_report

s = snakemake.params.settings
with job_logging(snakemake.log[0]):
    render_selection_report(
        list(snakemake.input.selection),
        snakemake.input.leaderboard,
        metric=s["metric"],
        protocol=s["protocol"],
        defaults=dict(snakemake.params.defaults),
        by_entity=list(s["by_entity"]),
        settings={"augmented_fraction": s["augmented_fraction"], "max_windows": s["max_windows"]},
        out_dir=snakemake.params.report_dir,
    )
