package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// OpenAIConfig configures an OpenAI-compatible embedding service: any server
// of POST /v1/embeddings, such as OpenAI, Ollama, vLLM,
// text-embeddings-inference, the llama.cpp server and LM Studio. The zero
// value of a field means its default.
type OpenAIConfig struct {
	// BaseURL is the API root that "/embeddings" is appended to, with the
	// version path as in OpenAI's SDKs: "https://api.openai.com/v1",
	// "http://localhost:11434/v1" (Ollama), "http://localhost:8000/v1"
	// (vLLM), "http://localhost:8080/v1" (text-embeddings-inference,
	// llama.cpp server), "http://localhost:1234/v1" (LM Studio). A URL
	// without a path gets "/v1". Default "https://api.openai.com/v1".
	BaseURL string
	// Model is the model name sent with each request, for example
	// "text-embedding-3-small" or "nomic-embed-text". Required.
	Model string
	// APIKeyEnv names the environment variable that holds the API key; it
	// is read once, by NewOpenAI. When the variable is unset or empty,
	// requests carry no Authorization header (local servers need none).
	// The key never appears in an error. Default "OPENAI_API_KEY".
	APIKeyEnv string
	// BatchSize is the most texts sent in one request. Default 64;
	// 1..2048 (OpenAI's limit).
	BatchSize int
	// Concurrency is the most requests in flight at once, over all Embed
	// calls on one embedder. Default 4; 1..256.
	Concurrency int
	// Timeout bounds one attempt of one request, from sending it to reading
	// the whole answer. An attempt that times out is retried. Default 60s.
	Timeout time.Duration
	// MaxRetries is how many times one request is retried after a 429, a
	// 408, a 5xx, a timeout or a network error. Other failures are not
	// retried: 4xx answers, malformed answers, connection refused, unknown
	// host and certificate errors. Default 5; negative means never retry.
	MaxRetries int
	// MinBackoff scales the wait before each retry: before retry n
	// (counting from 0) the client waits a random time in
	// [0, min(MaxBackoff, MinBackoff·2ⁿ)) ("full jitter"), unless the
	// answer had a Retry-After (or Retry-After-Ms) header, which is obeyed.
	// Default 500ms.
	MinBackoff time.Duration
	// MaxBackoff caps every wait between attempts, including the wait a
	// Retry-After header asks for. Default 30s.
	MaxBackoff time.Duration
	// Dim is the dimension every vector must have. Default 0: learn it from
	// the first answer (Open sends a one-text probe for that), after which
	// every answer must match it.
	Dim int
}

// Defaults of OpenAIConfig.
const (
	DefaultOpenAIBaseURL   = "https://api.openai.com/v1"
	DefaultOpenAIAPIKeyEnv = "OPENAI_API_KEY"
)

const (
	maxOpenAIBatch       = 2048
	maxOpenAIConcurrency = 256
	maxDim               = 1 << 16
	// maxResponseBytes bounds one answer: 2048 vectors of 3072 floats
	// written with 20 characters each is 126 MB.
	maxResponseBytes = 256 << 20
	// unitTolerance: vectors whose norm is within this of 1 are kept as
	// they are; others are divided by their norm.
	unitTolerance = 1e-3
)

// DefaultOpenAIConfig returns the defaults of every field; Model must still
// be set.
func DefaultOpenAIConfig() OpenAIConfig {
	return OpenAIConfig{
		BaseURL:     DefaultOpenAIBaseURL,
		APIKeyEnv:   DefaultOpenAIAPIKeyEnv,
		BatchSize:   64,
		Concurrency: 4,
		Timeout:     60 * time.Second,
		MaxRetries:  5,
		MinBackoff:  500 * time.Millisecond,
		MaxBackoff:  30 * time.Second,
	}
}

func (c *OpenAIConfig) setDefaults() {
	d := DefaultOpenAIConfig()
	if c.BaseURL == "" {
		c.BaseURL = d.BaseURL
	}
	if c.APIKeyEnv == "" {
		c.APIKeyEnv = d.APIKeyEnv
	}
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = d.MaxRetries
	} else if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = d.MinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = d.MaxBackoff
	}
}

// Validate reports every problem with c at once. Zero fields are read as
// their defaults.
func (c OpenAIConfig) Validate() error {
	c.setDefaults()
	var errs []error
	if _, err := endpointURL(c.BaseURL); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(c.Model) == "" {
		errs = append(errs, errors.New("model is required (the service's model name, e.g. text-embedding-3-small or nomic-embed-text)"))
	}
	if !validEnvName(c.APIKeyEnv) {
		// Never echo the value: it may be the key itself.
		errs = append(errs, errors.New("APIKeyEnv is not an environment variable name; it must name the variable that holds the key, not hold the key"))
	}
	if c.BatchSize < 1 || c.BatchSize > maxOpenAIBatch {
		errs = append(errs, fmt.Errorf("batch size %d out of range 1..%d", c.BatchSize, maxOpenAIBatch))
	}
	if c.Concurrency < 1 || c.Concurrency > maxOpenAIConcurrency {
		errs = append(errs, fmt.Errorf("concurrency %d out of range 1..%d", c.Concurrency, maxOpenAIConcurrency))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v is negative", c.Timeout))
	}
	if c.MinBackoff < 0 || c.MaxBackoff < 0 {
		errs = append(errs, fmt.Errorf("backoff %v..%v is negative", c.MinBackoff, c.MaxBackoff))
	} else if c.MinBackoff > c.MaxBackoff {
		errs = append(errs, fmt.Errorf("min backoff %v above max backoff %v", c.MinBackoff, c.MaxBackoff))
	}
	if c.Dim < 0 || c.Dim > maxDim {
		errs = append(errs, fmt.Errorf("dimension %d out of range 0..%d", c.Dim, maxDim))
	}
	if len(errs) > 0 {
		return fmt.Errorf("openai embedder options: %w", errors.Join(errs...))
	}
	return nil
}

// endpointURL returns the embeddings URL for a base URL.
func endpointURL(base string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("base URL %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("base URL %q has no host", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("base URL %q: no query or fragment allowed", u.Redacted())
	}
	p := strings.TrimRight(u.Path, "/")
	if p == "" {
		p = "/v1"
	}
	u.Path, u.RawPath = p+"/embeddings", ""
	return u, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || (c|0x20)-'a' < 26 || (i > 0 && c-'0' < 10)) {
			return false
		}
	}
	return true
}

// OpenAI embeds texts with an OpenAI-compatible embedding service. Embed
// splits the texts into batches of BatchSize, sends up to Concurrency of
// them at once, retries each as OpenAIConfig describes, and checks every
// answer: one vector per text (placed by its "index"), all of the same
// dimension, every component finite and non-zero overall. Vectors whose
// Euclidean norm is within 1e-3 of 1 are returned as the service sent them;
// others are divided by their norm, so every vector is L2-normalised.
//
// An OpenAI is safe for concurrent use. Close releases its idle
// connections.
type OpenAI struct {
	cfg      OpenAIConfig // defaults applied
	endpoint string       // POST target, password redacted in messages
	modelID  string
	apiKey   string
	client   *http.Client
	sem      chan struct{} // one token per request in flight
	dim      atomic.Int64  // 0 until known
}

// NewOpenAI returns an embedder for the service cfg describes. It reads the
// API key from the environment and does no I/O.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	u, err := endpointURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Concurrency
	o := &OpenAI{
		cfg:      cfg,
		endpoint: u.String(),
		modelID:  "openai:" + cfg.Model + "@" + u.Host,
		apiKey:   os.Getenv(cfg.APIKeyEnv),
		client:   &http.Client{Transport: tr},
		sem:      make(chan struct{}, cfg.Concurrency),
	}
	o.dim.Store(int64(cfg.Dim))
	return o, nil
}

// ModelID returns "openai:<model>@<host of the base URL>", e.g.
// "openai:text-embedding-3-small@api.openai.com" or
// "openai:nomic-embed-text@localhost:11434".
func (o *OpenAI) ModelID() string { return o.modelID }

// Dim returns the dimension of the vectors: OpenAIConfig.Dim if set, else
// the dimension of the first answer, or 0 before any answer arrived.
func (o *OpenAI) Dim() int { return int(o.dim.Load()) }

// Close closes idle connections. The embedder stays usable.
func (o *OpenAI) Close() { o.client.CloseIdleConnections() }

// Embed returns one L2-normalised vector per text, in order. An empty text
// is an *EmptyTextError (services reject it); a service that answers with
// an error status is a *ServiceError after the retries allowed. On the first
// failure the other batches are cancelled.
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	for i, t := range texts {
		if t == "" {
			return nil, &EmptyTextError{Index: i, Why: "it is empty, which embedding services reject"}
		}
	}
	out := make([][]float32, len(texts))
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	bs := o.cfg.BatchSize
loop:
	for start := 0; start < len(texts); start += bs {
		end := min(start+bs, len(texts))
		select {
		case o.sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Go(func() {
			defer func() { <-o.sem }()
			vecs, err := o.embedBatch(ctx, texts[start:end], start)
			if err != nil {
				fail(fmt.Errorf("texts[%d:%d]: %w", start, end, err))
				return
			}
			copy(out[start:end], vecs)
		})
	}
	wg.Wait()
	if err := parent.Err(); err != nil {
		return nil, fmt.Errorf("embed with %s: %w", o.modelID, err)
	}
	if firstErr != nil {
		return nil, fmt.Errorf("embed with %s (POST %s): %w", o.modelID, o.endpoint, firstErr)
	}
	return out, nil
}

// ServiceError is an error status from the embedding service, with the
// message the service gave (OpenAI's {"error":{"message":...}} and the
// shapes of the other servers), the API key blanked out.
type ServiceError struct {
	StatusCode int    // HTTP status, e.g. 401, 429, 503
	Message    string // the service's message, or the start of its body
	hint       string // what to check, for some statuses
}

// Error gives the status, the service's message and what to check.
func (e *ServiceError) Error() string {
	s := fmt.Sprintf("service answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.hint != "" {
		s += " (" + e.hint + ")"
	}
	return s
}

// hint says what to check after an error status.
func (o *OpenAI) hint(status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		if o.apiKey == "" {
			return "no API key was sent: $" + o.cfg.APIKeyEnv + " is unset or empty"
		}
		return "check the API key in $" + o.cfg.APIKeyEnv
	case http.StatusNotFound:
		return "check the base URL, which usually ends in /v1, and the model name"
	}
	return ""
}

// embedBatch sends one batch, retrying as configured. first is the index
// of batch[0] in the texts of the Embed call, for messages.
func (o *OpenAI) embedBatch(ctx context.Context, batch []string, first int) ([][]float32, error) {
	for attempt := 0; ; attempt++ {
		vecs, res := o.attempt(ctx, batch, first)
		if res.err == nil {
			return vecs, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !res.retry || attempt >= o.cfg.MaxRetries {
			if attempt > 0 {
				return nil, fmt.Errorf("%d attempts: %w", attempt+1, res.err)
			}
			return nil, res.err
		}
		wait := backoff(attempt, o.cfg.MinBackoff, o.cfg.MaxBackoff, randFloat())
		if res.hasRetryAfter {
			wait = min(res.retryAfter, o.cfg.MaxBackoff)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// attemptResult says how one attempt failed.
type attemptResult struct {
	err           error
	retry         bool
	retryAfter    time.Duration
	hasRetryAfter bool
}

type embeddingsRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
}

type embeddingsResponse struct {
	Data []struct {
		Index     *int      `json:"index"`
		Embedding []float64 `json:"embedding"`
	} `json:"data"`
}

// attempt sends one request and checks its answer.
func (o *OpenAI) attempt(ctx context.Context, batch []string, first int) ([][]float32, attemptResult) {
	actx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	body, err := json.Marshal(embeddingsRequest{Model: o.cfg.Model, Input: batch, EncodingFormat: "float"})
	if err != nil {
		return nil, attemptResult{err: err}
	}
	req, err := http.NewRequestWithContext(actx, http.MethodPost, o.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, attemptResult{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "lakevec")
	if o.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.apiKey)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, o.transportFailure(ctx, actx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, o.transportFailure(ctx, actx, fmt.Errorf("read answer: %w", err))
	}
	if len(data) > maxResponseBytes {
		return nil, attemptResult{err: fmt.Errorf("answer larger than %d bytes", maxResponseBytes)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res := attemptResult{
			err: &ServiceError{StatusCode: resp.StatusCode, Message: o.redact(serviceMessage(data)), hint: o.hint(resp.StatusCode)},
			retry: resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout ||
				resp.StatusCode >= 500,
		}
		res.retryAfter, res.hasRetryAfter = parseRetryAfter(resp.Header, time.Now())
		return nil, res
	}
	vecs, err := o.decode(data, len(batch), first)
	if err != nil {
		return nil, attemptResult{err: err}
	}
	return vecs, attemptResult{}
}

// transportFailure classifies an error from sending or reading.
func (o *OpenAI) transportFailure(ctx, actx context.Context, err error) attemptResult {
	if ctx.Err() != nil {
		return attemptResult{err: ctx.Err()}
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return attemptResult{err: fmt.Errorf("no answer within the timeout of %v", o.cfg.Timeout), retry: true}
	}
	return attemptResult{err: err, retry: retryableTransport(err)}
}

// decode parses and checks a 2xx answer for n texts.
func (o *OpenAI) decode(data []byte, n, first int) ([][]float32, error) {
	var r embeddingsResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("malformed answer (not the JSON of /v1/embeddings): %w%s", err, o.redact(snippet(data)))
	}
	if r.Data == nil {
		if msg := structuredMessage(data); msg != "" {
			return nil, fmt.Errorf("answer has no data: %s", o.redact(msg))
		}
		return nil, fmt.Errorf("malformed answer: no \"data\" list%s", o.redact(snippet(data)))
	}
	if len(r.Data) != n {
		return nil, fmt.Errorf("answer has %d embeddings for %d texts", len(r.Data), n)
	}
	out := make([][]float32, n)
	for pos, d := range r.Data {
		i := pos // a service that sends no index sends them in order
		if d.Index != nil {
			i = *d.Index
		}
		if i < 0 || i >= n {
			return nil, fmt.Errorf("answer has index %d for %d texts", i, n)
		}
		if out[i] != nil {
			return nil, fmt.Errorf("answer has index %d twice", i)
		}
		v, err := o.check(d.Embedding)
		if err != nil {
			return nil, fmt.Errorf("embedding of texts[%d]: %w", first+i, err)
		}
		out[i] = v
	}
	return out, nil
}

// check converts one vector, checks its dimension and values, and
// normalises it.
func (o *OpenAI) check(e []float64) ([]float32, error) {
	if len(e) == 0 {
		return nil, errors.New("empty vector")
	}
	if want := o.dim.Load(); want != 0 && int64(len(e)) != want {
		return nil, fmt.Errorf("dimension %d, want %d", len(e), want)
	}
	v := make([]float32, len(e))
	var sum float64
	for j, x := range e {
		f := float32(x)
		if math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
			return nil, fmt.Errorf("component %d is %v, not a finite float32", j, x)
		}
		v[j] = f
		sum += float64(f) * float64(f)
	}
	if sum == 0 {
		return nil, errors.New("zero vector (it has no direction)")
	}
	if norm := math.Sqrt(sum); math.Abs(norm-1) > unitTolerance {
		for j, f := range v {
			v[j] = float32(float64(f) / norm)
		}
	}
	if !o.dim.CompareAndSwap(0, int64(len(e))) {
		if want := o.dim.Load(); int64(len(e)) != want {
			return nil, fmt.Errorf("dimension %d, want %d", len(e), want)
		}
	}
	return v, nil
}

// redact blanks the API key out of a message from the service.
func (o *OpenAI) redact(s string) string {
	if o.apiKey == "" {
		return s
	}
	return strings.ReplaceAll(s, o.apiKey, "[API key]")
}

// serviceMessage extracts an error message from an answer body: the
// structured message if there is one, else the start of the body.
func serviceMessage(data []byte) string {
	if msg := structuredMessage(data); msg != "" {
		return msg
	}
	return clip(strings.TrimSpace(string(data)))
}

// structuredMessage finds the message in the JSON error shapes of the
// servers: OpenAI's {"error":{"message":...}}, {"error":"..."} (Ollama,
// text-embeddings-inference), {"message":...} (vLLM) and {"detail":...}
// (FastAPI servers). It returns "" when there is none.
func structuredMessage(data []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	var obj struct {
		Message string `json:"message"`
	}
	var str string
	switch {
	case json.Unmarshal(v.Error, &obj) == nil && obj.Message != "":
		return clip(obj.Message)
	case json.Unmarshal(v.Error, &str) == nil && str != "":
		return clip(str)
	case v.Message != "":
		return clip(v.Message)
	case json.Unmarshal(v.Detail, &str) == nil && str != "":
		return clip(str)
	case len(v.Detail) > 0 && string(v.Detail) != "null":
		return clip(string(v.Detail))
	}
	return ""
}

// clip shortens s to at most 500 bytes, on a rune boundary.
func clip(s string) string {
	const max = 500
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}

func snippet(data []byte) string {
	if len(data) == 0 {
		return " (empty body)"
	}
	return fmt.Sprintf(" (body starts %q)", clip(string(data[:min(len(data), 120)])))
}
