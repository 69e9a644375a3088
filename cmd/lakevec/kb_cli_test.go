package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/parquet-go/parquet-go"
)

func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestDemo(t *testing.T) {
	code, out, errOut := cli(t, "demo", "--data", t.TempDir())
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errOut)
	}
	now, past, ok := strings.Cut(out, "as of 2023-06-01")
	if !ok {
		t.Fatalf("no as-of section:\n%s", out)
	}
	nowSearch := now[strings.Index(now, "(now)"):]
	if !strings.Contains(nowSearch, "within 30 days") || strings.Contains(nowSearch, "within 90 days") {
		t.Fatalf("current search must show the 30-day version only:\n%s", nowSearch)
	}
	pastSearch, _, _ := strings.Cut(past, "== search")
	if !strings.Contains(pastSearch, "within 90 days") || strings.Contains(pastSearch, "within 30 days") {
		t.Fatalf("search as of 2023-06-01 must show the 90-day version only:\n%s", pastSearch)
	}
	if !strings.Contains(out, "lake, store and indexes agree") {
		t.Fatalf("demo did not verify:\n%s", out)
	}
}

func TestIngestSearchShowCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	docs := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(docs, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v1 := "# Terms\n\nYou may cancel the subscription at any time from the account settings page."
	write("terms.md", v1)
	write("sub/faq.txt", "Refunds are issued to the original payment method within ten business days.")
	write("logo.png", "not text")
	code, out, errOut := cli(t, "ingest", docs, "--data", data, "--at", "2024-01-01", "--json")
	if code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errOut)
	}
	var rep struct {
		Seq  uint64
		Docs []struct {
			DocID string `json:"doc_id"`
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Seq != 1 || len(rep.Docs) != 2 || rep.Docs[0].DocID != "sub/faq.txt" {
		t.Fatalf("ingest report %s: %v", out, err)
	}
	if !strings.Contains(errOut, "skipped") || !strings.Contains(errOut, "logo.png") {
		t.Fatalf("unsupported file not reported: %s", errOut)
	}
	write("terms.md", strings.Replace(v1, "at any time", "before the renewal date", 1))
	os.Remove(filepath.Join(docs, "sub/faq.txt"))
	if code, _, errOut := cli(t, "ingest", docs, "--data", data, "--at", "2024-06-01", "--sync"); code != 0 {
		t.Fatalf("second ingest exit %d: %s", code, errOut)
	}
	code, out, _ = cli(t, "search", "cancel the subscription", "--data", data, "--as-of", "2024-03-01", "--k", "1", "--json")
	var hits []struct {
		DocID string `json:"doc_id"`
		Text  string
	}
	if code != 0 || json.Unmarshal([]byte(out), &hits) != nil || len(hits) != 1 || !strings.Contains(hits[0].Text, "at any time") {
		t.Fatalf("as-of search: %d %s", code, out)
	}
	code, out, _ = cli(t, "search", "refunds payment method", "--data", data, "--json")
	if code != 0 || strings.Contains(out, "faq.txt") {
		t.Fatalf("--sync must delete faq.txt now: %s", out)
	}
	code, out, _ = cli(t, "show", "sub/faq.txt", "--data", data, "--as-of", "2024-02-01")
	if code != 0 || !strings.Contains(out, "ten business days") {
		t.Fatalf("show as of: %d %s", code, out)
	}
	if code, out, _ = cli(t, "verify", "--data", data); code != 0 || !strings.Contains(out, "0 problems") {
		t.Fatalf("verify: %d %s", code, out)
	}
	if code, out, _ = cli(t, "collections", "--data", data); code != 0 || !strings.Contains(out, "docs  documents  model lexical-hash-v1-384") || !strings.Contains(out, "2 batches") {
		t.Fatalf("collections: %d %s", code, out)
	}
	// Errors and exit codes.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ingest", filepath.Join(docs, "logo.png"), "--data", data}, 2, "unsupported file type"},
		{[]string{"ingest", docs, "--data", data, "--at", "yesterday"}, 2, "--at"},
		{[]string{"ingest", filepath.Join(docs, "missing"), "--data", data}, 2, "no such file"},
		{[]string{"ingest", docs, "--data", data, "--at", "2023-01-01"}, 1, "older than its latest"},
		{[]string{"search", "x", "--data", data, "--k", "0"}, 2, "--k"},
		{[]string{"show", "nope.md", "--data", data}, 1, "no such document"},
		{[]string{"delete", "nope.md", "--data", data}, 1, "not found"},
		{[]string{"reset", "--data", data}, 2, "--yes"},
		{[]string{"search", "x", "--data", data, "--collection", "Bad-Name"}, 2, "--collection"},
		{[]string{"search", "x", "--data", filepath.Join(data, "typo")}, 1, "no lakevec data directory"},
	} {
		code, _, errOut := cli(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, errOut, c.code, c.want)
		}
	}
	if code, _, errOut := cli(t, "reset", "--data", data, "--yes"); code != 0 {
		t.Fatalf("reset: %s", errOut)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("data directory still there after reset: %v", err)
	}
}

// TestS3WarehouseCLI keeps the history table on an in-process fake S3
// (gofakes3) through the CLI flags: ingest, as-of search and verify.
func TestS3WarehouseCLI(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "test-key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	data := t.TempDir()
	docs := t.TempDir()
	os.WriteFile(filepath.Join(docs, "a.md"), []byte("The warehouse of this collection lives in an object store bucket."), 0o644)
	s3 := []string{"--data", data, "--warehouse", "s3://lake/wh", "--s3-endpoint", srv.URL, "--s3-region", "us-east-1"}
	if code, _, errOut := cli(t, append([]string{"ingest", docs, "--at", "2024-01-01"}, s3...)...); code != 0 {
		t.Fatalf("ingest: %s", errOut)
	}
	code, out, errOut := cli(t, append([]string{"verify"}, s3...)...)
	if code != 0 || !strings.Contains(out, "0 problems") {
		t.Fatalf("verify: %d %s %s", code, out, errOut)
	}
	objs, err := backend.ListBucket("lake", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil || len(objs.Contents) == 0 {
		t.Fatalf("nothing written to the bucket: %v", err)
	}
}

func TestAttachRefreshSearchCLI(t *testing.T) {
	src, data := t.TempDir(), t.TempDir()
	type row struct {
		ID        int64     `parquet:"id"`
		Embedding []float32 `parquet:"embedding,list"`
	}
	write := func(name string, rows []row) {
		if err := parquet.WriteFile(filepath.Join(src, name), rows); err != nil {
			t.Fatal(err)
		}
	}
	write("a.parquet", []row{{1, []float32{1, 0, 0}}, {2, []float32{0, 1, 0}}})
	code, out, errOut := cli(t, "attach", "vecs", "--parquet", src, "--vector-column", "embedding", "--columns", "id", "--data", data)
	if code != 0 || !strings.Contains(out, "2 rows added") {
		t.Fatalf("attach: %d %s %s", code, out, errOut)
	}
	write("b.parquet", []row{{3, []float32{0, 0, 1}}})
	if code, out, _ = cli(t, "refresh", "vecs", "--data", data); code != 0 || !strings.Contains(out, "1 read") {
		t.Fatalf("refresh: %d %s", code, out)
	}
	q := filepath.Join(t.TempDir(), "q.json")
	os.WriteFile(q, []byte("[0, 0, 0.9]\n[0.9, 0.1, 0]\n"), 0o644)
	code, out, errOut = cli(t, "search", "--collection", "vecs", "--vector-file", q, "--k", "1", "--data", data, "--json")
	var res [][]struct {
		File string
		Row  int64
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res) != 2 ||
		filepath.Base(res[0][0].File) != "b.parquet" || filepath.Base(res[1][0].File) != "a.parquet" || res[1][0].Row != 0 {
		t.Fatalf("search: %d %s %s", code, out, errOut)
	}
	if code, out, _ = cli(t, "collections", "--data", data); code != 0 || !strings.Contains(out, "vecs") || !strings.Contains(out, "3 rows") {
		t.Fatalf("collections: %s", out)
	}
	// Filters on kept columns; errors in the query are usage errors.
	os.WriteFile(q, []byte("[0.9, 0.1, 0]\n"), 0o644)
	code, out, errOut = cli(t, "search", "--collection", "vecs", "--vector-file", q, "--k", "3", "--filter", "id >= 2", "--data", data, "--json")
	var fres [][]struct{ Columns map[string]any }
	if code != 0 || json.Unmarshal([]byte(out), &fres) != nil || len(fres[0]) != 2 {
		t.Fatalf("filtered search: %d %s %s", code, out, errOut)
	}
	for _, h := range fres[0] {
		if h.Columns["id"].(float64) < 2 {
			t.Fatalf("filtered search returned %v", h.Columns)
		}
	}
	for _, bad := range [][]string{{"--filter", "nope = 1"}, {"--filter", "id >="}, {"--as-of", "2001-01-01"}, {"--snapshot", "12"}} {
		args := append([]string{"search", "--collection", "vecs", "--vector-file", q, "--data", data}, bad...)
		if code, _, errOut = cli(t, args...); code != 2 || errOut == "" {
			t.Fatalf("%v: %d %s", bad, code, errOut)
		}
	}
	if code, _, errOut = cli(t, "search", "some text", "--collection", "vecs", "--data", data); code != 2 || !strings.Contains(errOut, "without an embedder") {
		t.Fatalf("text query without an embedder: %d %s", code, errOut)
	}
	if code, out, _ = cli(t, "collections", "--data", data); code != 0 || !strings.Contains(out, "lag 0 files") {
		t.Fatalf("collections lag: %s", out)
	}
	os.WriteFile(q, []byte("[1, 2]\n"), 0o644)
	if code, _, errOut = cli(t, "search", "--collection", "vecs", "--vector-file", q, "--data", data); code != 2 || !strings.Contains(errOut, "dimension") {
		t.Fatalf("wrong dimension: %d %s", code, errOut)
	}
	if code, _, errOut = cli(t, "attach", "x", "--parquet", filepath.Join(src, "none-*.parquet"), "--vector-column", "embedding", "--data", data); code != 1 || !strings.Contains(errOut, "no Parquet dataset") {
		t.Fatalf("attach of nothing: %d %s", code, errOut)
	}
}

// The engine's warnings reach the user: a damaged index checkpoint is
// reported on stderr by a command that then rebuilds and answers.
func TestEngineWarningsOnStderr(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	docs := t.TempDir()
	text := "Refunds are issued to the original payment method within ten business days."
	if err := os.WriteFile(filepath.Join(docs, "faq.md"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, "ingest", docs, "--data", data, "--at", "2024-01-01"); code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errOut)
	}
	hot, _ := filepath.Glob(filepath.Join(data, "index", "hot-*.hnsw"))
	if len(hot) != 1 {
		t.Fatalf("want one hot index checkpoint, found %v", hot)
	}
	if err := os.WriteFile(hot[0], []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "search", "refunds payment method", "--data", data)
	if code != 0 || !strings.Contains(out, "faq.md") {
		t.Fatalf("search after a damaged checkpoint: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "index checkpoint unusable") || !strings.Contains(errOut, "level=WARN") {
		t.Fatalf("the damaged checkpoint is not reported on stderr: %q", errOut)
	}
}
