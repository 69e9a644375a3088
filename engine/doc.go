// Package engine composes lakevec's parts into collections. It holds the
// versioned knowledge base of documents (KB); external lake collections
// come with the lake issue.
//
// # Key types
//
//   - KB: Open, Ingest, ImportHistory, Search/SearchVector, Compare,
//     History, Show, Diff, Docs, Stats, Verify, Close.
//   - Options, DocInput, Report, Hit, SearchOptions, VersionInfo.
//   - History: the lake side (LakeHistory: the Iceberg table of package
//     lake/history; MemHistory for tests).
//   - CorruptStoreError: a store record that failed its checksum.
//
// # Rows and time
//
// A row is one chunk version: (document, chunk key) with its text, hash,
// position, parent (the key it replaced) and validity interval [From, To)
// in UTC milliseconds, To = +∞ while valid. As of T means From <= T < To.
// Rows get dense ids in commit order; the history index uses them as
// graph ids, the hot index (current rows only) maps its own ids to rows.
//
// # Commit protocol (one writer)
//
//  1. plan: read the store, chunk and align each document, assign rows and
//     keys, embed texts the cache lacks — no side effects.
//  2. append the whole batch (embeddings included) to the WAL and sync.
//  3. commit the batch's open/close events to the lake history table as
//     one snapshot carrying the batch id (idempotent by batch id).
//  4. write the store in one Badger transaction (documents, versions,
//     rows, embeddings, the change record, applied batch) and sync.
//  5. apply to the in-memory validity arrays and indexes under the write
//     lock, so a search sees the whole batch or none of it.
//  6. mark the WAL record done; every CheckpointEvery batches, write index
//     checkpoints (atomic files named by the batch they cover). The
//     checkpoint is written after the batch is acknowledged, by a goroutine
//     that holds the writer lock: the graphs and the hot map it writes
//     agree with one applied batch, searches go on, and only a write that
//     arrives while it runs waits for it.
//
// Recovery on Open completes every logged batch not yet applied (steps
// 3–4), then loads the index checkpoint and replays the change records
// after it; a normal restart never rebuilds. A logged batch the lake
// refuses at open blocks writes (they were planned after it) but not
// reads. Failpoints after steps 2–5 let a test kill the process there.
//
// # Store layout
//
// See store.go: keys meta/, doc/, docver/, row/, chg/, emb/ and wal/; every
// value is versioned and CRC-checked, so a damaged store is an error.
package engine
