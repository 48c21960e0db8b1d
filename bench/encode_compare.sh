#!/usr/bin/env bash
# Encoder throughput of two (or more) builds side by side in one run: `platform bench encode` of each build in turn,
# alternating, so the load of this shared machine falls on all of them alike.
#
#   bash bench/encode_compare.sh OLD_DLL NEW_DLL                      # labelled old and new
#   bash bench/encode_compare.sh t1=NEW_DLL,--threads,1 t2=NEW_DLL,--threads,2   # LABEL=DLL[,ARG,...]
#   bash bench/encode_compare.sh old=OLD_DLL old-ob1=OLD_DLL,env:OPENBLAS_NUM_THREADS=1 new=NEW_DLL  # env:VAR=VALUE
#   bash bench/encode_compare.sh --summarise results.jsonl old t1      # the tables again, for some of the builds
#
# Each DLL is a built platform.dll; it is measured on the model packages bundled beside it
# (bin/.../models/test-clip and models/shopping-clip), so an old build runs its own tower format. The images are
# this checkout's: tests/fixtures/products for test-clip, models/demo-catalog/images for shopping-clip.
# Environment: ROUNDS (2: each build runs this many times, alternating), CASE_SECONDS (3 per case), BATCHES ("1 32"),
# CONCURRENCY ("2,8"), MODELS ("test-clip shopping-clip"), OUT (a folder for the raw JSON lines; default a temp one).
# Prints two markdown tables: per case, each build's images/s (tower), images/s (decode + preprocess + tower) and
# texts/s as min–max over the rounds, and with two builds the ratio of their medians (second / first); first per
# second of wall-clock time, then per second of the process's CPU time (the wall-clock rate follows the share of the
# cores the process gets when other work runs beside it; the CPU-time rate much less).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-2}"
SECONDS_PER_CASE="${CASE_SECONDS:-3}"
BATCHES="${BATCHES:-1 32}"
CONCURRENCY="${CONCURRENCY:-2,8}"
MODELS="${MODELS:-test-clip shopping-clip}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"

(($# >= 2)) || { sed -n 2,20p "$0" >&2; exit 2; }
summarise_only=""
if [[ "$1" == "--summarise" ]]; then
  summarise_only="$2"
  shift 2
fi
labels=() specs=()
for ((i = 1; i <= $#; i++)); do
  spec="${!i}"
  if [[ "$spec" == *=* ]]; then
    labels+=("${spec%%=*}"); specs+=("${spec#*=}")
  else
    [[ -z "$summarise_only" ]] || { labels+=("$spec"); specs+=(""); continue; }
    (($# == 2)) || { echo "name builds LABEL=DLL when there are more than two" >&2; exit 2; }
    ((i == 1)) && labels+=(old) || labels+=(new)
    specs+=("$spec")
  fi
done

images_for() {
  case "$1" in
    shopping-clip) echo "models/demo-catalog/images" ;;
    *) echo "tests/fixtures/products" ;;
  esac
}

results="$OUT/results.jsonl"
[[ -z "$summarise_only" ]] || { results="$summarise_only"; ROUNDS=0; }
[[ -n "$summarise_only" ]] || : >"$results"
for ((round = 1; round <= ROUNDS; round++)); do
  for k in "${!labels[@]}"; do
    IFS=',' read -r -a parts <<<"${specs[$k]}"
    dll="${parts[0]}"
    extra=() envs=()
    for part in "${parts[@]:1}"; do
      if [[ "$part" == env:* ]]; then envs+=("${part#env:}"); else extra+=("$part"); fi
    done
    [[ -f "$dll" ]] || { echo "no build at $dll" >&2; exit 1; }
    for model in $MODELS; do
      package="$(dirname "$dll")/models/$model"
      echo "== round $round, ${labels[$k]}: $model (${envs[*]:-} $dll ${extra[*]:-})" >&2
      # shellcheck disable=SC2086
      env "${envs[@]}" dotnet "$dll" bench encode --model "$package" --images "$(images_for "$model")" --batch $BATCHES \
        --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_CASE" --json "${extra[@]}" |
        while read -r line; do
          echo "{\"build\": \"${labels[$k]}\", \"round\": $round, \"result\": $line}"
        done >>"$results"
    done
  done
done
echo "raw results: $results" >&2

python3 - "$results" "${labels[@]}" <<'PY'
import json, statistics, sys
from collections import defaultdict
path, labels = sys.argv[1], sys.argv[2:]
runs = defaultdict(list)
for line in open(path, encoding="utf-8"):
    r = json.loads(line)
    res = r["result"]
    runs[(res["model"], res["batch"], res["concurrency"], r["build"])].append(res)
cases = sorted({k[:3] for k in runs}, key=lambda c: (c[0], c[1], c[2]))


def table(metrics, title):
    print(f"\n{title}\n")
    head = ["model", "batch", "callers"]
    for key, name in metrics:
        head += [f"{name} {label}" for label in labels]
        if len(labels) == 2:
            head.append(f"{name} {labels[1]}/{labels[0]}")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * 3 + "---:|" * (len(head) - 3))
    for model, batch, callers in cases:
        row = [model, str(batch), str(callers)]
        for key, _ in metrics:
            medians = []
            for label in labels:
                values = [r[key] for r in runs.get((model, batch, callers, label), []) if key in r]
                medians.append(statistics.median(values) if values else float("nan"))
                row.append(f"{min(values):,.0f}–{max(values):,.0f}" if values else "—")
            if len(labels) == 2:
                row.append(f"{medians[1] / medians[0]:.2f}×")
        print("| " + " | ".join(row) + " |")


table([("images_per_second_tower", "images/s tower"), ("images_per_second_with_decode", "images/s with decode"),
       ("texts_per_second", "texts/s")], "Items per second (wall clock, all callers together); min–max over the rounds, ratio of medians")
table([("images_per_cpu_second_tower", "images/CPU-s tower"), ("images_per_cpu_second_with_decode", "images/CPU-s with decode"),
       ("texts_per_cpu_second", "texts/CPU-s")], "Items per second of the process's CPU time (steadier when the machine is shared)")
PY
