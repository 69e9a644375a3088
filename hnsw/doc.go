// Package hnsw is lakevec's vector index: a Hierarchical Navigable Small
// World graph (Malkov & Yashunin, "Efficient and robust approximate nearest
// neighbor search using Hierarchical Navigable Small World graphs", 2016)
// over float32 vectors addressed by dense uint32 ids. It knows ids, vectors
// and distances, and nothing of Parquet, Iceberg or Badger: callers map
// their rows to ids.
//
// # Key types
//
//   - Index: the graph. New, Insert/Add, Delete, Repair, Search/SearchPlan,
//     Save/WriteFile, Load/LoadFile/Decode.
//   - Options: dimension, metric, M, efConstruction, planner and repair
//     knobs; DefaultOptions and Validate.
//   - Result, Plan, SearchStats: what a search returns and how it was found.
//   - CorruptionError: where a saved index failed to decode.
//   - Sub-package vec: the SIMD distance kernels.
//
// # Graph
//
// Levels are drawn as floor(-ln U · mL) with mL = 1/ln M, U derived from a
// hash of (seed, id) so a rebuild reproduces the graph. Layer 0 keeps up to
// M0 = 2M links, upper layers M. Inserts follow Algorithm 1 of the paper:
// greedy descent to the node's level, then a beam search of width
// efConstruction per layer, neighbours chosen by the heuristic of
// Algorithm 4, reverse links added and, when a list is full, re-selected by
// the same heuristic.
//
// # Memory layout
//
// Vectors, their int8 codes and layer-0 links ((1+M0) words per id: count,
// then ids) live in slabs of fixed-width records split into segments of
// 16,384 ids (slab.go): growing past a segment appends one and copies
// nothing, so an insert that needs room waits milliseconds, not the copy
// of every vector. The rare upper layers are a small slice per node that
// has them. Searches take a pooled scratch (a
// generation-stamped visited array, two heaps, buffers), so a query
// allocates only its result slice. Cosine vectors are normalised on insert
// and query.
//
// # Distances: int8 codes for walking, float32 for answers
//
// Beside the float32 slab each node keeps an int8 code of its vector (one
// scale per vector, symmetric, padded to 32 bytes; quant.go). Every graph
// walk — greedy descent, the beam search of queries and of inserts, the
// neighbour-selection heuristic — compares codes with the AVX2 integer
// kernel (vec.DotInt8), then a query's ef results are re-ranked with the
// exact float32 distance (AVX2/FMA vec.Dot / vec.L2Squared) before the k
// best are returned, so returned distances are exact. A code is a quarter
// of a vector's bytes: on an index larger than the CPU caches a walk waits
// on a quarter of the memory traffic. Measured on 100k×384 cosine against
// the same walk on float32 (lakevec bench ann, same machine and run
// conditions): 1.6–2.2× the queries per second at ef 32–128 for 0.001–0.004
// less recall@10, and a 2.1× faster build; memory +23 % per vector. The
// exact scan of the planner reads float32 only. Codes are derived from the
// vectors on insert, update and load, so the file format does not hold
// them.
//
// # Concurrency
//
// Lock order: wmu, then mu (both RWMutex), then one stripe of linkLocks,
// then allocMu. wmu orders writers against Save: Insert, Add, Delete and
// Repair hold it shared, Save exclusively — a save sees one consistent
// state and searches, which never take wmu, go on while it writes.
// Insert and Search hold mu shared for their whole run; only growing the
// slabs, rewriting the vector of an existing id and the last phase of a
// repair take it exclusively. A node's link list is written under its
// stripe lock and every link word is read and written with sync/atomic, so
// readers never block on writers: a reader may see a list mid-rewrite, but
// every id in it is a fully initialised node (a node's vector and level are
// written before the first link to it is published). The entry point is
// one atomic word (level and id). Code never holds two stripes at once.
//
// # Deletes
//
// Delete marks a tombstone: the node is gone from results at once but keeps
// routing searches. When tombstones pass RepairFraction of the live count,
// Repair runs: nodes that link to tombstones re-select their links from
// their live links plus the tombstones' live links (so paths through the
// deleted node survive as direct links), then, briefly exclusive, the
// tombstones' slots are cleared and handed to Add. The slot is reused only
// when nothing links to it and no search is running, so a search never sees
// a reused slot as its old node. Insert on a live or not-yet-repaired id
// rewrites its vector in place and repairs its neighbourhood as hnswlib's
// updatePoint does.
//
// # Filtered search and the planner
//
// Search takes allow func(id) bool. The planner samples allow on 512 live
// ids to estimate the allowed count c. If c² ≤ factor·ef·M0·live (scanning c
// vectors costs less than a filtered walk that must step over ~1/selectivity
// rejected nodes per accepted one) it scans exactly, with perfect recall;
// otherwise it walks the graph through every node but admits only allowed
// live ones to the results, stopping when the closest candidate is farther
// than the worst of ef admitted results. A walk that finds fewer than k
// results is redone exactly, so a correct answer never depends on the
// estimate.
//
// # File format
//
// See persist.go and docs/format/hnsw.md: a CRC-checked header, then
// CRC-checked, 8-byte-aligned sections (state, levels, vectors, links0,
// upper). Load reads the file once and uses the buffer in place as the
// slabs; every count, id and level is validated, so a damaged file is a
// CorruptionError and never a panic.
package hnsw
