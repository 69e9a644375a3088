package hnsw

import (
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// Benchmarks of the hot paths. Throughput figures against peers come from
// `lakevec bench ann --peer hnswlib` (README, Performance); these keep each
// path measurable with pprof:
//
//	go test -run '^$' -bench . -benchtime 2000x -cpuprofile cpu.prof ./hnsw/

var benchSet struct {
	once    sync.Once
	x       *Index
	queries [][]float32
}

// benchIndex is a 20k x 384 cosine index over the synthetic
// sentence-embedding set, built once per process.
func benchIndex(b *testing.B) (*Index, [][]float32) {
	benchSet.once.Do(func() {
		rng := rand.New(rand.NewPCG(1, 1))
		all := clustered(rng, 21000, 384)
		x, err := New(DefaultOptions(384, Cosine))
		if err != nil {
			panic(err)
		}
		buildParallel(b, x, all[:20000], 0, runtime.GOMAXPROCS(0))
		benchSet.x, benchSet.queries = x, all[20000:]
	})
	return benchSet.x, benchSet.queries
}

func BenchmarkSearch(b *testing.B) {
	x, qs := benchIndex(b)
	for _, ef := range []int{32, 64, 128} {
		b.Run("ef="+strconv.Itoa(ef), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := x.Search(qs[i%len(qs)], 10, ef, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSearchFiltered(b *testing.B) {
	x, qs := benchIndex(b)
	for _, sel := range []int{50, 10, 1} {
		allow := func(id uint32) bool { return splitmix64(uint64(id))%100 < uint64(sel) }
		b.Run("selectivity="+strconv.Itoa(sel)+"%", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := x.Search(qs[i%len(qs)], 10, 64, allow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkInsert(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	vecs := clustered(rng, 5000, 384)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		x, _ := New(DefaultOptions(384, Cosine))
		b.StartTimer()
		for j, v := range vecs {
			if err := x.Insert(uint32(j), v); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vecs)), "ns/insert")
}

func BenchmarkLoadFile(b *testing.B) {
	x, _ := benchIndex(b)
	path := filepath.Join(b.TempDir(), "idx.hnsw")
	if err := x.WriteFile(path); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := LoadFile(path); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*x.Len()), "ns/vector")
}

// TestSearchAllocations: a query allocates its result slice and nothing
// else (the visited set and heaps are pooled).
func TestSearchAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race (sync.Pool drops items at random)")
	}
	rng := rand.New(rand.NewPCG(testSeed(t), 10))
	vecs := clustered(rng, 2000, 32)
	x := newIndex(t, 32, Cosine)
	buildParallel(t, x, vecs, 0, 1)
	x.Search(vecs[0], 10, 64, nil) // warm the pool
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := x.Search(vecs[7], 10, 64, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Fatalf("%.1f allocations per search, want 1 (the result slice)", allocs)
	}
}
