package bert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lakevec/lakevec/engine/embed/bert/safetensors"
	"github.com/lakevec/lakevec/engine/embed/bert/wordpiece"
)

// Batching limits for Embed: at most maxBatchSeqs sequences and
// maxBatchTokens tokens per forward pass (the FFN activations of a batch
// take maxBatchTokens × intermediate_size floats: 48 MiB for MiniLM).
const (
	maxBatchSeqs   = 64
	maxBatchTokens = 8192
)

// Encoder is a BERT sentence encoder loaded from a Hugging Face model
// directory. It implements engine/embed.Embedder and is safe for concurrent
// use; each Embed call uses all cores.
type Encoder struct {
	id      string
	tok     *wordpiece.Tokenizer
	m       *model
	st      stConfig
	workers atomic.Int32
	pool    sync.Pool // *workspace
}

// Load reads a Hugging Face sentence-transformers model directory:
// config.json, tokenizer.json (or vocab.txt), model.safetensors and the
// optional sentence_bert_config.json and 1_Pooling/config.json.
func Load(dir string) (*Encoder, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("bert: model directory: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("bert: model directory %s is not a directory", dir)
	}
	cfg, err := loadConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	st, err := loadSTConfig(dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	tok, err := wordpiece.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("bert: tokenizer: %w", err)
	}
	if n := tok.VocabSize(); n > cfg.VocabSize {
		return nil, fmt.Errorf("bert: tokenizer has %d ids but config.json vocab_size is %d", n, cfg.VocabSize)
	}
	wp := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(wp); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("bert: %s does not exist (only safetensors weights are supported)", wp)
		}
		return nil, fmt.Errorf("bert: %w", err)
	}
	sum, err := fileSHA256(wp)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	f, err := safetensors.Open(wp)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	defer f.Close()
	m, err := loadWeights(f, cfg)
	if err != nil {
		return nil, fmt.Errorf("bert: %w", err)
	}
	m.pooling = st.Pooling
	e := &Encoder{
		id:  "bert:" + modelName(dir) + "@" + sum[:12],
		tok: tok,
		m:   m,
		st:  st,
	}
	e.workers.Store(int32(workersDefault()))
	e.pool.New = func() any { return new(workspace) }
	return e, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// modelName is the repository name for a Hugging Face cache snapshot
// (.../models--org--name/snapshots/<rev>), else the directory's base name.
func modelName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	for p := abs; p != filepath.Dir(p); p = filepath.Dir(p) {
		if b := filepath.Base(p); strings.HasPrefix(b, "models--") {
			parts := strings.Split(strings.TrimPrefix(b, "models--"), "--")
			return parts[len(parts)-1]
		}
	}
	return filepath.Base(abs)
}

// ModelID names the model and its weights:
// "bert:<name>@<first 12 hex digits of sha256(model.safetensors)>".
func (e *Encoder) ModelID() string { return e.id }

// Dim is the hidden size (384 for all-MiniLM-L6-v2).
func (e *Encoder) Dim() int { return e.m.cfg.HiddenSize }

// MaxSeqLength is the truncation length in tokens, [CLS] and [SEP]
// included (sentence_bert_config.json max_seq_length; 256 for MiniLM).
func (e *Encoder) MaxSeqLength() int { return e.st.MaxSeqLength }

// Tokens returns the ids the encoder runs for text: [CLS] ... [SEP], after
// truncation to MaxSeqLength.
func (e *Encoder) Tokens(text string) []int {
	if e.st.DoLowerCase {
		text = strings.ToLower(text)
	}
	return e.tok.Encode(text, e.st.MaxSeqLength)
}

// CountTokens returns how many word pieces text makes, without special
// tokens and without truncation: what a chunker needs to keep a chunk
// inside the model's window (MaxSeqLength less [CLS] and [SEP]).
func (e *Encoder) CountTokens(text string) int {
	if e.st.DoLowerCase {
		text = strings.ToLower(text)
	}
	return len(e.tok.Tokenize(text))
}

// SetWorkers sets the number of goroutines per Embed call (default
// GOMAXPROCS at Load; n < 1 means 1). Calls already running keep theirs.
func (e *Encoder) SetWorkers(n int) { e.workers.Store(int32(max(1, n))) }

// Embed returns one L2-normalised vector per text, in order. Texts are
// tokenized, sorted by length and run in batches of similar length.
func (e *Encoder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	workers := int(e.workers.Load())
	seqs := make([][]int, len(texts))
	order := make([]int, len(texts))
	parallelFor(workers, len(texts), func(_, i int) {
		seqs[i] = e.Tokens(texts[i])
		order[i] = i
	})
	slices.SortStableFunc(order, func(a, b int) int { return len(seqs[a]) - len(seqs[b]) })
	out := make([][]float32, len(texts))
	ws := e.pool.Get().(*workspace)
	defer e.pool.Put(ws)
	for start := 0; start < len(order); {
		end, tokens := start, 0
		for end < len(order) && end-start < maxBatchSeqs && (end == start || tokens+len(seqs[order[end]]) <= maxBatchTokens) {
			tokens += len(seqs[order[end]])
			end++
		}
		batch := make([][]int, end-start)
		for i := range batch {
			batch[i] = seqs[order[start+i]]
		}
		vecs, err := e.m.forward(ctx, ws, workers, batch)
		if err != nil {
			return nil, err
		}
		for i, v := range vecs {
			out[order[start+i]] = v
		}
		start = end
	}
	return out, nil
}
