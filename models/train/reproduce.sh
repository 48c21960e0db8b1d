#!/usr/bin/env bash
# Rebuilds models/shopping-clip/ from nothing: data, tokenizer, training, export. One command:
#
#   bash models/train/reproduce.sh            # everything (about 75 minutes on 2 CPU cores)
#   bash models/train/reproduce.sh export     # only the last stage, from the existing final.pt
#
# Stages, in order (name one to start there and run the rest): data, bpe, train, export.
# Environment (all optional):
#   PYTHON           interpreter with torch (default /usr/bin/python3, Debian's, torch 1.13)
#   PLATFORM_DATA_CACHE  where fetch.sh unpacks the data (default <repo>/.cache/emoji-data)
#   WORK             tokenizer and checkpoints (default <repo>/.cache/shopping-clip)
#   OUT              the package folder (default <repo>/models/shopping-clip)
#   STEPS SEED MERGES  training steps (6000), seed (20250611), BPE merges (8000)
#   RESUME=1         continue training from WORK/checkpoints/last.pt instead of starting over
# Uses CUDA when torch.cuda.is_available(); the same code runs on the CPU otherwise.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-/usr/bin/python3}"
CACHE="${PLATFORM_DATA_CACHE:-$REPO/.cache/emoji-data}"
WORK="${WORK:-$REPO/.cache/shopping-clip}"
OUT="${OUT:-$REPO/models/shopping-clip}"
STEPS="${STEPS:-6000}"
SEED="${SEED:-20250611}"
MERGES="${MERGES:-8000}"
CONCEPTS="$CACHE/dataset/concepts.jsonl"
START="${1:-data}"

case "$START" in
  data|bpe|train|export) ;;
  *) echo "reproduce.sh: unknown stage '$START' (data, bpe, train or export)" >&2; exit 2 ;;
esac

stage() { echo "== $(date +%H:%M:%S) $*"; }
run_from() { # run_from STAGE: true when STAGE is START or comes after it
  local order="data bpe train export"
  local s
  for s in $order; do
    [[ "$s" == "$START" ]] && return 0
    [[ "$s" == "$1" ]] && return 1
  done
  return 1
}
began=$SECONDS

if run_from data; then
  stage "data: fetch and build concepts.jsonl"
  bash models/data/fetch.sh
  PLATFORM_DATA_CACHE="$CACHE" "$PYTHON" models/data/build_dataset.py
fi

if run_from bpe; then
  stage "bpe: $MERGES merges on the captions"
  "$PYTHON" models/train/bpe.py --concepts "$CONCEPTS" --out "$WORK/tokenizer" --merges "$MERGES"
fi

if run_from train; then
  stage "train: $STEPS steps, seed $SEED"
  resume=()
  if [[ "${RESUME:-0}" == "1" ]]; then
    resume=(--resume)
  else
    rm -f "$WORK/checkpoints/last.pt" "$WORK/checkpoints/final.pt" "$WORK/checkpoints/metrics.jsonl"
  fi
  "$PYTHON" models/train/train.py --concepts "$CONCEPTS" --tokenizer "$WORK/tokenizer" --out "$WORK/checkpoints" \
    --steps "$STEPS" --seed "$SEED" "${resume[@]}"
fi

if run_from export; then
  stage "export to $OUT"
  "$PYTHON" models/train/export.py --checkpoint "$WORK/checkpoints/final.pt" --tokenizer "$WORK/tokenizer" \
    --out "$OUT" --concepts "$CONCEPTS"
fi

stage "done in $(( (SECONDS - began) / 60 )) min"
