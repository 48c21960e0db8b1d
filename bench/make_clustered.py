#!/usr/bin/python3
"""Deterministic clustered vectors that behave like real embeddings, for benchmarking ANN indexes.

Model (all randomness from one seeded numpy Generator, so the same options give byte-identical files):
  * `families` family centres, random directions in R^dim with unit expected norm; each of the `clusters` cluster
    centres is a family centre plus a random offset of norm about `centre-spread`, so clusters of one family
    overlap (neighbouring categories) while families stay apart. Cluster popularity is log-normal, so some
    clusters hold several times more points than others.
  * Each cluster has its own random `intrinsic-dim`-dimensional subspace with a decaying spectrum (axis i has
    standard deviation proportional to (i+1)^-decay), scaled by `spread` times a per-cluster log-normal factor:
    real embeddings vary along a limited set of directions per concept, not isotropically in all of them.
  * Plus isotropic noise of total standard deviation `noise` in every dimension.
  * Every vector is then scaled to unit length (CLIP-style embeddings are compared by cosine; on unit vectors
    L2 and inner-product rankings agree), unless --no-normalize.
Queries come from the same distribution (fresh draws, never copies of base points). Base points are written in
random cluster order, as a live catalog would ingest them.

Writes OUT/base.fvecs, OUT/queries.fvecs, OUT/groundtruth.ivecs (exact top-`gt-k` L2 neighbours of each query,
0-based ids into base, nearest first, from faiss IndexFlatL2) and OUT/meta.json (the options, timings, checksums).
Needs Debian's python3-faiss and python3-numpy: run it with /usr/bin/python3.
"""

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vecs import write_fvecs, write_ivecs  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DEFAULTS = dict(n=100_000, queries=1_000, dim=512, clusters=1_000, seed=20261122,
                families=50, centre_spread=0.4, intrinsic_dim=96, decay=0.15, spread=0.9, noise=0.5, normalize=True,
                gt_k=100)


def _count_label(n):
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def default_out_dir(args):
    cache = os.environ.get("PLATFORM_BENCH_CACHE") or os.path.join(REPO, ".cache", "bench")
    name = f"clustered-{_count_label(args.n)}-{args.dim}"
    # Options other than size and dimension get a short tag, so different datasets never share a folder.
    other = {k: getattr(args, k) for k in DEFAULTS if k not in ("n", "dim") and getattr(args, k) != DEFAULTS[k]}
    if other:
        name += "-" + hashlib.sha256(json.dumps(other, sort_keys=True).encode()).hexdigest()[:8]
    return os.path.join(cache, name)


class ClusterModel:
    def __init__(self, rng, dim, clusters, families, centre_spread, intrinsic_dim, decay, spread, noise):
        self.dim, self.r, self.noise = dim, intrinsic_dim, noise
        family_centres = rng.standard_normal((families, dim)) / np.sqrt(dim)
        family_of = rng.integers(0, families, size=clusters)
        self.centres = (family_centres[family_of]
                        + centre_spread * rng.standard_normal((clusters, dim)) / np.sqrt(dim)).astype(np.float32)
        weights = rng.lognormal(mean=0.0, sigma=0.6, size=clusters)
        self.weights = weights / weights.sum()
        # Per-cluster subspace bases (clusters x r x dim), rows orthonormal.
        self.bases = np.empty((clusters, intrinsic_dim, dim), dtype=np.float32)
        for c in range(clusters):
            q, _ = np.linalg.qr(rng.standard_normal((dim, intrinsic_dim)))
            self.bases[c] = q.T
        spectrum = np.arange(1, intrinsic_dim + 1, dtype=np.float64) ** -decay
        spectrum /= np.sqrt((spectrum ** 2).sum())  # total variance of the in-subspace part: 1
        scale = spread * rng.lognormal(mean=0.0, sigma=0.25, size=clusters)
        self.axis_sd = (scale[:, None] * spectrum[None, :]).astype(np.float32)  # clusters x r

    def labels(self, rng, n):
        return rng.choice(len(self.weights), size=n, p=self.weights)

    def sample(self, rng, labels, normalize):
        n = len(labels)
        out = np.empty((n, self.dim), dtype=np.float32)
        # One draw per array, in a fixed order, so the result depends only on the seed and the options.
        z = rng.standard_normal((n, self.r)).astype(np.float32)
        w = (rng.standard_normal((n, self.dim)) * (self.noise / np.sqrt(self.dim))).astype(np.float32)
        order = np.argsort(labels, kind="stable")
        bounds = np.flatnonzero(np.diff(labels[order])) + 1
        for rows in np.split(order, bounds):
            c = labels[rows[0]]
            out[rows] = self.centres[c] + (z[rows] * self.axis_sd[c]) @ self.bases[c] + w[rows]
        if normalize:
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=DEFAULTS["n"], help="base vectors (default %(default)s)")
    p.add_argument("--queries", type=int, default=DEFAULTS["queries"], help="query vectors (default %(default)s)")
    p.add_argument("--dim", type=int, default=DEFAULTS["dim"], help="dimension (default %(default)s)")
    p.add_argument("--clusters", type=int, default=DEFAULTS["clusters"], help="clusters (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="random seed (default %(default)s)")
    p.add_argument("--families", type=int, default=DEFAULTS["families"],
                   help="cluster centres are grouped around this many family centres (default %(default)s), so "
                        "related clusters overlap, like neighbouring product categories")
    p.add_argument("--centre-spread", type=float, default=DEFAULTS["centre_spread"],
                   help="distance of a cluster centre from its family centre, relative to a family centre's norm "
                        "(default %(default)s); lower means more overlap")
    p.add_argument("--intrinsic-dim", type=int, default=DEFAULTS["intrinsic_dim"],
                   help="dimension of each cluster's subspace (default %(default)s); higher is harder to search")
    p.add_argument("--decay", type=float, default=DEFAULTS["decay"],
                   help="subspace axis i has standard deviation proportional to (i+1)^-decay (default %(default)s); "
                        "lower is flatter, so harder to search")
    p.add_argument("--spread", type=float, default=DEFAULTS["spread"],
                   help="in-subspace standard deviation of a cluster, relative to a centre's norm "
                        "(default %(default)s)")
    p.add_argument("--noise", type=float, default=DEFAULTS["noise"],
                   help="isotropic noise, total standard deviation over all dims (default %(default)s)")
    p.add_argument("--no-normalize", dest="normalize", action="store_false", help="keep raw lengths")
    p.add_argument("--gt-k", type=int, default=DEFAULTS["gt_k"], help="neighbours in groundtruth.ivecs (default 100)")
    p.add_argument("--threads", type=int, default=0, help="OpenMP threads for the ground truth (default: all)")
    p.add_argument("--out", help="output folder (default: ${PLATFORM_BENCH_CACHE:-<repo>/.cache/bench}/"
                                 "clustered-100k-512, the name following --n and --dim)")
    args = p.parse_args(argv)
    if min(args.n, args.queries, args.dim, args.clusters, args.families, args.intrinsic_dim, args.gt_k) <= 0:
        p.error("counts and dimensions must be positive")
    if args.intrinsic_dim > args.dim:
        p.error("--intrinsic-dim cannot exceed --dim")
    out = args.out or default_out_dir(args)
    os.makedirs(out, exist_ok=True)
    meta_path = os.path.join(out, "meta.json")
    if os.path.exists(meta_path):
        os.remove(meta_path)  # meta.json marks a complete set (compare.sh checks it), so it goes first, comes last

    import faiss  # Debian python3-faiss; imported late so --help works without it
    if args.threads > 0:
        faiss.omp_set_num_threads(args.threads)

    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    model = ClusterModel(rng, args.dim, args.clusters, args.families, args.centre_spread,
                         args.intrinsic_dim, args.decay, args.spread, args.noise)
    base_labels = model.labels(rng, args.n)
    query_labels = model.labels(rng, args.queries)
    base = model.sample(rng, base_labels, args.normalize)
    queries = model.sample(rng, query_labels, args.normalize)
    write_fvecs(os.path.join(out, "base.fvecs"), base)
    write_fvecs(os.path.join(out, "queries.fvecs"), queries)
    gen_seconds = time.perf_counter() - t0
    print(f"generated {args.n} base + {args.queries} queries, dim {args.dim}, {args.clusters} clusters "
          f"in {gen_seconds:.1f} s", file=sys.stderr)

    t0 = time.perf_counter()
    gt_k = min(args.gt_k, args.n)
    flat = faiss.IndexFlatL2(args.dim)
    flat.add(base)
    dist, ids = flat.search(queries, gt_k)
    write_ivecs(os.path.join(out, "groundtruth.ivecs"), ids.astype(np.int32))
    gt_seconds = time.perf_counter() - t0
    print(f"ground truth: exact top-{gt_k} L2 in {gt_seconds:.1f} s", file=sys.stderr)

    # A few numbers that say how hard the set is: how often the true nearest neighbours share the query's cluster,
    # and how far the 10th neighbour is relative to the 1st and the 100th (a small gap means many near-ties).
    same = (base_labels[ids[:, :10]] == query_labels[:, None]).mean()
    d1, d10, dlast = np.sqrt(np.maximum(dist[:, 0], 0)), np.sqrt(np.maximum(dist[:, min(9, gt_k - 1)], 0)), \
        np.sqrt(np.maximum(dist[:, -1], 0))
    stats = {
        "top10_same_cluster_fraction": round(float(same), 4),
        "median_dist_1st": round(float(np.median(d1)), 4),
        "median_dist_10th": round(float(np.median(d10)), 4),
        f"median_dist_{gt_k}th": round(float(np.median(dlast)), 4),
        "points_per_cluster_min_median_max": [int(x) for x in np.percentile(
            np.bincount(base_labels, minlength=args.clusters), [0, 50, 100])],
    }
    meta = {
        "generator": "bench/make_clustered.py",
        "options": {k: getattr(args, k) for k in DEFAULTS},
        "files": {name: {"sha256": sha256_file(os.path.join(out, name))}
                  for name in ("base.fvecs", "queries.fvecs", "groundtruth.ivecs")},
        "groundtruth": {"metric": "l2", "k": gt_k},
        "seconds": {"generate": round(gen_seconds, 2), "groundtruth": round(gt_seconds, 2)},
        "stats": stats,
    }
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(json.dumps(stats), file=sys.stderr)
    print(out)


if __name__ == "__main__":
    main()
