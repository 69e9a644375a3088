package engine

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/lakevec/lakevec/engine/chunk"
	"github.com/lakevec/lakevec/engine/embed"
	"github.com/lakevec/lakevec/engine/embed/bert"
)

var seedFlag = flag.Uint64("seed", 0, "seed for randomized tests (0: derive from the clock and print it)")

// testSeed returns the seed of a randomized test and logs it so a failure
// can be replayed with -seed.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed %d)", s, s)
	return s
}

var sitePolicy = filepath.Join("..", "..", "shared", "data", "site-policy", "versions.jsonl.gz")

type srcVersion struct {
	at   time.Time
	op   string
	text string
}

// readHistory returns the source history per document, in time order.
func readHistory(t *testing.T, limit int) (map[string][]srcVersion, []HistoryLine) {
	t.Helper()
	f, err := os.Open(sitePolicy)
	if err != nil {
		t.Skipf("site-policy corpus not present: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	hist := map[string][]srcVersion{}
	var lines []HistoryLine
	for sc.Scan() && len(lines) < limit {
		var l HistoryLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse(time.RFC3339, l.TS)
		hist[l.DocID] = append(hist[l.DocID], srcVersion{at, l.Op, l.Text})
		lines = append(lines, l)
	}
	return hist, lines
}

// textAt is the source text of a document at t ("" and false if absent).
func textAt(vs []srcVersion, t time.Time) (string, bool) {
	text, ok := "", false
	for _, v := range vs {
		if v.at.After(t) {
			break
		}
		text, ok = v.text, v.op == "upsert"
	}
	return text, ok
}

func importLines(t *testing.T, k *KB, lines []HistoryLine) ImportReport {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for _, l := range lines {
		enc.Encode(l)
	}
	rep, err := k.ImportHistory(context.Background(), strings.NewReader(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestSitePolicyHistory imports the real edit history of the site-policy
// documents and checks, against the source history:
//   - embeddings computed = distinct normalised chunk texts (the minimum);
//   - show(doc, T) = the normalised source text at T;
//   - zero leakage: every chunk returned as of T is valid at T and part of
//     its document's text at T; every chunk of a document's text at T is
//     found as of T when searched by its own text;
//   - the same answers after a restart (checkpoint + replay).
func TestSitePolicyHistory(t *testing.T) {
	limit := 1 << 30
	if testing.Short() {
		limit = 250
	}
	hist, lines := readHistory(t, limit)
	dir := t.TempDir()
	ctx := context.Background()
	mem := NewMemHistory()
	k, err := Open(ctx, dir, Options{History: mem, CheckpointEvery: 100})
	if err != nil {
		t.Fatal(err)
	}
	rep := importLines(t, k, lines)

	distinct := map[string]bool{}
	for _, vs := range hist {
		for _, v := range vs {
			if v.op == "upsert" {
				for _, c := range chunk.Split(v.text, chunk.Options{}) {
					distinct[c.Text] = true
				}
			}
		}
	}
	t.Logf("%d lines, %d batches, %d chunks read, %d chunk versions, %d embeddings computed (distinct texts %d, full re-embed %d: %.1f%%)",
		rep.Lines, rep.Batches, rep.Chunks, rep.NewVersions, rep.Embedded, len(distinct), rep.FullReembed, 100*float64(rep.Embedded)/float64(rep.FullReembed))
	if rep.Embedded != len(distinct) {
		t.Fatalf("computed %d embeddings, want exactly the %d distinct chunk texts", rep.Embedded, len(distinct))
	}
	if problems, err := k.Verify(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", err, problems[:min(5, len(problems))])
	}

	rng := rand.New(rand.NewPCG(testSeed(t), 1))
	docs := make([]string, 0, len(hist))
	for d := range hist {
		docs = append(docs, d)
	}
	sort.Strings(docs)
	check := func(k *KB, samples int) {
		for s := 0; s < samples; s++ {
			doc := docs[rng.IntN(len(docs))]
			vs := hist[doc]
			v := vs[rng.IntN(len(vs))]
			// A time inside the version's validity: its own instant or later.
			at := v.at.Add(time.Duration(rng.IntN(3)) * time.Hour)
			src, ok := textAt(vs, at)
			shown, err := k.Show(doc, &at)
			if !ok {
				if !errors.Is(err, ErrNoDocument) {
					t.Fatalf("show %s at %s: %v, want ErrNoDocument", doc, at, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("show %s at %s: %v", doc, at, err)
			}
			if shown != chunk.Normalize(src) {
				t.Fatalf("show %s at %s differs from the source", doc, at)
			}
			want := map[string]bool{}
			for _, c := range chunk.Split(src, chunk.Options{}) {
				want[c.Text] = true
			}
			for text := range want {
				hits, err := k.Search(context.Background(), text, SearchOptions{K: 10, AsOf: &at})
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, h := range hits {
					if h.ValidFrom.After(at) || (h.ValidTo != nil && !h.ValidTo.After(at)) {
						t.Fatalf("leak: %s chunk %d valid [%s, %v) returned as of %s", h.DocID, h.ChunkKey, h.ValidFrom, h.ValidTo, at)
					}
					hs, ok := textAt(hist[h.DocID], at)
					if !ok || !strings.Contains(chunk.Normalize(hs), h.Text) {
						t.Fatalf("leak: a chunk of %s returned as of %s is not in its text then", h.DocID, at)
					}
					found = found || (h.DocID == doc && h.Text == text)
				}
				if !found {
					t.Fatalf("missing: a chunk of %s at %s is not found by its own text (%.60q)", doc, at, text)
				}
			}
		}
	}
	check(k, 40)
	stats := k.Stats()
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	k, err = Open(ctx, dir, Options{History: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if got := k.Stats(); got != stats {
		t.Fatalf("after restart %+v, before %+v", got, stats)
	}
	check(k, 20)
	if problems, err := k.Verify(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("verify after restart: %v %v", err, problems)
	}
}

// A paragraph the lexical embedder finds no word in (a table rule, a row of
// asterisks) is stored under a direction derived from its content hash; a
// query of the same symbols must reach it the same way instead of failing.
func TestSymbolOnlyChunkFoundByItsText(t *testing.T) {
	ctx := context.Background()
	k, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	// Blocks under 50 characters join a neighbour, so both rules are long.
	rule := "|" + strings.Repeat("----------|", 6)
	stars := strings.TrimSpace(strings.Repeat("* ", 30))
	text := "Fees are listed in the table below for every plan we offer to customers.\n\n" + rule + "\n\n" + stars + "\n\nRefunds follow the rules of section four of this policy, as amended."
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "fees.md", Text: text}}, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{rule, stars, rule + "  \r\n"} {
		hits, err := k.Search(ctx, q, SearchOptions{K: 2})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		if len(hits) == 0 || hits[0].Text != strings.TrimSpace(q) || hits[0].Score < 0.999 {
			t.Fatalf("search %q: want its own chunk first with score 1, got %+v", q, hits)
		}
	}
}

func TestIngestReportsAndErrors(t *testing.T) {
	ctx := context.Background()
	k, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	t0 := time.Date(2024, 3, 12, 9, 0, 0, 0, time.UTC)
	p1 := "The first paragraph of the policy says what data we keep and for how long."
	p2 := "The second paragraph explains how a user asks for their data to be deleted."
	p3 := "A third paragraph, added later, describes the appeal process in detail here."
	rep, err := k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: p1 + "\n\n" + p2}, {DocID: "b.md", Text: p1}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Embedded != 2 || rep.NewVersions != 3 || rep.CacheHits != 0 {
		t.Fatalf("first batch %+v: want 2 embeddings (b.md shares a.md's paragraph) and 3 chunk versions", rep)
	}
	// Same content again: nothing changes, no batch.
	rep, err = k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: p1 + "\r\n\r\n" + p2 + "  \n"}}, t0.Add(time.Hour))
	if err != nil || rep.Seq != 0 || rep.Docs[0].Op != "unchanged" {
		t.Fatalf("unchanged document: %+v %v", rep, err)
	}
	// Delete the shared paragraph from b.md only: a.md keeps it.
	t1 := t0.Add(2 * time.Hour)
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "b.md", Delete: true}}, t1); err != nil {
		t.Fatal(err)
	}
	hits, err := k.Search(ctx, p1, SearchOptions{K: 3})
	if err != nil || len(hits) == 0 || hits[0].DocID != "a.md" || hits[0].Text != p1 {
		t.Fatalf("after deleting b.md, a.md's copy of the paragraph must remain: %+v %v", hits, err)
	}
	for _, h := range hits {
		if h.DocID == "b.md" {
			t.Fatalf("deleted document returned: %+v", h)
		}
	}
	// As of before the delete, b.md's paragraph is there.
	before := t1.Add(-time.Millisecond)
	hits, _ = k.Search(ctx, p1, SearchOptions{K: 3, AsOf: &before})
	docs := map[string]bool{}
	for _, h := range hits {
		docs[h.DocID] = true
	}
	if !docs["a.md"] || !docs["b.md"] {
		t.Fatalf("as of before the delete: %+v", hits)
	}
	// Exactly at the delete instant, b.md is gone (as of T includes
	// versions valid at exactly T).
	hits, _ = k.Search(ctx, p1, SearchOptions{K: 3, AsOf: &t1})
	for _, h := range hits {
		if h.DocID == "b.md" {
			t.Fatalf("b.md returned at the instant of its deletion")
		}
	}
	// Edit a.md: one modified paragraph with lineage, one added.
	rep, err = k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: p1 + "\n\n" + strings.Replace(p2, "asks", "requests", 1) + "\n\n" + p3}}, t1.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Docs[0]
	if d.Unchanged != 1 || d.Modified != 1 || d.Added != 1 || d.Embedded != 2 || d.Op != "updated" {
		t.Fatalf("edit report %+v", d)
	}
	vs, err := k.History("a.md")
	if err != nil || len(vs) != 2 {
		t.Fatalf("history %+v %v", vs, err)
	}
	// Errors: out-of-order version, duplicate doc in a batch, empty id.
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: p1}}, t0); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("older version: %v", err)
	}
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "x", Text: p1}, {DocID: "x", Text: p2}}, t1); err == nil {
		t.Fatal("duplicate document in a batch accepted")
	}
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "", Text: p1}}, t1); err == nil {
		t.Fatal("empty document id accepted")
	}
	if _, err := k.Search(ctx, "  ", SearchOptions{}); !errors.Is(err, ErrBadQuery) {
		t.Fatalf("empty query: %v", err)
	}
	if _, err := k.Show("nope.md", nil); !errors.Is(err, ErrNoDocument) {
		t.Fatalf("show unknown doc: %v", err)
	}
}

// TestLakeFailureIsRetried: a batch whose lake commit fails is not
// acknowledged, stays in the log, and is completed at the next open.
func TestLakeFailureIsRetried(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mem := NewMemHistory()
	k, err := Open(ctx, dir, Options{History: mem})
	if err != nil {
		t.Fatal(err)
	}
	text := "A paragraph long enough to be a chunk of its own in this test document."
	mem.FailCommit = errors.New("catalog unreachable")
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: text}}, time.Now()); err == nil {
		t.Fatal("ingest succeeded although the lake commit failed")
	}
	if hits, _ := k.Search(ctx, text, SearchOptions{}); len(hits) != 0 {
		t.Fatalf("an unacknowledged batch is visible: %+v", hits)
	}
	// While the lake is down, later writes are refused rather than planned
	// on top of the unfinished batch.
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "b.md", Text: text + " b"}}, time.Now()); err == nil {
		t.Fatal("a write was accepted on top of an unfinished batch")
	}
	k.Close()
	mem.FailCommit = nil
	k, err = Open(ctx, dir, Options{History: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	hits, err := k.Search(ctx, text, SearchOptions{})
	if err != nil || len(hits) != 1 {
		t.Fatalf("after recovery: %+v %v", hits, err)
	}
	if problems, _ := k.Verify(ctx); len(problems) > 0 {
		t.Fatalf("verify: %v", problems)
	}
}

// TestLakeDownAtOpen: a logged batch the lake refuses at open blocks
// writes (with a clear error) but not reads; once the lake is back the
// next write completes it first.
func TestLakeDownAtOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mem := NewMemHistory()
	k, err := Open(ctx, dir, Options{History: mem})
	if err != nil {
		t.Fatal(err)
	}
	p1 := "A first paragraph long enough to be a chunk of its own in this document."
	p2 := "A second paragraph, also long enough, written while the lake was down."
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: p1}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	mem.FailCommit = errors.New("catalog unreachable")
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "b.md", Text: p2}}, time.Now()); err == nil {
		t.Fatal("ingest succeeded with the lake down")
	}
	k.Close()
	k, err = Open(ctx, dir, Options{History: mem})
	if err != nil {
		t.Fatalf("open with the lake down must still serve reads: %v", err)
	}
	defer k.Close()
	if hits, err := k.Search(ctx, p1, SearchOptions{K: 1}); err != nil || len(hits) != 1 {
		t.Fatalf("read with the lake down: %+v %v", hits, err)
	}
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "c.md", Text: p1}}, time.Now()); err == nil || !strings.Contains(err.Error(), "could not be completed") {
		t.Fatalf("write with an unfinished batch: %v", err)
	}
	mem.FailCommit = nil
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "c.md", Text: p1 + " c"}}, time.Now()); err != nil {
		t.Fatalf("write after the lake is back: %v", err)
	}
	if hits, _ := k.Search(ctx, p2, SearchOptions{K: 1}); len(hits) != 1 || hits[0].DocID != "b.md" {
		t.Fatalf("the unfinished batch was not completed: %+v", hits)
	}
	if problems, _ := k.Verify(ctx); len(problems) > 0 {
		t.Fatalf("verify: %v", problems)
	}
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "bad.md", Text: "invalid \xff utf-8"}}, time.Now()); err == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
}

// TestRebuildFromLake rebuilds the store and indexes of a data directory
// from the lake history alone and checks that every document version and
// search answer is the same as before.
func TestRebuildFromLake(t *testing.T) {
	_, lines := readHistory(t, 150)
	ctx := context.Background()
	dir := t.TempDir()
	mem := NewMemHistory()
	k, err := Open(ctx, dir, Options{History: mem})
	if err != nil {
		t.Fatal(err)
	}
	importLines(t, k, lines)
	docs, _ := k.Docs()
	type probe struct {
		doc  string
		at   time.Time
		text string
		hits []Hit
	}
	var probes []probe
	for i, l := range lines {
		if i%7 != 0 || l.Op != "upsert" {
			continue
		}
		at, _ := time.Parse(time.RFC3339, l.TS)
		text, err := k.Show(l.DocID, &at)
		if err != nil {
			t.Fatal(err)
		}
		hits, err := k.Search(ctx, l.Text[:min(200, len(l.Text))], SearchOptions{K: 5, AsOf: &at, Exact: true})
		if err != nil {
			t.Fatal(err)
		}
		probes = append(probes, probe{l.DocID, at, text, hits})
	}
	before := k.Stats()
	k.Close()

	rep, err := Rebuild(ctx, dir, Options{History: mem, Embedder: k.emb})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rebuilt %+v", rep)
	k, err = Open(ctx, dir, Options{History: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if after := k.Stats(); after.Rows != before.Rows || after.Current != before.Current || after.Batches != before.Batches {
		t.Fatalf("stats after rebuild %+v, before %+v", after, before)
	}
	if d2, _ := k.Docs(); strings.Join(d2, ",") != strings.Join(docs, ",") {
		t.Fatal("documents differ after rebuild")
	}
	for _, p := range probes {
		text, err := k.Show(p.doc, &p.at)
		if err != nil || text != p.text {
			t.Fatalf("show %s at %s differs after rebuild: %v", p.doc, p.at, err)
		}
		hits, err := k.Search(ctx, p.text[:min(200, len(p.text))], SearchOptions{K: 5, AsOf: &p.at, Exact: true})
		if err != nil {
			t.Fatal(err)
		}
		// Same scores; same chunk versions above the last score (results
		// tied at the cut may be any of the tied versions).
		sig := func(hs []Hit) string {
			var b strings.Builder
			var set []string
			for _, h := range hs {
				fmt.Fprintf(&b, "%.5f ", h.Score)
				if h.Score > hs[len(hs)-1].Score+1e-5 {
					set = append(set, fmt.Sprintf("%s|%d|%v|%v", h.DocID, h.ChunkKey, h.ValidFrom, h.ValidTo))
				}
			}
			sort.Strings(set)
			return b.String() + "\n" + strings.Join(set, "\n")
		}
		if sig(hits) != sig(p.hits) {
			t.Fatalf("as-of search at %s differs after rebuild:\n%s\nvs\n%s", p.at, sig(hits), sig(p.hits))
		}
	}
	if problems, err := k.Verify(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("verify after rebuild: %v %v", err, problems)
	}
	// New batches continue after the rebuilt ones.
	rep2, err := k.Ingest(ctx, []DocInput{{DocID: "new.md", Text: "A document ingested after the rebuild, long enough to be a chunk."}}, time.Now())
	if err != nil || rep2.Seq != before.Batches+1 {
		t.Fatalf("ingest after rebuild: seq %d (want %d) %v", rep2.Seq, before.Batches+1, err)
	}
}

// otherModel is a second embedder for the reembed test: the lexical
// vectors negated, under another model id.
type otherModel struct{ embed.Embedder }

func (otherModel) ModelID() string { return "test-negated-v1" }
func (o otherModel) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	vs, err := o.Embedder.Embed(ctx, texts)
	for _, v := range vs {
		for i := range v {
			v[i] = -v[i]
		}
	}
	return vs, err
}

func TestReembed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mem := NewMemHistory()
	k, err := Open(ctx, dir, Options{History: mem})
	if err != nil {
		t.Fatal(err)
	}
	p := "The retention paragraph says we keep account data for ninety days after closure."
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: p}}, t0)
	k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: strings.Replace(p, "ninety", "thirty", 1)}}, t0.Add(time.Hour))
	lex := k.emb
	k.Close()
	other := otherModel{lex}
	if _, err := Open(ctx, dir, Options{History: mem, Embedder: other}); !errors.Is(err, embed.ErrModelMismatch) || !strings.Contains(err.Error(), "lakevec reembed") {
		t.Fatalf("opening with another model: %v", err)
	}
	rep, err := Reembed(ctx, dir, Options{Embedder: other})
	if err != nil || rep.Texts != 2 || rep.Versions != 2 {
		t.Fatalf("reembed %+v %v", rep, err)
	}
	k, err = Open(ctx, dir, Options{History: mem, Embedder: other})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	at := t0.Add(time.Minute)
	hits, err := k.Search(ctx, p, SearchOptions{K: 1, AsOf: &at})
	if err != nil || len(hits) != 1 || !strings.Contains(hits[0].Text, "ninety") || hits[0].Score < 0.99 {
		t.Fatalf("as-of search after reembed: %+v %v", hits, err)
	}
	if vs, _ := k.History("a.md"); len(vs) != 2 {
		t.Fatalf("history changed by reembed: %+v", vs)
	}
}

// TestCorruptStoreIsAnError damages one stored chunk version: opening the
// data directory must fail naming the record, not reset or skip it.
func TestCorruptStoreIsAnError(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mem := NewMemHistory()
	k, err := Open(ctx, dir, Options{History: mem})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: "A paragraph long enough to be stored as a chunk of its own here."}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	k.Close()
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, "store")).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	key := rowKey("docs", 0)
	err = db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, _ := it.ValueCopy(nil)
		v[len(v)/2] ^= 0x20
		return txn.Set(key, v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, dir, Options{History: mem})
	var ce *CorruptStoreError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorruptStore) || ce.Key != string(key) {
		t.Fatalf("open with a damaged row: %v, want a CorruptStoreError naming %q", err, key)
	}
}

func TestCompare(t *testing.T) {
	ctx := context.Background()
	k, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	keep := "Account data is kept for ninety days after the account is closed by its owner."
	gone := "Cookies remember the preferences of the visitor between two visits of the site."
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(24 * time.Hour)
	k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: keep + "\n\n" + gone}}, t0)
	k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: strings.Replace(keep, "ninety", "thirty", 1) + "\n\nA new paragraph about account appeals and how an account owner asks."}}, t1)
	c, err := k.Compare(ctx, "account data kept after closed", t0, t1, 3)
	if err != nil {
		t.Fatal(err)
	}
	marks := map[string]string{}
	for _, e := range c {
		marks[e.Text[:10]] = e.Mark
	}
	if marks["Account da"] != "changed" || marks["Cookies re"] != "removed" || marks["A new para"] != "added" {
		t.Fatalf("compare marks %v", marks)
	}
}

// charCounter is a lexical embedder whose "tokens" are characters, with a
// 40-token window: the chunker must cut with it, not with the estimate.
type charCounter struct{ embed.Embedder }

func (charCounter) CountTokens(s string) int { return len([]rune(s)) }
func (charCounter) MaxSeqLength() int        { return 42 }

func TestChunkerUsesEmbedderTokenizer(t *testing.T) {
	ctx := context.Background()
	k, err := Open(ctx, t.TempDir(), Options{Embedder: charCounter{embed.NewLexical()}})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	text := "One short sentence here. Another short one follows. A third sentence ends it."
	rep, err := k.Ingest(ctx, []DocInput{{DocID: "a.md", Text: text}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Chunks < 2 {
		t.Fatalf("%d chunks: the 40-token window of the embedder was not used", rep.Chunks)
	}
	hits, err := k.Search(ctx, "sentence", SearchOptions{K: 10, Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if n := len([]rune(h.Text)); n > 40 {
			t.Fatalf("chunk of %d tokens exceeds the window: %q", n, h.Text)
		}
	}
	if shown, _ := k.Show("a.md", nil); shown != text {
		t.Fatalf("chunks do not rebuild the text: %q", shown)
	}
}

// The native encoder cuts chunks with its own tokenizer.
var _ TokenCounter = (*bert.Encoder)(nil)
