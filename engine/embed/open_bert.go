// Package bert must not import this package (its tests may, from package
// bert_test).

package embed

import (
	"fmt"

	"github.com/lakevec/lakevec/engine/embed/bert"
)

func init() { openBERT = openBERTEncoder }

// The encoder must keep implementing both interfaces.
var (
	_ Embedder  = (*bert.Encoder)(nil)
	_ Tokenizer = (*bert.Encoder)(nil)
)

// openBERTEncoder loads the native encoder from dir, or from the cached
// DefaultBERTModel when dir is empty. The *bert.Encoder it returns also
// implements Tokenizer.
func openBERTEncoder(dir string) (Embedder, error) {
	if dir == "" {
		d, err := bert.FindModelDir(DefaultBERTModel)
		if err != nil {
			return nil, fmt.Errorf("find the %s model (give its directory with --model-dir): %w", DefaultBERTModel, err)
		}
		dir = d
	}
	enc, err := bert.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load the bert model in %s: %w", dir, err)
	}
	return enc, nil
}
