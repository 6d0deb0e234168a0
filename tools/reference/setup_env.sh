#!/usr/bin/env bash
# A separate virtual environment with the reference implementations, which pin numpy<2
# and so cannot share the project's environment: TSB-AD 1.5 (its evaluation code only:
# installed without its model dependencies) and prts 1.0.0.3 (Tatbul's range metrics).
#   usage: bash tools/reference/setup_env.sh [VENV_DIR]   (default .venv-reference)
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${1:-.venv-reference}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "numpy>=1.24,<2" "scikit-learn>=1.3,<1.6" "scipy<1.14"
"$VENV/bin/python" -m pip install -q --no-deps "tsb-ad==1.5" "prts==1.0.0.3"
"$VENV/bin/python" -c "from TSB_AD.evaluation.metrics import get_metrics; import prts, numpy; print('[reference env] ok, numpy', numpy.__version__)"
