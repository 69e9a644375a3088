package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lakevec/lakevec/engine/embed"
	"github.com/lakevec/lakevec/hnsw"
)

// BEIRConfig configures RunBEIR.
type BEIRConfig struct {
	Dataset  string // a BEIR directory: corpus.jsonl, queries.jsonl, qrels/<split>.tsv
	Split    string // default "test"
	Embedder embed.Embedder
	Ef       int // HNSW beam width; default 400 (4 × the 100 results asked)
}

// BEIRResult is one line of `lakevec bench beir`.
type BEIRResult struct {
	Embedder    string  `json:"embedder"`
	Mode        string  `json:"mode"` // "exact" or "hnsw"
	NDCGAt10    float64 `json:"ndcg_at_10"`
	RecallAt100 float64 `json:"recall_at_100"`
	Queries     int     `json:"queries"`
	Docs        int     `json:"docs"`
	Ef          int     `json:"ef,omitempty"`
	EmbedS      float64 `json:"embed_s"`
}

// RunBEIR measures retrieval quality on a BEIR collection: documents are
// embedded as title + " " + text, every query of the split is searched
// over the whole corpus, exactly and with the HNSW index, and nDCG@10
// (binary relevance) and Recall@100 are averaged over the queries.
func RunBEIR(ctx context.Context, c BEIRConfig, stdout, stderr io.Writer) ([]BEIRResult, error) {
	if c.Split == "" {
		c.Split = "test"
	}
	if c.Ef == 0 {
		c.Ef = 400
	}
	type doc struct{ ID, Title, Text string }
	var docs []doc
	if err := readJSONL(filepath.Join(c.Dataset, "corpus.jsonl"), func(line int, b []byte) error {
		var d struct {
			ID    string `json:"_id"`
			Title string `json:"title"`
			Text  string `json:"text"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			return err
		}
		docs = append(docs, doc{d.ID, d.Title, d.Text})
		return nil
	}); err != nil {
		return nil, &InputError{err}
	}
	queries := map[string]string{}
	if err := readJSONL(filepath.Join(c.Dataset, "queries.jsonl"), func(line int, b []byte) error {
		var q struct {
			ID   string `json:"_id"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &q); err != nil {
			return err
		}
		queries[q.ID] = q.Text
		return nil
	}); err != nil {
		return nil, &InputError{err}
	}
	qrels, err := readQrels(filepath.Join(c.Dataset, "qrels", c.Split+".tsv"))
	if err != nil {
		return nil, &InputError{err}
	}
	var qids []string
	for q := range qrels {
		if _, ok := queries[q]; !ok {
			return nil, &InputError{fmt.Errorf("qrels name query %q, which queries.jsonl lacks", q)}
		}
		qids = append(qids, q)
	}
	sort.Strings(qids)
	fmt.Fprintf(stderr, "beir: %d documents, %d %s queries, embedder %s\n", len(docs), len(qids), c.Split, c.Embedder.ModelID())

	t0 := time.Now()
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = strings.TrimSpace(d.Title + " " + d.Text)
	}
	dvecs, err := embedAll(ctx, c.Embedder, texts)
	if err != nil {
		return nil, fmt.Errorf("beir: embed the corpus: %w", err)
	}
	qtexts := make([]string, len(qids))
	for i, q := range qids {
		qtexts[i] = queries[q]
	}
	qvecs, err := embedAll(ctx, c.Embedder, qtexts)
	if err != nil {
		return nil, fmt.Errorf("beir: embed the queries: %w", err)
	}
	embedS := time.Since(t0).Seconds()
	x, err := hnsw.New(hnsw.Options{Dim: c.Embedder.Dim(), Metric: hnsw.Cosine, Capacity: len(docs)})
	if err != nil {
		return nil, err
	}
	ids := make([]uint32, len(docs))
	for i := range ids {
		ids[i] = uint32(i)
	}
	if err := x.InsertBatch(ctx, ids, dvecs, 0); err != nil {
		return nil, fmt.Errorf("beir: build the index: %w", err)
	}
	var out []BEIRResult
	for _, mode := range []string{"exact", "hnsw"} {
		var ndcg, rec float64
		for i, q := range qids {
			plan := hnsw.PlanGraph
			if mode == "exact" {
				plan = hnsw.PlanExact
			}
			res, _, err := x.SearchPlan(qvecs[i], 100, c.Ef, nil, plan)
			if err != nil {
				return nil, err
			}
			ranked := make([]string, len(res))
			for j, r := range res {
				ranked[j] = docs[r.ID].ID
			}
			n, r := scoreRun(ranked, qrels[q])
			ndcg += n
			rec += r
		}
		r := BEIRResult{Embedder: c.Embedder.ModelID(), Mode: mode, NDCGAt10: round4(ndcg / float64(len(qids))),
			RecallAt100: round4(rec / float64(len(qids))), Queries: len(qids), Docs: len(docs), EmbedS: math.Round(embedS*100) / 100}
		if mode == "hnsw" {
			r.Ef = c.Ef
		}
		out = append(out, r)
		fmt.Fprintf(stderr, "beir: %-5s nDCG@10 %.4f  Recall@100 %.4f\n", mode, r.NDCGAt10, r.RecallAt100)
		b, _ := json.Marshal(r)
		if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
			return out, err
		}
	}
	return out, nil
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// scoreRun returns nDCG@10 (binary relevance) and Recall@100 of a ranking.
func scoreRun(ranked []string, rel map[string]bool) (ndcg, recall float64) {
	var dcg, idcg float64
	for i := 0; i < 10 && i < len(ranked); i++ {
		if rel[ranked[i]] {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := 0; i < 10 && i < len(rel); i++ {
		idcg += 1 / math.Log2(float64(i+2))
	}
	hit := 0
	for i := 0; i < 100 && i < len(ranked); i++ {
		if rel[ranked[i]] {
			hit++
		}
	}
	if idcg > 0 {
		ndcg = dcg / idcg
	}
	if len(rel) > 0 {
		recall = float64(hit) / float64(len(rel))
	}
	return ndcg, recall
}

func embedAll(ctx context.Context, e embed.Embedder, texts []string) ([][]float32, error) {
	const batch = 64
	out := make([][]float32, 0, len(texts))
	for i := 0; i < len(texts); i += batch {
		vs, err := e.Embed(ctx, texts[i:min(i+batch, len(texts))])
		if err != nil {
			return nil, fmt.Errorf("texts %d..: %w", i, err)
		}
		out = append(out, vs...)
	}
	return out, nil
}

func readJSONL(path string, fn func(line int, b []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		if err := fn(n, sc.Bytes()); err != nil {
			return fmt.Errorf("%s line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s line %d: %w", path, n+1, err)
	}
	return nil
}

func readQrels(path string) (map[string]map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]bool{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(strings.TrimSpace(line), "\t")
		if i == 0 && len(f) > 0 && f[0] == "query-id" {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("%s line %d: want query-id, corpus-id, score separated by tabs", path, i+1)
		}
		if f[2] == "0" {
			continue
		}
		if out[f[0]] == nil {
			out[f[0]] = map[string]bool{}
		}
		out[f[0]][f[1]] = true
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no judgements", path)
	}
	return out, nil
}
