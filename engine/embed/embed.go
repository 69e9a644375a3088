// Package embed turns text into vectors for ingest and for queries.
//
// Every embedder implements Embedder: batches in, vectors out, with the
// dimension and a model id. The model id is stored with each collection and
// is part of the embedding-cache key (model id + content hash), so vectors
// of two models are never mixed.
package embed

import "context"

// Embedder embeds batches of texts.
type Embedder interface {
	// ModelID names the model and everything that changes its output
	// (e.g. "lexical-hash-v1-384", "bert:all-MiniLM-L6-v2@<sha256 prefix>",
	// "openai:text-embedding-3-small@<base URL host>").
	ModelID() string
	// Dim is the length of every vector returned.
	Dim() int
	// Embed returns one vector per text, in order. Vectors are
	// L2-normalised unless the model id says otherwise.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}
