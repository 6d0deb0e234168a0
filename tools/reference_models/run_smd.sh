#!/usr/bin/env bash
# The published comparison (report/published/tsbad_agreement_cpu): SMD machine-1-2, every model, 3 seeds;
# resumable (existing score files are kept). Needs the processed file (make_processed_smd.py) and TSB-AD's venv.
#   bash tools/reference_models/run_smd.sh [OUT]     (default results/reference_models)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-results/reference_models}
shift || true
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
nice -n 10 .venv/bin/python tools/reference_models/compare.py \
  --processed $OUT/processed/smd/machine-1-2.npz \
  --models PCA,KMeansAD,IForest,LOF,USAD,OmniAnomaly,TranAD,TimesNet,AnomalyTransformer \
  --seeds 0 1 2 \
  --tsbad-overrides '{"AnomalyTransformer": {"num_epochs": 1}}' \
  --tsbad-seeds '{"AnomalyTransformer": [0], "TimesNet": [0]}' \
  --out $OUT/compare "$@"
# the classical models again, fitted on the test series (TSB-AD's own protocol for its unsupervised pool)
nice -n 10 .venv/bin/python tools/reference_models/compare.py \
  --processed $OUT/processed/smd/machine-1-2.npz \
  --models PCA,KMeansAD,IForest,LOF --seeds 0 1 2 --fit transductive \
  --out $OUT/compare "$@"
