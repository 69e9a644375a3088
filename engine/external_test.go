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
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/lakevec/lakevec/bench/gen"
	"github.com/lakevec/lakevec/engine/embed"
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
	// find returns the hit for vector i itself among its 5 nearest (an
	// approximate search may rank a near-duplicate first).
	find := func(x *External, i int) (VectorHit, bool) {
		hits, err := x.Search(vecs[i], 5, 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.Score > 0.9999 {
				return h, true
			}
		}
		return hits[0], false
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

// TestExternalReplay: versions applied after the last checkpoint are
// replayed on open from their delta segments, without a rebuild and
// without reading the lake.
func TestExternalReplay(t *testing.T) {
	ctx := context.Background()
	ds, _ := gen.GenerateSpec(gen.Spec{N: 1200, Dim: 16, Queries: 1, K: 1, Seed: 9})
	vecs := make([][]float32, 1200)
	for i := range vecs {
		vecs[i] = ds.Base.Row(i)
	}
	src, data := t.TempDir(), t.TempDir()
	writeParquet(t, filepath.Join(src, "p0.parquet"), vecs, 0, 400)
	writeParquet(t, filepath.Join(src, "p1.parquet"), vecs, 400, 800)
	x, _, err := Attach(ctx, data, ExternalOptions{Name: "r", Parquet: src, VectorColumn: "embedding"})
	if err != nil {
		t.Fatal(err)
	}
	// Refresh (no checkpoint: fewer than checkpointEvery since the first),
	// then "crash": drop the collection without Close.
	writeParquet(t, filepath.Join(src, "p2.parquet"), vecs, 800, 1200)
	os.Remove(filepath.Join(src, "p0.parquet"))
	if _, err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if x.meta.CkptGen == x.meta.Gen {
		t.Fatal("the refresh wrote a checkpoint; the test needs one replayed")
	}
	closeStore(x.db) // no checkpoint on the way out
	// Replay reads the delta segments, not the lake: the dataset may be
	// gone meanwhile.
	if err := os.RemoveAll(src); err != nil {
		t.Fatal(err)
	}
	y, err := OpenExternal(ctx, data, "r")
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	for i := 0; i < 1200; i += 37 {
		hits, err := y.Search(vecs[i], 5, 64)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if filepath.Base(h.File) == "p0.parquet" {
				t.Fatalf("row of a removed file after replay: %+v", h)
			}
		}
		if i >= 400 {
			want := fmt.Sprintf("p%d.parquet", i/400)
			found := false
			for _, h := range hits {
				found = found || (filepath.Base(h.File) == want && h.Row == int64(i%400))
			}
			if !found {
				t.Fatalf("vector %d after replay not among its 5 nearest: %+v", i, hits)
			}
		}
	}
	if y.meta.Rows != 800 || y.idx.Len() != 1200 {
		t.Fatalf("%d live rows and %d in the graph after replay, want 800 of 1200 (removed rows stay for time travel)", y.meta.Rows, y.idx.Len())
	}
}

// TestExternalTextQuery: a collection attached with the embedder that made
// its vectors answers text queries embedded with it.
func TestExternalTextQuery(t *testing.T) {
	ctx := context.Background()
	e, err := embed.Open(ctx, embed.Config{Kind: embed.KindLexical})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"cats sleep on warm windowsills", "rust prevents data races at compile time",
		"the tide rises twice a day", "sourdough needs a lively starter", "glaciers carve deep valleys"}
	vecs, err := e.Embed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	rows := make([]vecRow, len(texts))
	for i := range texts {
		rows[i] = vecRow{ID: int64(i), Title: texts[i], Embedding: vecs[i]}
	}
	if err := parquet.WriteFile(filepath.Join(src, "p.parquet"), rows); err != nil {
		t.Fatal(err)
	}
	x, _, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "notes", Parquet: src, VectorColumn: "embedding",
		Columns: []string{"title"}, Embedder: &embed.Config{Kind: embed.KindLexical}})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for i, q := range []string{"warm cats", "data races in rust", "tide twice", "sourdough starter", "glaciers valleys"} {
		hits, err := x.QueryText(ctx, q, ExternalQuery{K: 1, Ef: 16})
		if err != nil || len(hits) != 1 || hits[0].Columns["title"] != texts[i] {
			t.Fatalf("%q: %+v %v", q, hits, err)
		}
	}
	y, _, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "plain", Parquet: src, VectorColumn: "embedding"})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if _, err := y.QueryText(ctx, "cats", ExternalQuery{K: 1}); !errors.Is(err, ErrNoEmbedder) {
		t.Fatalf("text query without an embedder: %v", err)
	}
}

// TestExternalProgress: an attach reports the files it reads, then the
// rows it indexes, ending at their totals.
func TestExternalProgress(t *testing.T) {
	ctx := context.Background()
	ds, _ := gen.GenerateSpec(gen.Spec{N: 5000, Dim: 8, Queries: 1, K: 1, Seed: 2})
	vecs := make([][]float32, 5000)
	for i := range vecs {
		vecs[i] = ds.Base.Row(i)
	}
	src := t.TempDir()
	for f := 0; f < 3; f++ {
		writeParquet(t, filepath.Join(src, fmt.Sprintf("p%d.parquet", f)), vecs, f*1500, (f+1)*1500)
	}
	last := map[string][2]int64{}
	calls := 0
	x, _, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "p", Parquet: src, VectorColumn: "embedding",
		Progress: func(phase string, done, total int64) {
			calls++
			if prev := last[phase]; done < prev[0] {
				t.Errorf("%s went back from %d to %d", phase, prev[0], done)
			}
			last[phase] = [2]int64{done, total}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if last["read"] != [2]int64{3, 3} || last["index"] != [2]int64{4500, 4500} || calls < 5 {
		t.Fatalf("progress: %v in %d calls", last, calls)
	}
}

// TestExternalConcurrentSearchRefresh: searches (now, as of a time, with a
// filter) run while refreshes add and remove files; run it with -race.
func TestExternalConcurrentSearchRefresh(t *testing.T) {
	ctx := context.Background()
	ds, _ := gen.GenerateSpec(gen.Spec{N: 3000, Dim: 16, Queries: 1, K: 1, Seed: 4})
	vecs := make([][]float32, 3000)
	for i := range vecs {
		vecs[i] = ds.Base.Row(i)
	}
	src := t.TempDir()
	writeParquet(t, filepath.Join(src, "p0.parquet"), vecs, 0, 500)
	x, _, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "c", Parquet: src, VectorColumn: "embedding", IDColumn: "id", Columns: []string{"title"}})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	start := time.Now()
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for w := range 4 {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				q := ExternalQuery{K: 5, Ef: 32}
				switch w {
				case 1:
					q.AsOf = start.Add(time.Millisecond)
				case 2:
					q.Filter = "title != 'row 3'"
				}
				hits, err := x.Query(ctx, vecs[rng.IntN(3000)], q)
				if err != nil {
					errs <- err
					return
				}
				for _, h := range hits {
					if h.File == "" {
						errs <- fmt.Errorf("hit without a file: %+v", h)
						return
					}
				}
			}
		}()
	}
	for f := 1; f <= 5; f++ {
		writeParquet(t, filepath.Join(src, fmt.Sprintf("p%d.parquet", f)), vecs, f*500, (f+1)*500)
		if f%2 == 0 {
			os.Remove(filepath.Join(src, fmt.Sprintf("p%d.parquet", f-1)))
		}
		if _, err := x.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
