package bert

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const python = "/usr/bin/python3"

// needTorch skips the test when the PyTorch reference cannot run.
func needTorch(t testing.TB) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import torch; print(torch.__version__)").CombinedOutput()
	if err != nil {
		t.Skipf("skipping: %s cannot import torch (install with `apt-get install -y python3-torch`): %v: %s",
			python, err, strings.TrimSpace(string(out)))
	}
}

// parityTexts have different lengths (so the reference pads the batch),
// including one longer than max_seq_length.
func parityTexts() []string {
	return []string{
		"hello world",
		"The weather is lovely today.",
		"It's so sunny outside! He drove to the stadium, playing guitar.",
		"a",
		strings.Repeat("the quick brown fox jumps over the lazy dog. ", 40), // > 256 tokens: truncated
		"Héllo wörld, the café is naïve — 中文 and zzz qqq unknown-ish tokens",
		strings.Repeat("the new movie is awesome ", 12),
	}
}

// TestParityWithPyTorch runs a randomly initialised model with exactly
// MiniLM's tensor names and shapes through this encoder and through the
// plain-PyTorch reference (testdata/bert_ref.py), over one padded batch.
func TestParityWithPyTorch(t *testing.T) {
	needTorch(t)
	t.Logf("seed %d", testSeed)
	dir, enc := sharedModel(t)
	texts := parityTexts()
	got, err := enc.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([][]int, len(texts))
	lens := map[int]bool{}
	for i, s := range texts {
		ids[i] = enc.Tokens(s)
		lens[len(ids[i])] = true
	}
	if len(ids[4]) != 256 || len(lens) < 5 {
		t.Fatalf("test texts should truncate at 256 and differ in length: %v", lens)
	}
	idsPath, outPath := filepath.Join(t.TempDir(), "ids.json"), filepath.Join(t.TempDir(), "out.json")
	b, _ := json.Marshal(ids)
	if err := os.WriteFile(idsPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "testdata/bert_ref.py", "embed", dir, idsPath, outPath)
	cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY=PASSIVE")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reference: %v\n%s", err, out)
	}
	var want [][]float64
	b, err = os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("reference returned %d vectors, want %d", len(want), len(got))
	}
	var maxDiff float64
	for i := range got {
		if len(got[i]) != 384 || len(want[i]) != 384 {
			t.Fatalf("vector %d: dims %d / %d", i, len(got[i]), len(want[i]))
		}
		for j := range got[i] {
			maxDiff = max(maxDiff, math.Abs(float64(got[i][j])-want[i][j]))
		}
	}
	t.Logf("parity: max |diff| = %.3g over %d vectors (token lengths %v)", maxDiff, len(got), lens)
	if maxDiff > 1e-4 || math.IsNaN(maxDiff) {
		t.Fatalf("max |diff| %g > 1e-4", maxDiff)
	}
}
