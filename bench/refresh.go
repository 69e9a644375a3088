package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/lakevec/lakevec/bench/gen"
	"github.com/lakevec/lakevec/engine"
	"github.com/lakevec/lakevec/hnsw/vec"
)

// RefreshConfig configures RunRefresh.
type RefreshConfig struct {
	N, Dim, Files, Queries int
	AppendPercent          float64
	Seed                   uint64
}

// RefreshResult is the line `lakevec bench refresh` prints.
type RefreshResult struct {
	N             int     `json:"n"`
	Dim           int     `json:"dim"`
	FullBuildS    float64 `json:"full_build_s"`
	RefreshS      float64 `json:"refresh_s"`
	RefreshShare  float64 `json:"refresh_share"` // refresh_s / full_build_s
	FilesRead     int     `json:"files_read"`
	FilesTotal    int     `json:"files_total"`
	RowsAdded     int     `json:"rows_added"`
	RemoveS       float64 `json:"remove_s"` // refresh after one file is removed
	RowsRemoved   int     `json:"rows_removed"`
	RecallRefresh float64 `json:"recall_refreshed"`
	RecallRebuilt float64 `json:"recall_rebuilt"`
	RecallDelta   float64 `json:"recall_delta"`
	DeletedLeaked int     `json:"deleted_rows_returned"`
}

type benchRow struct {
	ID        int64     `parquet:"id"`
	Embedding []float32 `parquet:"embedding,list"`
}

// RunRefresh measures an attached Parquet dataset: a full build of N rows
// in Files files, then a refresh after one new file of AppendPercent % of
// N lands and one old file is removed, against rebuilding from scratch on
// the final dataset (recall@10 of both against exact search, and that no
// row of the removed file is ever returned).
func RunRefresh(ctx context.Context, c RefreshConfig, stdout, stderr io.Writer) (RefreshResult, error) {
	if c.N == 0 {
		c.N = 100000
	}
	if c.Dim == 0 {
		c.Dim = 384
	}
	if c.Files == 0 {
		c.Files = 20
	}
	if c.Queries == 0 {
		c.Queries = 200
	}
	if c.AppendPercent == 0 {
		c.AppendPercent = 1
	}
	extra := int(float64(c.N) * c.AppendPercent / 100)
	ds, err := gen.GenerateSpec(gen.Spec{N: c.N + extra, Dim: c.Dim, Queries: c.Queries, Seed: c.Seed, K: 1})
	if err != nil {
		return RefreshResult{}, err
	}
	tmp, err := os.MkdirTemp("", "lakevec-refresh-")
	if err != nil {
		return RefreshResult{}, err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	os.MkdirAll(src, 0o755)
	write := func(name string, from, to int) error {
		rows := make([]benchRow, 0, to-from)
		for i := from; i < to; i++ {
			rows = append(rows, benchRow{ID: int64(i), Embedding: ds.Base.Row(i)})
		}
		return parquet.WriteFile(filepath.Join(src, name), rows)
	}
	per := c.N / c.Files
	for f := 0; f < c.Files; f++ {
		if err := write(fmt.Sprintf("part-%03d.parquet", f), f*per, min((f+1)*per, c.N)); err != nil {
			return RefreshResult{}, err
		}
	}
	fmt.Fprintf(stderr, "refresh: full build of %d rows in %d files\n", c.N, c.Files)
	t0 := time.Now()
	x, _, err := engine.Attach(ctx, filepath.Join(tmp, "data"), engine.ExternalOptions{Name: "bench", Parquet: src, VectorColumn: "embedding"})
	if err != nil {
		return RefreshResult{}, err
	}
	defer x.Close()
	r := RefreshResult{N: c.N, Dim: c.Dim, FullBuildS: time.Since(t0).Seconds()}
	// One file lands (the target case), then one file is removed.
	if err := write("part-new.parquet", c.N, c.N+extra); err != nil {
		return r, err
	}
	rep, err := x.Refresh(ctx)
	if err != nil {
		return r, err
	}
	r.RefreshS, r.FilesRead, r.FilesTotal, r.RowsAdded = rep.Seconds, rep.FilesRead, rep.FilesTotal, rep.RowsAdded
	r.RefreshShare = r.RefreshS / r.FullBuildS
	os.Remove(filepath.Join(src, "part-000.parquet"))
	rep, err = x.Refresh(ctx)
	if err != nil {
		return r, err
	}
	r.RemoveS, r.RowsRemoved = rep.Seconds, rep.RowsRemoved
	fmt.Fprintf(stderr, "refresh: append of %d rows %.3f s (%.1f%% of the %.1f s build), %d of %d files read; removal of %d rows %.3f s; rebuilding for comparison\n",
		r.RowsAdded, r.RefreshS, 100*r.RefreshShare, r.FullBuildS, r.FilesRead, r.FilesTotal, r.RowsRemoved, r.RemoveS)
	y, _, err := engine.Attach(ctx, filepath.Join(tmp, "data2"), engine.ExternalOptions{Name: "rebuilt", Parquet: src, VectorColumn: "embedding"})
	if err != nil {
		return r, err
	}
	defer y.Close()
	// Exact answers over the final dataset: rows per..N+extra.
	live := func(i int) bool { return i >= per }
	for qi := 0; qi < c.Queries; qi++ {
		q := ds.Query.Row(qi)
		type hit struct {
			d  float32
			id int
		}
		var hs []hit
		for i := 0; i < c.N+extra; i++ {
			if live(i) {
				hs = append(hs, hit{1 - vec.Dot(q, ds.Base.Row(i)), i})
			}
		}
		slices.SortFunc(hs, func(a, b hit) int {
			switch {
			case a.d < b.d:
				return -1
			case a.d > b.d:
				return 1
			}
			return a.id - b.id
		})
		want := map[string]bool{}
		for _, h := range hs[:10] {
			want[rowName(h.id, per, c.N)] = true
		}
		score := func(e *engine.External) (float64, error) {
			got, err := e.Search(q, 10, 64)
			if err != nil {
				return 0, err
			}
			n := 0
			for _, g := range got {
				name := fmt.Sprintf("%s#%d", filepath.Base(g.File), g.Row)
				if want[name] {
					n++
				}
				if filepath.Base(g.File) == "part-000.parquet" {
					r.DeletedLeaked++
				}
			}
			return float64(n) / 10, nil
		}
		a, err := score(x)
		if err != nil {
			return r, err
		}
		b, err := score(y)
		if err != nil {
			return r, err
		}
		r.RecallRefresh += a / float64(c.Queries)
		r.RecallRebuilt += b / float64(c.Queries)
	}
	r.RecallDelta = r.RecallRebuilt - r.RecallRefresh
	b, _ := json.Marshal(r)
	fmt.Fprintf(stdout, "%s\n", b)
	fmt.Fprintf(stderr, "refresh: recall@10 refreshed %.4f, rebuilt %.4f; rows of the removed file returned: %d\n", r.RecallRefresh, r.RecallRebuilt, r.DeletedLeaked)
	return r, nil
}

// rowName is the (file, row) of generated row i.
func rowName(i, per, n int) string {
	if i >= n {
		return fmt.Sprintf("part-new.parquet#%d", i-n)
	}
	return fmt.Sprintf("part-%03d.parquet#%d", i/per, i%per)
}
