"""hnswlib peer for `lakevec bench ann`.

Embedded in the lakevec binary (bench/peers/hnswlib_peer.py) and run with
Debian's /usr/bin/python3 (packages python3-hnswlib, python3-numpy). It can
also be run by hand with the same flags as `lakevec bench ann`.

It reads the same TEXMEX files, indexes base[skip:] under the original ids,
builds with M / ef_construction on --threads threads, then for each ef runs
every query on one thread, one knn_query call per query, timing each call
with perf_counter_ns. Passes over all queries repeat until at least
--min-time seconds and --min-passes passes. Recall@10 comes from the first
pass: |first 10 results ∩ gt[:10]| / 10, averaged over queries.
p50/p99 are nearest-rank percentiles of all timed calls; qps = calls /
sum of call times. The timed call includes the Python binding's per-call
overhead (a few µs), which is how hnswlib is used from Python.

bytes_per_vector = growth of the process's resident memory across
init_index + add_items, divided by n: everything hnswlib holds per element
(vectors, level-0 links, label, upper links, per-element mutex, label hash
map). The size of index.save_index() / n (which leaves out the mutexes and
the hash map) is printed on stderr for comparison.

A second line per ef, system "hnswlib-batch", times one knn_query call over
all queries on one thread: the C++ search loop without the per-call Python
overhead. Its p50_ms and p99_ms are the mean time per query (a batch call
has no per-query latencies).

One JSON object per line on stdout; progress on stderr. Exit code 3 means
numpy or hnswlib cannot be imported.
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time

EXIT_MISSING = 3


def fail(msg):
    print(f"hnswlib peer: {msg}", file=sys.stderr)
    sys.exit(1)


def read_texmex(np, path):
    """Returns a 2-D array: float32 for .fvecs/.bvecs, int32 for .ivecs."""
    ext = os.path.splitext(path)[1].lower()
    kinds = {".fvecs": (4, "<f4"), ".bvecs": (1, "u1"), ".ivecs": (4, "<i4")}
    if ext not in kinds:
        fail(f"{path}: unknown extension {ext!r}")
    size, dtype = kinds[ext]
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size < 4:
        fail(f"read {path}: empty file")
    dim = int(raw[:4].view("<i4")[0])
    if dim <= 0 or dim > 1 << 16:
        fail(f"read {path}: dimension {dim} out of range")
    rec = 4 + dim * size
    if raw.size % rec:
        fail(f"read {path}: {raw.size} bytes is not a multiple of the record size {rec}")
    m = raw.reshape(-1, rec)
    heads = np.ascontiguousarray(m[:, :4]).view("<i4").ravel()
    if (heads != dim).any():
        bad = int(np.argmax(heads != dim))
        fail(f"read {path}: record {bad}: dimension {int(heads[bad])}, want {dim}")
    body = np.ascontiguousarray(m[:, 4:]).view(dtype)
    if ext == ".ivecs":
        return body.astype(np.int32)
    return np.ascontiguousarray(body.astype(np.float32))


def rss_bytes():
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentile(sorted_ns, p):
    """Nearest-rank percentile of a sorted list of nanoseconds, in ms."""
    i = max(0, min(len(sorted_ns) - 1, math.ceil(p * len(sorted_ns)) - 1))
    return sorted_ns[i] / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check that numpy and hnswlib import")
    ap.add_argument("--base")
    ap.add_argument("--query")
    ap.add_argument("--gt")
    ap.add_argument("--metric", default="l2", choices=["l2", "ip", "cosine"])
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef", default="10,20,40,80,160")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip", type=int, default=0)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per ef")
    ap.add_argument("--min-passes", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    try:
        import numpy as np
        import hnswlib
    except ImportError as e:
        print(f"hnswlib peer: {e}", file=sys.stderr)
        sys.exit(EXIT_MISSING)
    if args.check:
        return
    if not (args.base and args.query and args.gt):
        fail("--base, --query and --gt are required")
    efs = [int(x) for x in args.ef.split(",") if x.strip()]

    base = read_texmex(np, args.base)
    query = read_texmex(np, args.query)
    gt = read_texmex(np, args.gt)
    n_total, dim = base.shape
    if query.shape[1] != dim:
        fail(f"query dimension {query.shape[1]}, base dimension {dim}")
    if not 0 <= args.skip < n_total:
        fail(f"--skip {args.skip} out of range 0..{n_total - 1}")
    nq = query.shape[0]
    if gt.shape[0] < nq or gt.shape[1] < 10:
        fail(f"ground truth is {gt.shape[0]}×{gt.shape[1]}, want at least {nq}×10")
    if args.k < 10:
        fail("--k must be at least 10")
    data = base[args.skip:]
    n = data.shape[0]
    if args.k > n:
        fail(f"--k {args.k} is more than the {n} indexed vectors")
    truth = [set(int(x) for x in gt[i, :10]) for i in range(nq)]

    index = hnswlib.Index(space=args.metric, dim=dim)
    rss_before = rss_bytes()
    index.init_index(max_elements=n, ef_construction=args.ef_construction, M=args.m,
                     random_seed=args.seed)
    print(f"hnswlib: building {n} vectors (dim {dim}, M {args.m}, efC {args.ef_construction}, "
          f"{args.threads} threads)", file=sys.stderr, flush=True)
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    index.add_items(data, np.arange(args.skip, n_total, dtype=np.int64), num_threads=args.threads)
    build_s = time.perf_counter() - t0
    rss_after = rss_bytes()
    print(f"hnswlib: built in {build_s:.2f} s", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="lakevec-hnswlib-") as tmp:
        path = os.path.join(tmp, "index.bin")
        index.save_index(path)
        file_bytes_per_vector = os.path.getsize(path) / n
    bytes_per_vector = (rss_after - rss_before) / n
    print(f"hnswlib: {bytes_per_vector:.0f} resident bytes per vector "
          f"({file_bytes_per_vector:.0f} in its saved file)", file=sys.stderr, flush=True)

    index.set_num_threads(1)
    queries = [query[i:i + 1] for i in range(nq)]
    for ef in efs:
        index.set_ef(ef)
        lat = []
        hits = 0
        passes = 0
        start = time.perf_counter()
        while True:
            for i, q in enumerate(queries):
                t = time.perf_counter_ns()
                labels, _ = index.knn_query(q, k=args.k, num_threads=1)
                lat.append(time.perf_counter_ns() - t)
                if passes == 0:
                    hits += len(truth[i].intersection(int(x) for x in labels[0, :10]))
            passes += 1
            if passes >= args.min_passes and time.perf_counter() - start >= args.min_time:
                break
        lat.sort()
        out = {
            "system": "hnswlib",
            "ef": ef,
            "recall_at_10": hits / (10 * nq),
            "qps": len(lat) / (sum(lat) / 1e9),
            "p50_ms": percentile(lat, 0.50),
            "p99_ms": percentile(lat, 0.99),
            "build_s": build_s,
            "threads": args.threads,
            "n": n,
            "dim": dim,
            "bytes_per_vector": bytes_per_vector,
        }
        print(json.dumps(out), flush=True)

        # The same queries in one call: no per-call Python overhead.
        batch = []
        passes = 0
        start = time.perf_counter()
        while True:
            t = time.perf_counter_ns()
            index.knn_query(query, k=args.k, num_threads=1)
            batch.append(time.perf_counter_ns() - t)
            passes += 1
            if passes >= args.min_passes and time.perf_counter() - start >= args.min_time:
                break
        per_query_ns = sum(batch) / (len(batch) * nq)
        out = dict(out, system="hnswlib-batch", qps=1e9 / per_query_ns,
                   p50_ms=per_query_ns / 1e6, p99_ms=per_query_ns / 1e6)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, ValueError, OSError) as e:
        fail(str(e))
