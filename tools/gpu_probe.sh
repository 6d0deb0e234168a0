#!/usr/bin/env bash
# One prepared GPU probe (issue 31): every deep model variant of config/paper.yaml at its paper size on one
# SMD machine (machine-1-2) for 2 epochs, several jobs sharing the GPU, then per job seconds per epoch, peak
# GPU memory and the GPU busy fraction, and the cost table of config/paper.yaml from those records.
#
#   bash tools/gpu_probe.sh [--out DIR] [--mirror DIR] [--jobs N] [--epochs N] [--limit SECONDS] [--tiny]
#
#   --out     where the results go (default: $OUT if set, else probe_out/): probe.md, probe.csv,
#             records/ (job JSON + benchmark files, read by tools/gpu_hours.py --records), cost.md, logs/
#   --mirror  a local mirror of the downloads holding SMD (default: ../shared/datasets, else shared/datasets;
#             without one, the SMD download from its public URL)
#   --jobs    deep jobs sharing the GPU at once (default 4; Snakemake's --resources gpu=N on one GPU)
#   --epochs  epochs per job (default 2; every epoch runs: patience 0)
#   --limit   seconds for the whole Snakemake run (default 390, so that set-up + run + summary stay
#             inside 8 minutes); jobs still running then are killed and listed as unfinished
#   --tiny    the default run's small settings on the embedded UCR series 135, 1 epoch: the CPU test
#
# The probe's scores are not results (its training is cut short); only its timings are. It runs in a
# temporary working directory, so the checkout's results/ are untouched.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
OUT_DIR=${OUT:-probe_out}
MIRROR=""
JOBS=4
EPOCHS=2
LIMIT=390
TINY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT_DIR=$2; shift 2 ;;
    --mirror) MIRROR=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --limit) LIMIT=$2; shift 2 ;;
    --tiny) TINY=--tiny; EPOCHS=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "gpu_probe.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
PY="$REPO/.venv/bin/python"
[ -x "$PY" ] || { echo "gpu_probe.sh: no $PY: run bash tools/setup_env.sh first" >&2; exit 2; }
if [ -z "$MIRROR" ] && [ -z "$TINY" ]; then
  for candidate in "$REPO/../shared/datasets" "$REPO/shared/datasets"; do
    if [ -d "$candidate/SMD" ]; then MIRROR=$(cd "$candidate" && pwd); break; fi
  done
fi
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tsad-gpu-probe.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
"$PY" - <<EOF
import torch
print("[probe] torch", torch.__version__, "| CUDA:", torch.cuda.is_available(),
      "|", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only")
EOF
"$PY" "$REPO/tools/gpu_probe.py" config --out "$WORK/probe.yaml" --epochs "$EPOCHS" $TINY \
  ${MIRROR:+--mirror "$MIRROR"}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv \
  > "$OUT_DIR/nvidia_smi.csv" || true
start=$(date +%s)
status=0
# the gpu profile's rule (one deep job per GPU slot), with JOBS slots on this one GPU
TSAD_GPU_BUSY_STEPS=20 timeout --signal=TERM --kill-after=20 "$LIMIT" \
  "$REPO/.venv/bin/snakemake" --snakefile "$REPO/Snakefile" --directory "$WORK" \
  --configfile "$WORK/probe.yaml" --workflow-profile "$REPO/profiles/gpu" \
  --resources gpu="$JOBS" --cores "$(( JOBS * 2 ))" --until fit_score --keep-going \
  > "$OUT_DIR/snakemake.log" 2>&1 || status=$?
echo "[probe] Snakemake ran $(( $(date +%s) - start )) s (exit $status; 124 = the --limit of $LIMIT s)"
mkdir -p "$OUT_DIR/logs"
[ -d "$WORK/logs/fit" ] && cp -r "$WORK/logs/fit" "$OUT_DIR/logs/" || true
cp "$WORK/probe.yaml" "$OUT_DIR/probe.yaml"
"$PY" "$REPO/tools/gpu_probe.py" summary --run "$WORK" --config "$WORK/probe.yaml" --out "$OUT_DIR" \
  --jobs-per-gpu "$JOBS"
# the cost of the config whose settings the probe ran (--tiny: the default run's)
COST_CONFIG="$REPO/config/paper.yaml"
[ -n "$TINY" ] && COST_CONFIG="$REPO/config/config.yaml"
"$PY" "$REPO/tools/gpu_hours.py" --config "$COST_CONFIG" --records "$OUT_DIR/records" --out "$OUT_DIR/cost.md" > /dev/null
echo "[probe] $OUT_DIR: probe.md, probe.csv, records/, cost.md (tools/gpu_hours.py with these records)"
