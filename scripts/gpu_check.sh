#!/usr/bin/env bash
# The GPU check of issue 19: the `gpu` tests, then benchmarks.fidelity on the full
# NAS-Bench-201 macro skeleton (C=16, 5 cells per stage) with CUDA and mixed precision.
# Figures go to $OUT (default /tmp/gpu_check); the benchmark's last line is its JSON.
#   bash scripts/gpu_check.sh [--quick]     (--quick: the few-minute fidelity setup)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
OUT="${OUT:-/tmp/gpu_check}"
mkdir -p "$OUT"
"$PY" -c "import torch, sys; ok = torch.cuda.is_available(); print('cuda', ok, torch.__version__, torch.cuda.get_device_name(0) if ok else ''); sys.exit(0 if ok else 3)" \
  || { echo "no CUDA device: this check needs a GPU" >&2; exit 3; }
nvidia-smi --query-gpu=name,memory.total,utilization.gpu --format=csv | tee "$OUT/nvidia-smi.csv" || true

echo "== gpu tests"
"$PY" -m pytest -q -m gpu tests/supernet 2>&1 | tee "$OUT/gpu_tests.txt"

echo "== fidelity: full nb201 macro, CUDA, AMP"
"$PY" -m benchmarks.fidelity --json --device cuda --amp --full-macro "$@" 2>&1 \
  | tee "$OUT/fidelity_full_macro.txt"
tail -n 1 "$OUT/fidelity_full_macro.txt" > "$OUT/fidelity_full_macro.json"
echo "== done: $OUT"
