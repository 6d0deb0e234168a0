"""Published means current: every committed published study's leaderboard equals what the current report code
renders from the study's own committed files (issue 32). A change to the report that changes a published table
must re-render them (`snakemake published --forcerun published_leaderboard`) in the same commit."""

import shutil

import pytest

from tsad_models.leaderboard.publish import render_published

from .conftest import REPO

pytestmark = pytest.mark.slow
STUDIES = sorted(p for p in (REPO / "report" / "published").iterdir() if (p / "study.json").is_file())
# the committed renderings; leaderboard.csv/.json are not committed (.gitignore: rebuilt in seconds), so a clean
# clone has nothing to compare them with
RENDERED = ["leaderboard.md", "leaderboard.tex", "study.md", "settings.md"]


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.name)
def test_a_published_leaderboard_equals_its_rebuild(study, tmp_path):
    copy = tmp_path / study.name
    shutil.copytree(study, copy, ignore=shutil.ignore_patterns("figures", "*.html", "*.png"))
    render_published(copy)
    for name in RENDERED:
        assert (study / name).is_file(), f"report/published/{study.name}/{name} is missing: publish the study again"
        assert (copy / name).read_text() == (study / name).read_text(), (
            f"report/published/{study.name}/{name} is not what the current code renders from the study's files: "
            "run `.venv/bin/snakemake published --forcerun published_leaderboard --cores 2` and commit the result"
        )
