package bert

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakevec/lakevec/hnsw/vec"
)

// findFullMiniLM looks for a complete all-MiniLM-L6-v2 directory:
// $LAKEVEC_MINILM_DIR, the Hugging Face cache, then shared/models.
func findFullMiniLM() (string, []string) {
	var looked []string
	if d := os.Getenv("LAKEVEC_MINILM_DIR"); d != "" {
		if isModelDir(d) {
			return d, nil
		}
		looked = append(looked, "$LAKEVEC_MINILM_DIR="+d)
	} else {
		looked = append(looked, "$LAKEVEC_MINILM_DIR (unset)")
	}
	d, err := FindModelDir("sentence-transformers/all-MiniLM-L6-v2")
	if err == nil {
		return d, nil
	}
	looked = append(looked, err.Error())
	if isModelDir(sharedMiniLMDir) {
		return sharedMiniLMDir, nil
	}
	looked = append(looked, filepath.Join(sharedMiniLMDir, "model.safetensors")+" (absent: shared/ has only a partial file)")
	return "", looked
}

// TestReferenceSimilarities checks the published sentence-transformers
// outputs of REFERENCE.md when the real weights are available.
func TestReferenceSimilarities(t *testing.T) {
	dir, looked := findFullMiniLM()
	if dir == "" {
		t.Skipf("skipping: no complete all-MiniLM-L6-v2 model directory; looked at:\n  %s", strings.Join(looked, "\n  "))
	}
	enc, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("model %s (%s)", enc.ModelID(), dir)
	ctx := context.Background()
	embed := func(texts ...string) [][]float32 {
		v, err := enc.Embed(ctx, texts)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	check := func(what string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.4f, want %.4f (±%g)", what, got, want, tol)
		}
	}
	// §1 cosine similarity and negative Manhattan distance, 4 decimals.
	s := []string{"The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."}
	v := embed(s...)
	cos := [3][3]float64{{1, 0.6660, 0.1046}, {0.6660, 1, 0.1411}, {0.1046, 0.1411, 1}}
	man := [3][3]float64{{0, -12.6269, -20.2167}, {-12.6269, 0, -20.1288}, {-20.2167, -20.1288, 0}}
	for i := range 3 {
		for j := range 3 {
			check("cos("+s[i]+", "+s[j]+")", float64(vec.Dot(v[i], v[j])), cos[i][j], 1.5e-4)
			var l1 float64
			for k := range v[i] {
				l1 += math.Abs(float64(v[i][k] - v[j][k]))
			}
			check("manhattan", -l1, man[i][j], 2e-3)
		}
	}
	// §2 cross similarities.
	s1 := []string{"The new movie is awesome", "The cat sits outside", "A man is playing guitar"}
	s2 := []string{"The dog plays in the garden", "The new movie is so great", "A woman watches TV"}
	cross := [3][3]float64{{0.0543, 0.8939, -0.0502}, {0.2838, -0.0029, 0.1310}, {0.2277, -0.0136, -0.0327}}
	a, b := embed(s1...), embed(s2...)
	for i := range 3 {
		for j := range 3 {
			check("cos("+s1[i]+", "+s2[j]+")", float64(vec.Dot(a[i], b[j])), cross[i][j], 1.5e-4)
		}
	}
	// §3 first values of "hello world", embedded in a batch with "flag embedding".
	hw := embed("hello world", "flag embedding")[0]
	for i, w := range []float64{-0.034478, 0.03102, 0.00673, 0.02611, -0.039362} {
		check("hello world[i]", float64(hw[i]), w, 1e-3)
	}
	// §4 transformers.js (int8-quantised) values: loose.
	ex := embed("This is an example sentence", "Each sentence is converted")
	for i, w := range []float64{0.04592696577310562, 0.07328180968761444, 0.05400655046105385} {
		check("example[0]", float64(ex[0][i]), w, 2e-2)
	}
	for i, w := range []float64{0.08188057690858841, 0.10760223120450974, -0.013241755776107311} {
		check("example[1]", float64(ex[1][i]), w, 2e-2)
	}
}
