package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/lakevec/lakevec/bench/gen"
	"github.com/lakevec/lakevec/lake"
)

type vecRow struct {
	ID        int64     `parquet:"id"`
	Title     string    `parquet:"title"`
	Embedding []float32 `parquet:"embedding,list"`
}

// writeParquet writes rows [from, to) of vecs as one file.
func writeParquet(t *testing.T, path string, vecs [][]float32, from, to int) {
	t.Helper()
	rows := make([]vecRow, 0, to-from)
	for i := from; i < to; i++ {
		rows = append(rows, vecRow{ID: int64(i), Title: fmt.Sprintf("row %d", i), Embedding: vecs[i]})
	}
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
}

func TestExternalParquetCollection(t *testing.T) {
	ctx := context.Background()
	ds, err := gen.GenerateSpec(gen.Spec{N: 3000, Dim: 32, Queries: 1, K: 1, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	vecs := make([][]float32, 3000)
	for i := range vecs {
		vecs[i] = ds.Base.Row(i)
	}
	src := t.TempDir()
	for f := 0; f < 4; f++ {
		writeParquet(t, filepath.Join(src, fmt.Sprintf("part-%d.parquet", f)), vecs, f*500, (f+1)*500)
	}
	data := t.TempDir()
	x, rep, err := Attach(ctx, data, ExternalOptions{Name: "items", Parquet: src, VectorColumn: "embedding"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesRead != 4 || rep.RowsAdded != 2000 {
		t.Fatalf("attach %+v", rep)
	}
	// Each vector finds itself, addressed by (file, row).
	rng := rand.New(rand.NewPCG(1, 2))
	find := func(x *External, i int) (VectorHit, bool) {
		hits, err := x.Search(vecs[i], 1, 64)
		if err != nil {
			t.Fatal(err)
		}
		return hits[0], len(hits) > 0
	}
	for s := 0; s < 50; s++ {
		i := rng.IntN(2000)
		h, _ := find(x, i)
		if want := fmt.Sprintf("part-%d.parquet", i/500); filepath.Base(h.File) != want || h.Row != int64(i%500) {
			t.Fatalf("vector %d found at %s row %d, want %s row %d", i, h.File, h.Row, want, i%500)
		}
	}
	// Append a file: only it is read. Remove a file: its rows never appear.
	writeParquet(t, filepath.Join(src, "part-4.parquet"), vecs, 2000, 2500)
	os.Remove(filepath.Join(src, "part-1.parquet"))
	rep, err = x.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesRead != 1 || rep.RowsAdded != 500 || rep.RowsRemoved != 500 || rep.FilesTotal != 4 {
		t.Fatalf("refresh %+v: want 1 file read, 500 rows added and 500 removed", rep)
	}
	for i := 500; i < 1000; i += 7 {
		hits, _ := x.Search(vecs[i], 10, 64)
		for _, h := range hits {
			if strings.HasSuffix(h.File, "part-1.parquet") {
				t.Fatalf("a row of a removed file was returned: %+v", h)
			}
		}
	}
	if h, _ := find(x, 2100); filepath.Base(h.File) != "part-4.parquet" || h.Row != 100 {
		t.Fatalf("appended row: %+v", h)
	}
	// Nothing changed: nothing is read.
	if rep, err = x.Refresh(ctx); err != nil || rep.FilesRead != 0 || rep.RowsAdded != 0 {
		t.Fatalf("idle refresh %+v %v", rep, err)
	}
	x.Close()

	// A restart loads the checkpoint: same answers, no reading.
	y, err := OpenExternal(ctx, data, "items")
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := find(y, 2100); filepath.Base(h.File) != "part-4.parquet" || h.Row != 100 {
		t.Fatalf("after restart: %+v", h)
	}
	// A file with the wrong column fails the refresh and leaves the index as it was.
	if err := parquet.WriteFile(filepath.Join(src, "bad.parquet"), []struct {
		Other []float32 `parquet:"other,list"`
	}{{Other: []float32{1}}}); err != nil {
		t.Fatal(err)
	}
	_, err = y.Refresh(ctx)
	if !errors.Is(err, lake.ErrNoColumn) || !strings.Contains(err.Error(), "bad.parquet") {
		t.Fatalf("refresh with a bad file: %v", err)
	}
	if h, _ := find(y, 2100); filepath.Base(h.File) != "part-4.parquet" {
		t.Fatalf("the failed refresh changed the index: %+v", h)
	}
	y.Close()
	names, _ := ExternalNames(data)
	if len(names) != 1 || names[0] != "items" {
		t.Fatalf("names %v", names)
	}
	if _, _, err := Attach(ctx, data, ExternalOptions{Name: "items", Parquet: src, VectorColumn: "embedding"}); err == nil {
		t.Fatal("attaching an existing name succeeded")
	}
	if _, err := OpenExternal(ctx, data, "nope"); !errors.Is(err, ErrNoCollection) {
		t.Fatalf("open unknown: %v", err)
	}
}
