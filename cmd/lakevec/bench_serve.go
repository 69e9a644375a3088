package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/bench"
	"github.com/lakevec/lakevec/cmd/lakevec/server"
	"github.com/lakevec/lakevec/engine"
	"github.com/lakevec/lakevec/engine/embed"
)

// serveBenchConfig are the flags of `lakevec bench serve`.
type serveBenchConfig struct {
	chunks, clients, k, ingests, queries int
	paraWords, docKB                     int
	duration                             time.Duration
	data                                 string
	seed                                 uint64
}

func newBenchServeCmd(stdout, stderr io.Writer) *cobra.Command {
	c := serveBenchConfig{chunks: 100000, clients: 8, k: 10, ingests: 50, queries: 500, paraWords: 12, docKB: 10, duration: 10 * time.Second, seed: 1}
	cmd := &cobra.Command{
		Use:   "serve [--chunks 100000] [--clients 8] [--duration 10s] [--data DIR]",
		Short: "Load-test lakevec serve on loopback: search latency and QPS, 10 KB ingest",
		Long: `serve builds (or reuses, with --data) a knowledge base of --chunks generated
chunks with the offline lexical embedder, serves it with the real server on a
loopback port, and measures:

  search   --clients concurrent clients for --duration, each sending
           POST /api/v1/search with an embedded query vector, so no embedding
           is timed; the same vectors are then searched in process
           (engine SearchVector) with the same clients, and the ratio
           server/in-process is reported, since absolute times are noisy
  ingest   --ingests requests, one after another, each a new document of
           --doc-kb KB (POST /api/v1/documents, lexical embedder), and the
           same ingest in process
  mixed    the search load again while one more client ingests --doc-kb
           documents back to back: search latency while batches are
           inserted into the graphs, and those ingests' latency

Targets: search p50 <= 2 ms and p99 <= 10 ms with 8 clients over 100k chunks;
a 10 KB ingest <= 50 ms. One JSON line per measurement on stdout, a table on
stderr.`,
		Example: `  lakevec bench serve                                  # 100k chunks, 8 clients, 10 s
  lakevec bench serve --data /tmp/bench100k --duration 30s   # keep and reuse the corpus
  lakevec bench serve --chunks 20000 --clients 4 --duration 5s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.chunks < 1 || c.clients < 1 || c.k < 1 || c.ingests < 1 || c.queries < 1 || c.duration <= 0 || c.docKB < 1 {
				return usagef("--chunks, --clients, --k, --ingests, --queries, --doc-kb and --duration must be positive")
			}
			return runServeBench(cmd, c, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.IntVar(&c.chunks, "chunks", c.chunks, "chunks in the knowledge base (generated text, one paragraph each)")
	f.IntVar(&c.clients, "clients", c.clients, "concurrent search clients")
	f.DurationVar(&c.duration, "duration", c.duration, "how long each search load runs")
	f.IntVar(&c.k, "k", c.k, "results per search")
	f.IntVar(&c.queries, "queries", c.queries, "distinct query vectors, cycled by the clients")
	f.IntVar(&c.ingests, "ingests", c.ingests, "10 KB ingests timed, one after another")
	f.IntVar(&c.docKB, "doc-kb", c.docKB, "size of each ingested document, KB")
	f.StringVar(&c.data, "data", "", "data directory of the corpus, built if it holds fewer chunks and kept (default a temporary directory)")
	f.Uint64Var(&c.seed, "seed", c.seed, "seed of the generated text")
	return cmd
}

func runServeBench(cmd *cobra.Command, c serveBenchConfig, stdout, stderr io.Writer) error {
	ctx := cmd.Context()
	data := c.data
	if data == "" {
		dir, err := os.MkdirTemp("", "lakevec-bench-serve-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		data = filepath.Join(dir, "data")
	}
	e, err := embed.Open(ctx, embed.Config{Kind: embed.KindLexical})
	if err != nil {
		return err
	}
	kb, err := openKBWith(ctx, kbFlags{data: data, collection: "docs"}, e)
	if err != nil {
		return err
	}
	defer kb.Close()
	r := rand.New(rand.NewPCG(c.seed, 7))
	if err := buildServeCorpus(ctx, cmd, kb, c, r, stderr); err != nil {
		return err
	}
	st := kb.Stats()
	fmt.Fprintf(stderr, "bench serve: %d current chunks (%d versions), dim %d, model %s, %d clients, %s per load\n",
		st.Current, st.Rows, st.Dim, st.ModelID, c.clients, c.duration)

	// The server, as `lakevec serve` runs it, on a loopback port.
	o := server.DefaultOptions()
	o.Logger = nil
	srv, err := server.New(o)
	if err != nil {
		return err
	}
	srv.SetKB(kb)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.clients * 2}, Timeout: time.Minute}
	post := func(ctx context.Context, path string, body []byte) error {
		req, err := http.NewRequestWithContext(ctx, "POST", base+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d: %s", path, resp.StatusCode, b)
		}
		return nil
	}

	// Query vectors, embedded once: search timing excludes embedding.
	texts := make([]string, c.queries)
	for i := range texts {
		texts[i] = bench.Paragraph(r, 6)
	}
	vecs, err := e.Embed(ctx, texts)
	if err != nil {
		return err
	}
	bodies := make([][]byte, len(vecs))
	for i, v := range vecs {
		if bodies[i], err = json.Marshal(map[string]any{"vector": v, "k": c.k}); err != nil {
			return err
		}
	}
	pick := func(client, i int) int { return (client*7919 + i) % len(vecs) }
	var results []bench.Latency
	emit := func(l bench.Latency) error {
		results = append(results, l)
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	// Warm up both paths (connections, caches), untimed.
	for i := range min(len(vecs), 200) {
		if err := post(ctx, "/api/v1/search", bodies[i]); err != nil {
			return err
		}
	}
	sp := newSpinner(cmd, stderr, "search through the server")
	srvL, err := bench.RunLoad(ctx, "search/server", c.clients, c.duration, func(ctx context.Context, client, i int) error {
		return post(ctx, "/api/v1/search", bodies[pick(client, i)])
	})
	sp.done()
	if err != nil {
		return err
	}
	sp = newSpinner(cmd, stderr, "search in process")
	inL, err := bench.RunLoad(ctx, "search/in-process", c.clients, c.duration, func(ctx context.Context, client, i int) error {
		_, err := kb.SearchVector(ctx, vecs[pick(client, i)], engine.SearchOptions{K: c.k})
		return err
	})
	sp.done()
	if err != nil {
		return err
	}
	if err := emit(srvL); err != nil {
		return err
	}
	if err := emit(inL); err != nil {
		return err
	}

	// 10 KB ingests: a new document each time, every chunk new (embedded).
	docs := make([]string, 2*c.ingests)
	for i := range docs {
		docs[i] = tenKB(r, c.docKB<<10)
	}
	at := time.Now().UTC()
	sp = newSpinner(cmd, stderr, "ingest through the server")
	ingSrv, err := bench.Repeat(ctx, "ingest/server", c.ingests, func(ctx context.Context, i int) error {
		body, err := ingestBody(at.Add(time.Duration(i+1)*time.Second), fmt.Sprintf("bench-ingest/%d-%d.md", at.UnixNano(), i), docs[i])
		if err != nil {
			return err
		}
		return post(ctx, "/api/v1/documents", body)
	})
	sp.done()
	if err != nil {
		return err
	}
	at2 := at.Add(time.Duration(c.ingests+1) * time.Second)
	sp = newSpinner(cmd, stderr, "ingest in process")
	ingIn, err := bench.Repeat(ctx, "ingest/in-process", c.ingests, func(ctx context.Context, i int) error {
		_, err := kb.Ingest(ctx, []engine.DocInput{{DocID: fmt.Sprintf("bench-ingest/%d-p%d.md", at.UnixNano(), i), Text: docs[c.ingests+i]}},
			at2.Add(time.Duration(i+1)*time.Second))
		return err
	})
	sp.done()
	if err != nil {
		return err
	}
	if err := emit(ingSrv); err != nil {
		return err
	}
	if err := emit(ingIn); err != nil {
		return err
	}

	// Mixed: the same search load while one more client ingests 10 KB
	// documents back to back — what a search waits for while batches are
	// inserted into the graphs.
	mixDocs := make([]string, 16)
	for i := range mixDocs {
		mixDocs[i] = tenKB(r, c.docKB<<10)
	}
	at3 := at2.Add(time.Duration(c.ingests+1) * time.Second)
	var mixIng []time.Duration
	mixCtx, stopMix := context.WithCancel(ctx)
	mixDone := make(chan error, 1)
	go func() {
		for i := 0; mixCtx.Err() == nil; i++ {
			body, err := ingestBody(at3.Add(time.Duration(i+1)*time.Second), fmt.Sprintf("bench-mixed/%d-%d.md", at.UnixNano(), i),
				mixDocs[i%len(mixDocs)]+fmt.Sprintf("\n\nRevision %d.", i))
			if err != nil {
				mixDone <- err
				return
			}
			t := time.Now()
			if err := post(context.WithoutCancel(mixCtx), "/api/v1/documents", body); err != nil {
				mixDone <- err
				return
			}
			mixIng = append(mixIng, time.Since(t))
		}
		mixDone <- nil
	}()
	sp = newSpinner(cmd, stderr, "search through the server while ingesting")
	mixL, err := bench.RunLoad(ctx, "search+ingest/server", c.clients, c.duration, func(ctx context.Context, client, i int) error {
		return post(ctx, "/api/v1/search", bodies[pick(client, i)])
	})
	stopMix()
	ingErr := <-mixDone
	sp.done()
	if err != nil {
		return err
	}
	if ingErr != nil {
		return fmt.Errorf("ingest during the search load: %w", ingErr)
	}
	if err := emit(mixL); err != nil {
		return err
	}
	if err := emit(bench.Summarize("ingest+search/server", 1, mixIng, time.Duration(mixL.Seconds*float64(time.Second)))); err != nil {
		return err
	}

	fmt.Fprintf(stderr, "\n%-18s %8s %8s %9s %9s %9s\n", "measure", "n", "qps", "p50 ms", "p90 ms", "p99 ms")
	for _, l := range results {
		fmt.Fprintf(stderr, "%-18s %8d %8.0f %9.3f %9.3f %9.3f\n", l.Name, l.N, l.QPS, l.P50ms, l.P90ms, l.P99ms)
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	fmt.Fprintf(stderr, "search server/in-process: p50 x%.2f, p99 x%.2f, qps x%.2f\n",
		ratio(srvL.P50ms, inL.P50ms), ratio(srvL.P99ms, inL.P99ms), ratio(srvL.QPS, inL.QPS))
	fmt.Fprintf(stderr, "ingest server/in-process: p50 x%.2f, p99 x%.2f\n", ratio(ingSrv.P50ms, ingIn.P50ms), ratio(ingSrv.P99ms, ingIn.P99ms))
	fmt.Fprintf(stderr, "search while ingesting / search alone (server): p50 x%.2f, p99 x%.2f, qps x%.2f\n",
		ratio(mixL.P50ms, srvL.P50ms), ratio(mixL.P99ms, srvL.P99ms), ratio(mixL.QPS, srvL.QPS))
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	fmt.Fprintf(stderr, "targets: search p50 %.3f <= 2 ms %s; p99 %.3f <= 10 ms %s; %d KB ingest p50 %.1f <= 50 ms %s\n",
		srvL.P50ms, verdict(srvL.P50ms <= 2), srvL.P99ms, verdict(srvL.P99ms <= 10), c.docKB, ingSrv.P50ms, verdict(ingSrv.P50ms <= 50))
	return nil
}

// buildServeCorpus ingests generated documents until the collection holds
// c.chunks current chunks: 50 paragraphs (chunks) per document, 10
// documents per batch, at times one minute apart in 2020.
func buildServeCorpus(ctx context.Context, cmd *cobra.Command, kb *engine.KB, c serveBenchConfig, r *rand.Rand, stderr io.Writer) error {
	have := kb.Stats().Current
	if have >= c.chunks {
		return nil
	}
	const parasPerDoc, docsPerBatch = 50, 10
	fmt.Fprintf(stderr, "bench serve: building %d chunks (have %d)\n", c.chunks, have)
	b := newBar(cmd, stderr, int64(c.chunks), "build corpus")
	defer b.done()
	start := time.Now()
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(kb.Stats().Batches) * time.Minute)
	last := time.Now()
	for batch := 0; have < c.chunks; batch++ {
		var docs []engine.DocInput
		for d := 0; d < docsPerBatch && have+len(docs)*parasPerDoc < c.chunks; d++ {
			paras := min(parasPerDoc, c.chunks-have-len(docs)*parasPerDoc)
			docs = append(docs, engine.DocInput{DocID: fmt.Sprintf("corpus/%d-%d.md", kb.Stats().Batches, d), Text: bench.Document(r, paras, c.paraWords)})
		}
		rep, err := kb.Ingest(ctx, docs, t0.Add(time.Duration(batch)*time.Minute))
		if err != nil {
			return fmt.Errorf("build corpus: %w", err)
		}
		have += rep.NewVersions
		b.set(int64(have))
		if b == nil && time.Since(last) > 10*time.Second {
			fmt.Fprintf(stderr, "build corpus: %d/%d chunks after %.0f s\n", have, c.chunks, time.Since(start).Seconds())
			last = time.Now()
		}
		if rep.NewVersions == 0 {
			return fmt.Errorf("build corpus: a batch added no chunk")
		}
	}
	fmt.Fprintf(stderr, "bench serve: built in %.1f s\n", time.Since(start).Seconds())
	return nil
}

// ingestBody is the JSON body of POST /api/v1/documents for one document.
func ingestBody(at time.Time, docID, text string) ([]byte, error) {
	return json.Marshal(map[string]any{"at": at.Format(time.RFC3339Nano),
		"documents": []map[string]string{{"doc_id": docID, "text": text}}})
}

// tenKB is a generated markdown document of about n bytes.
func tenKB(r *rand.Rand, n int) string {
	var b bytes.Buffer
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(bench.Paragraph(r, 40))
	}
	return b.String()
}
