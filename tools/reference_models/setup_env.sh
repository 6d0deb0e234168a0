#!/usr/bin/env bash
# A separate virtual environment with TSB-AD 1.5's model classes (USAD, TranAD, OmniAnomaly,
# TimesNet, AnomalyTransformer, PCA, KMeansAD, IForest, LOF), for tools/reference_models/run_tsbad.py.
# TSB-AD pins numpy<2 (and its code uses np.Inf, gone in numpy 2), so it cannot share the project's
# environment; it is never a dependency of the package.
#   usage: bash tools/reference_models/setup_env.sh [VENV_DIR]   (default .venv-tsbad in the repo root)
#   TORCH_SPEC   the torch to install when none is present (default torch==2.13.0: a CPU build from
#                the local wheel cache; keep it <= 2.14.1)
# Idempotent and non-interactive: a rerun installs only what is missing and re-checks the imports.
# tsb-ad is installed with --no-deps: of its 16 declared dependencies, the modules of the models above
# import only torch, numpy, scipy, scikit-learn, tqdm and torchinfo, plus (through TSB_AD/models/feature.py,
# imported by PCA, IForest and LOF) pandas, statsmodels and hurst. The pins are those that work here with
# numpy<2 (as tools/reference/setup_env.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${1:-.venv-tsbad}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
PYTHON=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# pip's config here names local index folders that do not exist for every package: drop that noise only
pip_install() { "$PY" -m pip install -q "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "[tsbad env] installing $TORCH_SPEC"
  pip_install "$TORCH_SPEC"
fi
pip_install "numpy>=1.24,<2" "scikit-learn>=1.3,<1.6" "scipy<1.14" "pandas>=2.0,<2.3" \
  "statsmodels>=0.14,<0.15" "hurst==0.0.5" "tqdm" "torchinfo"
pip_install --no-deps "tsb-ad==1.5"
"$PY" - <<'PY'
import numpy, torch, sklearn
import TSB_AD
from importlib.metadata import version
from TSB_AD.models import AnomalyTransformer, IForest, KMeansAD, LOF, OmniAnomaly, PCA, TimesNet, TranAD, USAD  # noqa: F401
print(f"[tsbad env] ok: tsb-ad {version('tsb-ad')}, numpy {numpy.__version__}, torch {torch.__version__}, "
      f"scikit-learn {sklearn.__version__}")
PY
