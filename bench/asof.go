package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/lakevec/lakevec/bench/gen"
	"github.com/lakevec/lakevec/hnsw"
	"github.com/lakevec/lakevec/hnsw/vec"
)

// AsOfConfig configures RunAsOf.
type AsOfConfig struct {
	Current    int // chunk versions valid now; default 100000
	Historical int // chunk versions closed in the past; default 100000
	Dim        int // default 384
	Queries    int // default 200
	K          int // default 10
	Efs        []int
	Seed       uint64
	Threads    int
}

// AsOfResult is one line of `lakevec bench asof`.
type AsOfResult struct {
	Mode        string  `json:"mode"` // "asof", "current-hot", "current-filtered"
	Ef          int     `json:"ef"`
	RecallAt10  float64 `json:"recall_at_10"` // against exact search over the versions valid at T
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	ExactShare  float64 `json:"exact_share"` // share of queries the planner answered by exact search
	Rows        int     `json:"rows"`
	MeanValid   float64 `json:"mean_valid"` // mean versions valid at the query times
	BuildS      float64 `json:"build_s"`
	HotBuildS   float64 `json:"hot_build_s"`
	BytesPerRow float64 `json:"bytes_per_row"`
}

// RunAsOf measures as-of search the way the knowledge base runs it: one
// history graph over every chunk version, searched with the validity
// filter valid_from <= T < valid_to (the planner scanning exactly when few
// versions are valid at T), against exact search over the versions valid
// at T. It also compares the two ways to answer a current search: a hot
// graph of current versions only, or the history graph with a "valid now"
// filter.
//
// The versions are synthetic sentence-embedding-like vectors (bench/gen)
// on a 1000-day timeline: current ones opened at a uniform day, historical
// ones opened at a uniform day and closed after an exponential lifetime
// (mean 200 days). Query times are uniform over the timeline.
func RunAsOf(ctx context.Context, c AsOfConfig, stdout, stderr io.Writer) ([]AsOfResult, error) {
	if c.Current == 0 {
		c.Current = 100000
	}
	if c.Historical == 0 {
		c.Historical = 100000
	}
	if c.Dim == 0 {
		c.Dim = 384
	}
	if c.Queries == 0 {
		c.Queries = 200
	}
	if c.K == 0 {
		c.K = 10
	}
	if len(c.Efs) == 0 {
		c.Efs = []int{32, 64, 128}
	}
	if c.Threads <= 0 {
		c.Threads = runtime.NumCPU()
	}
	if c.Current < 0 || c.Historical < 0 || c.Current+c.Historical < c.K || c.Dim <= 0 || c.Queries <= 0 {
		return nil, &InputError{fmt.Errorf("asof: need current + historical >= k, dim > 0 and queries > 0")}
	}
	n := c.Current + c.Historical
	fmt.Fprintf(stderr, "asof: generating %d versions (%d current, %d historical) of dim %d\n", n, c.Current, c.Historical, c.Dim)
	ds, err := gen.GenerateSpec(gen.Spec{N: n, Dim: c.Dim, Queries: c.Queries, Seed: c.Seed, K: 1})
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(c.Seed, 77))
	const day = int64(24 * time.Hour / time.Millisecond)
	const open = math.MaxInt64
	from, to := make([]int64, n), make([]int64, n)
	perm := rng.Perm(n) // which rows are current is independent of the vectors
	for i, r := range perm {
		from[r] = int64(rng.Float64() * 1000 * float64(day))
		if i < c.Current {
			to[r] = open
		} else {
			to[r] = from[r] + 1 + int64(rng.ExpFloat64()*200*float64(day))
		}
	}
	times := make([]int64, c.Queries)
	for i := range times {
		times[i] = int64(rng.Float64() * 1000 * float64(day))
	}

	build := func(ids []uint32) (*hnsw.Index, float64, error) {
		x, err := hnsw.New(hnsw.Options{Dim: c.Dim, Metric: hnsw.Cosine, Capacity: len(ids)})
		if err != nil {
			return nil, 0, err
		}
		vecs := make([][]float32, len(ids))
		for i, id := range ids {
			vecs[i] = ds.Base.Row(int(id))
		}
		t0 := time.Now()
		local := make([]uint32, len(ids))
		for i := range local {
			local[i] = uint32(i)
		}
		err = x.InsertBatch(ctx, local, vecs, c.Threads)
		return x, time.Since(t0).Seconds(), err
	}
	all := make([]uint32, n)
	var current []uint32
	for i := range all {
		all[i] = uint32(i)
		if to[i] == open {
			current = append(current, uint32(i))
		}
	}
	fmt.Fprintf(stderr, "asof: building the history graph (%d rows) on %d threads\n", n, c.Threads)
	hist, buildS, err := build(all)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "asof: built in %.1f s; building the hot graph (%d current rows)\n", buildS, len(current))
	hot, hotS, err := build(current)
	if err != nil {
		return nil, err
	}

	// Exact answers.
	exact := func(q []float32, allow func(uint32) bool) []uint32 {
		type hit struct {
			d  float32
			id uint32
		}
		var hs []hit
		for i := 0; i < n; i++ {
			if allow(uint32(i)) {
				hs = append(hs, hit{1 - vec.Dot(q, ds.Base.Row(i)), uint32(i)})
			}
		}
		slices.SortFunc(hs, func(a, b hit) int {
			if a.d < b.d {
				return -1
			} else if a.d > b.d {
				return 1
			}
			return int(a.id) - int(b.id)
		})
		out := make([]uint32, 0, c.K)
		for _, h := range hs[:min(c.K, len(hs))] {
			out = append(out, h.id)
		}
		return out
	}
	validAt := func(t int64) func(uint32) bool {
		return func(r uint32) bool { return from[r] <= t && t < to[r] }
	}
	recall := func(got []uint32, want []uint32) float64 {
		if len(want) == 0 {
			return 1
		}
		hit := 0
		for _, g := range got[:min(10, len(got))] {
			if slices.Contains(want[:min(10, len(want))], g) {
				hit++
			}
		}
		return float64(hit) / float64(min(10, len(want)))
	}
	truthAsOf := make([][]uint32, c.Queries)
	truthNow := make([][]uint32, c.Queries)
	meanValid := 0.0
	for i := range times {
		q := ds.Query.Row(i)
		truthAsOf[i] = exact(q, validAt(times[i]))
		truthNow[i] = exact(q, func(r uint32) bool { return to[r] == open })
		cnt := 0
		for r := 0; r < n; r++ {
			if validAt(times[i])(uint32(r)) {
				cnt++
			}
		}
		meanValid += float64(cnt) / float64(c.Queries)
	}
	bytesPerRow := float64(hist.MemoryBytes()) / float64(n)
	var out []AsOfResult
	emit := func(r AsOfResult) error {
		out = append(out, r)
		fmt.Fprintf(stderr, "%-16s ef %4d  recall@10 %.4f  p50 %.3f ms  p99 %.3f ms  exact %.0f%%\n", r.Mode, r.Ef, r.RecallAt10, r.P50ms, r.P99ms, 100*r.ExactShare)
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	for _, ef := range c.Efs {
		for _, mode := range []string{"asof", "current-hot", "current-filtered"} {
			var lat []time.Duration
			var rsum float64
			exactN := 0
			for pass := 0; pass < 3; pass++ {
				for i := range times {
					if ctx.Err() != nil {
						return out, ctx.Err()
					}
					q := ds.Query.Row(i)
					var ids []uint32
					var want []uint32
					t0 := time.Now()
					switch mode {
					case "asof":
						res, st, err := hist.SearchPlan(q, c.K, ef, validAt(times[i]), hnsw.PlanAuto)
						if err != nil {
							return out, err
						}
						for _, r := range res {
							ids = append(ids, r.ID)
						}
						if pass == 0 && st.Plan == hnsw.PlanExact {
							exactN++
						}
						want = truthAsOf[i]
					case "current-hot":
						res, err := hot.Search(q, c.K, ef, nil)
						if err != nil {
							return out, err
						}
						for _, r := range res {
							ids = append(ids, current[r.ID])
						}
						want = truthNow[i]
					case "current-filtered":
						res, st, err := hist.SearchPlan(q, c.K, ef, func(r uint32) bool { return to[r] == open }, hnsw.PlanAuto)
						if err != nil {
							return out, err
						}
						for _, r := range res {
							ids = append(ids, r.ID)
						}
						if pass == 0 && st.Plan == hnsw.PlanExact {
							exactN++
						}
						want = truthNow[i]
					}
					lat = append(lat, time.Since(t0))
					if pass == 0 {
						rsum += recall(ids, want)
					}
				}
			}
			r := AsOfResult{Mode: mode, Ef: ef, RecallAt10: rsum / float64(c.Queries), P50ms: percentileMs(lat, 0.5), P99ms: percentileMs(lat, 0.99),
				ExactShare: float64(exactN) / float64(c.Queries), Rows: n, MeanValid: meanValid, BuildS: buildS, HotBuildS: hotS, BytesPerRow: bytesPerRow}
			if err := emit(r); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}
