package embed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the package when a test leaves goroutines of this package
// or HTTP connections behind.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := checkGoroutines(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func checkGoroutines() error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "checkGoroutines") {
				continue
			}
			if strings.Contains(g, "lakevec/engine/embed.") || strings.Contains(g, "net/http.(*persistConn)") ||
				strings.Contains(g, "net/http.(*conn).serve") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaked goroutines:\n%s", strings.Join(leaked, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, ok := range []Config{{}, {Kind: KindLexical}, {Kind: KindBERT}, {Kind: KindBERT, ModelDir: "/m"},
		{Kind: KindOpenAI, OpenAI: OpenAIConfig{Model: "m"}}} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
	err := Config{Kind: "word2vec", ModelDir: "/m"}.Validate()
	if err == nil || !strings.Contains(err.Error(), `unknown embedder kind "word2vec"`) || !strings.Contains(err.Error(), "model directory") {
		t.Errorf("err = %v", err)
	}
	err = Config{Kind: KindOpenAI}.Validate()
	if err == nil || !strings.Contains(err.Error(), "model is required") {
		t.Errorf("err = %v", err)
	}
}

func TestOpenDefaultIsLexical(t *testing.T) {
	e, err := Open(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.(*Lexical); !ok || e.ModelID() != LexicalModelID {
		t.Fatalf("Open(Config{}) = %T %s", e, e.ModelID())
	}
}

func TestOpenBERT(t *testing.T) {
	if openBERT != nil {
		t.Skip("the bert encoder is built in; its own tests cover loading")
	}
	_, err := Open(context.Background(), Config{Kind: KindBERT, ModelDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "open_bert.go") {
		t.Fatalf("err = %v, want a message that bert is not built in", err)
	}
}

// TestOpenOpenAIProbe: without a configured Dim, Open learns it with one
// request; with one, Open sends nothing; a failing service fails Open.
func TestOpenOpenAIProbe(t *testing.T) {
	o, f := newFake(t, &fakeService{}, nil)
	e, err := Open(context.Background(), Config{Kind: KindOpenAI, OpenAI: o.cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer e.(*OpenAI).Close()
	if e.Dim() != fakeDim || f.calls.Load() != 1 {
		t.Errorf("Dim %d after %d requests, want %d after 1", e.Dim(), f.calls.Load(), fakeDim)
	}

	cfg := o.cfg
	cfg.Dim = fakeDim
	e, err = Open(context.Background(), Config{Kind: KindOpenAI, OpenAI: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer e.(*OpenAI).Close()
	if e.Dim() != fakeDim || f.calls.Load() != 1 {
		t.Errorf("Dim %d after %d requests, want %d and no new request", e.Dim(), f.calls.Load(), fakeDim)
	}

	missing, _ := newFake(t, &fakeService{handle: func(_ int64, w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) bool {
		http.Error(w, `{"error":"model \"fake-embed\" not found, try pulling it first"}`, http.StatusNotFound)
		return true
	}}, nil)
	_, err = Open(context.Background(), Config{Kind: KindOpenAI, OpenAI: missing.cfg})
	var se *ServiceError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "probe") || !strings.Contains(err.Error(), "not found, try pulling it first") {
		t.Errorf("err = %v, want the probe's 404 with the service's message", err)
	}
}
