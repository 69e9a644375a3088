package bert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sharedMiniLMDir = "../../../../shared/models/all-minilm-l6-v2"

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir, enc := sharedModel(t)
	b, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	sum := sha256.Sum256(b)
	if want := "bert:" + filepath.Base(dir) + "@" + hex.EncodeToString(sum[:])[:12]; enc.ModelID() != want {
		t.Errorf("ModelID %q, want %q", enc.ModelID(), want)
	}
	if enc.Dim() != 384 || enc.MaxSeqLength() != 256 {
		t.Errorf("Dim %d MaxSeqLength %d", enc.Dim(), enc.MaxSeqLength())
	}
	if v, err := enc.Embed(context.Background(), nil); err != nil || len(v) != 0 {
		t.Errorf("Embed(nil) = %v, %v", v, err)
	}
	if v, err := enc.Embed(context.Background(), []string{""}); err != nil || len(v) != 1 || len(v[0]) != 384 {
		t.Errorf("Embed(\"\") = %v, %v", len(v), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := enc.Embed(ctx, []string{"hello"}); err == nil {
		t.Error("Embed with a cancelled context succeeded")
	}

	for _, c := range []struct {
		name  string
		edit  func(d string)
		wants []string
	}{
		{"missing dir", func(d string) { os.RemoveAll(d) }, []string{"model directory"}},
		{"no config", func(d string) { os.Remove(filepath.Join(d, "config.json")) }, []string{"config.json"}},
		{"bad config", func(d string) {
			os.WriteFile(filepath.Join(d, "config.json"), []byte(`{"hidden_size": 384, "num_attention_heads": 5, "hidden_act": "swish"}`), 0o644)
		}, []string{"config.json", "not a multiple", "swish", "num_hidden_layers"}},
		{"no weights", func(d string) { os.Remove(filepath.Join(d, "model.safetensors")) }, []string{"model.safetensors does not exist"}},
		{"no tokenizer", func(d string) { os.Remove(filepath.Join(d, "vocab.txt")) }, []string{"tokenizer.json", "vocab.txt"}},
		{"bad pooling", func(d string) {
			os.WriteFile(filepath.Join(d, "1_Pooling", "config.json"), []byte(`{"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true}`), 0o644)
		}, []string{"1_Pooling", "exactly one pooling mode"}},
		{"max_seq_length", func(d string) {
			os.WriteFile(filepath.Join(d, "sentence_bert_config.json"), []byte(`{"max_seq_length": 1000}`), 0o644)
		}, []string{"sentence_bert_config.json", "max_seq_length 1000"}},
		{"truncated weights", func(d string) {
			p := filepath.Join(d, "model.safetensors")
			b, _ := os.ReadFile(p)
			os.Remove(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, []string{"model.safetensors is truncated", "incomplete tensors"}},
		{"wrong shape", func(d string) {
			ts := randomMiniLM(testSeed)
			for i := range ts {
				if ts[i].name == "encoder.layer.3.intermediate.dense.weight" {
					ts[i].shape = []int{384, 1536}
				}
			}
			os.Remove(filepath.Join(d, "model.safetensors"))
			writeSafetensors(filepath.Join(d, "model.safetensors"), ts)
		}, []string{`"encoder.layer.3.intermediate.dense.weight" has shape [384 1536], want [1536 384]`}},
	} {
		d := t.TempDir()
		for _, f := range []string{"config.json", "vocab.txt", "tokenizer_config.json", "sentence_bert_config.json", "1_Pooling/config.json"} {
			copyFile(t, filepath.Join(dir, f), filepath.Join(d, f))
		}
		// The 90 MB weights are linked, not copied; edits remove the link first.
		if err := os.Symlink(filepath.Join(dir, "model.safetensors"), filepath.Join(d, "model.safetensors")); err != nil {
			t.Fatal(err)
		}
		c.edit(d)
		_, err := Load(d)
		if err == nil {
			t.Errorf("%s: Load succeeded", c.name)
			continue
		}
		for _, w := range c.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

// TestPartialMiniLMWeights: the shared prefix of the official file loads its
// header but is reported as truncated, naming the tensors.
func TestPartialMiniLMWeights(t *testing.T) {
	partial := filepath.Join(sharedMiniLMDir, "partial", "model.safetensors.first-851968-bytes")
	if _, err := os.Stat(partial); err != nil {
		t.Skipf("skipping: %s not found", partial)
	}
	d := t.TempDir()
	for _, f := range []string{"config.json", "tokenizer.json", "sentence_bert_config.json", "1_Pooling/config.json"} {
		copyFile(t, filepath.Join(sharedMiniLMDir, f), filepath.Join(d, f))
	}
	copyFile(t, partial, filepath.Join(d, "model.safetensors"))
	_, err := Load(d)
	if err == nil || !strings.Contains(err.Error(), "851968 of 90868376 bytes") || !strings.Contains(err.Error(), "embeddings.word_embeddings.weight") {
		t.Fatalf("err = %v", err)
	}
}
