package lake

import (
	"context"
	"errors"
	"fmt"

	"github.com/lakevec/lakevec/snapshot"
)

// What a reader of an Iceberg table needs to follow it snapshot by
// snapshot: the current snapshot, what each later snapshot did (package
// snapshot walks the manifests), a whole snapshot's files, and the names
// of the columns an equality delete file keys on.

// SnapshotInfo is one snapshot of the table's log.
type SnapshotInfo struct {
	ID       int64
	ParentID int64
	Sequence int64
	TimeMs   int64
}

// Current returns the table's current snapshot (ID 0 for an empty table).
func (t *IcebergTable) Current() SnapshotInfo {
	s := t.current().CurrentSnapshot()
	if s == nil {
		return SnapshotInfo{}
	}
	return infoOf(s.SnapshotID, s.ParentSnapshotID, s.SequenceNumber, s.TimestampMs)
}

func infoOf(id int64, parent *int64, seq, ts int64) SnapshotInfo {
	i := SnapshotInfo{ID: id, Sequence: seq, TimeMs: ts}
	if parent != nil {
		i.ParentID = *parent
	}
	return i
}

// Snapshot returns snapshot id of the table's metadata, if listed.
func (t *IcebergTable) Snapshot(id int64) (SnapshotInfo, bool) {
	s := t.current().Metadata().SnapshotByID(id)
	if s == nil {
		return SnapshotInfo{}, false
	}
	return infoOf(s.SnapshotID, s.ParentSnapshotID, s.SequenceNumber, s.TimestampMs), true
}

// Snapshots lists the snapshots the table's metadata still holds, in
// metadata order.
func (t *IcebergTable) Snapshots() []SnapshotInfo {
	var out []SnapshotInfo
	for _, s := range t.current().Metadata().Snapshots() {
		out = append(out, infoOf(s.SnapshotID, s.ParentSnapshotID, s.SequenceNumber, s.TimestampMs))
	}
	return out
}

// ErrHistoryGap: the snapshots between two states cannot be walked one by
// one (expired, or the table was rolled back to another branch); the
// caller diffs the two states instead.
var ErrHistoryGap = errors.New("snapshot history cannot be walked")

// Changes returns what each snapshot after from, up to the current one,
// did, oldest first. It wraps ErrHistoryGap when from is not an ancestor
// of the current snapshot through listed snapshots.
func (t *IcebergTable) Changes(ctx context.Context, from int64) ([]snapshot.SnapshotChange, error) {
	cur := t.Current()
	if cur.ID == from {
		return nil, nil
	}
	fs, err := t.FS(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := snapshot.Changelog(ctx, fs, t.current().Metadata(), from, cur.ID)
	if errors.Is(err, snapshot.ErrNotAncestor) {
		return nil, fmt.Errorf("iceberg table %s: %w: %v", t.ident, ErrHistoryGap, err)
	}
	if err != nil {
		return nil, fmt.Errorf("iceberg table %s: %w", t.ident, err)
	}
	return ch, nil
}

// State returns the live files of snapshot id.
func (t *IcebergTable) State(ctx context.Context, id int64) (snapshot.State, error) {
	fs, err := t.FS(ctx)
	if err != nil {
		return snapshot.State{}, err
	}
	st, err := snapshot.ReadState(ctx, fs, t.current().Metadata(), id)
	if err != nil {
		return snapshot.State{}, fmt.Errorf("iceberg table %s: %w", t.ident, err)
	}
	return st, nil
}

// ColumnName returns the dotted name of the column with Iceberg field id
// id in the current schema.
func (t *IcebergTable) ColumnName(id int) (string, bool) {
	return t.current().Schema().FindColumnName(id)
}
