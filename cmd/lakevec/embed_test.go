package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

const goldenKey = "sk-golden-0123456789"

// runCLI is run with stdin set, so tests do not depend on the test
// binary's stdin. Exit codes are mapped as in run.
func runCLI(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetIn(stdin)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "lakevec: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsageError(err) {
		return exitUsage
	}
	return exitError
}

// fakeEmbeddings is a small /v1/embeddings: text → [len, 1, words, 2],
// which the client normalises. Model "unauthorized" answers 401 with a
// message that quotes the key, as some services do.
func fakeEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.URL.Path != "/v1/embeddings" {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	if req.Model == "unauthorized" {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		http.Error(w, `{"error":{"message":"Incorrect API key provided: `+key+`"}}`, http.StatusUnauthorized)
		return
	}
	type item struct {
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	}
	var data []item
	for i, t := range req.Input {
		data = append(data, item{i, []float64{float64(len(t)), 1, float64(len(strings.Fields(t))), 2}})
	}
	json.NewEncoder(w).Encode(map[string]any{"data": data, "model": req.Model})
}

// TestEmbedGolden runs the cases of testdata/embed in process and checks
// exit code, stdout and stderr. A case is
//
//	embed --flag --flag=value      (the command line after "lakevec")
//	arg: a TEXT argument           (any number, in order)
//	stdin: a line of stdin         (any number; "stdin:" alone is a blank line)
//	----
//	exit N, then stdout: and stderr: with their lines
//
// $URL in a flag is a fake OpenAI-compatible service. Regenerate the
// expected output with -rewrite.
func TestEmbedGolden(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(fakeEmbeddings))
	defer srv.Close()
	t.Setenv("OPENAI_API_KEY", goldenKey)
	host := strings.TrimPrefix(srv.URL, "http://")

	datadriven.RunTest(t, filepath.Join("testdata", "embed"), func(t *testing.T, d *datadriven.TestData) string {
		args := []string{d.Cmd}
		for _, a := range d.CmdArgs {
			args = append(args, strings.ReplaceAll(a.String(), "$URL", srv.URL))
		}
		var stdin strings.Builder
		for _, line := range strings.Split(d.Input, "\n") {
			switch {
			case line == "":
			case strings.HasPrefix(line, "arg: "):
				args = append(args, strings.TrimPrefix(line, "arg: "))
			case line == "stdin:" || strings.HasPrefix(line, "stdin: "):
				stdin.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "stdin:"), " ") + "\n")
			default:
				t.Fatalf("%s: input line %q: want \"arg: TEXT\" or \"stdin: LINE\"", d.Pos, line)
			}
		}
		var stdout, stderr bytes.Buffer
		code := runCLI(context.Background(), args, strings.NewReader(stdin.String()), &stdout, &stderr)
		var b strings.Builder
		fmt.Fprintf(&b, "exit %d\n", code)
		if stdout.Len() > 0 {
			b.WriteString("stdout:\n" + stdout.String())
		}
		if stderr.Len() > 0 {
			b.WriteString("stderr:\n" + stderr.String())
		}
		got := strings.ReplaceAll(strings.ReplaceAll(b.String(), srv.URL, "$URL"), host, "$HOST")
		if strings.Contains(got, goldenKey) {
			t.Errorf("%s: output shows the API key", d.Pos)
		}
		return got
	})
}

// TestEmbedRun goes through run itself, the entry point main uses.
func TestEmbedRun(t *testing.T) {
	var a, b, aerr, berr bytes.Buffer
	args := []string{"embed", "--json", "hello world"}
	if code := run(context.Background(), args, &a, &aerr); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, aerr.String())
	}
	runCLI(context.Background(), args, strings.NewReader(""), &b, &berr)
	if a.String() != b.String() || aerr.String() != berr.String() {
		t.Errorf("run and runCLI differ:\n%s%s\n%s%s", a.String(), aerr.String(), b.String(), berr.String())
	}
}

// TestEmbedTerminalStdin: with no TEXT and a character device on stdin
// (a terminal; /dev/null is one too) the command does not wait for lines.
func TestEmbedTerminalStdin(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	var stdout, stderr bytes.Buffer
	code := runCLI(context.Background(), []string{"embed"}, f, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "no TEXT") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// fakeTokenizer is an embedder with token ids and a maximum length, like
// the native BERT encoder.
type fakeTokenizer struct{ fakeDimEmbedder }

type fakeDimEmbedder struct{}

func (fakeDimEmbedder) ModelID() string { return "fake-bert" }
func (fakeDimEmbedder) Dim() int        { return 2 }
func (fakeDimEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = []float32{0.6, 0.8}
	}
	return out, nil
}
func (fakeTokenizer) Tokens(text string) []int {
	ids := []int{101}
	for range min(len(strings.Fields(text)), 4) {
		ids = append(ids, 7)
	}
	return append(ids, 102)
}
func (fakeTokenizer) MaxSeqLength() int { return 6 }

// TestEmbedPrinterTokenizer covers the bert branch of --tokens without the
// model: ids on stdout, and a notice when a text reaches the maximum length.
func TestEmbedPrinterTokenizer(t *testing.T) {
	for _, tc := range []struct {
		fl         embedFlags
		out, notes string
	}{
		{embedFlags{tokens: true}, "101 7 7 102\n101 7 7 7 7 102\n", "TEXT 2: 6 tokens, the model's maximum; the rest of the text is cut off\n"},
		{embedFlags{tokens: true, json: true},
			`{"text":"a b","model":"fake-bert","dim":2,"embedding":[0.6,0.8],"tokens":[101,7,7,102]}` + "\n" +
				`{"text":"a b c d e f","model":"fake-bert","dim":2,"embedding":[0.6,0.8],"tokens":[101,7,7,7,7,102]}` + "\n",
			"TEXT 2: 6 tokens, the model's maximum; the rest of the text is cut off\n"},
		{embedFlags{}, "fake-bert dim=2 [0.6000 0.8000] \"a b\"\nfake-bert dim=2 [0.6000 0.8000] \"a b c d e f\"\n", ""},
	} {
		var stdout, stderr bytes.Buffer
		p := &embedPrinter{e: fakeTokenizer{}, fl: tc.fl, out: bufio.NewWriter(&stdout), stderr: &stderr}
		err := p.print(context.Background(), []embedText{{"a b", "TEXT 1", true}, {"a b c d e f", "TEXT 2", true}})
		if err != nil {
			t.Fatal(err)
		}
		if stdout.String() != tc.out || stderr.String() != tc.notes {
			t.Errorf("%+v:\nstdout %q\nwant   %q\nstderr %q\nwant   %q", tc.fl, stdout.String(), tc.out, stderr.String(), tc.notes)
		}
	}
}
