#!/usr/bin/python3
"""FAISS IndexHNSWFlat on an .fvecs dataset: build time, queries per second, recall@k, memory. The reference for
`platform bench index`, with the same options and the same JSON keys.

  /usr/bin/python3 bench/faiss_hnsw.py --base B.fvecs --queries Q.fvecs --k 10 --m 16 \
      --ef-construction 200 --ef-search 64 --threads 1 --json [--metric l2|ip]

Prints one JSON line:
  build_seconds      wall time of index.add over all base vectors (graph construction included)
  qps                queries per second, one query per search call (what a one-request-at-a-time server sees);
                     the median of --repeat timed passes over all queries, after one untimed pass
  recall_at_k        mean over queries of |returned top-k ∩ exact top-k| / k
  memory_bytes       the index's own structure: vectors (ntotal*d*4) + neighbour table + offsets + levels
and, FAISS only:
  qps_batch          queries per second, all queries in one search call (FAISS spreads them over its threads)
  rss_growth_bytes   growth of this process's resident memory (VmRSS) across index.add
  build_cpu_seconds, qps_cpu   the same on this process's CPU time rather than wall time (robust to other load)
  qps_runs           each timed pass's qps, to see the noise
  distances_per_query  level-0 distance evaluations per query (search work, independent of distance speed)
  loadavg            the machine's 1-minute load average before the build and after the searches
Exact neighbours come from groundtruth.ivecs next to the base file when it fits (metric l2, no --limit, same query
count, at least k columns, base file matching meta.json; see make_clustered.py), otherwise from an exact IndexFlat
search, run after the timed searches. --sweep-ef-search 32,128 measures more efSearch values on the same index and
reports them under "sweep" (the build dominates the run time). --metric cosine scales vectors to unit length and
uses inner product.
Needs Debian's python3-faiss: run it with /usr/bin/python3.
"""

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vecs import read_fvecs, read_ivecs  # noqa: E402


def vm_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024  # reported in kB
    return 0


def structure_bytes(index):
    """Bytes held by an IndexHNSWFlat's data: stored vectors plus the HNSW graph arrays."""
    hnsw = index.hnsw
    storage = faiss_downcast(index.storage)
    vectors = storage.codes.size() if hasattr(storage, "codes") else index.ntotal * index.d * 4
    neighbours = hnsw.neighbors.size() * 4      # int32 ids, one slot per (node, level, neighbour), -1 padded
    offsets = hnsw.offsets.size() * 8           # size_t per node + 1: where a node's slots start
    levels = hnsw.levels.size() * 4             # int32 per node: its top level + 1
    small = (hnsw.assign_probas.size() * 8 + hnsw.cum_nneighbor_per_level.size() * 4)
    return {"vectors": int(vectors), "neighbors": int(neighbours), "offsets": int(offsets),
            "levels": int(levels), "other": int(small)}


def faiss_downcast(index):
    import faiss
    return faiss.downcast_index(index)


def exact_neighbours(base, queries, k, metric, base_path, limit):
    import faiss
    nq = len(queries)
    if metric == "l2" and not limit:
        gt_path = os.path.join(os.path.dirname(os.path.abspath(base_path)), "groundtruth.ivecs")
        if os.path.exists(gt_path):
            gt = read_ivecs(gt_path)
            if gt.shape[0] == nq and gt.shape[1] >= k and gt.max() < len(base) and _matches_meta(base_path):
                return gt[:, :k], os.path.basename(gt_path)
            print(f"note: {gt_path} does not fit these files or k; searching exactly instead", file=sys.stderr)
    flat = faiss.IndexFlatL2(base.shape[1]) if metric == "l2" else faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    _, ids = flat.search(queries, k)
    return ids, f"exact IndexFlat{'L2' if metric == 'l2' else 'IP'}"


def _matches_meta(base_path):
    """True unless a meta.json from make_clustered.py says the ground truth belongs to a different base file."""
    meta_path = os.path.join(os.path.dirname(os.path.abspath(base_path)), "meta.json")
    try:
        with open(meta_path) as f:
            expected = json.load(f)["files"]["base.fvecs"]["sha256"]
    except (OSError, ValueError, KeyError):
        return True
    h = hashlib.sha256()
    with open(base_path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest() == expected


def recall_at_k(found, truth, k):
    hits = 0
    for row_found, row_truth in zip(found[:, :k], truth[:, :k]):
        hits += len(np.intersect1d(row_found[row_found >= 0], row_truth))
    return hits / (len(truth) * k)


def measure_search(index, queries, k, ef_search, repeat):
    """Times all queries at one efSearch, one query per call and all in one call, `repeat` times each after one
    untimed pass (as `platform bench index` warms up), and keeps the median of each. Returns the figures and the
    neighbours found (recall is filled in later, so no exact search runs before or between timed searches)."""
    import faiss
    index.hnsw.efSearch = ef_search
    nq = len(queries)
    found = np.empty((nq, k), dtype=np.int64)

    def one_per_call():
        for i in range(nq):
            _, ids = index.search(queries[i:i + 1], k)
            found[i] = ids[0]

    one_per_call()  # warm-up: caches, page tables
    faiss.cvar.hnsw_stats.reset()
    single, single_cpu, batch = [], [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        one_per_call()
        single.append(time.perf_counter() - w0)
        single_cpu.append(time.process_time() - c0)
        w0 = time.perf_counter()
        _, found_batch = index.search(queries, k)
        batch.append(time.perf_counter() - w0)
    stats = faiss.cvar.hnsw_stats
    ndis = stats.ndis or stats.n3  # faiss 1.7.3 counts level-0 distance evaluations in n3, later versions in ndis

    figures = {
        "ef_search": ef_search,
        "qps": round(nq / float(np.median(single)), 1),
        "recall_at_k": None,
        "qps_batch": round(nq / float(np.median(batch)), 1),
        "recall_at_k_batch": None,
        # Queries per CPU-second of this process: less sensitive than wall time to other processes on the machine.
        "qps_cpu": round(nq / float(np.median(single_cpu)), 1),
        "qps_runs": [round(nq / s, 1) for s in single],
        # Distance evaluations per query at level 0 (the upper levels add a few dozen): the search work,
        # independent of how fast one distance is.
        "distances_per_query": round(ndis / (nq * 2 * repeat), 1),
    }
    return figures, found, found_batch


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def compile_options(faiss):
    """'GENERIC' for the portable build Debian ships (scalar distance loops); 'AVX2' for the AVX2 variant."""
    try:
        return faiss.get_compile_options().strip()
    except AttributeError:
        return "compile options unknown"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="base vectors (.fvecs)")
    p.add_argument("--queries", required=True, help="query vectors (.fvecs)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--m", type=int, default=16, help="HNSW M: neighbours per node above level 0 (2*M at level 0)")
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef-search", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="OpenMP threads for build and batch search")
    p.add_argument("--metric", choices=("l2", "ip", "cosine"), default="l2",
                   help="l2 (default), ip (inner product), or cosine (vectors scaled to unit length, then ip)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N base vectors (0: all)")
    p.add_argument("--repeat", type=int, default=3,
                   help="timed passes over the queries per efSearch, after one untimed pass; the median counts "
                        "(default %(default)s)")
    p.add_argument("--sweep-ef-search", type=lambda v: [int(x) for x in v.split(",") if x],
                   default=[], metavar="EF,EF,...",
                   help="also measure these efSearch values on the same index; reported under \"sweep\"")
    p.add_argument("--json", action="store_true", help="print only the JSON line (logs go to stderr either way)")
    args = p.parse_args(argv)
    if (args.k <= 0 or args.m <= 1 or args.ef_construction <= 0 or args.threads <= 0 or args.limit < 0
            or args.repeat <= 0 or min([args.ef_search] + args.sweep_ef_search) <= 0):
        p.error("--k, --ef-construction, --ef-search and --threads must be positive and --m at least 2")

    import faiss
    faiss.omp_set_num_threads(args.threads)

    base = read_fvecs(args.base)
    if args.limit > 0:
        base = np.ascontiguousarray(base[:args.limit])
    queries = read_fvecs(args.queries)
    if args.metric == "cosine":
        base = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30)
    if base.shape[1] != queries.shape[1]:
        p.error(f"dimension mismatch: base {base.shape[1]}, queries {queries.shape[1]}")
    n, d = base.shape
    nq = len(queries)
    k = min(args.k, n)

    metric = faiss.METRIC_L2 if args.metric == "l2" else faiss.METRIC_INNER_PRODUCT
    index = faiss.IndexHNSWFlat(d, args.m, metric)
    index.hnsw.efConstruction = args.ef_construction

    load_before = load_average()
    rss_before = vm_rss_bytes()
    t0, c0 = time.perf_counter(), time.process_time()
    index.add(base)
    build_seconds, build_cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    rss_growth = vm_rss_bytes() - rss_before

    measured = [measure_search(index, queries, k, ef, args.repeat)
                for ef in [args.ef_search] + args.sweep_ef_search]
    load_after = load_average()

    # Exact neighbours only now: an exact search uses BLAS threads, which could still be busy during timing.
    truth, truth_source = exact_neighbours(base, queries, k, args.metric, args.base, args.limit)
    runs = []
    for figures, found, found_batch in measured:
        figures["recall_at_k"] = round(recall_at_k(found, truth, k), 4)
        figures["recall_at_k_batch"] = round(recall_at_k(found_batch, truth, k), 4)
        runs.append(figures)
    main_run = runs[0]
    parts = structure_bytes(index)
    result = {
        "build_seconds": round(build_seconds, 3),
        "qps": main_run["qps"],
        "recall_at_k": main_run["recall_at_k"],
        "memory_bytes": sum(parts.values()),
        "qps_batch": main_run["qps_batch"],
        "recall_at_k_batch": main_run["recall_at_k_batch"],
        "rss_growth_bytes": rss_growth,
        "build_cpu_seconds": round(build_cpu_seconds, 3),
        "qps_cpu": main_run["qps_cpu"],
        "qps_runs": main_run["qps_runs"],
        "distances_per_query": main_run["distances_per_query"],
        "memory_breakdown": parts,
        "engine": f"faiss {faiss.__version__} IndexHNSWFlat ({compile_options(faiss)})",
        "n": n, "dim": d, "queries": nq, "k": k, "m": args.m, "ef_construction": args.ef_construction,
        "ef_search": args.ef_search, "threads": args.threads, "metric": args.metric,
        "max_level": int(index.hnsw.max_level), "ground_truth": truth_source,
        # 1-minute load average of the machine before the build and after the searches: well above 0 means other
        # processes shared the CPU and the wall-clock figures are pessimistic.
        "loadavg": [load_before, load_after], "cpus": os.cpu_count(),
    }
    if args.sweep_ef_search:
        result["sweep"] = runs[1:]
    line = json.dumps(result)
    if not args.json:
        for key, value in result.items():
            print(f"{key:>20}: {value}", file=sys.stderr)
    print(line)


if __name__ == "__main__":
    main()
