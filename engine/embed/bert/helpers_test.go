package bert

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"unsafe"
)

// miniLMConfig is all-MiniLM-L6-v2's config.json (the fields we read).
var miniLMConfig = map[string]any{
	"architectures": []string{"BertModel"}, "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
	"hidden_dropout_prob": 0.1, "hidden_size": 384, "initializer_range": 0.02, "intermediate_size": 1536,
	"layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": 12,
	"num_hidden_layers": 6, "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
	"vocab_size": 30522,
}

type tensor struct {
	name  string
	dtype string
	shape []int
	f32   []float32
	i64   []int64
}

// writeSafetensors writes tensors (in the given order) as a safetensors file.
func writeSafetensors(path string, ts []tensor) error {
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var off int64
	for _, t := range ts {
		n := int64(len(t.f32)*4 + len(t.i64)*8)
		header[t.name] = map[string]any{"dtype": t.dtype, "shape": t.shape, "data_offsets": []int64{off, off + n}}
		off += n
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	buf := make([]byte, 8+len(hj), 8+len(hj)+int(off))
	binary.LittleEndian.PutUint64(buf, uint64(len(hj)))
	copy(buf[8:], hj)
	for _, t := range ts {
		if len(t.f32) > 0 { // little-endian host: the bytes are the file's
			buf = append(buf, unsafe.Slice((*byte)(unsafe.Pointer(&t.f32[0])), 4*len(t.f32))...)
		}
		for _, v := range t.i64 {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
		}
	}
	return os.WriteFile(path, buf, 0o644)
}

var (
	miniLMCacheMu sync.Mutex
	miniLMCache   = map[uint64][]tensor{}
)

// randomMiniLM returns (and caches: generating 23M normals is slow under
// -race) a randomly initialised model with exactly
// all-MiniLM-L6-v2's tensor names, dtypes and shapes (104 tensors).
func randomMiniLM(seed uint64) []tensor {
	miniLMCacheMu.Lock()
	defer miniLMCacheMu.Unlock()
	if ts, ok := miniLMCache[seed]; ok {
		return slices.Clone(ts)
	}
	ts := newRandomMiniLM(seed)
	miniLMCache[seed] = ts
	return slices.Clone(ts)
}

func newRandomMiniLM(seed uint64) []tensor {
	r := rand.New(rand.NewPCG(seed, 0x6d696e696c6d))
	const H, I, V, P, L = 384, 1536, 30522, 512, 6
	norm := func(n int, mean, std float64) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(mean + std*r.NormFloat64())
		}
		return s
	}
	w := func(name string, shape ...int) tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return tensor{name: name, dtype: "F32", shape: shape, f32: norm(n, 0, 0.05)}
	}
	ln := func(name string) []tensor {
		return []tensor{
			{name: name + ".weight", dtype: "F32", shape: []int{H}, f32: norm(H, 1, 0.05)},
			{name: name + ".bias", dtype: "F32", shape: []int{H}, f32: norm(H, 0, 0.05)},
		}
	}
	pos := make([]int64, P)
	for i := range pos {
		pos[i] = int64(i)
	}
	ts := []tensor{{name: "embeddings.position_ids", dtype: "I64", shape: []int{1, P}, i64: pos}}
	ts = append(ts, ln("embeddings.LayerNorm")...)
	ts = append(ts, w("embeddings.position_embeddings.weight", P, H), w("embeddings.token_type_embeddings.weight", 2, H),
		w("embeddings.word_embeddings.weight", V, H))
	for l := 0; l < L; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		for _, d := range []struct {
			n    string
			o, i int
		}{{"attention.self.query", H, H}, {"attention.self.key", H, H}, {"attention.self.value", H, H},
			{"attention.output.dense", H, H}, {"intermediate.dense", I, H}, {"output.dense", H, I}} {
			ts = append(ts, w(p+d.n+".weight", d.o, d.i), w(p+d.n+".bias", d.o))
		}
		ts = append(ts, ln(p+"attention.output.LayerNorm")...)
		ts = append(ts, ln(p+"output.LayerNorm")...)
	}
	ts = append(ts, w("pooler.dense.weight", H, H), w("pooler.dense.bias", H))
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	return ts
}

// testVocab is a 30522-entry BERT vocabulary: the special tokens at their
// usual ids, a few hundred words, "##" letter pieces and fillers.
func testVocab() []string {
	v := make([]string, 30522)
	for i := range v {
		v[i] = fmt.Sprintf("[unused%d]", i)
	}
	v[0], v[100], v[101], v[102], v[103] = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
	id := 1000
	add := func(s string) { v[id] = s; id++ }
	for c := 'a'; c <= 'z'; c++ {
		add(string(c))
		add("##" + string(c))
	}
	for _, p := range []string{".", ",", "!", "?", "'", "-", "(", ")"} {
		add(p)
	}
	for _, w := range []string{"the", "a", "is", "it", "so", "he", "to", "weather", "lovely", "today", "sunny",
		"outside", "drove", "stadium", "new", "movie", "awesome", "cat", "sits", "man", "playing", "guitar",
		"dog", "plays", "in", "garden", "great", "woman", "watches", "tv", "hello", "world", "this", "an",
		"example", "sentence", "##s", "##ing", "##ed", "quick", "brown", "fox", "jumps", "over", "lazy"} {
		add(w)
	}
	return v
}

func writeModelDir(dir string, seed uint64) error {
	write := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	}
	cfg, _ := json.Marshal(miniLMConfig)
	var vb bytes.Buffer
	for _, s := range testVocab() {
		vb.WriteString(s + "\n")
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"config.json", cfg},
		{"vocab.txt", vb.Bytes()},
		{"tokenizer_config.json", []byte(`{"do_lower_case": true, "tokenize_chinese_chars": true, "strip_accents": null}`)},
		{"sentence_bert_config.json", []byte(`{"max_seq_length": 256, "do_lower_case": false}`)},
		{"1_Pooling/config.json", []byte(`{"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}`)},
	} {
		if err := write(f.name, f.data); err != nil {
			return err
		}
	}
	return writeSafetensors(filepath.Join(dir, "model.safetensors"), randomMiniLM(seed))
}

// testSeed seeds the random MiniLM-shaped model that the tests share.
const testSeed = 20261122

var (
	sharedOnce sync.Once
	sharedDir  string
	sharedEnc  *Encoder
	sharedErr  error
)

// sharedModel returns a model directory (random MiniLM weights, testSeed)
// and its loaded Encoder, made once per test binary and removed by
// TestMain. Callers must not change the encoder's settings.
func sharedModel(t testing.TB) (string, *Encoder) {
	t.Helper()
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "bert-test-model-")
		if sharedErr != nil {
			return
		}
		sharedErr = writeModelDir(sharedDir, testSeed)
		if sharedErr == nil {
			sharedEnc, sharedErr = Load(sharedDir)
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedDir, sharedEnc
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}
