#!/usr/bin/env bash
# One-command recipe for the shipped motion encoder (python/infomotion_rt/models/ifa_small.onnx).
#   models/train_shipped_encoder.sh [WORK_DIR]        (default WORK_DIR: /tmp/infomotion-shipdata)
# Generates the phantom, trains the small IFA model on one CPU thread, exports its ed-es-flow vector (the
# model's flows for the ED->ES pair, dx, dy and magnitude on an 8x8 grid, 384-D; issue 19) to ONNX, and leaves
# the training log in WORK_DIR/train.log (its last lines are the VAL PSNR quoted in MODEL_CARD.md).
# Needs the [train] extra (torch, onnx, onnxscript). Takes ~45 min on one (shared) CPU core.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${1:-/tmp/infomotion-shipdata}"
CLI="${INFOMOTION_RT:-infomotion-rt}"
SEED=1234
N="${N:-600}"                 # N / EPOCHS / OUT overrides are for smoke runs only; the shipped file used the defaults
EPOCHS="${EPOCHS:-12}"
VECTOR="${VECTOR:-ed-es-flow}"    # motion-grid = the file shipped in 0.1.0; mean = the paper's global-mean vector (before issue 19)
OUT="${OUT:-python/infomotion_rt/models/ifa_small.onnx}"
mkdir -p "$WORK"

"$CLI" phantom "$WORK/data" --n "$N" --seed "$SEED" --overwrite
"$CLI" train-ifa "$WORK/data" --out "$WORK/ifa_small.pt" --config small --epochs "$EPOCHS" \
    --seed 0 --threads 1 2>&1 | tee "$WORK/train.log"
"$CLI" export-model "$WORK/ifa_small.pt" --out "$OUT" --vector "$VECTOR" \
    --training-data "phantom --n $N --seed $SEED (EchoNet-Dynamic layout), train-ifa --config small --epochs $EPOCHS --seed 0 --threads 1; export --vector $VECTOR"
echo "shipped encoder: $OUT (update models/MODEL_CARD.md from $WORK/train.log)"
