package lake

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lakevec/lakevec/snapshot"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
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
	"github.com/apache/iceberg-go/table"
)

// testTable is an Iceberg table written with iceberg-go: id long,
// embedding list<float> (dim 8, testVec(id)).
type testTable struct {
	t   testing.TB
	tbl *table.Table
	asc *arrow.Schema
}

func testVec(i int) []float32 {
	v := make([]float32, 8)
	v[i%8] = 1
	v[(i/8)%8] += 0.5
	v[(i/64)%8] += 0.25
	v[7] = float32(i) // unique
	return v
}

func createTestTable(ctx context.Context, t testing.TB, cat catalog.Catalog, ident table.Identifier) *testTable {
	t.Helper()
	if err := cat.CreateNamespace(ctx, ident[:len(ident)-1], nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		t.Fatal(err)
	}
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "embedding", Type: &iceberg.ListType{ElementID: 3, Element: iceberg.PrimitiveTypes.Float32, ElementRequired: true}},
	)
	tbl, err := cat.CreateTable(ctx, ident, sc, catalog.WithProperties(iceberg.Properties{table.PropertyFormatVersion: "2"}))
	if err != nil {
		t.Fatal(err)
	}
	asc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	return &testTable{t: t, tbl: tbl, asc: asc}
}

// append commits rows [from, to) as one data file.
func (tt *testTable) append(ctx context.Context, from, to int) {
	tt.t.Helper()
	type row struct {
		ID        int64     `json:"id"`
		Embedding []float32 `json:"embedding"`
	}
	var rows []row
	for i := from; i < to; i++ {
		rows = append(rows, row{int64(i), testVec(i)})
	}
	js, _ := json.Marshal(rows)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, tt.asc, strings.NewReader(string(js)))
	if err != nil {
		tt.t.Fatal(err)
	}
	defer rec.Release()
	rdr, _ := array.NewRecordReader(tt.asc, []arrow.RecordBatch{rec})
	tx := tt.tbl.NewTransaction()
	if err := tx.Append(ctx, rdr, nil); err != nil {
		tt.t.Fatal(err)
	}
	if tt.tbl, err = tx.Commit(ctx); err != nil {
		tt.t.Fatal(err)
	}
}

// openSQLiteCatalog opens (creating) a SQLite SQL catalog for writing.
func openSQLiteCatalog(t testing.TB, path, warehouse string, props map[string]string) *sqlcat.Catalog {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := iceberg.Properties{"warehouse": warehouse}
	maps.Copy(p, props)
	cat, err := sqlcat.NewCatalog("writer", db, sqlcat.SQLite, p)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// checkTable checks the current data files of tb hold exactly the rows
// [0, n) (by their vectors), read through st.
func checkTable(t *testing.T, tb *IcebergTable, st *Storage, scheme string, files, n int) {
	t.Helper()
	ctx := t.Context()
	snap := tb.Current().ID
	state, err := tb.State(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	if cur := tb.Metadata().CurrentSnapshot(); cur == nil || cur.SnapshotID != snap {
		t.Fatalf("snapshot %d, metadata says %v", snap, cur)
	}
	var dfs []snapshot.File
	for _, f := range state.Files {
		if f.Kind == snapshot.Data {
			dfs = append(dfs, f)
		}
	}
	if len(dfs) != files {
		t.Fatalf("%d data files, want %d: %+v", len(dfs), files, dfs)
	}
	seen := map[float32]bool{}
	for _, df := range dfs {
		if scheme == "" {
			scheme = "file"
		}
		if !strings.HasPrefix(df.Path, scheme+"://") {
			t.Fatalf("data file path %q, want scheme %q", df.Path, scheme)
		}
		var rows int64
		_, err := st.ReadVectors(ctx, df.Path, VectorOptions{Column: "embedding", Dim: 8}, func(b *VectorBatch) error {
			for i := range b.Len() {
				v := b.Vector(i)
				id := int(v[7])
				if seen[v[7]] || !slices.Equal(v, testVec(id)) {
					return fmt.Errorf("unexpected vector %v", v)
				}
				seen[v[7]] = true
				rows++
			}
			return nil
		})
		if err != nil {
			t.Fatalf("read %s: %v", df.Path, err)
		}
		if rows != df.Records {
			t.Fatalf("%s: %d vectors, manifest says %d records", df.Path, rows, df.Records)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d rows, want %d", len(seen), n)
	}
	if fs, err := tb.FS(ctx); err != nil || fs == nil {
		t.Fatalf("fs: %v", err)
	}
}

// TestOpenIcebergS3 writes a table on an s3:// warehouse in gofakes3 and
// opens it through its SQLite catalog, its metadata file and a REST
// catalog; Refresh follows an append.
func TestOpenIcebergS3(t *testing.T) {
	ctx := t.Context()
	opts, _, log := fakeS3(t, "lake")
	catPath := filepath.Join(t.TempDir(), "cat.db")
	cat := openSQLiteCatalog(t, catPath, "s3://lake/wh", opts.IcebergProps())
	tt := createTestTable(ctx, t, cat, table.Identifier{"shop", "items"})
	tt.append(ctx, 0, 50)
	tt.append(ctx, 50, 80)
	st := NewStorage(opts)

	tb, err := OpenIceberg(ctx, IcebergSource{Catalog: catPath, Table: "shop.items", S3: opts})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	checkTable(t, tb, st, "s3", 2, 80)
	first := tt.tbl.MetadataLocation()
	tt.append(ctx, 80, 100)
	checkTable(t, tb, st, "s3", 2, 80) // not refreshed yet
	if err := tb.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	checkTable(t, tb, st, "s3", 3, 100)

	// The same table from its metadata files, no catalog.
	for loc, want := range map[string][2]int{first: {2, 80}, tt.tbl.MetadataLocation(): {3, 100}} {
		if !strings.HasPrefix(loc, "s3://lake/wh/") {
			t.Fatalf("metadata location %s", loc)
		}
		mt, err := OpenIceberg(ctx, IcebergSource{Table: loc, S3: opts})
		if err != nil {
			t.Fatal(err)
		}
		checkTable(t, mt, st, "s3", want[0], want[1])
		if err := mt.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		mt.Close()
	}

	// Through a REST catalog.
	srv := httptest.NewServer(restCatalog(t, cat))
	defer srv.Close()
	rt, err := OpenIceberg(ctx, IcebergSource{Catalog: srv.URL, Table: "shop.items", S3: opts})
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, rt, st, "s3", 3, 100)
	tt.append(ctx, 100, 110)
	if err := rt.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	checkTable(t, rt, st, "s3", 4, 110)
	rt.Close()
	if _, err := OpenIceberg(ctx, IcebergSource{Catalog: srv.URL, Table: "shop.nope", S3: opts}); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("missing table through REST: %v", err)
	}
	if _, unranged, _ := log.counts(); unranged != 0 {
		t.Fatalf("%d unranged GETs of data files", unranged) // manifests and metadata are read whole by iceberg-go

	}
}

// TestOpenIcebergLocal: a file:// warehouse through OpenIcebergTable (the
// old entry point), sqlite:// URIs, and a local metadata path.
func TestOpenIcebergLocal(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	catPath := filepath.Join(dir, "cat.db")
	cat := openSQLiteCatalog(t, catPath, "file://"+filepath.Join(dir, "wh"), nil)
	tt := createTestTable(ctx, t, cat, table.Identifier{"a", "b", "items"})
	tt.append(ctx, 0, 30)
	st := NewStorage(S3Options{})
	for _, uri := range []string{catPath, "sqlite://" + catPath} {
		tb, err := OpenIceberg(ctx, IcebergSource{Catalog: uri, Table: "a.b.items"})
		if err != nil {
			t.Fatal(err)
		}
		checkTable(t, tb, st, "", 1, 30)
		tb.Close()
	}
	loc := strings.TrimPrefix(tt.tbl.MetadataLocation(), "file://")
	for _, l := range []string{loc, "file://" + loc} {
		tb, err := OpenIceberg(ctx, IcebergSource{Table: l})
		if err != nil {
			t.Fatal(err)
		}
		checkTable(t, tb, st, "", 1, 30)
		tb.Close()
	}

	for _, c := range []struct {
		src  IcebergSource
		want string
	}{
		{IcebergSource{Catalog: catPath, Table: "a.b.nope"}, "not in the catalog"},
		{IcebergSource{Catalog: catPath, Table: "items"}, "want namespace.table"},
		{IcebergSource{Catalog: catPath, Table: "a..items"}, "want namespace.table"},
		{IcebergSource{Catalog: filepath.Join(dir, "none.db"), Table: "a.items"}, "no such file"},
		{IcebergSource{Catalog: "thrift://hive:9083", Table: "a.items"}, "unsupported"},
		{IcebergSource{Table: "a.items"}, "metadata file location"},
		{IcebergSource{Table: filepath.Join(dir, "x.metadata.json")}, "x.metadata.json"},
	} {
		if _, err := OpenIceberg(ctx, c.src); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("open %+v: %v, want %q", c.src, err, c.want)
		}
	}
	if _, err := OpenIceberg(ctx, IcebergSource{Catalog: "postgres://u:secret@127.0.0.1:1/db", Table: "a.items"}); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("an unreachable postgres catalog: %v (must fail without showing the password)", err)
	}
}

// restCatalog is a minimal Iceberg REST catalog for tests: GET /v1/config
// and LoadTable, served from a SQL catalog. Not a REST implementation.
func restCatalog(t testing.TB, cat *sqlcat.Catalog) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"defaults":{},"overrides":{}}`)
	})
	mux.HandleFunc("GET /v1/namespaces/{ns}/tables/{tbl}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ident := append(strings.Split(r.PathValue("ns"), "\x1f"), r.PathValue("tbl"))
		tbl, err := cat.LoadTable(r.Context(), ident)
		if errors.Is(err, catalog.ErrNoSuchTable) {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error":{"message":%q,"type":"NoSuchTableException","code":404}}`, err.Error())
			return
		}
		raw, err2 := readMetadataFile(r.Context(), tbl)
		if err != nil || err2 != nil {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `{"error":{"message":%q,"type":"ServerError","code":500}}`, fmt.Sprint(err, err2))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"metadata-location": tbl.MetadataLocation(),
			"metadata":          json.RawMessage(raw),
			"config":            map[string]string{},
		})
	})
	return mux
}

func readMetadataFile(ctx context.Context, tbl *table.Table) ([]byte, error) {
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	f, err := fs.Open(tbl.MetadataLocation())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// TestOpenIcebergPostgres runs when LAKEVEC_TEST_POSTGRES is a DSN
// (scripts/ci-postgres.sh sets it): a table in a PostgreSQL SQL catalog,
// file:// warehouse, opened by OpenIceberg.
func TestOpenIcebergPostgres(t *testing.T) {
	dsn := os.Getenv("LAKEVEC_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("LAKEVEC_TEST_POSTGRES is not set (a PostgreSQL DSN; scripts/ci-postgres.sh starts one): PostgreSQL catalog not tested")
	}
	ctx := t.Context()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	cat, err := sqlcat.NewCatalog("lakevec_test", db, sqlcat.Postgres, iceberg.Properties{"warehouse": "file://" + filepath.Join(dir, "wh")})
	if err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("t%d", rand.Uint64()%1e9)
	ident := table.Identifier{ns, "items"}
	tt := createTestTable(ctx, t, cat, ident)
	defer func() {
		cat.DropTable(context.Background(), ident)
		cat.DropNamespace(context.Background(), table.Identifier{ns})
	}()
	tt.append(ctx, 0, 40)
	tb, err := OpenIceberg(ctx, IcebergSource{Catalog: dsn, Table: ns + ".items"})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	st := NewStorage(S3Options{})
	checkTable(t, tb, st, "", 1, 40)
	tt.append(ctx, 40, 60)
	if err := tb.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	checkTable(t, tb, st, "", 2, 60)
	if _, err := OpenIceberg(ctx, IcebergSource{Catalog: dsn, Table: ns + ".nope"}); err == nil || !strings.Contains(err.Error(), "not in the catalog") {
		t.Fatalf("missing table: %v", err)
	}
}

// A guard sees every table file before it is read: the metadata JSON the
// catalog (or Table) names, then the manifest list and manifests. Refusing
// any one of them fails the open or the read with the guard's error, and
// the table's file IO never removes anything.
func TestOpenIcebergGuard(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	catPath := filepath.Join(dir, "cat.db")
	cat := openSQLiteCatalog(t, catPath, "file://"+filepath.Join(dir, "wh"), nil)
	tt := createTestTable(ctx, t, cat, table.Identifier{"a", "items"})
	tt.append(ctx, 0, 30)
	kind := func(uri string) string {
		switch {
		case strings.HasSuffix(uri, ".metadata.json"):
			return "metadata"
		case strings.Contains(uri, "/snap-"):
			return "manifest list"
		case strings.HasSuffix(uri, ".avro"):
			return "manifest"
		}
		return "other"
	}
	var seen []string
	refuse := ""
	guard := func(uri string) error {
		seen = append(seen, kind(uri))
		if kind(uri) == refuse {
			return fmt.Errorf("file %s refused", uri)
		}
		return nil
	}
	loc := tt.tbl.MetadataLocation()
	for _, src := range []IcebergSource{{Catalog: catPath, Table: "a.items", Guard: guard}, {Table: loc, Guard: guard}} {
		seen, refuse = nil, ""
		tb, err := OpenIceberg(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tb.State(ctx, tb.Current().ID); err != nil {
			t.Fatal(err)
		}
		if want := []string{"metadata", "manifest list", "manifest"}; !slices.Equal(seen, want) {
			t.Fatalf("%+v: guard saw %v, want %v", src, seen, want)
		}
		for _, r := range []string{"manifest list", "manifest"} {
			refuse = r
			if _, err := tb.State(ctx, tb.Current().ID); err == nil || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("%+v: reading with %q refused: %v", src, r, err)
			}
		}
		refuse = "metadata"
		if err := tb.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("%+v: refresh with the metadata file refused: %v", src, err)
		}
		if _, err := OpenIceberg(ctx, src); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("%+v: open with the metadata file refused: %v", src, err)
		}
		fs, err := tb.FS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.Remove(strings.TrimPrefix(loc, "file://")); err == nil {
			t.Fatal("the guarded file IO removed a file")
		}
		tb.Close()
	}
	if _, err := os.Stat(strings.TrimPrefix(loc, "file://")); err != nil {
		t.Fatalf("metadata file gone: %v", err)
	}
}
