#!/usr/bin/env bash
# Two builds of `platform serve` side by side, one at a time, alternating: time until ready with the demo catalog
# on a fresh data directory, resident memory once ready, then text searches per second and latency over HTTP with
# wrk at several connection counts (queries rotate over product titles, English and Chinese).
#
#   bash bench/serve_compare.sh OLD/platform.dll NEW/platform.dll [rounds] [seconds per wrk case]
#
# Needs wrk (Debian package). Prints one line per case; nothing runs at the same time as anything else.
set -euo pipefail
old=$1 new=$2 rounds=${3:-2} seconds=${4:-5}
port=18765
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# wrk script: GET /v1/search with a different query each request.
python3 - "$work/queries.lua" <<'PY'
import json, sys, urllib.parse
lines = [json.loads(l) for l in open("models/demo-catalog/catalog.jsonl", encoding="utf-8")]
qs = []
for p in lines:
    qs.append(p["title"])
    if "title_zh" in p.get("attributes", {}):
        qs.append(p["attributes"]["title_zh"])
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("local q = {\n" + ",\n".join('"/v1/search?k=10&q=' + urllib.parse.quote(q) + '"' for q in qs) + "}\n")
    f.write("local i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", q[(i % #q) + 1])\nend\n")
PY

run() { # label dll
  local label=$1 dll=$2 data="$work/data-$1"
  rm -rf "$data"
  local start=$(date +%s%N)
  dotnet "$dll" serve --urls "http://127.0.0.1:$port" --data "$data" >"$work/$label.log" 2>&1 &
  local pid=$!
  until curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null; do
    sleep 0.2
    kill -0 $pid 2>/dev/null || { echo "$label: serve exited"; tail -20 "$work/$label.log"; return 1; }
  done
  local ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  local rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  printf '%s ready %d.%01d s, RSS %d MiB\n' "$label" $((ready_ms / 1000)) $((ready_ms % 1000 / 100)) $((rss / 1024))
  for c in 1 8 16 32 64; do
    local out
    out=$(wrk -t $((c < 2 ? 1 : 2)) -c $c -d ${seconds}s --latency -s "$work/queries.lua" "http://127.0.0.1:$port" 2>&1)
    printf '%s c=%-3d %8s req/s  p50 %8s  p99 %8s\n' "$label" $c \
      "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
  done
  kill $pid; wait $pid 2>/dev/null || true
}

for r in $(seq 1 "$rounds"); do
  echo "== round $r"
  run old "$old"
  run new "$new"
done
