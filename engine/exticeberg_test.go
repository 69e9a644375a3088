package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"
)

// icebergFixture is a table written with iceberg-go (SQLite catalog,
// file:// warehouse) and the source history of which ids are live in each
// snapshot: the ground truth for time travel.
type icebergFixture struct {
	t       *testing.T
	catPath string
	tbl     *table.Table
	asc     *arrow.Schema
	vec     func(id int) []float32
	live    map[int64]map[int]bool // snapshot → live ids
	order   []int64                // snapshots, oldest first
	cur     map[int]bool
}

func langOf(id int) string { return []string{"en", "de", "fr"}[id%3] }
func yearOf(id int) int64  { return int64(2015 + id%10) }

func newIcebergFixture(t *testing.T) *icebergFixture {
	return newIcebergFixtureAt(t, "", nil)
}

// newIcebergFixtureAt puts the table's files in warehouse (default: a
// file:// directory), with extra catalog properties (S3 settings).
func newIcebergFixtureAt(t *testing.T, warehouse string, props map[string]string) *icebergFixture {
	ctx := t.Context()
	dir := t.TempDir()
	f := &icebergFixture{t: t, catPath: filepath.Join(dir, "cat.db"), live: map[int64]map[int]bool{}, cur: map[int]bool{}}
	db, err := sql.Open("sqlite", "file:"+f.catPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if warehouse == "" {
		warehouse = "file://" + filepath.Join(dir, "wh")
	}
	cprops := iceberg.Properties{"warehouse": warehouse}
	for k, v := range props {
		cprops[k] = v
	}
	cat, err := sqlcat.NewCatalog("test", db, sqlcat.SQLite, cprops)
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateNamespace(ctx, table.Identifier{"kb"}, nil); err != nil {
		t.Fatal(err)
	}
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "lang", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 3, Name: "year", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 4, Name: "title", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 5, Name: "embedding", Type: &iceberg.ListType{ElementID: 6, Element: iceberg.PrimitiveTypes.Float32, ElementRequired: true}},
	)
	if f.tbl, err = cat.CreateTable(ctx, table.Identifier{"kb", "passages"}, sc, catalog.WithProperties(iceberg.Properties{table.PropertyFormatVersion: "2"})); err != nil {
		t.Fatal(err)
	}
	if f.asc, err = table.SchemaToArrowSchema(f.tbl.Schema(), nil, true, false); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(42, 1))
	vecs := map[int][]float32{}
	f.vec = func(id int) []float32 {
		if v, ok := vecs[id]; ok {
			return v
		}
		v := make([]float32, 16)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		vecs[id] = v
		return v
	}
	return f
}

// commit runs fn in a transaction and records the live ids after it.
func (f *icebergFixture) commit(what string, fn func(tx *table.Transaction) error, live func(cur map[int]bool)) int64 {
	f.t.Helper()
	time.Sleep(3 * time.Millisecond) // distinct snapshot times for as-of
	tx := f.tbl.NewTransaction()
	if err := fn(tx); err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
	var err error
	if f.tbl, err = tx.Commit(f.t.Context()); err != nil {
		f.t.Fatalf("%s: commit: %v", what, err)
	}
	live(f.cur)
	id := f.tbl.CurrentSnapshot().SnapshotID
	f.live[id] = maps2(f.cur)
	f.order = append(f.order, id)
	return id
}

func maps2(m map[int]bool) map[int]bool {
	out := make(map[int]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (f *icebergFixture) rows(from, to int) array.RecordReader {
	type row struct {
		ID        int64     `json:"id"`
		Lang      *string   `json:"lang"`
		Year      int64     `json:"year"`
		Title     string    `json:"title"`
		Embedding []float32 `json:"embedding"`
	}
	var rs []row
	for i := from; i < to; i++ {
		l := langOf(i)
		r := row{ID: int64(i), Lang: &l, Year: yearOf(i), Title: fmt.Sprintf("passage %d", i), Embedding: f.vec(i)}
		if i%17 == 0 {
			r.Lang = nil // nulls in a kept column
		}
		rs = append(rs, r)
	}
	js, _ := json.Marshal(rs)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, f.asc, strings.NewReader(string(js)))
	if err != nil {
		f.t.Fatal(err)
	}
	rdr, _ := array.NewRecordReader(f.asc, []arrow.RecordBatch{rec})
	return rdr
}

func (f *icebergFixture) appendRows(from, to int) int64 {
	return f.commit(fmt.Sprintf("append %d..%d", from, to), func(tx *table.Transaction) error {
		return tx.Append(f.t.Context(), f.rows(from, to), nil)
	}, func(cur map[int]bool) {
		for i := from; i < to; i++ {
			cur[i] = true
		}
	})
}

func (f *icebergFixture) deleteRange(mode string, lo, hi int) int64 {
	return f.commit(fmt.Sprintf("%s delete %d..%d", mode, lo, hi), func(tx *table.Transaction) error {
		if err := tx.SetProperties(iceberg.Properties{table.WriteDeleteModeKey: mode}); err != nil {
			return err
		}
		return tx.Delete(f.t.Context(), iceberg.NewAnd(iceberg.GreaterThanEqual(iceberg.Reference("id"), int64(lo)),
			iceberg.LessThan(iceberg.Reference("id"), int64(hi))), nil)
	}, func(cur map[int]bool) {
		for i := lo; i < hi; i++ {
			delete(cur, i)
		}
	})
}

func (f *icebergFixture) equalityDelete(ids ...int) int64 {
	return f.commit("equality delete", func(tx *table.Transaction) error {
		keySc, err := table.SchemaToArrowSchema(iceberg.NewSchema(0,
			iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true}), nil, true, false)
		if err != nil {
			return err
		}
		var js []string
		for _, id := range ids {
			js = append(js, fmt.Sprintf(`{"id":%d}`, id))
		}
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, keySc, strings.NewReader("["+strings.Join(js, ",")+"]"))
		if err != nil {
			return err
		}
		return tx.CommitEqualityDeletes(f.t.Context(), []int{1}, func(yield func(arrow.RecordBatch, error) bool) { yield(rec, nil) }, nil)
	}, func(cur map[int]bool) {
		for _, id := range ids {
			delete(cur, id)
		}
	})
}

func (f *icebergFixture) compact() int64 {
	ctx := f.t.Context()
	cfg := compaction.DefaultConfig()
	cfg.MinInputFiles = 2
	cfg.DeleteFileThreshold = 1
	plan, err := compaction.Analyze(ctx, f.tbl, cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	groups := make([]table.CompactionTaskGroup, len(plan.Groups))
	for i, g := range plan.Groups {
		groups[i] = table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes}
	}
	return f.commit("compact", func(tx *table.Transaction) error {
		_, err := tx.RewriteDataFiles(ctx, groups, table.RewriteDataFilesOptions{})
		return err
	}, func(map[int]bool) {})
}

// check asserts that searching at snapshot snap returns exactly the rows
// the source history says were live then: each live row finds itself, and
// no row outside the set is ever returned.
func (f *icebergFixture) check(x *External, snap int64, q ExternalQuery) {
	f.t.Helper()
	want := f.live[snap]
	ids := make([]int, 0, 400)
	for id := range 400 {
		ids = append(ids, id)
	}
	for _, id := range ids {
		q.K, q.Ef = 5, 100
		hits, err := x.Query(f.t.Context(), f.vec(id), q)
		if err != nil {
			f.t.Fatalf("snapshot %d: search for row %d: %v", snap, id, err)
		}
		found := false
		for _, h := range hits {
			hid := int(h.Columns["id"].(int64))
			if !want[hid] {
				f.t.Fatalf("snapshot %d: row id=%d returned, but it was not live then (hit %+v)", snap, hid, h)
			}
			found = found || (hid == id && h.Score > 0.9999)
		}
		if want[id] && !found {
			f.t.Fatalf("snapshot %d: live row id=%d not found by its own vector: %+v", snap, id, hits)
		}
	}
}

func TestExternalIcebergTimeTravel(t *testing.T) {
	ctx := context.Background()
	f := newIcebergFixture(t)
	s1 := f.appendRows(0, 200)
	s2 := f.appendRows(200, 300)
	data := t.TempDir()
	x, rep, err := Attach(ctx, data, ExternalOptions{Name: "passages", IcebergCatalog: f.catPath, IcebergTable: "kb.passages",
		VectorColumn: "embedding", IDColumn: "id", Columns: []string{"lang", "year"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesRead != 2 || rep.RowsAdded != 300 || rep.Snapshots != 1 {
		t.Fatalf("attach: %+v", rep)
	}
	// Merge-on-read delete (position delete file) and an equality delete,
	// picked up by one refresh as two versions.
	s3 := f.deleteRange(table.WriteModeMergeOnRead, 10, 20)
	s4 := f.equalityDelete(250, 251, 252, 253, 254, 255, 256, 257, 258, 259, 999)
	if rep, err = x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if rep.Snapshots != 2 || rep.RowsRemoved != 20 || rep.RowsAdded != 0 || rep.DeleteFilesRead != 2 || rep.FilesRead != 0 {
		t.Fatalf("refresh over the deletes: %+v", rep)
	}
	s5 := f.appendRows(300, 350)
	if rep, err = x.Refresh(ctx); err != nil || rep.FilesRead != 1 || rep.RowsAdded != 50 {
		t.Fatalf("refresh after an append: %+v %v", rep, err)
	}
	// A copy-on-write delete rewrites the appended file: the id column
	// remaps the 49 untouched rows, one row ends, nothing is re-indexed.
	s6 := f.deleteRange(table.WriteModeCopyOnWrite, 320, 321)
	if rep, err = x.Refresh(ctx); err != nil || rep.RowsRemapped != 49 || rep.RowsRemoved != 1 || rep.RowsAdded != 0 {
		t.Fatalf("refresh after a copy-on-write delete: %+v %v", rep, err)
	}
	// Compaction rewrites every row unchanged (deletes applied): all remapped.
	s7 := f.compact()
	rowsBefore := x.idx.Len()
	if rep, err = x.Refresh(ctx); err != nil || rep.RowsAdded != 0 || rep.RowsRemoved != 0 || rep.RowsRemapped != len(f.cur) {
		t.Fatalf("refresh after compaction: %+v %v (want %d remapped)", rep, err, len(f.cur))
	}
	if x.idx.Len() != rowsBefore {
		t.Fatalf("compaction grew the graph from %d to %d rows", rowsBefore, x.idx.Len())
	}
	if x.meta.Rows != len(f.cur) {
		t.Fatalf("live rows %d, want %d", x.meta.Rows, len(f.cur))
	}

	// Every snapshot since the attach answers exactly, now and after a restart.
	for _, s := range []int64{s2, s3, s4, s5, s6, s7} {
		f.check(x, s, ExternalQuery{Snapshot: s})
	}
	f.check(x, s7, ExternalQuery{})
	// As of a time: the last snapshot at or before it.
	for _, s := range []int64{s3, s5, s6} {
		ts := f.tbl.Metadata().SnapshotByID(s).TimestampMs
		f.check(x, s, ExternalQuery{AsOf: time.UnixMilli(ts)})
		f.check(x, s, ExternalQuery{AsOf: time.UnixMilli(ts + 1)})
	}
	if _, err := x.Query(ctx, f.vec(1), ExternalQuery{K: 3, Snapshot: s1}); !errors.Is(err, ErrNotIndexed) || !strings.Contains(err.Error(), "were not indexed") {
		t.Fatalf("a snapshot before the attach: %v", err)
	}
	early := time.UnixMilli(f.tbl.Metadata().SnapshotByID(s2).TimestampMs - 1)
	if _, err := x.Query(ctx, f.vec(1), ExternalQuery{K: 3, AsOf: early}); !errors.Is(err, ErrNotIndexed) {
		t.Fatalf("a time before the first version: %v", err)
	}
	// A row's validity is reported with it.
	hits, err := x.Query(ctx, f.vec(15), ExternalQuery{K: 1, Snapshot: s2})
	if err != nil || hits[0].Columns["id"] != int64(15) || hits[0].RemovedSnapshot != s3 || hits[0].AddedSnapshot != s2 {
		t.Fatalf("validity of a deleted row: %+v %v", hits, err)
	}

	// Returned columns fetched from the lake by position, also for an old
	// snapshot's row whose file the compaction replaced.
	hits, err = x.Query(ctx, f.vec(15), ExternalQuery{K: 1, Snapshot: s2, Fetch: []string{"title"}})
	if err != nil || hits[0].Columns["title"] != "passage 15" || hits[0].FetchError != "" {
		t.Fatalf("fetch: %+v %v", hits, err)
	}
	hits, err = x.Query(ctx, f.vec(123), ExternalQuery{K: 1, Fetch: []string{"title", "year"}})
	if err != nil || hits[0].Columns["title"] != "passage 123" || hits[0].Columns["year"] != yearOf(123) {
		t.Fatalf("fetch now: %+v %v", hits, err)
	}
	if _, err := x.Query(ctx, f.vec(1), ExternalQuery{K: 1, Fetch: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("fetch of a missing column: %v", err)
	}
	// The owner expires the old snapshot's file: kept columns still come
	// back, the fetched ones say why they are missing.
	hits, _ = x.Query(ctx, f.vec(15), ExternalQuery{K: 1, Snapshot: s2})
	path := strings.TrimPrefix(hits[0].File, "file://")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	hits, err = x.Query(ctx, f.vec(15), ExternalQuery{K: 1, Snapshot: s2, Fetch: []string{"title"}})
	if err != nil || hits[0].FetchError == "" || hits[0].Columns["lang"] != langOf(15) {
		t.Fatalf("fetch from an expired file: %+v %v", hits, err)
	}

	// Restart: the checkpoint and delta segments restore everything
	// without reading the lake.
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	y, err := OpenExternal(ctx, data, "passages")
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	for _, s := range []int64{s2, s4, s6, s7} {
		f.check(y, s, ExternalQuery{Snapshot: s})
	}
	if rep, err := y.Refresh(ctx); err != nil || rep.Snapshots != 0 {
		t.Fatalf("idle refresh after restart: %+v %v", rep, err)
	}
	lag, err := y.Lag(ctx)
	if err != nil || lag.Snapshots != 0 {
		t.Fatalf("lag %+v %v", lag, err)
	}
	f.appendRows(350, 360)
	f.appendRows(360, 370)
	if lag, err = y.Lag(ctx); err != nil || lag.Snapshots != 2 {
		t.Fatalf("lag after two commits: %+v %v", lag, err)
	}
}

// TestExternalFilters compares filtered searches with an exact filtered
// scan over the rows live now.
func TestExternalFilters(t *testing.T) {
	ctx := context.Background()
	f := newIcebergFixture(t)
	f.appendRows(0, 600)
	f.appendRows(600, 1000)
	x, _, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "p", IcebergCatalog: f.catPath, IcebergTable: "kb.passages",
		VectorColumn: "embedding", Columns: []string{"lang", "year", "id"}})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	f.deleteRange(table.WriteModeMergeOnRead, 100, 300)
	if _, err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	type pred func(id int) bool
	isNull := func(id int) bool { return id%17 == 0 }
	for _, tc := range []struct {
		filter string
		keep   pred
	}{
		{"lang = 'en'", func(id int) bool { return !isNull(id) && langOf(id) == "en" }},
		{"lang = 'de' AND year >= 2020", func(id int) bool { return !isNull(id) && langOf(id) == "de" && yearOf(id) >= 2020 }},
		{"year IN (2016, 2019) OR lang IS NULL", func(id int) bool { return yearOf(id) == 2016 || yearOf(id) == 2019 || isNull(id) }},
		{"NOT (lang != 'fr') AND id < 500", func(id int) bool { return !isNull(id) && langOf(id) == "fr" && id < 500 }},
		{"year = 2024 AND id >= 900", func(id int) bool { return yearOf(id) == 2024 && id >= 900 }},
	} {
		var sum float64
		const queries = 20
		for qi := range queries {
			q := f.vec(1000 + qi) // not in the table
			var exact []int
			for id := range 1000 {
				if f.cur[id] && tc.keep(id) {
					exact = append(exact, id)
				}
			}
			sort.Slice(exact, func(a, b int) bool { return cosine(q, f.vec(exact[a])) > cosine(q, f.vec(exact[b])) })
			exact = exact[:min(10, len(exact))]
			hits, err := x.Query(ctx, q, ExternalQuery{K: 10, Ef: 100, Filter: tc.filter})
			if err != nil {
				t.Fatalf("%s: %v", tc.filter, err)
			}
			var got []int
			for _, h := range hits {
				id := int(h.Columns["id"].(int64))
				if !f.cur[id] || !tc.keep(id) {
					t.Fatalf("%s: row %d does not pass the filter or is deleted", tc.filter, id)
				}
				got = append(got, id)
			}
			n := 0
			for _, id := range exact {
				if slices.Contains(got, id) {
					n++
				}
			}
			sum += float64(n) / float64(len(exact))
		}
		if r := sum / queries; r < 0.95 {
			t.Errorf("%s: recall@10 %.3f against the exact filtered scan", tc.filter, r)
		} else {
			t.Logf("%-40s recall@10 %.3f", tc.filter, r)
		}
	}
	for _, bad := range []string{"title = 'x'", "lang = 3", "lang ="} {
		if _, err := x.Query(ctx, f.vec(1), ExternalQuery{K: 3, Filter: bad}); err == nil {
			t.Errorf("filter %q: no error", bad)
		}
	}
}

func cosine(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}

// TestExternalRefreshCrash stops a refresh at each step of a version's
// commit, as a crash would, then reopens: the collection is at the last
// committed version (nothing of the interrupted snapshot visible) and the
// next refresh applies the snapshot whole.
func TestExternalRefreshCrash(t *testing.T) {
	ctx := context.Background()
	for _, step := range []string{"after-delta", "after-records"} {
		t.Run(step, func(t *testing.T) {
			f := newIcebergFixture(t)
			s1 := f.appendRows(0, 100)
			data := t.TempDir()
			x, _, err := Attach(ctx, data, ExternalOptions{Name: "p", IcebergCatalog: f.catPath, IcebergTable: "kb.passages",
				VectorColumn: "embedding", IDColumn: "id", Columns: []string{"lang"}})
			if err != nil {
				t.Fatal(err)
			}
			s2 := f.deleteRange(table.WriteModeMergeOnRead, 0, 10)
			s3 := f.appendRows(100, 150)
			crash := errors.New("crash")
			calls := 0
			extFailpoint = func(s string) error {
				if s == step {
					if calls++; calls == 2 { // the second version of this refresh
						return crash
					}
				}
				return nil
			}
			_, err = x.Refresh(ctx)
			extFailpoint = func(string) error { return nil }
			if !errors.Is(err, crash) {
				t.Fatalf("refresh: %v", err)
			}
			closeStore(x.db) // the process dies: no checkpoint, no cleanup
			y, err := OpenExternal(ctx, data, "p")
			if err != nil {
				t.Fatal(err)
			}
			if y.meta.Snapshot != s2 || y.meta.Rows != 90 {
				t.Fatalf("after the crash: at snapshot %d with %d rows, want %d with 90", y.meta.Snapshot, y.meta.Rows, s2)
			}
			f.check(y, s1, ExternalQuery{Snapshot: s1})
			f.check(y, s2, ExternalQuery{})
			rep, err := y.Refresh(ctx)
			if err != nil || rep.Snapshots != 1 || rep.RowsAdded != 50 {
				t.Fatalf("refresh after the crash: %+v %v", rep, err)
			}
			f.check(y, s3, ExternalQuery{})
			f.check(y, s2, ExternalQuery{Snapshot: s2})
			if err := y.Close(); err != nil {
				t.Fatal(err)
			}
			z, err := OpenExternal(ctx, data, "p")
			if err != nil {
				t.Fatal(err)
			}
			defer z.Close()
			f.check(z, s3, ExternalQuery{})
			if z.idx.Len() != 150 {
				t.Fatalf("graph holds %d rows, want 150 (the redone version inserted once)", z.idx.Len())
			}
		})
	}
}

// FuzzDecodeDelta: a damaged delta segment is an error, never a panic or
// a huge allocation.
func FuzzDecodeDelta(f *testing.F) {
	f.Add(encodeDelta(3, []uint32{0, 7}, [][]float32{{1, 2, 3}, {4, 5, 6}}))
	f.Add(encodeDelta(2, nil, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		dim, ids, vecs, err := decodeDelta(b)
		if err != nil {
			if !errors.Is(err, errDelta) {
				t.Fatalf("error does not wrap errDelta: %v", err)
			}
			return
		}
		if len(ids) != len(vecs) || (len(vecs) > 0 && len(vecs[0]) != dim) {
			t.Fatalf("inconsistent decode: dim %d, %d ids, %d vectors", dim, len(ids), len(vecs))
		}
		again := encodeDelta(dim, ids, vecs)
		if string(again) != string(b) {
			t.Fatal("decode/encode does not round-trip")
		}
	})
}

// TestExternalIcebergWholeHistory: attached with FromSnapshot -1, the
// collection indexes the table's history from its oldest snapshot, so
// snapshots committed before the attach answer exactly too.
func TestExternalIcebergWholeHistory(t *testing.T) {
	ctx := context.Background()
	f := newIcebergFixture(t)
	s1 := f.appendRows(0, 150)
	s2 := f.deleteRange(table.WriteModeMergeOnRead, 20, 40)
	s3 := f.equalityDelete(100, 101, 102)
	s4 := f.appendRows(150, 200)
	s5 := f.compact()
	x, rep, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "all", IcebergCatalog: f.catPath, IcebergTable: "kb.passages",
		VectorColumn: "embedding", IDColumn: "id", Columns: []string{"lang"}, FromSnapshot: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if rep.Snapshots != 5 || rep.RowsAdded != 200 || rep.RowsRemoved != 23 {
		t.Fatalf("attach over the whole history: %+v", rep)
	}
	for _, s := range []int64{s1, s2, s3, s4, s5} {
		f.check(x, s, ExternalQuery{Snapshot: s})
	}
	// From a given snapshot: the ones before it are not indexed.
	y, _, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "from3", IcebergCatalog: f.catPath, IcebergTable: "kb.passages",
		VectorColumn: "embedding", Columns: []string{"id"}, FromSnapshot: s3})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	f.check(y, s3, ExternalQuery{Snapshot: s3})
	f.check(y, s5, ExternalQuery{})
	if _, err := y.Query(ctx, f.vec(1), ExternalQuery{K: 1, Snapshot: s2}); !errors.Is(err, ErrNotIndexed) {
		t.Fatalf("a snapshot before the start: %v", err)
	}
	if _, _, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "bad", IcebergCatalog: f.catPath, IcebergTable: "kb.passages",
		VectorColumn: "embedding", FromSnapshot: 12345}); err == nil || !strings.Contains(err.Error(), "not an ancestor") {
		t.Fatalf("attach from an unknown snapshot: %v", err)
	}
}

// With a path guard confining reads to the catalog's directory, a catalog
// whose table files lie elsewhere is refused at attach, naming the
// metadata file, before iceberg-go reads it; the same table with its files
// inside attaches.
func TestExternalIcebergGuardedMetadata(t *testing.T) {
	ctx := context.Background()
	outside := newIcebergFixtureAt(t, "file://"+filepath.Join(t.TempDir(), "wh"), nil)
	outside.appendRows(0, 50)
	inside := newIcebergFixture(t)
	inside.appendRows(0, 50)
	under := func(root string) func(string) error {
		return func(uri string) error {
			p := strings.TrimPrefix(uri, "file://")
			if rel, err := filepath.Rel(root, p); err != nil || strings.HasPrefix(rel, "..") {
				return fmt.Errorf("file %s is outside %s: not read", uri, root)
			}
			return nil
		}
	}
	_, _, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "p", IcebergCatalog: outside.catPath, IcebergTable: "kb.passages",
		VectorColumn: "embedding", PathGuard: under(filepath.Dir(outside.catPath))})
	if err == nil || !strings.Contains(err.Error(), "metadata file") || !strings.Contains(err.Error(), ".metadata.json is outside") {
		t.Fatalf("attach of a catalog naming files outside the guard: %v", err)
	}
	x, rep, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "p", IcebergCatalog: inside.catPath, IcebergTable: "kb.passages",
		VectorColumn: "embedding", PathGuard: under(filepath.Dir(inside.catPath))})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if rep.RowsAdded != 50 {
		t.Fatalf("attach report %+v, want 50 rows added", rep)
	}
}
