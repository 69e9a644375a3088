package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/lakevec/lakevec/hnsw"
)

// lakevecSystem is our own index. Internal id i holds base[skip+i]: the
// index wants dense ids from 0.
type lakevecSystem struct {
	x    *hnsw.Index
	skip int32
}

func (s *lakevecSystem) name() string { return SystemLakevec }

func (s *lakevecSystem) build(ctx context.Context, d *annData, c *ANNConfig, progress io.Writer) (int, error) {
	metric, err := hnsw.ParseMetric(c.Metric)
	if err != nil {
		return 0, &InputError{fmt.Errorf("--metric: %w", err)}
	}
	n := d.n()
	o := hnsw.DefaultOptions(d.base.Dim, metric)
	o.M, o.EfConstruction, o.Seed, o.Capacity = c.M, c.EfConstruction, c.Seed, n
	x, err := hnsw.New(o)
	if err != nil {
		// The options come straight from the flags.
		return 0, &InputError{fmt.Errorf("index options: %w", err)}
	}
	s.x, s.skip = x, int32(d.skip)

	threads := min(c.Threads, n)
	p := startProgress(progress, SystemLakevec, n)
	defer p.stop()
	var (
		next   atomic.Int64
		failed atomic.Bool
		wg     sync.WaitGroup
		errs   = make([]error, threads)
	)
	for w := range threads {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if i%1024 == 0 && ctx.Err() != nil {
					errs[w] = ctx.Err()
					failed.Store(true)
					return
				}
				if err := x.Insert(uint32(i), d.base.Row(d.skip+i)); err != nil {
					errs[w] = fmt.Errorf("insert base vector %d: %w", d.skip+i, err)
					failed.Store(true)
					return
				}
				p.done.Add(1)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	if x.Len() != n {
		return 0, fmt.Errorf("index holds %d vectors after inserting %d", x.Len(), n)
	}
	return threads, nil
}

func (s *lakevecSystem) search(q []float32, k, ef int, dst []int32) ([]int32, error) {
	rs, err := s.x.Search(q, k, ef, nil)
	if err != nil {
		return dst, err
	}
	dst = dst[:0]
	for _, r := range rs {
		dst = append(dst, int32(r.ID)+s.skip)
	}
	return dst, nil
}

func (s *lakevecSystem) bytesPerVector() float64 {
	return float64(s.x.MemoryBytes()) / float64(s.x.Len())
}
