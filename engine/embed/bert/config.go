package bert

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Config is the subset of a Hugging Face BERT config.json the encoder uses.
type Config struct {
	ModelType             string  `json:"model_type"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	HiddenAct             string  `json:"hidden_act"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	VocabSize             int     `json:"vocab_size"`
	PositionEmbeddingType string  `json:"position_embedding_type"`
}

// validate reports every problem at once.
func (c *Config) validate() error {
	var errs []error
	if c.ModelType != "" && c.ModelType != "bert" {
		errs = append(errs, fmt.Errorf("model_type %q is not supported (want bert)", c.ModelType))
	}
	pos := func(name string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, is %d", name, v))
		}
	}
	pos("hidden_size", c.HiddenSize)
	pos("num_hidden_layers", c.NumHiddenLayers)
	pos("num_attention_heads", c.NumAttentionHeads)
	pos("intermediate_size", c.IntermediateSize)
	pos("max_position_embeddings", c.MaxPositionEmbeddings)
	pos("type_vocab_size", c.TypeVocabSize)
	pos("vocab_size", c.VocabSize)
	if c.NumAttentionHeads > 0 && c.HiddenSize%c.NumAttentionHeads != 0 {
		errs = append(errs, fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads))
	}
	switch c.HiddenAct {
	case "gelu", "gelu_new", "gelu_pytorch_tanh", "relu":
	default:
		errs = append(errs, fmt.Errorf("hidden_act %q is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)", c.HiddenAct))
	}
	if c.PositionEmbeddingType != "" && c.PositionEmbeddingType != "absolute" {
		errs = append(errs, fmt.Errorf("position_embedding_type %q is not supported (want absolute)", c.PositionEmbeddingType))
	}
	if c.LayerNormEps < 0 {
		errs = append(errs, fmt.Errorf("layer_norm_eps %g is negative", c.LayerNormEps))
	}
	return errors.Join(errs...)
}

// stConfig is what sentence-transformers adds around the transformer.
type stConfig struct {
	MaxSeqLength int  // sentence_bert_config.json max_seq_length
	DoLowerCase  bool // sentence_bert_config.json do_lower_case
	Pooling      string
}

func readJSON(path string, v any, optional bool) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

func loadConfig(dir string) (Config, error) {
	c := Config{LayerNormEps: 1e-12, HiddenAct: "gelu", TypeVocabSize: 2}
	p := filepath.Join(dir, "config.json")
	if _, err := readJSON(p, &c, false); err != nil {
		return c, fmt.Errorf("model config: %w", err)
	}
	if err := c.validate(); err != nil {
		return c, fmt.Errorf("%s: %w", p, err)
	}
	return c, nil
}

// loadSTConfig reads sentence_bert_config.json and 1_Pooling/config.json. Missing files mean sentence-transformers' defaults: the
// model's maximum length, mean pooling.
func loadSTConfig(dir string, cfg Config) (stConfig, error) {
	st := stConfig{MaxSeqLength: min(cfg.MaxPositionEmbeddings, 512), Pooling: "mean"}
	var sb struct {
		MaxSeqLength *int `json:"max_seq_length"`
		DoLowerCase  bool `json:"do_lower_case"`
	}
	p := filepath.Join(dir, "sentence_bert_config.json")
	if _, err := readJSON(p, &sb, true); err != nil {
		return st, err
	}
	if sb.MaxSeqLength != nil {
		if *sb.MaxSeqLength < 2 || *sb.MaxSeqLength > cfg.MaxPositionEmbeddings {
			return st, fmt.Errorf("%s: max_seq_length %d outside [2, max_position_embeddings %d]", p, *sb.MaxSeqLength, cfg.MaxPositionEmbeddings)
		}
		st.MaxSeqLength = *sb.MaxSeqLength
	}
	st.DoLowerCase = sb.DoLowerCase

	var pc struct {
		Dim          *int `json:"word_embedding_dimension"`
		CLS          bool `json:"pooling_mode_cls_token"`
		Mean         bool `json:"pooling_mode_mean_tokens"`
		Max          bool `json:"pooling_mode_max_tokens"`
		MeanSqrtLen  bool `json:"pooling_mode_mean_sqrt_len_tokens"`
		WeightedMean bool `json:"pooling_mode_weightedmean_tokens"`
		LastToken    bool `json:"pooling_mode_lasttoken"`
	}
	p = filepath.Join(dir, "1_Pooling", "config.json")
	found, err := readJSON(p, &pc, true)
	if err != nil {
		return st, err
	}
	if found {
		if pc.Dim != nil && *pc.Dim != cfg.HiddenSize {
			return st, fmt.Errorf("%s: word_embedding_dimension %d != hidden_size %d", p, *pc.Dim, cfg.HiddenSize)
		}
		n := 0
		for _, m := range []struct {
			on   bool
			name string
		}{{pc.CLS, "cls"}, {pc.Mean, "mean"}, {pc.Max, "max"}, {pc.MeanSqrtLen, "mean_sqrt_len"}, {pc.WeightedMean, "weightedmean"}, {pc.LastToken, "lasttoken"}} {
			if m.on {
				n++
				st.Pooling = m.name
			}
		}
		switch {
		case n != 1:
			return st, fmt.Errorf("%s: exactly one pooling mode must be set, %d are", p, n)
		case st.Pooling != "mean" && st.Pooling != "cls" && st.Pooling != "max":
			return st, fmt.Errorf("%s: pooling mode %s is not supported (mean, cls, max)", p, st.Pooling)
		}
	}
	return st, nil
}
