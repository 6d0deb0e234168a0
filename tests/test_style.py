"""House style: ruff's lint and format checks (configured in pyproject.toml) pass on the whole tree."""

import subprocess
import sys

import pytest

from .conftest import REPO


def ruff(*args):
    # the pinned ruff of this environment (the test extra), not whichever is first on PATH
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=REPO, capture_output=True, text=True)


@pytest.mark.parametrize("args", [("check", "."), ("format", "--check", ".")])
def test_ruff_is_clean(args):
    result = ruff(*args)
    assert result.returncode == 0, f"ruff {' '.join(args)}:\n{result.stdout}{result.stderr}"
