package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	_ "modernc.org/sqlite"
)

// TestExternalIcebergTable attaches an Iceberg table written with
// iceberg-go (SQLite catalog, file:// warehouse), then follows appends and
// a copy-on-write delete: a refresh reads only the new files and deleted
// rows are never returned.
func TestExternalIcebergTable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	catPath := filepath.Join(dir, "cat.db")
	db, err := sql.Open("sqlite", "file:"+catPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cat, err := sqlcat.NewCatalog("test", db, sqlcat.SQLite, iceberg.Properties{"warehouse": "file://" + filepath.Join(dir, "wh")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateNamespace(ctx, table.Identifier{"shop"}, nil); err != nil {
		t.Fatal(err)
	}
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "embedding", Type: &iceberg.ListType{ElementID: 3, Element: iceberg.PrimitiveTypes.Float32, ElementRequired: true}},
	)
	tbl, err := cat.CreateTable(ctx, table.Identifier{"shop", "items"}, sc, catalog.WithProperties(iceberg.Properties{table.PropertyFormatVersion: "2"}))
	if err != nil {
		t.Fatal(err)
	}
	asc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	vec := func(i int) []float32 { // distinct directions
		v := make([]float32, 8)
		v[i%8] = 1
		v[(i/8)%8] += 0.5
		v[(i/64)%8] += 0.25
		return v
	}
	appendRows := func(from, to int) {
		type row struct {
			ID        int64     `json:"id"`
			Embedding []float32 `json:"embedding"`
		}
		var rows []row
		for i := from; i < to; i++ {
			rows = append(rows, row{int64(i), vec(i)})
		}
		js, _ := json.Marshal(rows)
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, asc, strings.NewReader(string(js)))
		if err != nil {
			t.Fatal(err)
		}
		rdr, _ := array.NewRecordReader(asc, []arrow.RecordBatch{rec})
		tx := tbl.NewTransaction()
		if err := tx.Append(ctx, rdr, nil); err != nil {
			t.Fatal(err)
		}
		if tbl, err = tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	appendRows(0, 100)
	appendRows(100, 200)
	data := t.TempDir()
	x, rep, err := Attach(ctx, data, ExternalOptions{Name: "items", IcebergCatalog: catPath, IcebergTable: "shop.items", VectorColumn: "embedding"})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if rep.FilesRead != 2 || rep.RowsAdded != 200 || x.meta.Snapshot != tbl.CurrentSnapshot().SnapshotID {
		t.Fatalf("attach %+v (snapshot %d, table at %d)", rep, x.meta.Snapshot, tbl.CurrentSnapshot().SnapshotID)
	}
	appendRows(200, 250)
	if rep, err = x.Refresh(ctx); err != nil || rep.FilesRead != 1 || rep.RowsAdded != 50 {
		t.Fatalf("refresh after an append %+v %v", rep, err)
	}
	// A copy-on-write delete rewrites a file: its old rows go, the kept ones come back.
	tx := tbl.NewTransaction()
	if err := tx.Delete(ctx, iceberg.EqualTo(iceberg.Reference("id"), int64(150)), nil); err != nil {
		t.Fatal(err)
	}
	if tbl, err = tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, err = x.Refresh(ctx); err != nil || rep.RowsRemoved != 100 || rep.RowsAdded != 99 {
		t.Fatalf("refresh after a delete %+v %v", rep, err)
	}
	hits, err := x.Search(vec(150), 3, 64)
	if err != nil {
		t.Fatal(err)
	}
	if hits[0].Score > 0.9999 {
		t.Fatalf("the deleted row (or its twin) is still returned: %+v", hits)
	}
	if n := x.meta.Rows; n != 249 {
		t.Fatalf("%d live rows, want 249", n)
	}
}
