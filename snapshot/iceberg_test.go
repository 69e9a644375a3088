package snapshot

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"
	_ "modernc.org/sqlite"
)

// newTable creates an Iceberg v2 table on a SQLite catalog and a file://
// warehouse in a temporary directory.
func newTable(t *testing.T) *table.Table {
	t.Helper()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "cat.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat, err := sqlcat.NewCatalog("test", db, sqlcat.SQLite, iceberg.Properties{"warehouse": "file://" + filepath.Join(dir, "wh")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := cat.CreateNamespace(ctx, table.Identifier{"ns"}, nil); err != nil {
		t.Fatal(err)
	}
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 3, Name: "vec", Type: &iceberg.ListType{ElementID: 4, Element: iceberg.PrimitiveTypes.Float32, ElementRequired: true}},
	)
	tbl, err := cat.CreateTable(ctx, table.Identifier{"ns", "t"}, sc, catalog.WithProperties(iceberg.Properties{
		table.PropertyFormatVersion: "2",
	}))
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func records(t *testing.T, sc *arrow.Schema, js string) array.RecordReader {
	t.Helper()
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	return rdr
}

func commit(t *testing.T, tbl *table.Table, what string, fn func(tx *table.Transaction) error) *table.Table {
	t.Helper()
	tx := tbl.NewTransaction()
	if err := fn(tx); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	out, err := tx.Commit(t.Context())
	if err != nil {
		t.Fatalf("%s: commit: %v", what, err)
	}
	return out
}

func keys(fs []File) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Kind.String() + " " + f.Key()
	}
	return out
}

func sameChange(a, b Change) bool {
	return slices.Equal(keys(a.Added()), keys(b.Added())) && slices.Equal(keys(a.Removed()), keys(b.Removed()))
}

// TestRealTable writes a table through every kind of operation iceberg-go
// offers (append, merge-on-read delete, equality delete, copy-on-write
// delete, compaction, overwrite), then checks that each snapshot's change
// is what the operation did, and that the changelog, folded and applied,
// agrees with the states read from the manifests for every pair of
// snapshots.
func TestRealTable(t *testing.T) {
	ctx := t.Context()
	tbl := newTable(t)
	asc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	var snaps []int64
	step := func(what string, fn func(tx *table.Transaction) error) {
		tbl = commit(t, tbl, what, fn)
		snaps = append(snaps, tbl.CurrentSnapshot().SnapshotID)
	}
	step("append 1", func(tx *table.Transaction) error {
		return tx.Append(ctx, records(t, asc, `[{"id":0,"name":"a","vec":[1,2]},{"id":1,"name":"b","vec":[3,4]}]`), nil)
	})
	step("append 2", func(tx *table.Transaction) error {
		return tx.Append(ctx, records(t, asc, `[{"id":2,"name":"c","vec":[5,6]},{"id":3,"name":"d","vec":null}]`), nil)
	})
	step("merge-on-read delete", func(tx *table.Transaction) error {
		if err := tx.SetProperties(iceberg.Properties{table.WriteDeleteModeKey: table.WriteModeMergeOnRead}); err != nil {
			return err
		}
		return tx.Delete(ctx, iceberg.EqualTo(iceberg.Reference("id"), int64(1)), nil)
	})
	step("equality delete", func(tx *table.Transaction) error {
		keySc, err := table.SchemaToArrowSchema(iceberg.NewSchema(0,
			iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true}), nil, true, false)
		if err != nil {
			return err
		}
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, keySc, strings.NewReader(`[{"id":2}]`))
		if err != nil {
			return err
		}
		return tx.CommitEqualityDeletes(ctx, []int{1}, func(yield func(arrow.RecordBatch, error) bool) { yield(rec, nil) }, nil)
	})
	step("append 3", func(tx *table.Transaction) error {
		return tx.Append(ctx, records(t, asc, `[{"id":4,"name":"e","vec":[7,8]}]`), nil)
	})
	step("copy-on-write delete", func(tx *table.Transaction) error {
		if err := tx.SetProperties(iceberg.Properties{table.WriteDeleteModeKey: table.WriteModeCopyOnWrite}); err != nil {
			return err
		}
		return tx.Delete(ctx, iceberg.EqualTo(iceberg.Reference("id"), int64(4)), nil)
	})
	step("append 4", func(tx *table.Transaction) error {
		return tx.Append(ctx, records(t, asc, `[{"id":5,"name":"f","vec":[9,10]}]`), nil)
	})
	step("append 5", func(tx *table.Transaction) error {
		return tx.Append(ctx, records(t, asc, `[{"id":6,"name":"g","vec":[11,12]}]`), nil)
	})
	step("overwrite", func(tx *table.Transaction) error {
		return tx.Overwrite(ctx, records(t, asc, `[{"id":7,"name":"h","vec":[13,14]}]`), nil,
			table.WithOverwriteFilter(iceberg.EqualTo(iceberg.Reference("id"), int64(6))))
	})
	fs, err := tbl.FS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	meta := tbl.Metadata()

	log, err := Changelog(ctx, fs, meta, 0, snaps[len(snaps)-1])
	if err != nil {
		t.Fatalf("changelog: %v", err)
	}
	if len(log) != len(snaps) {
		t.Fatalf("changelog has %d snapshots, want %d", len(log), len(snaps))
	}
	for i, c := range log {
		if c.SnapshotID != snaps[i] {
			t.Fatalf("changelog[%d] is snapshot %d, want %d", i, c.SnapshotID, snaps[i])
		}
		t.Logf("snapshot %d %-9s +data %d -data %d +pos %d -pos %d +eq %d -eq %d", i, c.Operation,
			len(c.AddedData), len(c.RemovedData), len(c.AddedPositionDeletes), len(c.RemovedPositionDeletes),
			len(c.AddedEqualityDeletes), len(c.RemovedEqualityDeletes))
	}
	count := func(i int) [6]int {
		c := log[i]
		return [6]int{len(c.AddedData), len(c.RemovedData), len(c.AddedPositionDeletes), len(c.RemovedPositionDeletes),
			len(c.AddedEqualityDeletes), len(c.RemovedEqualityDeletes)}
	}
	for i, want := range map[int][6]int{
		0: {1, 0, 0, 0, 0, 0}, // append
		1: {1, 0, 0, 0, 0, 0}, // append
		2: {0, 0, 1, 0, 0, 0}, // merge-on-read delete: one position delete file
		3: {0, 0, 0, 0, 1, 0}, // equality delete
		4: {1, 0, 0, 0, 0, 0}, // append
		5: {0, 1, 0, 0, 0, 0}, // copy-on-write delete of a whole file
		6: {1, 0, 0, 0, 0, 0},
		7: {1, 0, 0, 0, 0, 0},
	} {
		if got := count(i); got != want {
			t.Errorf("snapshot %d (%s): +data -data +pos -pos +eq -eq = %v, want %v", i, log[i].Operation, got, want)
		}
	}
	if got := count(8); got[0] != 1 || got[1] != 1 {
		t.Errorf("overwrite: %v, want one data file added and one removed", got)
	}
	if pd := log[2].AddedPositionDeletes; len(pd) == 1 && pd[0].DataSequence != log[2].SequenceNumber {
		t.Errorf("position delete data sequence %d, want %d", pd[0].DataSequence, log[2].SequenceNumber)
	}
	if ed := log[3].AddedEqualityDeletes; len(ed) == 1 && !slices.Equal(ed[0].EqualityFieldIDs, []int{1}) {
		t.Errorf("equality delete field ids %v, want [1]", ed[0].EqualityFieldIDs)
	}

	// Compaction: a replace snapshot that removes the data files it merges
	// and the position deletes fully applied to them.
	tbl = compact(t, tbl)
	snaps = append(snaps, tbl.CurrentSnapshot().SnapshotID)
	meta = tbl.Metadata()
	clog, err := Changelog(ctx, fs, meta, snaps[len(snaps)-2], snaps[len(snaps)-1])
	if err != nil || len(clog) != 1 {
		t.Fatalf("changelog of the compaction: %v, %v", clog, err)
	}
	if c := clog[0]; c.Operation != "replace" || len(c.AddedData) == 0 || len(c.RemovedData) < 2 {
		t.Errorf("compaction %s: +data %d -data %d", c.Operation, len(c.AddedData), len(c.RemovedData))
	} else {
		t.Logf("compaction: +data %d -data %d -pos %d -eq %d", len(c.AddedData), len(c.RemovedData),
			len(c.RemovedPositionDeletes), len(c.RemovedEqualityDeletes))
	}

	// Every pair: folded changelog == state diff; replaying the changelog
	// from the empty state reproduces every state.
	states := map[int64]State{0: {Files: map[string]File{}}}
	for _, id := range snaps {
		s, err := ReadState(ctx, fs, meta, id)
		if err != nil {
			t.Fatalf("read state %d: %v", id, err)
		}
		states[id] = s
	}
	all := append([]int64{0}, snaps...)
	for i, from := range all {
		for _, to := range all[i+1:] {
			cl, err := Changelog(ctx, fs, meta, from, to)
			if err != nil {
				t.Fatalf("changelog %d..%d: %v", from, to, err)
			}
			var cs []Change
			for _, c := range cl {
				cs = append(cs, c.Change)
			}
			if net, diff := Net(cs...), Diff(states[from], states[to]); !sameChange(net, diff) {
				t.Errorf("%d..%d: net changelog\n%v\n!= diff\n%v", from, to, keys(net.Added()), keys(diff.Added()))
			}
		}
	}
	cur := states[0]
	for _, c := range mustChangelog(t, fs, meta, 0, snaps[len(snaps)-1]) {
		next, err := Apply(cur, c.Change, c.SnapshotID, c.SequenceNumber)
		if err != nil {
			t.Fatalf("apply snapshot %d: %v", c.SnapshotID, err)
		}
		if !sameChange(Diff(next, states[c.SnapshotID]), Change{}) {
			t.Fatalf("replayed state of %d differs from its manifests", c.SnapshotID)
		}
		cur = next
	}

	// Going backwards or from an unknown snapshot is not a changelog.
	if _, err := Changelog(ctx, fs, meta, snaps[5], snaps[2]); !errors.Is(err, ErrNotAncestor) {
		t.Errorf("backwards changelog: %v, want ErrNotAncestor", err)
	}
	if _, err := Changelog(ctx, fs, meta, 12345, snaps[2]); !errors.Is(err, ErrNotAncestor) {
		t.Errorf("changelog from unknown: %v, want ErrNotAncestor", err)
	}
	if _, err := ReadState(ctx, fs, meta, 12345); !errors.Is(err, ErrSnapshotNotFound) {
		t.Errorf("state of unknown: %v, want ErrSnapshotNotFound", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ReadState(cctx, fs, meta, snaps[3]); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v", err)
	}
}

func mustChangelog(t *testing.T, fs iceio.IO, meta table.Metadata, from, to int64) []SnapshotChange {
	t.Helper()
	cl, err := Changelog(t.Context(), fs, meta, from, to)
	if err != nil {
		t.Fatalf("changelog %d..%d: %v", from, to, err)
	}
	return cl
}

func compact(t *testing.T, tbl *table.Table) *table.Table {
	t.Helper()
	ctx := t.Context()
	cfg := compaction.DefaultConfig()
	cfg.MinInputFiles = 2
	cfg.DeleteFileThreshold = 1
	plan, err := compaction.Analyze(ctx, tbl, cfg)
	if err != nil {
		t.Fatal(err)
	}
	groups := make([]table.CompactionTaskGroup, len(plan.Groups))
	for i, g := range plan.Groups {
		groups[i] = table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes}
	}
	return commit(t, tbl, "compact", func(tx *table.Transaction) error {
		_, err := tx.RewriteDataFiles(ctx, groups, table.RewriteDataFilesOptions{})
		return err
	})
}
