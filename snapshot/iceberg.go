package snapshot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// ErrSnapshotNotFound is returned (wrapped) for a snapshot id the table
// metadata does not list (never existed, or expired).
var ErrSnapshotNotFound = errors.New("snapshot not found")

// ErrNotAncestor is returned (wrapped) by Changelog when from is not on
// to's parent chain, or the chain is broken by expired snapshots: a
// changelog cannot be walked, and the caller must diff states instead
// (Diff of its stored state against ReadState).
var ErrNotAncestor = errors.New("snapshot is not an ancestor")

// ReadState reads the live files of snapshot id of a table (id 0: the
// empty state) by walking its manifest list and manifests.
func ReadState(ctx context.Context, fs iceio.IO, meta table.Metadata, id int64) (State, error) {
	if id == 0 {
		return State{Files: map[string]File{}}, nil
	}
	snap := meta.SnapshotByID(id)
	if snap == nil {
		return State{}, fmt.Errorf("read state of snapshot %d: %w", id, ErrSnapshotNotFound)
	}
	manifests, err := snap.Manifests(fs)
	if err != nil {
		return State{}, fmt.Errorf("read state of snapshot %d: manifest list %s: %w", id, snap.ManifestList, err)
	}
	var files []File
	for _, m := range manifests {
		if err := ctx.Err(); err != nil {
			return State{}, err
		}
		err := entries(ctx, fs, m, true, func(e Entry) { files = append(files, e.File) })
		if err != nil {
			return State{}, fmt.Errorf("read state of snapshot %d: %w", id, err)
		}
	}
	return NewState(id, snap.SequenceNumber, files)
}

// Changelog returns, oldest first, what each snapshot after from up to and
// including to did, reading only the manifests each snapshot added (the
// only ones that can hold its ADDED and DELETED entries). from 0 means
// "from the empty table". It fails with ErrNotAncestor when from is not
// on to's parent chain or the chain is incomplete (expired snapshots).
func Changelog(ctx context.Context, fs iceio.IO, meta table.Metadata, from, to int64) ([]SnapshotChange, error) {
	if from == to {
		return nil, nil
	}
	if meta.SnapshotByID(to) == nil {
		return nil, fmt.Errorf("changelog %d..%d: snapshot %d: %w", from, to, to, ErrSnapshotNotFound)
	}
	var (
		chain []table.Snapshot
		ok    bool
	)
	if from == 0 {
		chain, ok = table.AncestorsOfChecked(to, meta.SnapshotByID)
	} else {
		chain, ok = table.AncestorsBetween(to, from, meta.SnapshotByID)
	}
	if !ok {
		return nil, fmt.Errorf("changelog %d..%d: %w: snapshot %d is not reachable from %d through listed parents",
			from, to, ErrNotAncestor, from, to)
	}
	slices.Reverse(chain)
	out := make([]SnapshotChange, 0, len(chain))
	for _, s := range chain {
		c, err := changeOfSnapshot(ctx, fs, s)
		if err != nil {
			return nil, fmt.Errorf("changelog %d..%d: %w", from, to, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// changeOfSnapshot reads what one snapshot did.
func changeOfSnapshot(ctx context.Context, fs iceio.IO, s table.Snapshot) (SnapshotChange, error) {
	sc := SnapshotChange{SnapshotID: s.SnapshotID, SequenceNumber: s.SequenceNumber, TimestampMs: s.TimestampMs}
	if s.ParentSnapshotID != nil {
		sc.ParentID = *s.ParentSnapshotID
	}
	if s.Summary != nil {
		sc.Operation = string(s.Summary.Operation)
		sc.Summary = s.Summary.Properties
	}
	manifests, err := s.Manifests(fs)
	if err != nil {
		return sc, fmt.Errorf("snapshot %d: manifest list %s: %w", s.SnapshotID, s.ManifestList, err)
	}
	var es []Entry
	for _, m := range manifests {
		if m.SnapshotID() != s.SnapshotID && m.SnapshotID() != 0 {
			continue // carried over: holds only EXISTING entries or other snapshots' changes
		}
		if err := ctx.Err(); err != nil {
			return sc, err
		}
		if err := entries(ctx, fs, m, false, func(e Entry) { es = append(es, e) }); err != nil {
			return sc, fmt.Errorf("snapshot %d: %w", s.SnapshotID, err)
		}
	}
	sc.Change = ChangeOf(s.SnapshotID, es)
	return sc, nil
}

// entries streams a manifest's entries as Entry values.
func entries(ctx context.Context, fs iceio.IO, m iceberg.ManifestFile, liveOnly bool, fn func(Entry)) error {
	n := 0
	for e, err := range m.Entries(fs, liveOnly) {
		if err != nil {
			return fmt.Errorf("manifest %s: %w", m.FilePath(), err)
		}
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ent, err := entryOf(e)
		if err != nil {
			return fmt.Errorf("manifest %s: %w", m.FilePath(), err)
		}
		fn(ent)
	}
	return nil
}

func entryOf(e iceberg.ManifestEntry) (Entry, error) {
	df := e.DataFile()
	if df == nil {
		return Entry{}, errors.New("entry without a data file")
	}
	var st Status
	switch e.Status() {
	case iceberg.EntryStatusEXISTING:
		st = Existing
	case iceberg.EntryStatusADDED:
		st = Added
	case iceberg.EntryStatusDELETED:
		st = Deleted
	default:
		return Entry{}, fmt.Errorf("file %s: unknown entry status %d", df.FilePath(), e.Status())
	}
	var k Kind
	switch df.ContentType() {
	case iceberg.EntryContentData:
		k = Data
	case iceberg.EntryContentPosDeletes:
		k = PositionDeletes
	case iceberg.EntryContentEqDeletes:
		k = EqualityDeletes
	default:
		return Entry{}, fmt.Errorf("file %s: unknown content type %d", df.FilePath(), df.ContentType())
	}
	f := File{
		Path:             df.FilePath(),
		Kind:             k,
		Format:           string(df.FileFormat()),
		Records:          df.Count(),
		Size:             df.FileSizeBytes(),
		SpecID:           df.SpecID(),
		Partition:        partitionKey(df.Partition()),
		DataSequence:     e.SequenceNum(),
		AddedBy:          e.SnapshotID(),
		EqualityFieldIDs: slices.Clone(df.EqualityFieldIDs()),
		ContentOffset:    -1,
	}
	if st == Deleted {
		f.AddedBy = 0 // the entry's snapshot id is the deleting one
	}
	if r := df.ReferencedDataFile(); r != nil {
		f.ReferencedDataFile = *r
	}
	if o := df.ContentOffset(); o != nil {
		f.ContentOffset = *o
		if s := df.ContentSizeInBytes(); s != nil {
			f.ContentSize = *s
		}
	}
	return Entry{Status: st, SnapshotID: e.SnapshotID(), File: f}, nil
}

// partitionKey renders a partition tuple canonically: "id=value" pairs by
// field id.
func partitionKey(p map[int]any) string {
	if len(p) == 0 {
		return ""
	}
	ids := make([]int, 0, len(p))
	for id := range p {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		v := p[id]
		if v == nil {
			fmt.Fprintf(&b, "%d=null", id)
		} else {
			fmt.Fprintf(&b, "%d=%v", id, v)
		}
	}
	return b.String()
}
