#!/usr/bin/env bash
# The checks of G's CUDA path that need a GPU, as one short run on a machine with an NVIDIA GPU and
# a CUDA build of torch (the project's .venv is CPU-only, so this uses that machine's python3):
# the CUDA tests (the batch-1 graph replays the eager result; bf16 agrees with float32 in mm),
# `bench` on the GPU for float32 and bf16, and `evaluate` of both on the development seed, which
# is what may make bf16 the GPU default (engine/models/device_names.py). Results: ${OUT:-gpu_check}/.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
DEV_SEED=1000003  # engine.eval: the development seed; the test seed is for final tables only
{ nvidia-smi -L; "$PY" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"; } \
  > "$OUT/gpu.txt" 2>&1
"$PY" -m pytest -q -p no:cacheprovider tests/test_cuda_path.py tests/test_inference.py > "$OUT/tests.txt" 2>&1
for backend in torch bf16; do
  "$PY" main.py bench --device cuda --backend "$backend" --count 200 --json > "$OUT/bench_$backend.json" 2> "$OUT/bench_$backend.err"
  "$PY" main.py evaluate --data sim --count 300 --seed "$DEV_SEED" --device cuda --backend "$backend" --json \
    > "$OUT/eval_$backend.json" 2> "$OUT/eval_$backend.err"
done
tail -n 3 "$OUT/tests.txt"
