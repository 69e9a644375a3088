// Package wal is lakevec's write-ahead log: a generic, ordered log of typed
// records stored in Badger, used by the engine to make a batch durable
// before it touches the lake, the hash store or an index. It knows nothing
// of chunks, tables or vectors: a record is a type byte and opaque bytes.
//
// # Key types
//
//   - Log: Open, Append, MarkDone, Pending, Replay, TrimDone, Repair, Stats.
//   - Record: sequence number, type, payload.
//   - CorruptionError: a record that failed its checksum or framing
//     (errors.Is ErrCorrupt).
//
// # Layout in Badger
//
// Every key starts with "wal/<name>/" so several logs share one database
// and never collide with other state:
//
//	wal/<name>/r/<seq: 8 bytes big-endian>  record frame
//	wal/<name>/d/<seq>                      empty: the record is done
//	wal/<name>/m/floor                      8 bytes: highest sequence ever
//	                                        assigned and since trimmed
//
// Big-endian sequence numbers make Badger's key order the log order.
//
// # Record frame
//
// Framing is kept apart from payload (as in Prometheus' wlog vs record):
//
//	crc32c(4) | length(4) | version(1) | type(1) | payload
//
// The CRC-32C (Castagnoli) covers the sequence number (from the key), the
// length, version, type and payload, so a value that is damaged, cut, or
// stored under another key is detected. length is the payload length.
// version is the frame version (1); record types belong to the caller and a
// new payload encoding gets a new type number, never a reused one.
//
// # Durability
//
// With SyncEveryAppend (the default) Append returns only after Badger has
// synced the record to disk (DB.Sync), so an acknowledged record survives a
// power loss, not just a process crash; Badger's own default (SyncWrites
// false) would only survive the latter. A synced single-record append costs
// about 0.4 ms on the reference machine: callers batch a whole change set
// into one record. MarkDone is not synced: losing a done marker only makes
// recovery redo an idempotent step.
//
// # Recovery
//
// Pending returns the records not marked done, in order, stopping at the
// first record that fails to decode and returning the records before it
// together with a *CorruptionError. Repair deletes that record and every
// later one (the log is a prefix-ordered history: nothing after a hole can
// be trusted to apply), counts them in Stats().Dropped, and keeps the
// sequence floor so numbers are never reused: a sequence number may already
// be recorded in the lake as a batch id.
package wal
