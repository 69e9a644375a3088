package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

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
	p := startProgress(progress, c.Bar, SystemLakevec, n)
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

// roundTrip implements savedLoader.
func (s *lakevecSystem) roundTrip(progress io.Writer) (err error) {
	s.x, err = reportSaveLoad(s.x, progress)
	return err
}

// reportSaveLoad saves the index to a temporary file and loads it back,
// reporting both times on the progress writer (not part of build_s). The
// loaded copy then serves the searches, so a broken round trip shows up
// as lost recall.
func reportSaveLoad(x *hnsw.Index, progress io.Writer) (*hnsw.Index, error) {
	dir, err := os.MkdirTemp("", "lakevec-bench-index-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "index.hnsw")
	t0 := time.Now()
	if err := x.WriteFile(path); err != nil {
		return nil, err
	}
	saveS := time.Since(t0).Seconds()
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	t0 = time.Now()
	y, err := hnsw.LoadFile(path)
	if err != nil {
		return nil, err
	}
	loadS := time.Since(t0).Seconds()
	if y.Len() != x.Len() {
		return nil, fmt.Errorf("loaded index holds %d vectors, saved %d", y.Len(), x.Len())
	}
	fmt.Fprintf(progress, "%s: index file %.1f MB, saved in %.3f s (with fsync), loaded in %.3f s\n",
		SystemLakevec, float64(st.Size())/1e6, saveS, loadS)
	return y, nil
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
