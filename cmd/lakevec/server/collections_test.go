package server

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/lakevec/lakevec/engine"
)

type vecRow struct {
	ID        int64     `parquet:"id"`
	Embedding []float32 `parquet:"embedding,list"`
}

// testVector is a deterministic, well-spread unit vector of dimension 8.
func testVector(i int) []float32 {
	v := make([]float32, 8)
	var n float64
	for d := range v {
		h := math.Sin(float64(i*8+d+1)*12.9898) * 43758.5453
		x := h - math.Floor(h) - 0.5
		v[d] = float32(x)
		n += x * x
	}
	for d := range v {
		v[d] /= float32(math.Sqrt(n))
	}
	return v
}

// writeVectors writes rows [from, to) as one Parquet file.
func writeVectors(t *testing.T, path string, from, to int) {
	t.Helper()
	var rows []vecRow
	for i := from; i < to; i++ {
		rows = append(rows, vecRow{ID: int64(i), Embedding: testVector(i)})
	}
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
}

// newDataset makes roots/items/part-0.parquet (rows 0..49) and returns
// the attach root and the dataset directory.
func newDataset(t *testing.T) (root, ds string) {
	t.Helper()
	root = t.TempDir()
	ds = filepath.Join(root, "items")
	if err := os.Mkdir(ds, 0o755); err != nil {
		t.Fatal(err)
	}
	writeVectors(t, filepath.Join(ds, "part-0.parquet"), 0, 50)
	return root, ds
}

func TestCollectionsAttachRefreshSearch(t *testing.T) {
	root, ds := newDataset(t)
	f := newFixture(t, Options{APIKey: readKey, AdminKey: adminKey, AttachRoots: []string{root}})
	f.ingestTwoVersions(adminKey)

	// Attach: admin only.
	body := attachRequest{Name: "items", Parquet: ds, VectorColumn: "embedding"}
	f.want(f.do("POST", "/api/v1/collections", readKey, body), 403)
	var ar attachResponse
	f.want(f.do("POST", "/api/v1/collections", adminKey, body), 200).json(t, &ar)
	if ar.Report.RowsAdded != 50 || ar.Collection.Rows != 50 || ar.Collection.Kind != "parquet" || ar.Collection.Dim != 8 ||
		ar.Collection.LastRefreshReport == nil || ar.Collection.LastRefresh == "" {
		t.Fatalf("attach: %+v", ar)
	}
	f.want(f.do("POST", "/api/v1/collections", adminKey, body), 409)

	// List: the served documents collection, then the attached one.
	var cr collectionsResponse
	f.want(f.do("GET", "/api/v1/collections", readKey, nil), 200).json(t, &cr)
	if len(cr.Collections) != 2 || cr.Collections[0].Name != "docs" || !cr.Collections[0].Served ||
		cr.Collections[0].Kind != "documents" || cr.Collections[0].Batches != 2 || cr.Collections[1].Name != "items" {
		t.Fatalf("list: %+v", cr.Collections)
	}
	var ci collectionInfo
	f.want(f.do("GET", "/api/v1/collections/items", readKey, nil), 200).json(t, &ci)
	if ci.Source != ds || ci.Files != 1 || ci.Rows != 50 || ci.VectorColumn != "embedding" || ci.Metric != "cosine" {
		t.Fatalf("status: %+v", ci)
	}
	f.want(f.do("GET", "/api/v1/collections/docs", readKey, nil), 200).json(t, &ci)
	if ci.Kind != "documents" || ci.Rows != 2 || ci.ChunkVersions != 3 {
		t.Fatalf("documents status: %+v", ci)
	}

	// Search: each vector finds its own row.
	var vr vectorSearchResponse
	f.want(f.do("POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Vector: testVector(7), K: 3}), 200).json(t, &vr)
	if len(vr.Hits) != 3 || vr.Hits[0].Row != 7 || !strings.HasSuffix(vr.Hits[0].File, "part-0.parquet") || vr.Hits[0].Score < 0.999 {
		t.Fatalf("search: %+v", vr)
	}
	vr = vectorSearchResponse{}
	f.want(f.do("POST", "/api/v1/collections/items/search", readKey,
		vectorSearchRequest{Vectors: [][]float32{testVector(3), testVector(60)}, K: 1}), 200).json(t, &vr)
	if len(vr.Results) != 2 || vr.Hits != nil || vr.Results[0].Hits[0].Row != 3 {
		t.Fatalf("batch search: %+v", vr)
	}

	// Refresh: a new file is read, and its rows are found.
	writeVectors(t, filepath.Join(ds, "part-1.parquet"), 50, 80)
	f.want(f.do("POST", "/api/v1/collections/items/refresh", readKey, nil), 403)
	var rep engine.RefreshReport
	f.want(f.do("POST", "/api/v1/collections/items/refresh", adminKey, nil), 200).json(t, &rep)
	if rep.FilesRead != 1 || rep.RowsAdded != 30 || rep.FilesTotal != 2 {
		t.Fatalf("refresh: %+v", rep)
	}
	vr = vectorSearchResponse{}
	f.want(f.do("POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Vectors: [][]float32{testVector(60)}, K: 1}), 200).json(t, &vr)
	if vr.Results[0].Hits[0].Row != 10 || !strings.HasSuffix(vr.Results[0].Hits[0].File, "part-1.parquet") {
		t.Fatalf("search after refresh: %+v", vr)
	}
	f.want(f.do("GET", "/api/v1/collections/items", readKey, nil), 200).json(t, &ci)
	if ci.Rows != 80 || ci.Files != 2 || ci.LastRefreshReport == nil || ci.LastRefreshReport.RowsAdded != 30 {
		t.Fatalf("status after refresh: %+v", ci)
	}

	// Errors.
	for _, c := range []struct {
		method, path string
		key          string
		body         any
		status       int
		msg          string
	}{
		{"GET", "/api/v1/collections/nope", readKey, nil, 404, "no such collection"},
		{"GET", "/api/v1/collections/Bad-Name", readKey, nil, 400, "name: \"Bad-Name\""},
		{"POST", "/api/v1/collections/nope/refresh", adminKey, nil, 404, "no such collection"},
		{"POST", "/api/v1/collections/docs/refresh", adminKey, nil, 400, "documents collection"},
		{"POST", "/api/v1/collections/nope/search", readKey, vectorSearchRequest{Vector: testVector(1)}, 404, "no such collection"},
		{"POST", "/api/v1/collections/items/search", readKey, `{}`, 400, "give exactly one of vector, vectors and query"},
		{"POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Vector: []float32{1, 2}}, 400, "vector: 2 dimensions, the collection has 8"},
		{"POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Vectors: [][]float32{testVector(1), {1}}}, 400, "vectors[1]: 1 dimensions"},
		{"POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Vector: testVector(1), K: 5000}, 400, "k: 5000 out of range"},
		{"POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Vector: testVector(1), Ef: -1}, 400, "ef: -1 out of range"},
		{"POST", "/api/v1/collections/items/search", readKey, `{"vector":[1,2],"vectors":[[1,2]]}`, 400, "give exactly one"},
		{"POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Vector: testVector(1), Filter: "nope = 1"}, 400, "filter: "},
		{"POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Query: "red shoes"}, 400, "attached without an embedder"},
		{"POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Vector: testVector(1), Filter: "id >"}, 400, "unexpected end"},
		{"POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Vector: testVector(1), Snapshot: "x1"}, 400, "snapshot: \"x1\" is not a snapshot id"},
		{"POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Vector: testVector(1), AsOf: "1999-01-01"}, 400, "before the first indexed version"},
		{"POST", "/api/v1/collections/items/search", readKey, vectorSearchRequest{Vector: testVector(1), Fetch: []string{"nope"}}, 400, "fetch: "},
		{"POST", "/api/v1/collections/items/search", readKey, `{"vectors":[]}`, 400, "vectors: 0 vectors"},
		{"POST", "/api/v1/collections/docs/search", readKey, vectorSearchRequest{Vector: testVector(1)}, 400, "POST /api/v1/search"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", Parquet: ds}, 400, "vector_column: required"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", VectorColumn: "embedding"}, 400, "give exactly one of parquet and iceberg_catalog"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", Parquet: ds, IcebergCatalog: ds, VectorColumn: "e"}, 400, "give exactly one"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", IcebergCatalog: ds + "/c.db", VectorColumn: "e"}, 400, "iceberg_table"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x/y", Parquet: ds, VectorColumn: "embedding"}, 400, "name:"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "docs", Parquet: ds, VectorColumn: "embedding"}, 409, "documents collection"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", Parquet: "items", VectorColumn: "embedding"}, 400, "absolute path"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", Parquet: "s3://b/items", VectorColumn: "embedding"}, 400, "local path"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", Parquet: ds, VectorColumn: "embedding", Metric: "manhattan"}, 400, "metric:"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", Parquet: ds, VectorColumn: "no_such_column"}, 400, "source:"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", Parquet: filepath.Join(root, "missing", "*.parquet"), VectorColumn: "embedding"}, 400, "source:"},
		// Outside the roots, also by .. and by a symbolic link.
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", Parquet: t.TempDir(), VectorColumn: "embedding"}, 403, "outside the server's attach roots"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", Parquet: root + "/../elsewhere/*.parquet", VectorColumn: "embedding"}, 403, "outside"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", Parquet: filepath.Join(root, "link", "*.parquet"), VectorColumn: "embedding"}, 403, "outside"},
		{"POST", "/api/v1/collections", adminKey, attachRequest{Name: "x", IcebergCatalog: "sqlite:///etc/catalog.db", IcebergTable: "a.b", VectorColumn: "e"}, 403, "outside"},
	} {
		if c.path == "/api/v1/collections" && strings.Contains(fmt.Sprint(c.body), "link") {
			if err := os.Symlink(t.TempDir(), filepath.Join(root, "link")); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
		}
		t.Run(c.method+" "+c.path+" "+c.msg, func(t *testing.T) {
			r := f.want(f.do(c.method, c.path, c.key, c.body), c.status)
			if msg := r.errMsg(t); !strings.Contains(msg, c.msg) {
				t.Fatalf("error %q, want it to contain %q", msg, c.msg)
			}
		})
	}
}

func TestCollectionsAttachRefusedWithoutRoots(t *testing.T) {
	_, ds := newDataset(t)
	f := newFixture(t, Options{})
	r := f.want(f.do("POST", "/api/v1/collections", "", attachRequest{Name: "items", Parquet: ds, VectorColumn: "embedding"}), 403)
	if !strings.Contains(r.errMsg(t), "no attach roots") {
		t.Fatalf("403: %s", r.body)
	}
	var cr collectionsResponse
	f.want(f.do("GET", "/api/v1/collections", "", nil), 200).json(t, &cr)
	if len(cr.Collections) != 1 || cr.Collections[0].Kind != "documents" {
		t.Fatalf("list: %+v", cr)
	}
}

// A collection attached by the CLI is opened lazily, stays open across
// requests, and is closed (checkpointed) by Server.Close.
func TestCollectionsOpenedLazilyAndClosed(t *testing.T) {
	ctx := context.Background()
	_, ds := newDataset(t)
	data := t.TempDir()
	x, _, err := engine.Attach(ctx, data, engine.ExternalOptions{Name: "items", Parquet: ds, VectorColumn: "embedding"})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Options{DataDir: data})
	if len(f.srv.ext.m) != 0 {
		t.Fatal("opened before use")
	}
	var vr vectorSearchResponse
	f.want(f.do("POST", "/api/v1/collections/items/search", "", vectorSearchRequest{Vector: testVector(5), K: 1}), 200).json(t, &vr)
	if vr.Hits[0].Row != 5 {
		t.Fatalf("search: %+v", vr)
	}
	first := f.srv.ext.m["items"].x.Load()
	writeVectors(t, filepath.Join(ds, "part-1.parquet"), 50, 60)
	f.want(f.do("POST", "/api/v1/collections/items/refresh", "", nil), 200)
	f.want(f.do("GET", "/api/v1/collections", "", nil), 200)
	if f.srv.ext.m["items"].x.Load() != first {
		t.Fatal("reopened per request")
	}
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	f.want(f.do("GET", "/api/v1/collections/items", "", nil), 503)
	// Closed: the engine opens it again, with the refreshed rows.
	x, err = engine.OpenExternal(ctx, data, "items")
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	hits, err := x.Search(testVector(55), 1, 64)
	if err != nil || len(hits) != 1 || hits[0].Row != 5 || !strings.HasSuffix(hits[0].File, "part-1.parquet") {
		t.Fatalf("after close: %+v %v", hits, err)
	}
}

func TestTimelineAndChangeSizes(t *testing.T) {
	f := newFixture(t, Options{})
	var tl timelineResponse
	f.want(f.do("GET", "/api/v1/timeline", "", nil), 200).json(t, &tl)
	if tl.First != nil || len(tl.Changes) != 0 {
		t.Fatalf("empty timeline: %+v", tl)
	}
	f.ingestTwoVersions("")
	f.want(f.do("GET", "/api/v1/timeline", "", nil), 200).json(t, &tl)
	d1, d2 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if len(tl.Changes) != 2 || !tl.First.Equal(d1) || !tl.Last.Equal(d2) || tl.Changes[0].Docs != 2 || tl.Changes[1].Docs != 1 {
		t.Fatalf("timeline: %+v", tl)
	}
	// A new batch invalidates the cached timeline.
	f.want(f.do("POST", "/api/v1/documents", "", map[string]any{"at": "2025-03-01", "documents": []map[string]any{
		{"doc_id": "cookies.md", "text": other + "\n\nA second paragraph about the cookie banner."}}}), 200)
	f.want(f.do("GET", "/api/v1/timeline", "", nil), 200).json(t, &tl)
	if len(tl.Changes) != 3 || !tl.Last.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("timeline after a batch: %+v", tl)
	}
	var hr historyResponse
	f.want(f.do("GET", "/api/v1/history/Policies/terms.md", "", nil), 200).json(t, &hr)
	if len(hr.Versions) != 2 || hr.Versions[0].Changed == 0 || hr.Versions[1].Changed == 0 || hr.Versions[1].Changed >= hr.Versions[1].Chunks+2 {
		t.Fatalf("history change sizes: %+v", hr.Versions)
	}
}

// A dataset under the attach root with a file that links outside it: the
// server refuses to read that file, so the attach fails and names it.
func TestAttachRefusesFilesOutsideRoots(t *testing.T) {
	root, ds := newDataset(t)
	outside := filepath.Join(t.TempDir(), "secret.parquet")
	writeVectors(t, outside, 100, 110)
	if err := os.Symlink(outside, filepath.Join(ds, "link.parquet")); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Options{AdminKey: adminKey, AttachRoots: []string{root}})
	r := f.want(f.do("POST", "/api/v1/collections", adminKey, attachRequest{Name: "items", Parquet: ds, VectorColumn: "embedding"}), 400)
	if !strings.Contains(string(r.body), "outside the server's attach roots") || !strings.Contains(string(r.body), "link.parquet") {
		t.Fatalf("attach with a link out of the root: %s", r.body)
	}
}
