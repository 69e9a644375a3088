package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakevec/lakevec/engine"
)

const (
	readKey  = "read-key-0123456789abcdef"
	adminKey = "admin-key-0123456789abcdef"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type fixture struct {
	t    *testing.T
	srv  *Server
	ts   *httptest.Server
	kb   *engine.KB
	logs *syncBuffer
}

// newFixture serves a fresh KB (lexical embedder, in-memory lake) in a
// temporary directory.
func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	kb, err := engine.Open(context.Background(), o.DataDir, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	srv, err := New(o)
	if err != nil {
		kb.Close()
		t.Fatal(err)
	}
	srv.SetKB(kb)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		if err := kb.Close(); err != nil {
			t.Error(err)
		}
	})
	return &fixture{t: t, srv: srv, ts: ts, kb: kb, logs: logs}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r resp) errMsg(t *testing.T) string {
	t.Helper()
	var e errorBody
	r.json(t, &e)
	return e.Error
}

// do sends a request; body is JSON-encoded unless it is a string.
func (f *fixture) do(method, path, key string, body any) resp {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.ts.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return f.send(req)
}

func (f *fixture) send(req *http.Request) resp {
	f.t.Helper()
	res, err := f.ts.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

func (f *fixture) want(r resp, status int) resp {
	f.t.Helper()
	if r.status != status {
		f.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

const (
	termsV1 = "# Terms\n\nWe keep your personal data for thirty days after you close the account."
	termsV2 = "# Terms\n\nWe keep your personal data for ninety days after you close the account."
	other   = "# Cookies\n\nThe site sets one cookie that remembers your language choice."
)

// ingestTwoVersions stores Policies/terms.md at 2023-01-01 and 2024-01-01.
func (f *fixture) ingestTwoVersions(key string) {
	f.t.Helper()
	f.want(f.do("POST", "/api/v1/documents", key, map[string]any{"at": "2023-01-01", "documents": []map[string]any{
		{"doc_id": "Policies/terms.md", "text": termsV1}, {"doc_id": "cookies.md", "text": other}}}), 200)
	f.want(f.do("POST", "/api/v1/documents", key, map[string]any{"at": "2024-01-01T00:00:00Z", "documents": []map[string]any{
		{"doc_id": "Policies/terms.md", "text": termsV2}}}), 200)
}

func TestVersionsThroughTheAPI(t *testing.T) {
	f := newFixture(t, Options{})
	f.ingestTwoVersions("")

	var sr searchResponse
	f.want(f.do("GET", "/api/v1/search?q=how+long+is+personal+data+kept&k=1", "", nil), 200).json(t, &sr)
	if len(sr.Hits) != 1 || !strings.Contains(sr.Hits[0].Text, "ninety") || sr.Hits[0].ValidTo != nil {
		t.Fatalf("current search: %+v", sr.Hits)
	}
	f.want(f.do("GET", "/api/v1/search?q=how+long+is+personal+data+kept&k=1&as_of=2023-06-01", "", nil), 200).json(t, &sr)
	if len(sr.Hits) != 1 || !strings.Contains(sr.Hits[0].Text, "thirty") || sr.AsOf == nil {
		t.Fatalf("as-of search: %+v", sr)
	}
	// Before anything existed: no hits, an empty list rather than null.
	r := f.want(f.do("GET", "/api/v1/search?q=data&as_of=2020-01-01", "", nil), 200)
	if !bytes.Contains(r.body, []byte(`"hits":[]`)) {
		t.Fatalf("empty result: %s", r.body)
	}
	// POST search, by text and by vector.
	f.want(f.do("POST", "/api/v1/search", "", searchRequest{Query: "personal data kept", K: 1, AsOf: "2023-06-01"}), 200).json(t, &sr)
	if len(sr.Hits) != 1 || !strings.Contains(sr.Hits[0].Text, "thirty") {
		t.Fatalf("POST as-of search: %+v", sr.Hits)
	}
	vec := make([]float32, f.kb.Stats().Dim)
	vec[3] = 1
	f.want(f.do("POST", "/api/v1/search", "", searchRequest{Vector: vec, K: 2}), 200)

	var cr compareResponse
	f.want(f.do("GET", "/api/v1/compare?q=personal+data+kept&from=2023-06-01&to=2024-06-01&k=1", "", nil), 200).json(t, &cr)
	if len(cr.Entries) == 0 || cr.Entries[0].Mark != "changed" {
		t.Fatalf("compare: %+v", cr.Entries)
	}

	var show showResponse
	f.want(f.do("GET", "/api/v1/documents/Policies/terms.md?as_of=2023-06-01", "", nil), 200).json(t, &show)
	if show.DocID != "Policies/terms.md" || show.Text != termsV1 {
		t.Fatalf("show as of: %+v", show)
	}
	f.want(f.do("GET", "/api/v1/documents/Policies%2Fterms.md", "", nil), 200).json(t, &show)
	if show.Text != termsV2 {
		t.Fatalf("show now (escaped slash): %+v", show)
	}
	var hr historyResponse
	f.want(f.do("GET", "/api/v1/history/Policies/terms.md", "", nil), 200).json(t, &hr)
	if len(hr.Versions) != 2 || !hr.Versions[1].At.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("history: %+v", hr)
	}
	var dr diffResponse
	f.want(f.do("GET", "/api/v1/diff/Policies/terms.md?from=2023-06-01&to=2024-06-01", "", nil), 200).json(t, &dr)
	if len(dr.Lines) != 2 || dr.Lines[0].Op != "-" || dr.Lines[1].Op != "+" || !strings.Contains(dr.Lines[1].Text, "ninety") {
		t.Fatalf("diff: %+v", dr.Lines)
	}
	var docs docsResponse
	f.want(f.do("GET", "/api/v1/documents", "", nil), 200).json(t, &docs)
	if strings.Join(docs.Documents, ",") != "Policies/terms.md,cookies.md" {
		t.Fatalf("documents: %v", docs.Documents)
	}
	var st engine.Stats
	f.want(f.do("GET", "/api/v1/stats", "", nil), 200).json(t, &st)
	if st.Batches != 2 || st.Current != 2 || st.Rows != 3 {
		t.Fatalf("stats: %+v", st)
	}

	// Delete, then the document is gone now but still there in the past.
	f.want(f.do("DELETE", "/api/v1/documents/cookies.md?at=2024-06-01", "", nil), 200)
	f.want(f.do("GET", "/api/v1/documents/cookies.md", "", nil), 404)
	f.want(f.do("GET", "/api/v1/documents/cookies.md?as_of=2024-01-01", "", nil), 200)
	f.want(f.do("DELETE", "/api/v1/documents/cookies.md", "", nil), 404) // already deleted
	// A version older than the latest: 409.
	r = f.want(f.do("POST", "/api/v1/documents", "", map[string]any{"at": "2023-06-01",
		"documents": []map[string]any{{"doc_id": "Policies/terms.md", "text": "older"}}}), 409)
	if !strings.Contains(r.errMsg(t), "older") {
		t.Fatalf("409 message: %s", r.body)
	}
	// sync: documents missing from the batch are deleted.
	var rep engine.Report
	f.want(f.do("POST", "/api/v1/documents", "", map[string]any{"at": "2025-01-01", "sync": true,
		"documents": []map[string]any{{"doc_id": "new.md", "text": other}}}), 200).json(t, &rep)
	f.want(f.do("GET", "/api/v1/documents", "", nil), 200).json(t, &docs)
	if strings.Join(docs.Documents, ",") != "new.md" {
		t.Fatalf("after sync: %v (report %+v)", docs.Documents, rep)
	}
	var vr verifyResponse
	f.want(f.do("POST", "/api/v1/verify", "", nil), 200).json(t, &vr)
	if !vr.OK {
		t.Fatalf("verify: %v", vr.Problems)
	}
}

func TestErrorStatuses(t *testing.T) {
	f := newFixture(t, Options{MaxBodyBytes: 4096})
	f.ingestTwoVersions("")
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		msg          string // the error names this (the parameter)
	}{
		{"GET", "/api/v1/search", nil, 400, "q: required"},
		{"GET", "/api/v1/search?q=x&k=0", nil, 400, "k: 0 out of range"},
		{"GET", "/api/v1/search?q=x&k=1001", nil, 400, "k: 1001 out of range 1..1000"},
		{"GET", "/api/v1/search?q=x&k=ten", nil, 400, "k: \"ten\" is not an integer"},
		{"GET", "/api/v1/search?q=x&ef=100000", nil, 400, "ef: 100000 out of range"},
		{"GET", "/api/v1/search?q=x&as_of=yesterday", nil, 400, "as_of: \"yesterday\""},
		{"POST", "/api/v1/search", `{"query":"x","kk":3}`, 400, "unknown field"},
		{"POST", "/api/v1/search", `{"query":"x"} {}`, 400, "more than one JSON value"},
		{"POST", "/api/v1/search", `{}`, 400, "query: give exactly one of query and vector"},
		{"POST", "/api/v1/search", `{"vector":[1,2,3]}`, 400, "vector: 3 dimensions"},
		{"POST", "/api/v1/search", ``, 400, "body: empty"},
		{"POST", "/api/v1/search", `{"query":"` + strings.Repeat("a", 5000) + `"}`, 413, "larger than 4096"},
		{"POST", "/api/v1/documents", `{"documents":[]}`, 400, "documents: empty"},
		{"POST", "/api/v1/documents", `{"documents":[{"doc_id":""}]}`, 400, "documents[0].doc_id: empty"},
		{"POST", "/api/v1/documents", `{"documents":[{"doc_id":"a"},{"doc_id":"a"}]}`, 400, "documents[1].doc_id: \"a\" appears twice"},
		{"POST", "/api/v1/documents", `{"documents":[{"doc_id":"a","text":"t","delete":true}]}`, 400, "documents[0]: give text or delete"},
		{"POST", "/api/v1/documents", `{"at":"soon","documents":[{"doc_id":"a","text":"t"}]}`, 400, "at: \"soon\""},
		{"GET", "/api/v1/compare?q=x&from=2023-01-01", nil, 400, "to: required"},
		{"GET", "/api/v1/diff/Policies/terms.md?to=2023-01-01", nil, 400, "from: required"},
		{"GET", "/api/v1/documents/", nil, 400, "id: empty document id"},
		{"GET", "/api/v1/documents/nope.md", nil, 404, "no such document"},
		{"GET", "/api/v1/history/nope.md", nil, 404, "no such document"},
		{"GET", "/api/v1/diff/nope.md?from=2023-01-01&to=2024-01-01", nil, 404, "no such document"},
		{"GET", "/api/v1/documents/Policies/terms.md?as_of=2020-01-01", nil, 404, "no such document"},
		{"GET", "/api/v1/nothing", nil, 404, "no route GET /api/v1/nothing"},
		{"GET", "/elsewhere", nil, 404, "no route"},
		{"PUT", "/api/v1/search", nil, 405, "allowed: GET, POST"},
		{"POST", "/healthz", nil, 405, "allowed: GET"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := f.want(f.do(c.method, c.path, "", c.body), c.status)
			if msg := r.errMsg(t); !strings.Contains(msg, c.msg) {
				t.Fatalf("error %q, want it to contain %q", msg, c.msg)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
	// A body that is not declared JSON: 415 (a cross-site form cannot post JSON).
	req, _ := http.NewRequest("POST", f.ts.URL+"/api/v1/documents", strings.NewReader(`{"documents":[{"doc_id":"a","text":"t"}]}`))
	req.Header.Set("Content-Type", "text/plain")
	f.want(f.send(req), http.StatusUnsupportedMediaType)
}

func TestAuth(t *testing.T) {
	f := newFixture(t, Options{APIKey: readKey, AdminKey: adminKey})
	// Unauthenticated and wrong keys: 401 with a challenge.
	for _, key := range []string{"", "not-a-key-but-long-enough", readKey + "x"} {
		r := f.want(f.do("GET", "/api/v1/search?q=x", key, nil), 401)
		if r.header.Get("WWW-Authenticate") == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
	}
	req, _ := http.NewRequest("GET", f.ts.URL+"/api/v1/stats", nil)
	req.Header.Set("Authorization", "Basic "+readKey)
	f.want(f.send(req), 401)
	// The read-only key reads but does not write.
	f.want(f.do("GET", "/api/v1/stats", readKey, nil), 200)
	f.want(f.do("GET", "/metrics", readKey, nil), 200)
	f.want(f.do("GET", "/metrics", "", nil), 401)
	body := map[string]any{"documents": []map[string]any{{"doc_id": "a.md", "text": termsV1}}}
	r := f.want(f.do("POST", "/api/v1/documents", readKey, body), 403)
	if !strings.Contains(r.errMsg(t), "read-only") {
		t.Fatalf("403 message: %s", r.body)
	}
	f.want(f.do("DELETE", "/api/v1/documents/a.md", readKey, nil), 403)
	f.want(f.do("POST", "/api/v1/verify", readKey, nil), 403)
	// The admin key does everything.
	f.want(f.do("POST", "/api/v1/documents", adminKey, body), 200)
	f.want(f.do("GET", "/api/v1/documents/a.md", adminKey, nil), 200)
	f.want(f.do("POST", "/api/v1/verify", adminKey, nil), 200)
	// Public routes need no key.
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
		f.want(f.do("GET", p, "", nil), 200)
	}
	// Keys never reach the log.
	logs := f.logs.String()
	if strings.Contains(logs, readKey) || strings.Contains(logs, adminKey) || strings.Contains(strings.ToLower(logs), "authorization") {
		t.Fatalf("a key or the Authorization header was logged:\n%s", logs)
	}
	if !strings.Contains(logs, `"route":"POST /api/v1/documents"`) || !strings.Contains(logs, `"status":403`) {
		t.Fatalf("request log lacks route or status:\n%s", logs)
	}
}

func TestOnlyReadKeyRefusesWrites(t *testing.T) {
	f := newFixture(t, Options{APIKey: readKey})
	f.want(f.do("POST", "/api/v1/verify", readKey, nil), 403)
	f.want(f.do("GET", "/api/v1/stats", readKey, nil), 200)
}

func TestOptionsRefuseUnsafeSetups(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string // "" = valid
	}{
		{Options{}, ""},
		{Options{Addr: "[::1]:7700"}, ""},
		{Options{Addr: "localhost:7700"}, ""},
		{Options{Addr: "0.0.0.0:7700"}, "refusing to serve without an API key"},
		{Options{Addr: ":7700"}, "refusing to serve without an API key"},
		{Options{Addr: "[::]:7700"}, "refusing to serve without an API key"},
		{Options{Addr: "myhost.example:7700"}, "refusing to serve without an API key"},
		{Options{Addr: "0.0.0.0:7700", APIKey: readKey}, ""},
		{Options{Addr: "0.0.0.0:7700", AdminKey: adminKey}, ""},
		{Options{APIKey: "short"}, "too short"},
		{Options{APIKey: readKey, AdminKey: readKey}, "the same"},
		{Options{TLSCert: "c.pem"}, "--tls-cert and --tls-key go together"},
		{Options{DebugAddr: "0.0.0.0:6060"}, "pprof is served only on a loopback address"},
		{Options{CORSOrigins: []string{"example.com"}}, "--cors-origin"},
		{Options{Addr: "nonsense"}, "--addr"},
	} {
		err := c.o.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: got %v, want %q", c.o, err, c.want)
		}
		if _, nerr := New(c.o); (nerr == nil) != (err == nil) {
			t.Errorf("New and Validate disagree on %+v", c.o)
		}
	}
	// Every problem at once.
	err := Options{Addr: "0.0.0.0:1", DebugAddr: "0.0.0.0:2"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "API key") || !strings.Contains(err.Error(), "pprof") {
		t.Fatalf("want both problems, got %v", err)
	}
}

func TestServeRefusesNonLoopbackListenerWithoutKey(t *testing.T) {
	// Validate checks the address; Serve checks the listener it is given.
	srv, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln := fakeListener{addr: &net.TCPAddr{IP: net.IPv4zero, Port: 7700}}
	err = srv.Serve(context.Background(), ln, func(context.Context) (KB, error) { panic("must not open") })
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("got %v", err)
	}
}

type fakeListener struct{ addr net.Addr }

func (l fakeListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (l fakeListener) Close() error              { return nil }
func (l fakeListener) Addr() net.Addr            { return l.addr }

func TestSecurityHeadersAndCORS(t *testing.T) {
	f := newFixture(t, Options{})
	for _, r := range []resp{
		f.do("GET", "/healthz", "", nil),
		f.do("GET", "/api/v1/stats", "", nil),
		f.do("GET", "/api/v1/nothing", "", nil),
		f.do("POST", "/api/v1/search", "", `{"bad`),
	} {
		for h, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff",
			"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		} {
			if got := r.header.Get(h); !strings.Contains(got, want) {
				t.Errorf("status %d: %s = %q, want %q", r.status, h, got, want)
			}
		}
		if !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || r.header.Get("X-Request-Id") == "" {
			t.Errorf("status %d: headers %v", r.status, r.header)
		}
		if r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Error("CORS header without --cors-origin")
		}
	}
	// No CORS: a cross-origin write is refused, a cross-origin read gets no CORS headers.
	req, _ := http.NewRequest("POST", f.ts.URL+"/api/v1/verify", nil)
	req.Header.Set("Origin", "https://evil.example")
	f.want(f.send(req), 403)
	// DNS rebinding: a foreign Host on a loopback server is refused.
	req, _ = http.NewRequest("GET", f.ts.URL+"/api/v1/stats", nil)
	req.Host = "evil.example:7700"
	f.want(f.send(req), http.StatusMisdirectedRequest)

	g := newFixture(t, Options{CORSOrigins: []string{"https://app.example"}, AllowedHosts: []string{"lakevec.internal"}})
	req, _ = http.NewRequest("OPTIONS", g.ts.URL+"/api/v1/documents", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	r := g.want(g.send(req), 204)
	if r.header.Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight headers: %v", r.header)
	}
	req, _ = http.NewRequest("GET", g.ts.URL+"/api/v1/stats", nil)
	req.Header.Set("Origin", "https://other.example")
	if r := g.want(g.send(req), 200); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS header for an origin not allowed")
	}
	req, _ = http.NewRequest("GET", g.ts.URL+"/api/v1/stats", nil)
	req.Host = "lakevec.internal"
	g.want(g.send(req), 200)
}

func TestMetricsExposed(t *testing.T) {
	f := newFixture(t, Options{})
	f.ingestTwoVersions("")
	f.want(f.do("GET", "/api/v1/search?q=data", "", nil), 200)
	f.want(f.do("GET", "/api/v1/documents/nope.md", "", nil), 404)
	body := string(f.want(f.do("GET", "/metrics", "", nil), 200).body)
	for _, want := range []string{
		`lakevec_http_request_duration_seconds_count{route="GET /api/v1/search",status="200"} 1`,
		`lakevec_http_request_duration_seconds_count{route="GET /api/v1/documents/{id...}",status="404"} 1`,
		`lakevec_http_request_duration_seconds_count{route="POST /api/v1/documents",status="200"} 2`,
		`lakevec_kb_rows{index="current"} 2`,
		`lakevec_kb_rows{index="history"} 3`,
		`lakevec_kb_batches 2`,
		`lakevec_kb_ready 1`,
		`lakevec_wal_backlog_batches 0`,
		`lakevec_embeddings_total{result="computed"}`,
		`lakevec_api_ingest_requests_total{result="committed"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestNotReadyUntilKBOpen(t *testing.T) {
	srv, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/api/v1/stats": 503, "/openapi.json": 200} {
		res, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, res.StatusCode, want)
		}
	}
}

func TestPprofOnlyOnDebugMux(t *testing.T) {
	f := newFixture(t, Options{})
	f.want(f.do("GET", "/debug/pprof/", "", nil), 404)
	rec := httptest.NewRecorder()
	debugMux().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/pprof/", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "goroutine") {
		t.Fatalf("debug mux: %d", rec.Code)
	}
}

// slowKB delays searches so a request is in flight during shutdown.
type slowKB struct {
	*engine.KB
	started chan struct{}
	once    sync.Once
}

func (k *slowKB) Search(ctx context.Context, q string, o engine.SearchOptions) ([]engine.Hit, error) {
	k.once.Do(func() { close(k.started) })
	time.Sleep(300 * time.Millisecond)
	return k.KB.Search(ctx, q, o)
}

func TestServeRealListenerAndGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	srv, err := New(Options{Addr: ln.Addr().String(), ShutdownTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kb := &slowKB{started: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(ctx, ln, func(ctx context.Context) (KB, error) {
			k, err := engine.Open(ctx, dir, engine.Options{})
			kb.KB = k
			return kb, err
		})
	}()
	for i := 0; ; i++ {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if i > 200 {
			t.Fatalf("not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := http.Post(base+"/api/v1/documents", "application/json",
		strings.NewReader(fmt.Sprintf(`{"at":"2024-01-01","documents":[{"doc_id":"a/b.md","text":%q}]}`, termsV1)))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("ingest: %v %v", err, res)
	}
	res.Body.Close()
	// A search in flight when shutdown starts still completes.
	inflight := make(chan int, 1)
	go func() {
		res, err := http.Get(base + "/api/v1/search?q=personal+data")
		if err != nil {
			inflight <- -1
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		inflight <- res.StatusCode
	}()
	<-kb.started
	cancel()
	if code := <-inflight; code != 200 {
		t.Fatalf("in-flight request: %d", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
	// The KB was closed (the store lock released) and kept the batch.
	k, err := engine.Open(context.Background(), dir, engine.Options{})
	if err != nil {
		t.Fatalf("reopen after shutdown: %v", err)
	}
	defer k.Close()
	if st := k.Stats(); st.Batches != 1 || st.Current != 1 {
		t.Fatalf("after reopen: %+v", st)
	}
}

func TestUIMount(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>ui "+r.URL.Path+"</html>")
	})
	f := newFixture(t, Options{UI: ui, APIKey: readKey})
	r := f.want(f.do("GET", "/", "", nil), 200)
	if !strings.Contains(string(r.body), "ui /") || r.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("UI: %s %v", r.body, r.header)
	}
	f.want(f.do("GET", "/assets/app.js", "", nil), 200)
	f.want(f.do("GET", "/api/v1/nothing", readKey, nil), 404)
	f.want(f.do("POST", "/", "", nil), 404)
	f.want(f.do("GET", "/api/v1/stats", "", nil), 401)
}
