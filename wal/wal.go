package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
)

// FrameVersion is the version of the record frame written by this build.
const FrameVersion = 1

const frameHeader = 10 // crc(4) len(4) ver(1) type(1)

// MaxPayload bounds a record's payload (Badger's value limit is larger,
// but a change set this big should be split by the caller).
const MaxPayload = 256 << 20

// ErrCorrupt matches every *CorruptionError.
var ErrCorrupt = errors.New("corrupt wal record")

// CorruptionError reports a record that failed to decode.
type CorruptionError struct {
	Log    string
	Seq    uint64
	Reason string
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("wal %s: record %d: %s", e.Log, e.Seq, e.Reason)
}

// Is reports ErrCorrupt as a match.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }

// SyncPolicy says when appends reach the disk.
type SyncPolicy uint8

const (
	// SyncEveryAppend syncs before Append returns (the default).
	SyncEveryAppend SyncPolicy = iota
	// SyncNever leaves syncing to Badger and the caller: records survive a
	// process crash but not a power loss. For tests and bulk loads.
	SyncNever
)

// Options configure a Log.
type Options struct {
	// Sync is the sync policy; the zero value is SyncEveryAppend.
	Sync SyncPolicy
}

// Record is one log entry.
type Record struct {
	Seq     uint64
	Type    byte
	Payload []byte
}

// Stats describes a log.
type Stats struct {
	Next    uint64 // sequence number the next Append gets
	Pending int    // records not marked done
	Done    int    // records marked done and not yet trimmed
	Dropped int    // records dropped by Repair since Open
}

// Log is a write-ahead log in a Badger database. It is safe for concurrent
// use; appends are serialised.
type Log struct {
	db   *badger.DB
	name string
	opts Options

	mu      sync.Mutex // serialises Append, Repair and TrimDone
	next    uint64
	dropped int
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (l *Log) prefix(kind byte) []byte {
	return append([]byte("wal/"+l.name+"/"), kind, '/')
}

func (l *Log) key(kind byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(l.prefix(kind), seq)
}

func (l *Log) floorKey() []byte { return append(l.prefix('m'), "floor"...) }

// Open opens (creating if needed) the log called name in db. name must be a
// non-empty string of letters, digits, '-' and '_'.
func Open(db *badger.DB, name string, o Options) (*Log, error) {
	if name == "" {
		return nil, fmt.Errorf("open wal: empty name")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return nil, fmt.Errorf("open wal %q: name may hold only letters, digits, '-' and '_'", name)
		}
	}
	if o.Sync > SyncNever {
		return nil, fmt.Errorf("open wal %s: unknown sync policy %d", name, o.Sync)
	}
	l := &Log{db: db, name: name, opts: o}
	var last uint64
	err := db.View(func(txn *badger.Txn) error {
		if it, err := txn.Get(l.floorKey()); err == nil {
			err = it.Value(func(v []byte) error {
				if len(v) != 8 {
					return &CorruptionError{Log: name, Reason: fmt.Sprintf("sequence floor is %d bytes, want 8", len(v))}
				}
				last = binary.BigEndian.Uint64(v)
				return nil
			})
			if err != nil {
				return err
			}
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		opts := badger.DefaultIteratorOptions
		opts.Reverse, opts.PrefetchValues = true, false
		p := l.prefix('r')
		opts.Prefix = p
		it := txn.NewIterator(opts)
		defer it.Close()
		it.Seek(append(append([]byte(nil), p...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
		if it.ValidForPrefix(p) {
			k := it.Item().Key()
			if len(k) != len(p)+8 {
				return &CorruptionError{Log: name, Reason: fmt.Sprintf("record key %q has a bad length", k)}
			}
			last = max(last, binary.BigEndian.Uint64(k[len(p):]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open wal %s: %w", name, err)
	}
	l.next = last + 1
	return l, nil
}

// Name returns the log's name.
func (l *Log) Name() string { return l.name }

// Append writes a record and returns its sequence number. Under
// SyncEveryAppend the record is on disk when Append returns.
func (l *Log) Append(typ byte, payload []byte) (uint64, error) {
	if len(payload) > MaxPayload {
		return 0, fmt.Errorf("wal %s: append: payload of %d bytes above the %d-byte limit", l.name, len(payload), MaxPayload)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := l.next
	frame := encodeFrame(seq, typ, payload)
	if err := l.db.Update(func(txn *badger.Txn) error {
		return txn.Set(l.key('r', seq), frame)
	}); err != nil {
		return 0, fmt.Errorf("wal %s: append record %d: %w", l.name, seq, err)
	}
	if l.opts.Sync == SyncEveryAppend {
		if err := l.db.Sync(); err != nil {
			// The record may or may not be durable: do not reuse its number.
			l.next++
			return 0, fmt.Errorf("wal %s: sync record %d: %w", l.name, seq, err)
		}
	}
	l.next++
	return seq, nil
}

func encodeFrame(seq uint64, typ byte, payload []byte) []byte {
	b := make([]byte, frameHeader+len(payload))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(payload)))
	b[8] = FrameVersion
	b[9] = typ
	copy(b[frameHeader:], payload)
	binary.LittleEndian.PutUint32(b[0:], frameCRC(seq, b[4:]))
	return b
}

func frameCRC(seq uint64, rest []byte) uint32 {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	c := crc32.Update(0, castagnoli, s[:])
	return crc32.Update(c, castagnoli, rest)
}

// DecodeFrame checks and decodes the stored value of record seq. The
// payload is a copy.
func DecodeFrame(seq uint64, b []byte) (Record, error) {
	bad := func(format string, args ...any) (Record, error) {
		return Record{}, &CorruptionError{Seq: seq, Reason: fmt.Sprintf(format, args...)}
	}
	if len(b) < frameHeader {
		return bad("frame is %d bytes, shorter than its %d-byte header", len(b), frameHeader)
	}
	n := binary.LittleEndian.Uint32(b[4:])
	if uint64(n) != uint64(len(b)-frameHeader) {
		return bad("frame says %d payload bytes, holds %d", n, len(b)-frameHeader)
	}
	if got, want := frameCRC(seq, b[4:]), binary.LittleEndian.Uint32(b[0:]); got != want {
		return bad("checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	if b[8] != FrameVersion {
		return bad("unsupported frame version %d (this build reads %d)", b[8], FrameVersion)
	}
	return Record{Seq: seq, Type: b[9], Payload: append([]byte(nil), b[frameHeader:]...)}, nil
}

// MarkDone records that the record seq has been fully applied. It is
// idempotent and not synced (see the package comment).
func (l *Log) MarkDone(seq uint64) error {
	if err := l.db.Update(func(txn *badger.Txn) error {
		if _, err := txn.Get(l.key('r', seq)); err != nil {
			if errors.Is(err, badger.ErrKeyNotFound) {
				return fmt.Errorf("no record %d", seq)
			}
			return err
		}
		return txn.Set(l.key('d', seq), nil)
	}); err != nil {
		return fmt.Errorf("wal %s: mark %d done: %w", l.name, seq, err)
	}
	return nil
}

// Pending returns the records not marked done, in sequence order. At the
// first record that fails to decode it stops and returns the records
// before it with a *CorruptionError.
func (l *Log) Pending() ([]Record, error) {
	var out []Record
	err := l.Replay(0, func(r Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// Replay calls fn for every record not marked done with a sequence number
// above after, in order. It stops at the first error of fn, or at the
// first record that fails to decode (returning a *CorruptionError).
func (l *Log) Replay(after uint64, fn func(Record) error) error {
	return l.db.View(func(txn *badger.Txn) error {
		done, err := l.doneSet(txn)
		if err != nil {
			return err
		}
		p := l.prefix('r')
		opts := badger.DefaultIteratorOptions
		opts.Prefix = p
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(l.key('r', after+1)); it.ValidForPrefix(p); it.Next() {
			k := it.Item().Key()
			if len(k) != len(p)+8 {
				return &CorruptionError{Log: l.name, Reason: fmt.Sprintf("record key %q has a bad length", k)}
			}
			seq := binary.BigEndian.Uint64(k[len(p):])
			if done[seq] {
				continue
			}
			var rec Record
			if err := it.Item().Value(func(v []byte) error {
				var err error
				rec, err = DecodeFrame(seq, v)
				return err
			}); err != nil {
				var ce *CorruptionError
				if errors.As(err, &ce) {
					ce.Log = l.name
				}
				return err
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

func (l *Log) doneSet(txn *badger.Txn) (map[uint64]bool, error) {
	done := map[uint64]bool{}
	p := l.prefix('d')
	opts := badger.DefaultIteratorOptions
	opts.Prefix, opts.PrefetchValues = p, false
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.ValidForPrefix(p); it.Next() {
		k := it.Item().Key()
		if len(k) != len(p)+8 {
			return nil, &CorruptionError{Log: l.name, Reason: fmt.Sprintf("done key %q has a bad length", k)}
		}
		done[binary.BigEndian.Uint64(k[len(p):])] = true
	}
	return done, nil
}

// TrimDone deletes the records marked done with sequence numbers up to and
// including through (a checkpoint covers them) and returns how many it
// deleted. Pending records are kept whatever their number.
func (l *Log) TrimDone(through uint64) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var seqs []uint64
	if err := l.db.View(func(txn *badger.Txn) error {
		done, err := l.doneSet(txn)
		for s := range done {
			if s <= through {
				seqs = append(seqs, s)
			}
		}
		return err
	}); err != nil {
		return 0, fmt.Errorf("wal %s: trim: %w", l.name, err)
	}
	return len(seqs), l.deleteLocked(seqs)
}

// deleteLocked removes records and their done markers, raising the
// sequence floor first so their numbers are never handed out again.
func (l *Log) deleteLocked(seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	floor := l.next - 1
	if err := l.db.Update(func(txn *badger.Txn) error {
		return txn.Set(l.floorKey(), binary.BigEndian.AppendUint64(nil, floor))
	}); err != nil {
		return fmt.Errorf("wal %s: write sequence floor: %w", l.name, err)
	}
	wb := l.db.NewWriteBatch()
	defer wb.Cancel()
	for _, s := range seqs {
		if err := wb.Delete(l.key('r', s)); err != nil {
			return fmt.Errorf("wal %s: delete record %d: %w", l.name, s, err)
		}
		if err := wb.Delete(l.key('d', s)); err != nil {
			return fmt.Errorf("wal %s: delete record %d: %w", l.name, s, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("wal %s: delete records: %w", l.name, err)
	}
	return nil
}

// Repair finds the first record that fails to decode and deletes it and
// every record after it, done or not. It returns the number of records
// dropped (0 when the log is sound), which Stats also counts.
func (l *Log) Repair() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var bad []uint64
	err := l.db.View(func(txn *badger.Txn) error {
		p := l.prefix('r')
		opts := badger.DefaultIteratorOptions
		opts.Prefix = p
		it := txn.NewIterator(opts)
		defer it.Close()
		broken := false
		for it.Rewind(); it.ValidForPrefix(p); it.Next() {
			k := it.Item().Key()
			if len(k) != len(p)+8 {
				return &CorruptionError{Log: l.name, Reason: fmt.Sprintf("record key %q has a bad length", k)}
			}
			seq := binary.BigEndian.Uint64(k[len(p):])
			if !broken {
				err := it.Item().Value(func(v []byte) error {
					_, err := DecodeFrame(seq, v)
					return err
				})
				if errors.Is(err, ErrCorrupt) {
					broken = true
				} else if err != nil {
					return err
				}
			}
			if broken {
				bad = append(bad, seq)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("wal %s: repair: %w", l.name, err)
	}
	if err := l.deleteLocked(bad); err != nil {
		return 0, err
	}
	l.dropped += len(bad)
	return len(bad), nil
}

// Stats returns counts of the log's records.
func (l *Log) Stats() (Stats, error) {
	l.mu.Lock()
	st := Stats{Next: l.next, Dropped: l.dropped}
	l.mu.Unlock()
	err := l.db.View(func(txn *badger.Txn) error {
		done, err := l.doneSet(txn)
		if err != nil {
			return err
		}
		p := l.prefix('r')
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = p, false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix(p); it.Next() {
			k := it.Item().Key()
			if len(k) == len(p)+8 && done[binary.BigEndian.Uint64(k[len(p):])] {
				st.Done++
			} else {
				st.Pending++
			}
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("wal %s: stats: %w", l.name, err)
	}
	return st, nil
}

// NextSeq returns the sequence number the next Append will get (if no
// other Append runs first).
func (l *Log) NextSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// SkipTo makes the next Append return at least next, so a log recreated
// beside a lake that already holds batches never reuses their numbers.
func (l *Log) SkipTo(next uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if next <= l.next {
		return nil
	}
	if err := l.db.Update(func(txn *badger.Txn) error {
		return txn.Set(l.floorKey(), binary.BigEndian.AppendUint64(nil, next-1))
	}); err != nil {
		return fmt.Errorf("wal %s: skip to %d: %w", l.name, next, err)
	}
	if err := l.db.Sync(); err != nil {
		return fmt.Errorf("wal %s: skip to %d: %w", l.name, next, err)
	}
	l.next = next
	return nil
}
