// Package snapshot says what changed in an Iceberg table between the state
// lakevec last indexed and the current one, in terms of files: data files
// added and removed, position-delete files (and v3 deletion vectors) and
// equality-delete files added and removed. The engine turns that into rows
// to read (package lake) and rows to drop.
//
// # Key types and functions
//
//   - File: one tracked file (or deletion-vector blob) with kind, format,
//     record count, partition, data sequence number, the snapshot that
//     added it, equality field ids, referenced data file. File.Key is its
//     identity (path, plus the blob offset for deletion vectors).
//   - State: the live files of one snapshot. Diff(from, to State) Change.
//   - Entry, ChangeOf: what one snapshot did, from its manifest entries.
//   - Change: added/removed files per kind; Net folds a changelog; Apply
//     replays a change onto a state, checking it fits.
//   - ReadState, Changelog: the only I/O, walking Snapshot.Manifests and
//     ManifestFile.Entries of iceberg-go tables.
//
// # Why not iceberg-go's incremental scans
//
// In iceberg-go v0.7.0 NewIncrementalAppendScan silently skips overwrite
// and delete snapshots, and NewIncrementalChangelogScan fails on
// merge-on-read delete manifests. Here a snapshot's change is read from the
// manifests that snapshot added (ManifestFile.SnapshotID): only they can
// hold entries ADDED or DELETED by it (carried-over manifests hold EXISTING
// entries and older snapshots' changes), so a changelog reads each
// manifest once and never rereads the whole table.
//
// # Two ways to compute a change
//
//   - Changelog(from, to): per snapshot, oldest first, with operation,
//     sequence number and commit time (an external table's valid time).
//     Needs from on to's parent chain with no expired snapshot in between;
//     otherwise it returns ErrNotAncestor.
//   - Diff(stored state, ReadState(to)): exact whatever happened in between
//     (rollback, expiry, branch reset), one change for the whole range.
//
// For a complete changelog Net(changelog) == Diff(states); the tests check
// this on a real table for every pair of snapshots across appends,
// merge-on-read and equality deletes, copy-on-write deletes, overwrite and
// compaction.
//
// The pure functions (Diff, ChangeOf, Net, Apply) are tested with
// datadriven files in testdata/ (regenerate with -rewrite).
package snapshot
