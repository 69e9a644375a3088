package hnsw

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

func meanRecall(t *testing.T, x *Index, truth map[uint32][]float32, queries [][]float32, k, ef int, allow func(uint32) bool) float64 {
	t.Helper()
	return recallVs(t, x, exactAll(x.Metric(), truth, queries, k, allow), queries, k, ef, allow)
}

// exactAll computes the ground truth of every query on all cores.
func exactAll(metric Metric, truth map[uint32][]float32, queries [][]float32, k int, allow func(uint32) bool) [][]Result {
	out := make([][]Result, len(queries))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(queries); i += workers {
				out[i] = bruteForce(metric, truth, queries[i], k, allow)
			}
		}(w)
	}
	wg.Wait()
	return out
}

// recallVs is the mean recall@k of x's answers against precomputed truth.
func recallVs(t *testing.T, x *Index, truth [][]Result, queries [][]float32, k, ef int, allow func(uint32) bool) float64 {
	t.Helper()
	var sum float64
	for i, q := range queries {
		got, err := x.Search(q, k, ef, allow)
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		sum += recallAt(got, truth[i], k)
	}
	return sum / float64(len(queries))
}

func TestRecallClustered(t *testing.T) {
	n, nq := 20000, 200
	if testing.Short() {
		n, nq = 3000, 50
	}
	rng := rand.New(rand.NewPCG(testSeed(t), 1))
	all := clustered(rng, n+nq, 384)
	base, queries := all[:n], all[n:]
	o := DefaultOptions(384, Cosine)
	o.Capacity = n
	x, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	buildParallel(t, x, base, 0, runtime.GOMAXPROCS(0))
	truth := make(map[uint32][]float32, n)
	for i, v := range base {
		truth[uint32(i)] = v
	}
	r := meanRecall(t, x, truth, queries, 10, 64, nil)
	t.Logf("n=%d recall@10 at ef=64: %.4f", n, r)
	if r < 0.95 {
		t.Fatalf("recall@10 at ef=64 = %.4f, want >= 0.95", r)
	}
}
