package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Load generation for `lakevec bench serve`. This file knows nothing of
// HTTP or of the engine: the command passes the request to time as a
// function, so the same loop measures the server over loopback and the
// engine in process.

// Latency summarises timed calls.
type Latency struct {
	Name    string  `json:"name"`
	Clients int     `json:"clients"`
	N       int     `json:"n"`
	Seconds float64 `json:"seconds"`
	QPS     float64 `json:"qps"`
	P50ms   float64 `json:"p50_ms"`
	P90ms   float64 `json:"p90_ms"`
	P99ms   float64 `json:"p99_ms"`
}

// Summarize computes the percentiles of durations measured over wall time.
func Summarize(name string, clients int, ds []time.Duration, wall time.Duration) Latency {
	slices.Sort(ds)
	pct := func(p float64) float64 {
		if len(ds) == 0 {
			return 0
		}
		i := min(len(ds)-1, int(p*float64(len(ds))))
		return float64(ds[i].Microseconds()) / 1000
	}
	l := Latency{Name: name, Clients: clients, N: len(ds), Seconds: wall.Seconds(), P50ms: pct(0.50), P90ms: pct(0.90), P99ms: pct(0.99)}
	if wall > 0 {
		l.QPS = float64(len(ds)) / wall.Seconds()
	}
	return l
}

// RunLoad calls do from clients goroutines for d (each call is given the
// client number and its own call count, to pick a query), and returns the
// latencies. The first error stops every client.
func RunLoad(ctx context.Context, name string, clients int, d time.Duration, do func(ctx context.Context, client, i int) error) (Latency, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu   sync.Mutex
		all  []time.Duration
		errs = make([]error, clients)
		wg   sync.WaitGroup
	)
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			var mine []time.Duration
			for i := 0; ctx.Err() == nil; i++ {
				t := time.Now()
				if err := do(context.WithoutCancel(ctx), c, i); err != nil {
					errs[c] = err
					cancel()
					break
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	wall := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return Latency{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	return Summarize(name, clients, all, wall), nil
}

// Repeat times do n times, one after another.
func Repeat(ctx context.Context, name string, n int, do func(ctx context.Context, i int) error) (Latency, error) {
	ds := make([]time.Duration, 0, n)
	start := time.Now()
	for i := range n {
		t := time.Now()
		if err := do(ctx, i); err != nil {
			return Latency{}, fmt.Errorf("%s: %w", name, err)
		}
		ds = append(ds, time.Since(t))
	}
	return Summarize(name, 1, ds, time.Since(start)), nil
}

// corpusWords is the vocabulary of generated documents: common words and
// a long tail of made-up ones, so the lexical embedder's vectors spread.
var corpusWords = func() []string {
	base := strings.Fields(`account data retention policy customer service payment refund invoice
	subscription cancel renewal contract notice privacy security incident report access delete
	export storage region backup restore audit log review approval team manager employee
	travel expense budget quarter revenue forecast product release feature request bug fix
	deploy server network latency outage support ticket escalation training onboarding`)
	for i := range 4000 {
		base = append(base, fmt.Sprintf("w%03x", i))
	}
	return base
}()

// Paragraph is a generated paragraph of about words words (over 50
// characters, so the chunker keeps it as a chunk of its own).
func Paragraph(r *rand.Rand, words int) string {
	var b strings.Builder
	for i := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		// Zipf-ish: the common words often, the tail rarely.
		if r.IntN(3) == 0 {
			b.WriteString(corpusWords[r.IntN(80)])
		} else {
			b.WriteString(corpusWords[r.IntN(len(corpusWords))])
		}
	}
	b.WriteByte('.')
	return b.String()
}

// Document is a generated document of paras paragraphs.
func Document(r *rand.Rand, paras, words int) string {
	ps := make([]string, paras)
	for i := range ps {
		ps[i] = Paragraph(r, words)
	}
	return strings.Join(ps, "\n\n")
}
