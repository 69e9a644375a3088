package hnsw

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// InsertBatch inserts vecs[i] under ids[i] from workers goroutines
// (GOMAXPROCS when workers ≤ 0), so a bulk build uses every core. It stops
// at the first error, or when ctx is done, and returns that error naming
// the id; vectors inserted before it stay in the index.
func (x *Index) InsertBatch(ctx context.Context, ids []uint32, vecs [][]float32, workers int) error {
	if len(ids) != len(vecs) {
		return fmt.Errorf("insert batch: %d ids for %d vectors", len(ids), len(vecs))
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(ids))
	var (
		next   atomic.Int64
		failed atomic.Bool
		wg     sync.WaitGroup
		errs   = make([]error, workers)
	)
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(ids) {
					return
				}
				if i%256 == 0 && ctx.Err() != nil {
					errs[w] = ctx.Err()
					failed.Store(true)
					return
				}
				if err := x.Insert(ids[i], vecs[i]); err != nil {
					errs[w] = fmt.Errorf("insert id %d (batch item %d): %w", ids[i], i, err)
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
