package hnsw

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

func meanRecall(t *testing.T, x *Index, truth map[uint32][]float32, queries [][]float32, k, ef int, allow func(uint32) bool) float64 {
	t.Helper()
	var sum float64
	for _, q := range queries {
		got, err := x.Search(q, k, ef, allow)
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		sum += recallAt(got, bruteForce(x.Metric(), truth, q, k, allow), k)
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
