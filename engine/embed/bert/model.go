package bert

import (
	"fmt"
	"strings"

	"github.com/lakevec/lakevec/engine/embed/bert/gemm"
	"github.com/lakevec/lakevec/engine/embed/bert/safetensors"
)

// layer holds one encoder layer, with the Linear weights packed for gemm.
// Q, K and V are fused into one [3H, H] product.
type layer struct {
	qkv, attnOut, inter, out     gemm.PackedB
	qkvB, attnOutB, interB, outB []float32
	ln1G, ln1B, ln2G, ln2B       []float32
}

type model struct {
	cfg                      Config
	wordEmb, posEmb, typeEmb []float32
	embLNG, embLNB           []float32
	layers                   []layer
	pooling                  string    // "mean", "cls" or "max"
	ones                     []float32 // hidden_size 1s, for layerNorm
}

// loadWeights reads every tensor the encoder needs from a safetensors file
// and checks its shape. Tensor names may carry a "bert." prefix.
func loadWeights(f *safetensors.File, cfg Config) (*model, error) {
	prefix := ""
	if _, ok := f.Lookup("embeddings.word_embeddings.weight"); !ok {
		if _, ok := f.Lookup("bert.embeddings.word_embeddings.weight"); ok {
			prefix = "bert."
		}
	}
	if tr := f.Truncated(); len(tr) > 0 {
		more := ""
		if len(tr) > 3 {
			more = fmt.Sprintf(" and %d more", len(tr)-3)
		}
		return nil, fmt.Errorf("%s is truncated: %d of %d bytes; incomplete tensors: %s%s",
			f.Path(), f.Size(), f.ExpectedSize(), strings.Join(tr[:min(3, len(tr))], ", "), more)
	}
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	get := func(name string, shape ...int64) ([]float32, error) {
		full := prefix + name
		t, ok := f.Lookup(full)
		if !ok {
			return nil, fmt.Errorf("%s: missing tensor %q", f.Path(), full)
		}
		if len(t.Shape) != len(shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, want %v", f.Path(), full, t.Shape, shape)
		}
		for i := range shape {
			if t.Shape[i] != shape[i] {
				return nil, fmt.Errorf("%s: tensor %q has shape %v, want %v", f.Path(), full, t.Shape, shape)
			}
		}
		return f.Float32s(full)
	}
	m := &model{cfg: cfg, ones: make([]float32, H)}
	for i := range m.ones {
		m.ones[i] = 1
	}
	var err error
	load := func(dst *[]float32, name string, shape ...int64) {
		if err == nil {
			*dst, err = get(name, shape...)
		}
	}
	load(&m.wordEmb, "embeddings.word_embeddings.weight", int64(cfg.VocabSize), int64(H))
	load(&m.posEmb, "embeddings.position_embeddings.weight", int64(cfg.MaxPositionEmbeddings), int64(H))
	load(&m.typeEmb, "embeddings.token_type_embeddings.weight", int64(cfg.TypeVocabSize), int64(H))
	load(&m.embLNG, "embeddings.LayerNorm.weight", int64(H))
	load(&m.embLNB, "embeddings.LayerNorm.bias", int64(H))
	m.layers = make([]layer, cfg.NumHiddenLayers)
	for i := range m.layers {
		l := &m.layers[i]
		p := fmt.Sprintf("encoder.layer.%d.", i)
		var q, k, v, qb, kb, vb, ao, in, out []float32
		load(&q, p+"attention.self.query.weight", int64(H), int64(H))
		load(&k, p+"attention.self.key.weight", int64(H), int64(H))
		load(&v, p+"attention.self.value.weight", int64(H), int64(H))
		load(&qb, p+"attention.self.query.bias", int64(H))
		load(&kb, p+"attention.self.key.bias", int64(H))
		load(&vb, p+"attention.self.value.bias", int64(H))
		load(&ao, p+"attention.output.dense.weight", int64(H), int64(H))
		load(&l.attnOutB, p+"attention.output.dense.bias", int64(H))
		load(&l.ln1G, p+"attention.output.LayerNorm.weight", int64(H))
		load(&l.ln1B, p+"attention.output.LayerNorm.bias", int64(H))
		load(&in, p+"intermediate.dense.weight", int64(I), int64(H))
		load(&l.interB, p+"intermediate.dense.bias", int64(I))
		load(&out, p+"output.dense.weight", int64(H), int64(I))
		load(&l.outB, p+"output.dense.bias", int64(H))
		load(&l.ln2G, p+"output.LayerNorm.weight", int64(H))
		load(&l.ln2B, p+"output.LayerNorm.bias", int64(H))
		if err != nil {
			return nil, err
		}
		qkv := make([]float32, 0, 3*H*H)
		qkv = append(append(append(qkv, q...), k...), v...)
		gemm.PackNK(&l.qkv, qkv, H, 3*H, H)
		l.qkvB = append(append(append(make([]float32, 0, 3*H), qb...), kb...), vb...)
		gemm.PackNK(&l.attnOut, ao, H, H, H)
		gemm.PackNK(&l.inter, in, H, I, H)
		gemm.PackNK(&l.out, out, I, H, I)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}
