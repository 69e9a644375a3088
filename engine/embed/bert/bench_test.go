package bert

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchTexts returns n texts of exactly seqLen tokens ([CLS] and [SEP]
// included) under the test vocabulary.
func benchTexts(n, seqLen int) []string {
	words := []string{"the", "weather", "is", "lovely", "today", "cat", "sits", "outside", "man", "playing",
		"guitar", "dog", "garden", "movie", "awesome", "quick", "brown", "fox", "lazy", "woman"}
	r := rand.New(rand.NewPCG(1, 2))
	texts := make([]string, n)
	for i := range texts {
		w := make([]string, seqLen-2)
		for j := range w {
			w[j] = words[r.IntN(len(words))]
		}
		texts[i] = strings.Join(w, " ")
	}
	return texts
}

// BenchmarkEmbed: 32 sequences × 128 tokens per Embed call, MiniLM shapes
// (random weights), all cores. Compare with
// `OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 testdata/bert_ref.py bench random`.
func BenchmarkEmbed(b *testing.B) {
	_, benchEnc := sharedModel(b)
	texts := benchTexts(32, 128)
	for _, s := range texts {
		if n := len(benchEnc.Tokens(s)); n != 128 {
			b.Fatalf("text has %d tokens, want 128", n)
		}
	}
	ctx := context.Background()
	if _, err := benchEnc.Embed(ctx, texts); err != nil { // warm the workspace
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := benchEnc.Embed(ctx, texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(texts)*b.N)/b.Elapsed().Seconds(), "sentences/s")
}

// BenchmarkEmbedQuery: one short query (latency of a search request).
func BenchmarkEmbedQuery(b *testing.B) {
	_, benchEnc := sharedModel(b)
	ctx := context.Background()
	q := []string{"which dog plays in the garden"}
	for b.Loop() {
		if _, err := benchEnc.Embed(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}
