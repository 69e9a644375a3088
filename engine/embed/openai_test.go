package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	fakeDim    = 8
	fakeModel  = "fake-embed"
	testKeyEnv = "LAKEVEC_TEST_EMBED_KEY"
	testKey    = "sk-test-0123456789secret"
)

// fakeVector is the fake service's embedding of text: deterministic, not
// unit length.
func fakeVector(text string, dim int) []float64 {
	v := make([]float64, dim)
	for j := range v {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d:%s", j, text)
		v[j] = float64(int64(h.Sum64()%2001)-1000) / 100
	}
	v[0] += 50 // never the zero vector
	return v
}

// unit is fakeVector normalised, what the client must return.
func unit(v []float64) []float32 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x / math.Sqrt(s))
	}
	return out
}

// fakeService is an in-process /v1/embeddings. By default it answers every
// request with fakeVector of each input, in reverse order of index (so the
// client must sort). handle, when set, may answer instead (returning true).
type fakeService struct {
	t      *testing.T
	delay  time.Duration
	handle func(call int64, w http.ResponseWriter, r *http.Request, req embeddingsRequest) bool

	calls       atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	mu          sync.Mutex
	auth        []string
	batches     [][]string
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := f.calls.Add(1)
	cur := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for m := f.maxInFlight.Load(); cur > m && !f.maxInFlight.CompareAndSwap(m, cur); m = f.maxInFlight.Load() {
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" || r.Header.Get("Content-Type") != "application/json" {
		f.t.Errorf("request %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	var req embeddingsRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("request body: %v", err)
	}
	if req.Model != fakeModel || req.EncodingFormat != "float" {
		f.t.Errorf("request model %q encoding_format %q", req.Model, req.EncodingFormat)
	}
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.batches = append(f.batches, req.Input)
	f.mu.Unlock()
	if f.handle != nil && f.handle(call, w, r, req) {
		return
	}
	if f.delay > 0 && !wait(r, f.delay) {
		return
	}
	writeEmbeddings(w, req.Input, fakeDim)
}

// wait sleeps d unless the client goes away first.
func wait(r *http.Request, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

func writeEmbeddings(w http.ResponseWriter, inputs []string, dim int) {
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	}
	var data []item
	for i := len(inputs) - 1; i >= 0; i-- {
		data = append(data, item{"embedding", i, fakeVector(inputs[i], dim)})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object": "list", "data": data, "model": fakeModel,
		"usage": map[string]int{"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
	})
}

// newFake starts a fake service and an embedder for it with fast retries.
func newFake(t *testing.T, f *fakeService, edit func(*OpenAIConfig)) (*OpenAI, *fakeService) {
	t.Helper()
	f.t = t
	srv := httptest.NewServer(f)
	t.Setenv(testKeyEnv, testKey)
	cfg := OpenAIConfig{
		BaseURL: srv.URL + "/v1", Model: fakeModel, APIKeyEnv: testKeyEnv,
		Timeout: 5 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	o, err := NewOpenAI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		o.Close()
		srv.Close()
	})
	return o, f
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("text number %d", i)
	}
	return out
}

func checkVectors(t *testing.T, in []string, got [][]float32) {
	t.Helper()
	if len(got) != len(in) {
		t.Fatalf("%d vectors for %d texts", len(got), len(in))
	}
	for i, text := range in {
		want := unit(fakeVector(text, fakeDim))
		for j := range want {
			if math.Abs(float64(got[i][j]-want[j])) > 1e-6 {
				t.Fatalf("vector %d = %v, want %v", i, got[i], want)
			}
		}
	}
}

// TestOpenAIBatchingAndConcurrency: texts are split into batches, at most
// Concurrency requests are in flight over two concurrent Embed calls, the
// answers are put in order by index and normalised, and every request
// carries the key.
func TestOpenAIBatchingAndConcurrency(t *testing.T) {
	o, f := newFake(t, &fakeService{delay: 40 * time.Millisecond}, func(c *OpenAIConfig) {
		c.BatchSize, c.Concurrency = 3, 3
	})
	if o.ModelID() != "openai:"+fakeModel+"@"+strings.TrimPrefix(strings.TrimSuffix(o.cfg.BaseURL, "/v1"), "http://") {
		t.Errorf("model id %q", o.ModelID())
	}
	if o.Dim() != 0 {
		t.Errorf("Dim before any answer = %d", o.Dim())
	}
	in := texts(20)
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Go(func() {
			got, err := o.Embed(context.Background(), in)
			if err != nil {
				t.Error(err)
				return
			}
			checkVectors(t, in, got)
		})
	}
	wg.Wait()
	if o.Dim() != fakeDim {
		t.Errorf("Dim = %d, want %d learned from the answers", o.Dim(), fakeDim)
	}
	if n := f.calls.Load(); n != 2*7 {
		t.Errorf("%d requests, want 14 (2 calls x 7 batches of <= 3)", n)
	}
	if m := f.maxInFlight.Load(); m > 3 || m < 2 {
		t.Errorf("max requests in flight %d, want 2..3 (limit 3)", m)
	}
	for _, b := range f.batches {
		if len(b) > 3 {
			t.Errorf("batch of %d texts, limit 3", len(b))
		}
	}
	for _, a := range f.auth {
		if a != "Bearer "+testKey {
			t.Fatalf("Authorization %q", a)
		}
	}
}

func TestOpenAINoKeyNoAuthorization(t *testing.T) {
	o, f := newFake(t, &fakeService{}, nil)
	t.Setenv(testKeyEnv, "")
	o2, err := NewOpenAI(o.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o2.Close()
	if _, err := o2.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if f.auth[0] != "" {
		t.Errorf("Authorization %q sent without a key", f.auth[0])
	}
}

// TestOpenAIRetryAfter: a 429 with Retry-After: 1 makes the client wait a
// second, then succeed.
func TestOpenAIRetryAfter(t *testing.T) {
	o, f := newFake(t, &fakeService{handle: func(call int64, w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) bool {
		if call == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"message":"Rate limit reached","type":"requests"}}`)
			return true
		}
		return false
	}}, func(c *OpenAIConfig) { c.MaxBackoff = 5 * time.Second })
	start := time.Now()
	got, err := o.Embed(context.Background(), []string{"x"})
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, []string{"x"}, got)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %v, Retry-After asked for 1s", d)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestOpenAIServerErrorThenSuccess(t *testing.T) {
	o, f := newFake(t, &fakeService{handle: func(call int64, w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) bool {
		switch call {
		case 1:
			http.Error(w, "internal error", http.StatusInternalServerError)
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		default:
			return false
		}
		return true
	}}, nil)
	got, err := o.Embed(context.Background(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, []string{"a", "b"}, got)
	if n := f.calls.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// TestOpenAITimeoutThenSuccess: an attempt that exceeds Timeout is
// abandoned and retried.
func TestOpenAITimeoutThenSuccess(t *testing.T) {
	o, f := newFake(t, &fakeService{handle: func(call int64, _ http.ResponseWriter, r *http.Request, _ embeddingsRequest) bool {
		if call == 1 {
			wait(r, 10*time.Second)
			return true
		}
		return false
	}}, func(c *OpenAIConfig) { c.Timeout = 200 * time.Millisecond })
	start := time.Now()
	if _, err := o.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v: the timeout did not cut the slow attempt", d)
	}
}

func TestOpenAIRetriesExhausted(t *testing.T) {
	o, f := newFake(t, &fakeService{handle: func(_ int64, w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":"model is loading"}`)
		return true
	}}, func(c *OpenAIConfig) { c.MaxRetries = 2 })
	_, err := o.Embed(context.Background(), []string{"a"})
	var se *ServiceError
	if !errors.As(err, &se) || se.StatusCode != 503 || se.Message != "model is loading" {
		t.Fatalf("err = %v, want a 503 ServiceError with the service's message", err)
	}
	if !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("error does not say how often it tried: %v", err)
	}
	if n := f.calls.Load(); n != 3 {
		t.Errorf("%d requests, want 3 (1 + MaxRetries 2)", n)
	}
}

// TestOpenAIBadAnswers: malformed or inconsistent 200 answers fail at once,
// without retries, with a message that says what is wrong.
func TestOpenAIBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		dim        int
		want       string
	}{
		{"not json", `{"data": [`, 0, "malformed answer"},
		{"html", `<html>bad gateway</html>`, 0, "malformed answer"},
		{"NaN literal", `{"data":[{"index":0,"embedding":[NaN, 1]}]}`, 0, "malformed answer"},
		{"overflows float32", `{"data":[{"index":0,"embedding":[1e39, 1]},{"index":1,"embedding":[0,1]}]}`, 0, "component 0 is 1e+39, not a finite float32"},
		{"no data", `{"object":"list"}`, 0, `no "data" list`},
		{"error in a 200", `{"error":{"message":"input too long"}}`, 0, "answer has no data: input too long"},
		{"wrong count", `{"data":[{"index":0,"embedding":[1,0]}]}`, 0, "answer has 1 embeddings for 2 texts"},
		{"index out of range", `{"data":[{"index":0,"embedding":[1,0]},{"index":2,"embedding":[0,1]}]}`, 0, "index 2 for 2 texts"},
		{"index twice", `{"data":[{"index":1,"embedding":[1,0]},{"index":1,"embedding":[0,1]}]}`, 0, "index 1 twice"},
		{"wrong dimension", `{"data":[{"index":0,"embedding":[1,0]},{"index":1,"embedding":[0,1]}]}`, 3, "embedding of texts[0]: dimension 2, want 3"},
		{"mixed dimensions", `{"data":[{"index":0,"embedding":[1,0]},{"index":1,"embedding":[0,1,0]}]}`, 0, "embedding of texts[1]: dimension 3, want 2"},
		{"zero vector", `{"data":[{"index":0,"embedding":[1,0]},{"index":1,"embedding":[0,0]}]}`, 0, "texts[1]: zero vector"},
		{"empty vector", `{"data":[{"index":0,"embedding":[]},{"index":1,"embedding":[0,1]}]}`, 0, "texts[0]: empty vector"},
		{"base64", `{"data":[{"index":0,"embedding":"AAAA"},{"index":1,"embedding":"AAAA"}]}`, 0, "malformed answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, f := newFake(t, &fakeService{handle: func(_ int64, w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) bool {
				fmt.Fprint(w, tc.body)
				return true
			}}, func(c *OpenAIConfig) { c.Dim = tc.dim })
			_, err := o.Embed(context.Background(), []string{"a", "b"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if n := f.calls.Load(); n != 1 {
				t.Errorf("%d requests: a bad answer must not be retried", n)
			}
		})
	}
}

// TestOpenAIUnauthorized: a 401 is not retried, and the error carries the
// service's message with the key blanked out.
func TestOpenAIUnauthorized(t *testing.T) {
	o, f := newFake(t, &fakeService{handle: func(_ int64, w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) bool {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}`, testKey)
		return true
	}}, nil)
	_, err := o.Embed(context.Background(), []string{"a"})
	var se *ServiceError
	if !errors.As(err, &se) || se.StatusCode != 401 {
		t.Fatalf("err = %v, want a 401 ServiceError", err)
	}
	msg := err.Error()
	for _, want := range []string{"401 Unauthorized", "Incorrect API key provided: [API key].", "check the API key in $" + testKeyEnv, fakeModel} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, testKey) || strings.Contains(msg, "0123456789secret") {
		t.Errorf("error shows the API key: %s", msg)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d requests: a 401 must not be retried", n)
	}
}

func TestOpenAIContextCancel(t *testing.T) {
	hang := func(_ int64, _ http.ResponseWriter, r *http.Request, _ embeddingsRequest) bool {
		wait(r, 10*time.Second)
		return true
	}
	busy := func(_ int64, w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) bool {
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	for name, h := range map[string]func(int64, http.ResponseWriter, *http.Request, embeddingsRequest) bool{
		"during a request": hang, "during a backoff": busy,
	} {
		t.Run(name, func(t *testing.T) {
			o, _ := newFake(t, &fakeService{handle: h}, func(c *OpenAIConfig) {
				c.MaxBackoff, c.Timeout, c.BatchSize = 30*time.Second, 30*time.Second, 1
			})
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := o.Embed(ctx, texts(10))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want the context's error", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("returned %v after the context ended", d)
			}
		})
	}
}

func TestOpenAIEmptyText(t *testing.T) {
	o, f := newFake(t, &fakeService{}, nil)
	_, err := o.Embed(context.Background(), []string{"a", ""})
	var ee *EmptyTextError
	if !errors.As(err, &ee) || ee.Index != 1 {
		t.Fatalf("err = %v, want EmptyTextError at 1", err)
	}
	if f.calls.Load() != 0 {
		t.Error("sent a request with an empty text")
	}
	got, err := o.Embed(context.Background(), nil)
	if err != nil || len(got) != 0 || f.calls.Load() != 0 {
		t.Errorf("Embed(nil) = %v, %v after %d requests", got, err, f.calls.Load())
	}
}

// TestOpenAIUnitVectorsKept: vectors already within 1e-3 of unit length
// are returned exactly as sent.
func TestOpenAIUnitVectorsKept(t *testing.T) {
	o, _ := newFake(t, &fakeService{handle: func(_ int64, w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) bool {
		fmt.Fprint(w, `{"data":[{"index":0,"embedding":[0.6,0.8004]}]}`)
		return true
	}}, nil)
	got, err := o.Embed(context.Background(), []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[0], []float32{0.6, 0.8004}) {
		t.Errorf("got %v, want the vector as sent", got[0])
	}
}

func TestOpenAIConnectionRefusedNotRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	o, err := NewOpenAI(OpenAIConfig{BaseURL: url, Model: "m", MinBackoff: time.Second, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	_, err = o.Embed(context.Background(), []string{"a"})
	if err == nil || strings.Contains(err.Error(), "attempts") || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want connection refused on the first attempt", err)
	}
}

func TestOpenAIConfigValidate(t *testing.T) {
	if err := (OpenAIConfig{Model: "m"}).Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := OpenAIConfig{
		BaseURL: "ftp://example.com", APIKeyEnv: "sk-live-verysecret", BatchSize: 5000,
		Concurrency: -1, Timeout: -time.Second, MinBackoff: 2 * time.Second, MaxBackoff: time.Second, Dim: -3,
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"scheme must be http or https", "model is required", "APIKeyEnv is not an environment variable name",
		"batch size 5000", "concurrency -1", "timeout -1s", "min backoff 2s above max backoff 1s", "dimension -3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "verysecret") {
		t.Errorf("error shows APIKeyEnv's value, which may be a key: %v", err)
	}
	for base, want := range map[string]string{
		"https://api.openai.com/v1":  "https://api.openai.com/v1/embeddings",
		"http://localhost:11434":     "http://localhost:11434/v1/embeddings",
		"http://localhost:11434/":    "http://localhost:11434/v1/embeddings",
		"http://h:8080/v1/":          "http://h:8080/v1/embeddings",
		"http://h/openai/deployment": "http://h/openai/deployment/embeddings",
	} {
		u, err := endpointURL(base)
		if err != nil || u.String() != want {
			t.Errorf("endpoint of %q = %v, %v; want %s", base, u, err, want)
		}
	}
	for _, base := range []string{"localhost:11434", "http://", "http://h/v1?x=1", "::"} {
		if _, err := endpointURL(base); err == nil {
			t.Errorf("endpoint of %q: no error", base)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		header, value string
		want          time.Duration
		ok            bool
	}{
		{"Retry-After", "7", 7 * time.Second, true},
		{"Retry-After", "0", 0, true},
		{"Retry-After", "Fri, 02 Jan 2026 03:04:35 GMT", 30 * time.Second, true},
		{"Retry-After", "Fri, 02 Jan 2026 03:00:00 GMT", 0, true},
		{"Retry-After", "-3", 0, false},
		{"Retry-After", "soon", 0, false},
		{"Retry-After", "99999999999", 1e6 * time.Second, true},
		{"Retry-After-Ms", "250", 250 * time.Millisecond, true},
		{"Retry-After-Ms", "nope", 0, false},
		{"X-Other", "5", 0, false},
	} {
		h := http.Header{}
		h.Set(tc.header, tc.value)
		got, ok := parseRetryAfter(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %s = %v, %v; want %v, %v", tc.header, tc.value, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	const lo, hi = 100 * time.Millisecond, time.Second
	for _, tc := range []struct {
		attempt int
		u       float64
		want    time.Duration
	}{
		{0, 0.5, 50 * time.Millisecond},
		{1, 0.5, 100 * time.Millisecond},
		{3, 0.5, 400 * time.Millisecond},
		{4, 0.5, 500 * time.Millisecond}, // 1.6s capped at 1s
		{70, 0.5, 500 * time.Millisecond},
		{2, 0, 0},
	} {
		if got := backoff(tc.attempt, lo, hi, tc.u); got != tc.want {
			t.Errorf("backoff(%d, u=%v) = %v, want %v", tc.attempt, tc.u, got, tc.want)
		}
	}
}
