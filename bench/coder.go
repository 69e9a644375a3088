package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"runtime"

	coder "github.com/coder/hnsw"

	"github.com/lakevec/lakevec/hnsw/vec"
)

// coderSystem is the github.com/coder/hnsw peer; see the package comment
// for how it is configured and how its memory is estimated. Keys are the
// original ids.
type coderSystem struct {
	g   *coder.Graph[int32]
	bpv float64
}

func (s *coderSystem) name() string { return SystemCoder }

// ipDistance orders by decreasing inner product, like hnswlib's "ip".
func ipDistance(a, b []float32) float32 { return 1 - vec.Dot(a, b) }

func (s *coderSystem) build(ctx context.Context, d *annData, c *ANNConfig, progress io.Writer) (_ int, err error) {
	g := coder.NewGraph[int32]()
	g.M = c.M
	g.Ml = 1 / float64(c.M)
	g.EfSearch = c.EfConstruction
	g.Rng = rand.New(rand.NewSource(int64(c.Seed)))
	switch c.Metric {
	case "l2":
		g.Distance = coder.EuclideanDistance
	case "cosine":
		g.Distance = coder.CosineDistance
	case "ip":
		g.Distance = ipDistance
	default:
		return 0, fmt.Errorf("metric %q not supported", c.Metric)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("coder/hnsw panicked: %v", r)
		}
	}()

	n := d.n()
	p := startProgress(progress, c.Bar, SystemCoder, n)
	defer p.stop()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		if i%256 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		id := d.skip + i
		g.Add(coder.MakeNode(int32(id), d.base.Row(id)))
		p.done.Add(1)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if g.Len() != n {
		return 0, fmt.Errorf("graph holds %d vectors after adding %d", g.Len(), n)
	}
	s.g = g
	// The graph references our vectors rather than copying them: count
	// them as if it held its own.
	graph := float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
	s.bpv = max(graph, 0)/float64(n) + 4*float64(d.base.Dim)
	return 1, nil
}

func (s *coderSystem) search(q []float32, k, ef int, dst []int32) (_ []int32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("coder/hnsw panicked: %v", r)
		}
	}()
	s.g.EfSearch = ef
	dst = dst[:0]
	for _, nd := range s.g.Search(q, k) {
		dst = append(dst, nd.Key)
	}
	return dst, nil
}

func (s *coderSystem) bytesPerVector() float64 { return s.bpv }
