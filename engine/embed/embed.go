// Package embed turns text into vectors for ingest and for queries.
//
// Every embedder implements Embedder: batches in, vectors out, with the
// dimension and a model id. The model id is stored with each collection and
// is part of the embedding-cache key (model id + content hash), so vectors
// of two models are never mixed.
//
// Key types and functions:
//
//   - [Embedder]: the interface every embedder implements; [Tokenizer] is
//     the optional view of the token ids a model reads.
//   - [Config] and [Open]: choose an embedder by kind: "lexical" (the
//     default), "bert" (the native encoder in package bert) or "openai".
//   - [Lexical]: the offline default, feature hashing of words and word
//     pairs (lexical-hash-v1-384). It matches words, not meaning.
//   - [OpenAI] and [OpenAIConfig]: any OpenAI-compatible /v1/embeddings
//     service, with batching, a concurrency limit, timeouts and retries.
//   - [CheckModel] and [ModelMismatchError]: refuse to mix the vectors of
//     two models; the fix is `lakevec reembed`.
//   - [EmptyTextError], [ServiceError]: errors a caller can act on.
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
