package embed

import (
	"context"
	"errors"
	"fmt"
)

// Embedder kinds for Config.Kind.
const (
	KindLexical = "lexical" // the offline default: words, not meaning
	KindBERT    = "bert"    // the native BERT encoder (package bert)
	KindOpenAI  = "openai"  // an OpenAI-compatible embedding service
)

// DefaultBERTModel is the model the native encoder looks for when
// Config.ModelDir is empty.
const DefaultBERTModel = "sentence-transformers/all-MiniLM-L6-v2"

// Config selects and configures an embedder. The zero value is the lexical
// embedder.
type Config struct {
	// Kind is KindLexical, KindBERT or KindOpenAI. Default "" means
	// KindLexical.
	Kind string
	// ModelDir is the directory of the BERT model (config.json,
	// vocab.txt, weights). Only for KindBERT. Default "": the encoder looks
	// for DefaultBERTModel in the usual model caches.
	ModelDir string
	// OpenAI configures the service. Only for KindOpenAI.
	OpenAI OpenAIConfig
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	switch c.Kind {
	case "", KindLexical, KindBERT:
	case KindOpenAI:
		if err := c.OpenAI.Validate(); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("unknown embedder kind %q (want %s, %s or %s)", c.Kind, KindLexical, KindBERT, KindOpenAI))
	}
	if c.ModelDir != "" && c.Kind != KindBERT {
		errs = append(errs, fmt.Errorf("a model directory is only used by the %s embedder, not %s", KindBERT, c.kind()))
	}
	if len(errs) > 0 {
		return fmt.Errorf("embedder config: %w", errors.Join(errs...))
	}
	return nil
}

func (c Config) kind() string {
	if c.Kind == "" {
		return KindLexical
	}
	return c.Kind
}

// Open returns the embedder c selects. For KindBERT it loads the model from
// c.ModelDir (or finds DefaultBERTModel). For KindOpenAI with no
// OpenAIConfig.Dim it sends one short probe text, so that Dim is known on
// return and a wrong URL, model or key fails here; the probe obeys ctx.
func Open(ctx context.Context, c Config) (Embedder, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch c.kind() {
	case KindBERT:
		if openBERT == nil {
			return nil, errors.New("the bert embedder is not built into this binary yet (engine/embed/open_bert.go is excluded by its build tag)")
		}
		return openBERT(c.ModelDir)
	case KindOpenAI:
		o, err := NewOpenAI(c.OpenAI)
		if err != nil {
			return nil, err
		}
		if o.Dim() == 0 {
			if _, err := o.Embed(ctx, []string{"lakevec dimension probe"}); err != nil {
				o.Close()
				return nil, fmt.Errorf("probe the embedding dimension: %w", err)
			}
		}
		return o, nil
	}
	return NewLexical(), nil
}

// openBERT is set by open_bert.go when the native encoder is built in.
var openBERT func(dir string) (Embedder, error)

// Tokenizer is implemented by embedders whose model reads token ids, such
// as the native BERT encoder. Tokens returns the ids the model sees for
// text: special tokens included, after truncation to the model's maximum
// sequence length. The lexical embedder has no token ids; its Words method
// shows what it sees instead.
type Tokenizer interface {
	Tokens(text string) []int
}
