"""Snakemake adapter: a published study's files -> its leaderboard (no retraining)."""

import os

from tsad_models.common.logs import job_logging
from tsad_models.leaderboard.publish import render_published

with job_logging(snakemake.log[0]):
    render_published(os.path.dirname(snakemake.input.study))
