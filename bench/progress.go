package bench

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progressEvery is how often long builds report.
const progressEvery = 10 * time.Second

// progress prints "name: done/n" to w every progressEvery until stopped.
type progress struct {
	done atomic.Int64
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// BarFunc starts a progress display of total steps named name; set
// reports the steps done so far and finish ends the display.
type BarFunc func(name string, total int) (set func(done int64), finish func())

// startProgress reports to bar when it is set, else prints lines to w.
func startProgress(w io.Writer, bar BarFunc, name string, n int) *progress {
	p := &progress{quit: make(chan struct{})}
	start := time.Now()
	if bar != nil {
		set, finish := bar(name, n)
		p.wg.Go(func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			defer finish()
			for {
				select {
				case <-p.quit:
					set(p.done.Load())
					return
				case <-t.C:
					set(p.done.Load())
				}
			}
		})
		return p
	}
	p.wg.Go(func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				d := p.done.Load()
				fmt.Fprintf(w, "%s: %d/%d inserted (%.0f%%) after %.0f s\n",
					name, d, n, 100*float64(d)/float64(n), time.Since(start).Seconds())
			}
		}
	})
	return p
}

func (p *progress) stop() {
	p.once.Do(func() { close(p.quit) })
	p.wg.Wait()
}
