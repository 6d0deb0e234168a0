#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv and install tsad-bench
# with the workflow and test extras. Idempotent: rerunning only installs what is missing.
#   TORCH_SPEC   which torch to install when none is present (default torch==2.13.0;
#                on a CUDA machine pick the build you need, e.g. from the PyTorch index)
#   PYTHON       interpreter used to create the venv (default python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PY=.venv/bin/python
"$PY" -m pip install -q --upgrade pip
if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "[setup] installing $TORCH_SPEC"
  "$PY" -m pip install -q "$TORCH_SPEC"
fi
echo "[setup] installing tsad-bench (editable) with workflow and test extras"
"$PY" -m pip install -q -e ".[workflow,test]"
# the HTML leaderboard's test drives Debian's headless Chromium (tests/test_html_leaderboard.py skips without it)
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "[setup] installing chromium and chromium-driver (apt)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }; then
      echo "[setup] warning: apt could not install chromium/chromium-driver; the browser test will skip" >&2
    fi
  else
    echo "[setup] no /usr/bin/chromium or /usr/bin/chromedriver: the browser test will skip" \
      "(as root: apt-get install chromium chromium-driver)"
  fi
fi
# the SLURM test runs the workflow on a one-node cluster that tools/slurm_local.sh starts from
# Debian's Slurm (tests/test_slurm.py skips without it, or when not root)
if [ ! -x /usr/sbin/slurmctld ] || [ ! -x /usr/sbin/slurmd ] || [ ! -x /usr/sbin/munged ] || ! command -v sinfo >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "[setup] installing slurmctld slurmd slurm-client munge (apt)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      slurmctld slurmd slurm-client munge; }; then
      echo "[setup] warning: apt could not install the Slurm packages; the SLURM test will skip" >&2
    fi
  else
    echo "[setup] no Slurm (slurmctld, slurmd, munged, sinfo): the SLURM test will skip" \
      "(as root: apt-get install --no-install-recommends slurmctld slurmd slurm-client munge)"
  fi
fi
"$PY" -c "import tsad_models, torch, snakemake; print('[setup] ok: torch', torch.__version__, '| snakemake', snakemake.__version__)"
