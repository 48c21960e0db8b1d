#!/usr/bin/env bash
# Our HNSW index (`platform bench index`) against FAISS IndexHNSWFlat, same data and parameters.
#
#   bash bench/compare.sh [--base B.fvecs --queries Q.fvecs] [--k 10] [--m 16] [--ef-construction 200]
#                         [--ef-search 64 | --ef-search 32,64,128] [--threads 1] [--metric l2|ip|cosine] [--limit N]
#                         [--rebuild]
#
# Without --base/--queries it uses the clustered 100k x 512 set, generating it first if it is missing
# (bench/make_clustered.py, about 10 s). Builds the CLI if its dll is missing, or with --rebuild (an existing dll
# may predate your changes; PLATFORM_CLI_DLL points at another build). Prints each side's JSON
# and a table of ours/FAISS ratios. Both sides build one index and answer every --ef-search value on it.
# Needs Debian's python3-faiss (.ci/setup installs it) and the .NET SDK.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
DLL=${PLATFORM_CLI_DLL:-services/Cli/bin/Release/net10.0/platform.dll}  # override to try another build

k=10 m=16 efc=200 efs=64 threads=1 metric=l2 limit=0 base="" queries="" rebuild=0
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while (($#)); do
  case "$1" in
    --base) base=${2:?}; shift 2 ;;
    --queries) queries=${2:?}; shift 2 ;;
    --k) k=${2:?}; shift 2 ;;
    --m) m=${2:?}; shift 2 ;;
    --ef-construction) efc=${2:?}; shift 2 ;;
    --ef-search) efs=${2:?}; shift 2 ;;
    --threads) threads=${2:?}; shift 2 ;;
    --metric) metric=${2:?}; shift 2 ;;
    --limit) limit=${2:?}; shift 2 ;;
    --rebuild) rebuild=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage ;;
  esac
done
IFS=, read -r -a efs_list <<<"$efs"
((${#efs_list[@]})) || { echo "--ef-search needs at least one value" >&2; exit 2; }

if [ -z "$base" ] || [ -z "$queries" ]; then
  [ -z "$base$queries" ] || { echo "give both --base and --queries, or neither" >&2; exit 2; }
  data="${PLATFORM_BENCH_CACHE:-.cache/bench}/clustered-100k-512"
  if [ ! -f "$data/meta.json" ]; then  # meta.json is written last: its presence means the set is complete
    echo "== generating the clustered dataset into $data" >&2
    $PY bench/make_clustered.py --out "$data" >/dev/null || { echo "dataset generation failed" >&2; exit 1; }
  fi
  base="$data/base.fvecs" queries="$data/queries.fvecs"
fi
common=(--base "$base" --queries "$queries" --k "$k" --m "$m" --ef-construction "$efc" --threads "$threads"
        --metric "$metric" --limit "$limit" --json)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# FAISS: the first efSearch is the headline, the rest are measured on the same index.
echo "== FAISS IndexHNSWFlat (M $m, efConstruction $efc, efSearch $efs, threads $threads)" >&2
sweep=$(IFS=,; echo "${efs_list[*]:1}")
faiss_args=("${common[@]}" --ef-search "${efs_list[0]}")
[ -z "$sweep" ] || faiss_args+=(--sweep-ef-search "$sweep")
if $PY bench/faiss_hnsw.py "${faiss_args[@]}" >"$work/faiss.out" 2>"$work/faiss.err"; then
  faiss_ok=1
else
  faiss_ok=0
  echo "FAISS run failed:" >&2; tail -n 20 "$work/faiss.err" >&2
fi

# Ours: one JSON line per --ef-search.
ours_ok=0
if [ ! -f "$DLL" ] || ((rebuild)); then
  echo "== building the CLI (dotnet build services/Cli -c Release)" >&2
  dotnet build services/Cli -c Release -nologo -v q >"$work/build.log" 2>&1 \
    || { echo "building the CLI failed:" >&2; tail -n 20 "$work/build.log" >&2; }
fi
if [ -f "$DLL" ]; then
  echo "== ours: platform bench index (M $m, ef_construction $efc, ef_search $efs, threads $threads)" >&2
  ours_args=("${common[@]}")
  for e in "${efs_list[@]}"; do ours_args+=(--ef-search "$e"); done
  dotnet "$DLL" bench index "${ours_args[@]}" >"$work/ours.out" 2>"$work/ours.err"
  rc=$?
  if ((rc == 0)) && grep -q '^{' "$work/ours.out"; then
    ours_ok=1
  else
    echo "ours: 'platform bench index' did not produce a result (exit status $rc); its last output:" >&2
    tail -n 20 "$work/ours.err" "$work/ours.out" >&2
  fi
fi

echo
echo "FAISS: $( ((faiss_ok)) && grep '^{' "$work/faiss.out" | tail -n 1 || echo "(no result)")"
if ((ours_ok)); then
  grep '^{' "$work/ours.out" | sed 's/^/ours:  /'
else
  echo "ours:  (no result: 'platform bench index' is missing or failed; see above)"
fi
((faiss_ok && ours_ok)) || exit 1

# The table: one block per efSearch, ratios ours/FAISS.
$PY - "$work/faiss.out" "$work/ours.out" "$threads" <<'PY'
import json, sys

def json_lines(path):
    return [json.loads(l) for l in open(path) if l.startswith("{")]

faiss_line = json_lines(sys.argv[1])[-1]
threads = int(sys.argv[3])
faiss_by_ef = {faiss_line["ef_search"]: faiss_line}
for run in faiss_line.get("sweep", []):
    faiss_by_ef[run["ef_search"]] = dict(faiss_line, **run)
# With one thread both sides answer one query per call. With more, ours answers in parallel, which
# compares with FAISS answering the whole batch in one call.
qps_key = "qps" if threads <= 1 else "qps_batch"

def fmt(key, v):
    if v is None:
        return "-"
    if key == "memory_bytes":
        return f"{v / 2**20:.1f} MiB"
    if key == "recall_at_k":
        return f"{v:.4f}"
    if key == "build_seconds":
        return f"{v:.1f} s"
    return f"{v:,.0f}"

print()
print(f"{'ef_search':>9}  {'':<22} {'FAISS':>12} {'ours':>12} {'ours/FAISS':>11}")
for ours in json_lines(sys.argv[2]):
    ef = ours.get("ef_search")
    theirs = faiss_by_ef.get(ef)
    if theirs is None:
        print(f"{ef!s:>9}  (no FAISS run at this ef_search)")
        continue
    rows = [("qps", qps_key, "qps" + ("" if threads <= 1 else f" ({threads} threads)")),
            ("build_seconds", "build_seconds", "build_seconds"),
            ("memory_bytes", "memory_bytes", "memory_bytes"),
            ("recall_at_k", "recall_at_k", f"recall@{ours.get('k', theirs['k'])}")]
    for i, (ours_key, faiss_key, label) in enumerate(rows):
        a, b = ours.get(ours_key), theirs.get(faiss_key)
        ratio = f"{a / b:.2f}x" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "-"
        print(f"{(ef if i == 0 else ''):>9}  {label:<22} {fmt(ours_key, b):>12} {fmt(ours_key, a):>12} {ratio:>11}")
print(f"\nFAISS: {faiss_line['engine']}; qps = one query per search call"
      + ("" if threads <= 1 else f"; with --threads {threads} the FAISS column is qps_batch (all queries in one call)"))
PY
