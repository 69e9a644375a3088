package engine

import (
	"context"
	"sort"
	"sync"
)

// HistoryRow is one event of the history table lakevec keeps in the lake:
// a chunk version opening (becoming valid at At) or closing (stopping
// being valid at At). The table is append-only: intervals are closed by
// later events, never by rewriting rows.
type HistoryRow struct {
	DocID     string
	ChunkKey  uint32
	Parent    uint32
	Position  int32
	Hash      [32]byte
	Text      string
	Embedding []float32
	Event     string // "open" or "close"
	At        int64  // UTC milliseconds
	CommitSeq uint64
}

// History is the lake side of a documents collection: the managed Iceberg
// table of chunk versions (package lake implements it). Commit writes one
// snapshot per batch and is idempotent by batch id, so a retry after a
// crash or a lost acknowledgement never commits twice.
type History interface {
	Commit(ctx context.Context, batchID uint64, rows []HistoryRow) (snapshotID int64, err error)
	FindBatch(ctx context.Context, batchID uint64) (snapshotID int64, found bool, err error)
	Scan(ctx context.Context, fn func(HistoryRow) error) error
	Close() error
}

// MemHistory is an in-memory History for tests and for data directories
// opened without a lake. It is not durable.
type MemHistory struct {
	mu      sync.Mutex
	batches map[uint64][]HistoryRow
	order   []uint64
	// FailCommit, when set, is returned by the next Commit calls.
	FailCommit error
}

// NewMemHistory returns an empty MemHistory.
func NewMemHistory() *MemHistory { return &MemHistory{batches: map[uint64][]HistoryRow{}} }

// Commit implements History.
func (m *MemHistory) Commit(ctx context.Context, batchID uint64, rows []HistoryRow) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.FailCommit != nil {
		return 0, m.FailCommit
	}
	if _, ok := m.batches[batchID]; !ok {
		m.batches[batchID] = append([]HistoryRow(nil), rows...)
		m.order = append(m.order, batchID)
	}
	return int64(batchID), nil
}

// FindBatch implements History.
func (m *MemHistory) FindBatch(ctx context.Context, batchID uint64) (int64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.batches[batchID]
	return int64(batchID), ok, nil
}

// Scan implements History.
func (m *MemHistory) Scan(ctx context.Context, fn func(HistoryRow) error) error {
	m.mu.Lock()
	ids := append([]uint64(nil), m.order...)
	m.mu.Unlock()
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		m.mu.Lock()
		rows := m.batches[id]
		m.mu.Unlock()
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close implements History.
func (m *MemHistory) Close() error { return nil }
