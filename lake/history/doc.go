// Package history is the managed history table of a documents collection:
// an append-only Apache Iceberg table of chunk-version events that lakevec
// writes, one snapshot per batch, and that any Iceberg engine can read.
//
// # Key types
//
//   - Config: where the table lives (warehouse file:// or s3://, SQLite
//     catalog, namespace, name, S3 options, commit retries).
//   - Table: OpenTable, Commit, FindBatch, Batches, Scan, Compact, Close.
//   - Row: one event. Its fields match engine.HistoryRow one for one, so
//     engine.HistoryRow(r) converts it; this package does not import engine.
//
// # Table layout
//
//	doc_id string, chunk_key int, parent int, position int,
//	content_hash fixed[32], text string, embedding list<float> (nullable),
//	event string ("open"|"close"), at timestamptz, commit_seq long
//
// Unpartitioned, format version 2. uint32/uint64 values are stored as their
// bit patterns in int/long. at holds whole milliseconds (Row.At). A chunk
// version's validity interval is [at of its open row, at of its close row);
// intervals are closed by later close rows, never by rewriting rows, so
// every snapshot of the table is a valid past state of the history.
//
// A batch is one small append, and a server appends one per ingest, so the
// table's metadata is kept from growing with the number of batches:
// snapshots past 2×64 are expired down to 64 (their manifest lists and
// unreferenced files deleted), appends merge manifests once 32 accumulate
// (commit.manifest-merge.enabled), and the catalog keeps the last 16
// metadata files (write.metadata.delete-after-commit.enabled). OpenTable
// sets these properties on a table that lacks them. Without them, at 2,000
// batches each commit rewrote a manifest list naming 2,000 manifests and
// took 2.3× as long, and a commit that ran the expiry 5.3× as long
// (BenchmarkCommitAfterManyBatches: 16 vs 36 ms, slowest 176 vs 928 ms).
//
// # Commit and idempotency
//
// Commit appends the rows of one batch as one snapshot whose summary carries
// "lakevec.batch-id" (BatchIDKey) = the WAL sequence number. Before writing
// it reloads the table from the catalog and returns the existing snapshot if
// the batch id is already on the main branch, so redoing a WAL record after
// a crash or a lost acknowledgement never commits twice. When the catalog
// commit returns an error the state is treated as unknown and looked up,
// never cleaned up blindly. Optimistic-concurrency conflicts are retried by
// iceberg-go itself: OpenTable sets commit.retry.num-retries (default 4;
// iceberg-go's own default is 0), and the SQL catalog reports a moved
// metadata pointer as table.ErrCommitFailed, which triggers the
// refresh-and-replay loop. One writer per table is the contract; the
// idempotency check does not run inside iceberg-go's retry loop.
//
// # Durability
//
// The SQLite catalog runs in WAL mode with synchronous=FULL and a busy
// timeout (several processes may share it). iceberg-go writes local files
// without fsync, so after each commit to a file:// warehouse Table calls
// syncfs(2) on the warehouse's file system before acknowledging. A power
// loss in the few milliseconds between the catalog commit and that sync
// could still leave the catalog pointing at an incomplete metadata file;
// object-store warehouses (s3://) do not have this window.
//
// # Compaction
//
// Compact bin-packs small files with iceberg-go's planner and
// RewriteDataFiles in one snapshot, checks the staged row count before
// committing and the committed summary after. It refuses tables with delete
// files (apache/iceberg-go#2042 resurrects deleted rows on rewrite); the
// history table never has them.
//
// # Limits
//
// FindBatch and Batches see the main branch's snapshots: lakevec never
// expires snapshots of this table; if someone does, batch ids of expired
// snapshots are no longer found (their rows remain). Every method reloads
// the table from the catalog (one SQLite read and one metadata file read).
package history
