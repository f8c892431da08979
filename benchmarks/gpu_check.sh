#!/usr/bin/env bash
# The GPU check, one prepared run (at most about 8 minutes on one H100/H200): the gpu tests, then
# benchmarks/gpu_check.py (encoder at 224 px, training steps, one DINO-WM-budget CEM plan; fp32 and bf16,
# and a compiled training step). Writes benchmarks/results/gpu_check.md (and $OUT/gpu_check.md when the
# device tool sets $OUT).
#   usage: bash benchmarks/gpu_check.sh          (from the repository root, in the project's venv)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || { python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'; PY=.venv/bin/python; }
timeout 150 "$PY" -m pytest -q -m gpu -p no:cacheprovider
timeout 300 "$PY" benchmarks/gpu_check.py --device cuda
if [ -n "${OUT:-}" ]; then cp benchmarks/results/gpu_check.md "$OUT/"; fi
