package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/lakevec/lakevec/cmd/lakevec/server"
	"github.com/lakevec/lakevec/engine/embed"
)

// remoteFixture ingests two versions of a small corpus into a temporary
// data directory through the local CLI.
func remoteFixture(t *testing.T) (data, docs string) {
	t.Helper()
	data = filepath.Join(t.TempDir(), "data")
	docs = t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(docs, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	terms := "# Terms\n\nYou may cancel the subscription at any time from the account settings page.\n\nRefunds take ten days."
	write("terms.md", terms)
	write("sub/faq.txt", "Refunds are issued to the original payment method within ten business days.")
	if code, _, errOut := cli(t, "ingest", docs, "--data", data, "--at", "2024-01-01"); code != 0 {
		t.Fatalf("ingest: %s", errOut)
	}
	write("terms.md", strings.Replace(terms, "at any time", "before the renewal date", 1))
	if code, _, errOut := cli(t, "ingest", docs, "--data", data, "--at", "2024-06-01"); code != 0 {
		t.Fatalf("ingest: %s", errOut)
	}
	return data, docs
}

// startServer serves data with the real server package on loopback.
func startServer(t *testing.T, data string, o server.Options) string {
	t.Helper()
	e, err := embed.Open(context.Background(), embed.Config{Kind: embed.KindLexical})
	if err != nil {
		t.Fatal(err)
	}
	kb, err := openKBWith(context.Background(), kbFlags{data: data, collection: "docs"}, e)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetKB(kb)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
		kb.Close()
	})
	return ts.URL
}

// TestRemoteMatchesLocal runs each read command locally, then through a
// server on the same data directory, and wants the same stdout.
func TestRemoteMatchesLocal(t *testing.T) {
	data, _ := remoteFixture(t)
	cmds := [][]string{
		{"search", "cancel the subscription"},
		{"search", "cancel the subscription", "--json", "--k", "3"},
		{"search", "cancel the subscription", "--as-of", "2024-03-01"},
		{"search", "cancel the subscription", "--as-of", "2024-03-01", "--json"},
		{"compare", "cancel the subscription", "--from", "2024-03-01", "--to", "2024-07-01"},
		{"compare", "cancel the subscription", "--from", "2024-03-01", "--to", "2024-07-01", "--json"},
		{"show", "terms.md"},
		{"show", "terms.md", "--as-of", "2024-02-01", "--json"},
		{"show", "sub/faq.txt"},
		{"history", "terms.md"},
		{"history", "terms.md", "--json"},
		{"diff", "terms.md", "--from", "2024-02-01", "--to", "2024-07-01"},
		{"diff", "terms.md", "--from", "2024-02-01", "--to", "2024-07-01", "--json"},
		{"verify"},
		{"verify", "--json"},
	}
	local := make([]string, len(cmds))
	for i, c := range cmds {
		code, out, errOut := cli(t, append(c, "--data", data)...)
		if code != 0 {
			t.Fatalf("local %v: exit %d: %s", c, code, errOut)
		}
		local[i] = out
	}
	url := startServer(t, data, server.DefaultOptions())
	for i, c := range cmds {
		code, out, errOut := cli(t, append(c, "--server", url)...)
		if code != 0 {
			t.Errorf("remote %v: exit %d: %s", c, code, errOut)
			continue
		}
		if out != local[i] {
			t.Errorf("%v: remote output differs\nlocal:\n%s\nremote:\n%s", c, local[i], out)
		}
	}
	// Writes through the server, then the same error as locally.
	if code, out, errOut := cli(t, "delete", "sub/faq.txt", "--at", "2024-08-01", "--server", url); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("remote delete: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := cli(t, "delete", "nope.md", "--server", url); code != 1 || !strings.Contains(errOut, `no document "nope.md"`) {
		t.Errorf("remote delete of a missing document: exit %d: %s", code, errOut)
	}
	if code, _, errOut := cli(t, "show", "nope.md", "--server", url); code != 1 || !strings.Contains(errOut, "no such document") {
		t.Errorf("remote show of a missing document: exit %d: %s", code, errOut)
	}
	if code, _, errOut := cli(t, "search", "x", "--server", url, "--model-dir", "/m"); code != 2 || !strings.Contains(errOut, "--model-dir") {
		t.Errorf("local-only flag with --server: exit %d: %s", code, errOut)
	}
}

func TestRemoteIngest(t *testing.T) {
	data, docs := remoteFixture(t)
	url := startServer(t, data, server.DefaultOptions())
	os.WriteFile(filepath.Join(docs, "new.md"), []byte("A new policy on cookies."), 0o644)
	code, out, errOut := cli(t, "ingest", docs, "--at", "2024-09-01", "--server", url)
	if code != 0 || !strings.Contains(out, "added") || !strings.Contains(out, "new.md") || !strings.Contains(out, "batch 3") {
		t.Fatalf("remote ingest: %d %s %s", code, out, errOut)
	}
	if code, out, _ := cli(t, "search", "cookies policy", "--k", "1", "--server", url); code != 0 || !strings.Contains(out, "new.md") {
		t.Fatalf("search after remote ingest: %d %s", code, out)
	}
}

// TestRemoteAuth: a missing or wrong key, or a read key for a write, is a
// clear error and exit 1.
func TestRemoteAuth(t *testing.T) {
	data, docs := remoteFixture(t)
	o := server.DefaultOptions()
	o.APIKey, o.AdminKey = "read-key-0123456789", "admin-key-0123456789"
	url := startServer(t, data, o)
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"search", "x", "--server", url}, "", "401"},
		{[]string{"search", "x", "--server", url, "--api-key", "wrong"}, "", "401"},
		{[]string{"ingest", docs, "--server", url, "--api-key", o.APIKey}, "", "403"},
		{[]string{"verify", "--server", url}, o.APIKey, "403"},
	} {
		if c.env != "" {
			t.Setenv("LAKEVEC_API_KEY", c.env)
		}
		code, _, errOut := cli(t, c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "refused") {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %s", c.args, code, errOut, c.want)
		}
	}
	t.Setenv("LAKEVEC_API_KEY", o.APIKey)
	if code, _, errOut := cli(t, "search", "cancel", "--server", url); code != 0 {
		t.Errorf("search with LAKEVEC_API_KEY: exit %d: %s", code, errOut)
	}
	t.Setenv("LAKEVEC_SERVER", url)
	if code, _, errOut := cli(t, "history", "terms.md"); code != 0 {
		t.Errorf("history with LAKEVEC_SERVER: exit %d: %s", code, errOut)
	}
}

// TestRemoteCollectionSearch: a search of an attached table through the
// server prints what the local search prints.
func TestRemoteCollectionSearch(t *testing.T) {
	data, _ := remoteFixture(t)
	src := t.TempDir()
	type row struct {
		ID        int64     `parquet:"id"`
		Embedding []float32 `parquet:"embedding,list"`
	}
	var rows []row
	for i := range 40 {
		rows = append(rows, row{int64(i), []float32{float32(i%7) + 1, float32(i%5) + 1, float32(i % 3)}})
	}
	if err := parquet.WriteFile(filepath.Join(src, "a.parquet"), rows); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, "attach", "vecs", "--parquet", src, "--vector-column", "embedding", "--columns", "id", "--data", data); code != 0 {
		t.Fatalf("attach: %s", errOut)
	}
	q := filepath.Join(t.TempDir(), "q.json")
	os.WriteFile(q, []byte("[1, 2, 0]\n[3, 1, 1]\n"), 0o644)
	cmds := [][]string{
		{"search", "--collection", "vecs", "--vector-file", q, "--k", "3"},
		{"search", "--collection", "vecs", "--vector-file", q, "--k", "3", "--filter", "id >= 20", "--json"},
		{"collections"},
	}
	local := make([]string, len(cmds))
	for i, c := range cmds {
		code, out, errOut := cli(t, append(c, "--data", data)...)
		if code != 0 {
			t.Fatalf("local %v: %s", c, errOut)
		}
		local[i] = out
	}
	o := server.DefaultOptions()
	o.DataDir = data
	url := startServer(t, data, o)
	for i, c := range cmds {
		code, out, errOut := cli(t, append(c, "--server", url)...)
		if code != 0 || out != local[i] {
			t.Errorf("remote %v: exit %d %s\nlocal:\n%s\nremote:\n%s", c, code, errOut, local[i], out)
		}
	}
	if !strings.Contains(local[2], "docs  documents  model ") || !strings.Contains(local[2], "vecs  parquet ") || !strings.Contains(local[2], "lag 0 files") {
		t.Errorf("collections listing lacks a collection:\n%s", local[2])
	}
	if code, out, errOut := cli(t, "collections", "--json", "--server", url); code != 0 || !strings.Contains(out, `"vector_column":"embedding"`) || !strings.Contains(out, `"last_at":`) {
		t.Errorf("remote collections --json: exit %d %s\n%s", code, errOut, out)
	}
	if code, _, errOut := cli(t, "search", "--collection", "vecs", "--vector-file", q, "--filter", "nope = 1", "--server", url); code != 2 || !strings.Contains(errOut, "nope") {
		t.Errorf("bad filter through the server: exit %d: %s", code, errOut)
	}
}
