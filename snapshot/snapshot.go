package snapshot

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// Kind is what a file in a table holds.
type Kind uint8

const (
	// Data files hold rows.
	Data Kind = iota
	// PositionDeletes mark rows of data files deleted by (file, position):
	// Parquet/Avro/ORC position delete files and v3 deletion vectors (a
	// blob in a Puffin file, File.ContentOffset ≥ 0).
	PositionDeletes
	// EqualityDeletes delete every row, in data files with a lower data
	// sequence number, whose EqualityFieldIDs columns equal a delete row.
	EqualityDeletes
)

func (k Kind) String() string {
	switch k {
	case Data:
		return "data"
	case PositionDeletes:
		return "pos"
	case EqualityDeletes:
		return "eq"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// File is one file (or, for a deletion vector, one blob of a Puffin file)
// tracked by a table's manifests.
type File struct {
	Path    string
	Kind    Kind
	Format  string // "PARQUET", "AVRO", "ORC", "PUFFIN"
	Records int64  // rows; for delete files, deleted positions or keys
	Size    int64  // bytes of the whole file

	SpecID    int32
	Partition string // canonical "field-id=value,..." ("" when unpartitioned)

	// DataSequence is the data sequence number: an equality delete applies
	// to data files of the same partition (or any, when its spec is
	// unpartitioned) with a strictly lower data sequence number; a
	// position delete to those with a lower or equal one.
	DataSequence int64
	// AddedBy is the snapshot that added the file; 0 when unknown (a
	// DELETED manifest entry carries the deleting snapshot instead, so
	// files in ChangeOf's removed lists have 0).
	AddedBy int64

	// EqualityFieldIDs are the key columns of an equality delete file.
	EqualityFieldIDs []int
	// ReferencedDataFile is the only data file a position delete file or
	// deletion vector applies to, when the writer recorded it.
	ReferencedDataFile string
	// ContentOffset and ContentSize locate a deletion vector's blob inside
	// its Puffin file; ContentOffset is -1 for every other file.
	ContentOffset int64
	ContentSize   int64
}

// Key identifies a file within a table state: its path, plus the blob
// offset for deletion vectors (several share one Puffin file). Iceberg
// never rewrites a file in place, so equal keys mean the same content.
func (f File) Key() string {
	if f.ContentOffset >= 0 {
		return f.Path + "#" + strconv.FormatInt(f.ContentOffset, 10)
	}
	return f.Path
}

// Status of a manifest entry.
type Status uint8

const (
	Existing Status = iota // carried over from an earlier snapshot
	Added                  // added by Entry.SnapshotID
	Deleted                // removed by Entry.SnapshotID
)

func (s Status) String() string {
	switch s {
	case Existing:
		return "existing"
	case Added:
		return "added"
	case Deleted:
		return "deleted"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Entry is one manifest entry: a file and what the snapshot SnapshotID did
// to it.
type Entry struct {
	Status     Status
	SnapshotID int64
	File       File
}

// State is the set of live files of one table snapshot.
type State struct {
	SnapshotID     int64 // 0: the empty table (no snapshot)
	SequenceNumber int64
	Files          map[string]File // by File.Key
}

// NewState returns the state of the given live files, refusing a file key
// listed twice (a damaged or inconsistent manifest list).
func NewState(snapshotID, seq int64, files []File) (State, error) {
	s := State{SnapshotID: snapshotID, SequenceNumber: seq, Files: make(map[string]File, len(files))}
	for _, f := range files {
		if _, dup := s.Files[f.Key()]; dup {
			return State{}, fmt.Errorf("snapshot %d: file %s is live twice", snapshotID, f.Key())
		}
		s.Files[f.Key()] = f
	}
	return s, nil
}

// Change is what happened to the files of a table between two states, or
// in one snapshot. Every list is sorted by path (then blob offset).
type Change struct {
	AddedData, RemovedData                       []File
	AddedPositionDeletes, RemovedPositionDeletes []File
	AddedEqualityDeletes, RemovedEqualityDeletes []File
}

// Empty reports whether c changes nothing.
func (c Change) Empty() bool {
	return len(c.AddedData)+len(c.RemovedData)+len(c.AddedPositionDeletes)+
		len(c.RemovedPositionDeletes)+len(c.AddedEqualityDeletes)+len(c.RemovedEqualityDeletes) == 0
}

// Added returns every added file, data first.
func (c Change) Added() []File {
	return slices.Concat(c.AddedData, c.AddedPositionDeletes, c.AddedEqualityDeletes)
}

// Removed returns every removed file, data first.
func (c Change) Removed() []File {
	return slices.Concat(c.RemovedData, c.RemovedPositionDeletes, c.RemovedEqualityDeletes)
}

func (c *Change) list(k Kind, added bool) *[]File {
	switch {
	case k == Data && added:
		return &c.AddedData
	case k == Data:
		return &c.RemovedData
	case k == PositionDeletes && added:
		return &c.AddedPositionDeletes
	case k == PositionDeletes:
		return &c.RemovedPositionDeletes
	case added:
		return &c.AddedEqualityDeletes
	default:
		return &c.RemovedEqualityDeletes
	}
}

func (c *Change) sort() {
	by := func(a, b File) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.ContentOffset, b.ContentOffset))
	}
	for _, l := range []*[]File{&c.AddedData, &c.RemovedData, &c.AddedPositionDeletes,
		&c.RemovedPositionDeletes, &c.AddedEqualityDeletes, &c.RemovedEqualityDeletes} {
		slices.SortFunc(*l, by)
	}
}

func newChange(added, removed map[string]File) Change {
	var c Change
	for _, f := range added {
		l := c.list(f.Kind, true)
		*l = append(*l, f)
	}
	for _, f := range removed {
		l := c.list(f.Kind, false)
		*l = append(*l, f)
	}
	c.sort()
	return c
}

// Diff returns the files live in to and not in from (added) and live in
// from and not in to (removed). It is exact whatever happened in between
// (expired snapshots, rollbacks, compactions), at the price of reading both
// states' manifests.
func Diff(from, to State) Change {
	added, removed := map[string]File{}, map[string]File{}
	for k, f := range to.Files {
		if _, ok := from.Files[k]; !ok {
			added[k] = f
		}
	}
	for k, f := range from.Files {
		if _, ok := to.Files[k]; !ok {
			removed[k] = f
		}
	}
	return newChange(added, removed)
}

// ChangeOf returns what the snapshot snapshotID did, given the entries of
// its manifests: entries ADDED or DELETED by that snapshot. Entries of
// other snapshots (carried-over manifests) and EXISTING entries are
// ignored. Unlike iceberg-go's incremental scans, it sees every operation:
// append, overwrite, delete, replace (compaction) and row deltas.
func ChangeOf(snapshotID int64, entries []Entry) Change {
	added, removed := map[string]File{}, map[string]File{}
	for _, e := range entries {
		if e.SnapshotID != snapshotID {
			continue
		}
		switch e.Status {
		case Added:
			added[e.File.Key()] = e.File
		case Deleted:
			removed[e.File.Key()] = e.File
		}
	}
	return newChange(added, removed)
}

// ErrInconsistent is returned (wrapped) when a change cannot apply to a
// state: it removes a file that is not live or adds one that already is.
var ErrInconsistent = errors.New("change does not apply to the state")

// Apply returns the state after c, checking that every removed file was
// live and every added file was not. to names the resulting snapshot.
func Apply(s State, c Change, to, seq int64) (State, error) {
	out := State{SnapshotID: to, SequenceNumber: seq, Files: maps.Clone(s.Files)}
	if out.Files == nil {
		out.Files = map[string]File{}
	}
	for _, f := range c.Removed() {
		if _, ok := out.Files[f.Key()]; !ok {
			return State{}, fmt.Errorf("%w: snapshot %d removes %s file %s, not live in snapshot %d",
				ErrInconsistent, to, f.Kind, f.Key(), s.SnapshotID)
		}
		delete(out.Files, f.Key())
	}
	for _, f := range c.Added() {
		if _, ok := out.Files[f.Key()]; ok {
			return State{}, fmt.Errorf("%w: snapshot %d adds %s file %s, already live in snapshot %d",
				ErrInconsistent, to, f.Kind, f.Key(), s.SnapshotID)
		}
		out.Files[f.Key()] = f
	}
	return out, nil
}

// Net folds a sequence of changes (oldest first) into one: a file added
// and later removed within the sequence disappears from both lists. For a
// complete changelog, Net(changes) equals Diff(first state, last state).
func Net(changes ...Change) Change {
	added, removed := map[string]File{}, map[string]File{}
	for _, c := range changes {
		for _, f := range c.Removed() {
			if _, ok := added[f.Key()]; ok {
				delete(added, f.Key())
			} else {
				removed[f.Key()] = f
			}
		}
		for _, f := range c.Added() {
			if _, ok := removed[f.Key()]; ok {
				delete(removed, f.Key()) // removed then re-added: unchanged
			} else {
				added[f.Key()] = f
			}
		}
	}
	return newChange(added, removed)
}

// SnapshotChange is one snapshot of a changelog and what it did.
type SnapshotChange struct {
	SnapshotID     int64
	ParentID       int64 // 0: none
	SequenceNumber int64
	TimestampMs    int64
	Operation      string            // append, overwrite, delete, replace
	Summary        map[string]string // the snapshot summary properties
	Change
}
