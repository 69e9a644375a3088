package hnsw

import (
	"container/heap"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/lakevec/lakevec/bench/gen"
)

var seedFlag = flag.Uint64("seed", 0, "seed for randomized tests (0: derive from the clock and print it)")

// testSeed returns the seed of a randomized test and logs it so a failure
// can be replayed with -seed.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed %d)", s, s)
	return s
}

// clustered returns n unit vectors of dimension dim from lakevec's
// synthetic sentence-embedding generator (bench/gen: clusters in a
// low-dimensional latent space, projected up, plus noise), seeded from rng.
// HNSW behaves on it as on real embeddings; uniform random vectors would
// make every graph index look bad.
func clustered(rng *rand.Rand, n, dim int) [][]float32 {
	d, err := gen.GenerateSpec(gen.Spec{N: n, Dim: dim, Queries: 1, K: 1, Seed: rng.Uint64()})
	if err != nil {
		panic(err)
	}
	out := make([][]float32, n)
	for i := range out {
		out[i] = d.Base.Row(i)
	}
	return out
}

type exactHeap []Result

func (h exactHeap) Len() int           { return len(h) }
func (h exactHeap) Less(i, j int) bool { return h[i].Distance > h[j].Distance }
func (h exactHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *exactHeap) Push(x any)        { *h = append(*h, x.(Result)) }
func (h *exactHeap) Pop() any          { o := *h; r := o[len(o)-1]; *h = o[:len(o)-1]; return r }

// bruteForce is the ground truth: the k nearest of vecs[id] for ids where
// keep(id) holds, by a float64 distance independent of the index kernels.
func bruteForce(metric Metric, vecs map[uint32][]float32, q []float32, k int, keep func(uint32) bool) []Result {
	h := &exactHeap{}
	qn := q
	if metric == Cosine {
		qn = normalized64(q)
	}
	for id, v := range vecs {
		if keep != nil && !keep(id) {
			continue
		}
		var d float64
		switch metric {
		case L2:
			for i := range v {
				x := float64(v[i]) - float64(qn[i])
				d += x * x
			}
		case InnerProduct:
			d = 1 - dot64(v, qn)
		case Cosine:
			d = 1 - dot64(normalized64(v), qn)
		}
		if h.Len() < k {
			heap.Push(h, Result{id, float32(d)})
		} else if float32(d) < (*h)[0].Distance {
			(*h)[0] = Result{id, float32(d)}
			heap.Fix(h, 0)
		}
	}
	out := make([]Result, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(Result)
	}
	return out
}

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func normalized64(v []float32) []float32 {
	n := math.Sqrt(dot64(v, v))
	out := make([]float32, len(v))
	for i := range v {
		out[i] = float32(float64(v[i]) / n)
	}
	return out
}

// recallAt returns |got ∩ want[:k]| / k.
func recallAt(got, want []Result, k int) float64 {
	in := make(map[uint32]bool, k)
	for _, r := range want[:min(k, len(want))] {
		in[r.ID] = true
	}
	hit := 0
	for _, r := range got[:min(k, len(got))] {
		if in[r.ID] {
			hit++
		}
	}
	return float64(hit) / float64(min(k, len(want)))
}

// buildParallel inserts vecs[i] under id base+i from workers goroutines.
func buildParallel(t testing.TB, x *Index, vecs [][]float32, base uint32, workers int) {
	t.Helper()
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			for i := w; i < len(vecs); i += workers {
				if err := x.Insert(base+uint32(i), vecs[i]); err != nil {
					errs <- fmt.Errorf("insert %d: %w", base+uint32(i), err)
					return
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(m.Run())
}
