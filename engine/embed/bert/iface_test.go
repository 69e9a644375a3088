package bert_test

import (
	"github.com/lakevec/lakevec/engine/embed"
	"github.com/lakevec/lakevec/engine/embed/bert"
)

// The encoder implements the engine's Embedder interface.
var _ embed.Embedder = (*bert.Encoder)(nil)
