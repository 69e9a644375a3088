// Package bench measures lakevec's HNSW index against peers on TEXMEX data
// sets, and writes synthetic data sets. It is what `lakevec bench ann` and
// `lakevec bench gen` run; cmd/lakevec only parses flags.
//
// Key types and functions:
//
//   - [ANNConfig] and [RunANN]: build each system on base[skip:] (ids stay
//     the original row numbers), then for each ef run every query on one
//     thread and report one [Result] per (system, ef).
//   - [Result]: one JSON line on stdout with exactly the keys system, ef,
//     recall_at_10, qps, p50_ms, p99_ms, build_s, threads, n, dim,
//     bytes_per_vector. A human table goes to stderr.
//   - [GenerateToDir]: write base.fvecs, query.fvecs, groundtruth.ivecs and
//     meta.json from a [gen.Spec].
//   - [InputError]: flags or input files that do not fit together; the CLI
//     exits with a usage error (code 2) for these.
//
// Systems:
//
//   - "lakevec": github.com/lakevec/lakevec/hnsw, built by --threads
//     goroutines that take ids from a shared counter. bytes_per_vector is
//     Index.MemoryBytes() / n.
//   - "coder-hnsw": github.com/coder/hnsw v0.6.1, a pure-Go peer. It is not
//     safe for concurrent inserts, so it is built on one thread. Its
//     EfSearch field is the beam for inserts too, so it is set to
//     --ef-construction while building and to each ef while searching; Ml
//     is 1/M as in hnswlib. bytes_per_vector is the growth of the Go heap
//     across the build (after a GC on both sides) divided by n, plus 4·dim
//     for the vectors, which it references instead of copying.
//   - "hnswlib": Debian's python3-hnswlib run by an embedded script,
//     peers/hnswlib_peer.py, under /usr/bin/python3 (--python).
//     bytes_per_vector is the growth of the script's resident memory across
//     the build / n. A second system, "hnswlib-batch", times one knn_query
//     call over all queries on one thread (no per-call Python overhead;
//     p50/p99 are then the mean). See the script.
//
// Method, the same for every system: recall@10 is |first 10 results ∩
// first 10 ground-truth ids| / 10, averaged over queries, taken from the
// first pass. Passes over all queries repeat until --min-time has passed
// and --min-passes passes are done; every query call is timed on its own.
// p50_ms and p99_ms are nearest-rank percentiles of those times; qps is
// calls / total time of the calls, i.e. single-thread throughput. Search
// is called with (k, ef) as given; each system applies its own rule when
// ef < k (usually max(ef, k)).
//
// Sub-packages: bench/texmex (file formats) and bench/gen (synthetic
// sentence-embedding-like data) do not depend on the index, so index tests
// may use them.
package bench
