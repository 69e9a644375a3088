package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/bench"
	"github.com/lakevec/lakevec/cmd/lakevec/server"
	"github.com/lakevec/lakevec/engine"
	"github.com/lakevec/lakevec/engine/embed"
)

func TestBenchServeSmall(t *testing.T) {
	code, out, errOut := cli(t, "bench", "serve", "--chunks", "300", "--duration", "200ms", "--ingests", "2", "--doc-kb", "2", "--queries", "20")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, name := range []string{"search/server", "search/in-process", "ingest/server", "ingest/in-process"} {
		if !strings.Contains(out, `"name":"`+name+`"`) {
			t.Errorf("no %s line:\n%s", name, out)
		}
	}
	if !strings.Contains(errOut, "server/in-process") || !strings.Contains(errOut, "targets:") {
		t.Errorf("no ratio or targets on stderr:\n%s", errOut)
	}
}

// benchKB builds a small corpus (5000 chunks) for the search benchmarks.
func benchKB(b *testing.B) (*engine.KB, [][]float32) {
	b.Helper()
	ctx := context.Background()
	e, err := embed.Open(ctx, embed.Config{Kind: embed.KindLexical})
	if err != nil {
		b.Fatal(err)
	}
	kb, err := openKBWith(ctx, kbFlags{data: b.TempDir(), collection: "docs"}, e)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kb.Close() })
	r := rand.New(rand.NewPCG(1, 7))
	c := serveBenchConfig{chunks: 5000, paraWords: 12}
	if err := buildServeCorpus(ctx, &cobra.Command{}, kb, c, r, io.Discard); err != nil {
		b.Fatal(err)
	}
	texts := make([]string, 200)
	for i := range texts {
		texts[i] = bench.Paragraph(r, 6)
	}
	vecs, err := e.Embed(ctx, texts)
	if err != nil {
		b.Fatal(err)
	}
	return kb, vecs
}

// BenchmarkServeSearch: POST /api/v1/search with a vector over loopback,
// from parallel clients (go test -bench ServeSearch -cpu 8 for 8).
func BenchmarkServeSearch(b *testing.B) {
	kb, vecs := benchKB(b)
	srv, err := server.New(server.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	srv.SetKB(kb)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	bodies := make([][]byte, len(vecs))
	for i, v := range vecs {
		bodies[i], _ = json.Marshal(map[string]any{"vector": v, "k": 10})
	}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.Post(ts.URL+"/api/v1/search", "application/json", bytes.NewReader(bodies[n.Add(1)%int64(len(bodies))]))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("HTTP %d", resp.StatusCode)
				return
			}
		}
	})
}

// BenchmarkInProcessSearch is the same query through engine SearchVector.
func BenchmarkInProcessSearch(b *testing.B) {
	kb, vecs := benchKB(b)
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := kb.SearchVector(context.Background(), vecs[n.Add(1)%int64(len(vecs))], engine.SearchOptions{K: 10}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
