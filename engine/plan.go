package engine

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"unicode"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/lakevec/lakevec/engine/align"
	"github.com/lakevec/lakevec/engine/chunk"
	"github.com/lakevec/lakevec/engine/embed"
)

// embedBatch is how many texts go to the embedder per call.
const embedBatch = 64

// plan computes a batch without side effects: for each document, chunk
// and align against the stored version, assign rows and keys, decide which
// texts need embedding, and embed them (embedding is the one slow step, and
// its results go into the WAL record so recovery never re-embeds).
func (k *KB) plan(ctx context.Context, docs []DocInput, at int64, rep *Report) (*batch, error) {
	b := &batch{Seq: k.log.NextSeq(), Coll: k.coll, At: at, NextRow: k.meta.NextRow, Embeddings: map[string][]float32{}}
	var toEmbed []string         // hashes, in first-seen order
	texts := map[string]string{} // hash -> text
	cached := map[string]bool{}
	err := k.db.View(func(txn *badger.Txn) error {
		for _, d := range docs {
			var st docState
			found, err := getRecord(txn, docKey(k.coll, d.DocID), kindDoc, &st)
			if err != nil {
				return err
			}
			if found && st.LastAt > at {
				return fmt.Errorf("document %q: version at %s is older than its latest at %s: %w",
					d.DocID, fmtMs(at), fmtMs(st.LastAt), ErrOutOfOrder)
			}
			if !found {
				st = docState{DocID: d.DocID, NextKey: 1}
			}
			dr := DocReport{DocID: d.DocID}
			ver := docVersion{Seq: b.Seq, At: at}
			closeRow := func(row uint32) error {
				var cv chunkVersion
				ok, err := getRecord(txn, rowKey(k.coll, row), kindRow, &cv)
				if err != nil {
					return err
				}
				if !ok {
					return &CorruptStoreError{Key: string(rowKey(k.coll, row)), Reason: fmt.Sprintf("document %q lists row %d, which is missing", d.DocID, row)}
				}
				cv.To, cv.SeqTo = at, b.Seq
				b.Closed = append(b.Closed, cv)
				return nil
			}
			if d.Delete {
				if !found || st.Deleted {
					dr.Op = "missing"
					rep.Docs = append(rep.Docs, dr)
					continue
				}
				for _, c := range st.Chunks {
					if err := closeRow(c.Row); err != nil {
						return err
					}
				}
				dr.Op, dr.Removed = "deleted", len(st.Chunks)
				ver.Op = "delete"
				ver.Counts = map[string]int{"removed": dr.Removed}
				st.Deleted, st.Chunks = true, nil
				st.LastAt, st.LastSeq = at, b.Seq
				st.Versions++
				b.Docs = append(b.Docs, docUpdate{State: st, Version: ver})
				rep.Docs = append(rep.Docs, dr)
				continue
			}
			chunks := chunk.Split(d.Text, chunk.Options{MaxTokens: k.opts.MaxTokens, Tokens: k.opts.Tokens})
			hashes := make([]align.Hash, len(chunks))
			hexes := make([]string, len(chunks))
			for i, c := range chunks {
				hashes[i] = chunk.Hash(c.Text)
				hexes[i] = hexHash(hashes[i])
			}
			stored := make([]align.Stored, len(st.Chunks))
			for i, c := range st.Chunks {
				var h align.Hash
				if n, err := hex.Decode(h[:], []byte(c.Hash)); err != nil || n != 32 {
					return &CorruptStoreError{Key: string(docKey(k.coll, d.DocID)), Reason: fmt.Sprintf("chunk %d has a bad hash", i)}
				}
				stored[i] = align.Stored{Key: c.Key, Hash: h}
			}
			oldWords := map[int]map[string]bool{} // stored chunk -> its words, read once
			similar := func(oi, nj int) bool {
				w, ok := oldWords[oi]
				if !ok {
					var cv chunkVersion
					if found, err := getRecord(txn, rowKey(k.coll, st.Chunks[oi].Row), kindRow, &cv); found && err == nil {
						w = wordSet(cv.Text)
					}
					oldWords[oi] = w
				}
				return similarWords(w, wordSet(chunks[nj].Text))
			}
			res := align.Align(stored, hashes, func() uint32 { st.NextKey++; return st.NextKey - 1 }, similar)
			rowOf := map[uint32]uint32{}
			for _, c := range st.Chunks {
				rowOf[c.Key] = c.Row
			}
			newChunks := make([]docChunk, len(chunks))
			changed := len(chunks) != len(st.Chunks) || st.Deleted
			for _, rc := range res.Chunks {
				c := chunks[rc.Pos]
				dc := docChunk{Key: rc.Key, Hash: hexes[rc.Pos], Sep: c.Sep}
				switch rc.Kind {
				case align.Unchanged, align.Moved:
					dc.Row = rowOf[rc.Key]
					if rc.Kind == align.Moved {
						dr.Moved++
						changed = true
					} else {
						dr.Unchanged++
						if rc.OldPos != rc.Pos || st.Chunks[rc.OldPos].Sep != c.Sep {
							changed = true // the layout changed: a new version, no new chunk
						}
					}
				case align.Modified, align.Added:
					changed = true
					dc.Row = b.NextRow
					b.NextRow++
					cv := chunkVersion{Row: dc.Row, DocID: d.DocID, Key: rc.Key, Hash: dc.Hash, Text: c.Text,
						Position: rc.Pos, From: at, To: openEnd, SeqFrom: b.Seq}
					if rc.Kind == align.Modified {
						cv.Parent = rc.Parent
						dr.Modified++
						if err := closeRow(rowOf[rc.Parent]); err != nil {
							return err
						}
					} else {
						dr.Added++
					}
					b.Opened = append(b.Opened, cv)
					rep.NewVersions++
					if _, ok := texts[dc.Hash]; !ok {
						texts[dc.Hash] = c.Text
						if k.hasEmbedding(txn, dc.Hash) {
							cached[dc.Hash] = true
						} else {
							toEmbed = append(toEmbed, dc.Hash)
							dr.Embedded++
						}
					}
					if cached[dc.Hash] {
						rep.CacheHits++
					}
				}
				newChunks[rc.Pos] = dc
			}
			for _, s := range res.Removed {
				dr.Removed++
				changed = true
				if err := closeRow(rowOf[s.Key]); err != nil {
					return err
				}
			}
			dr.Chunks = len(chunks)
			rep.Chunks += len(chunks)
			if !changed {
				dr.Op = "unchanged"
				rep.Docs = append(rep.Docs, dr)
				continue
			}
			dr.Op = "updated"
			if !found || st.Deleted {
				dr.Op = "added"
			}
			ver.Op, ver.Chunks = "upsert", newChunks
			ver.Counts = map[string]int{"added": dr.Added, "removed": dr.Removed, "unchanged": dr.Unchanged, "moved": dr.Moved, "modified": dr.Modified}
			st.Deleted, st.Chunks = false, newChunks
			st.LastAt, st.LastSeq = at, b.Seq
			st.Versions++
			b.Docs = append(b.Docs, docUpdate{State: st, Version: ver})
			rep.Docs = append(rep.Docs, dr)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	for i := 0; i < len(toEmbed); i += embedBatch {
		part := toEmbed[i:min(i+embedBatch, len(toEmbed))]
		in := make([]string, len(part))
		for j, h := range part {
			in[j] = texts[h]
		}
		vs, err := k.embedTexts(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("ingest: embed: %w", err)
		}
		if len(vs) != len(part) {
			return nil, fmt.Errorf("ingest: embedder returned %d vectors for %d texts", len(vs), len(part))
		}
		for j, h := range part {
			if len(vs[j]) != k.meta.Dim {
				return nil, fmt.Errorf("ingest: embedder returned a %d-dimensional vector, the collection holds %d", len(vs[j]), k.meta.Dim)
			}
			b.Embeddings[h] = vs[j]
		}
	}
	rep.Embedded = len(toEmbed)
	sort.Slice(b.Closed, func(i, j int) bool { return b.Closed[i].Row < b.Closed[j].Row })
	return b, nil
}

func (k *KB) hasEmbedding(txn *badger.Txn, hash string) bool {
	_, err := txn.Get(embKey(k.meta.ModelID, hash))
	return err == nil
}

// embedTexts embeds texts. A text the embedder finds nothing in (the
// lexical embedder on a chunk of only symbols, such as a long table rule)
// gets a direction derived from its content hash instead: it is found by
// its own text and is far from everything else. Other errors are returned.
func (k *KB) embedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	vs, err := k.emb.Embed(ctx, texts)
	var ete *embed.EmptyTextError
	if !errors.As(err, &ete) {
		return vs, err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, err := k.emb.Embed(ctx, []string{t})
		switch {
		case err == nil:
			out[i] = v[0]
		case errors.Is(err, embed.ErrEmptyText):
			out[i] = hashDirection(t, k.meta.Dim)
		default:
			return nil, err
		}
	}
	return out, nil
}

// hashDirection is a deterministic unit vector seeded by the SHA-256 of
// the normalised text, so a query differing from a chunk only in what
// normalisation removes (trailing blanks, line endings) gets its direction.
// Chunk texts are normalised already (Normalize is idempotent).
func hashDirection(text string, dim int) []float32 {
	h := chunk.Hash(chunk.Normalize(text))
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])))
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

// similarWords says whether b can be an edit of a: their sets of words
// overlap by at least 30 % (Jaccard). Lineage (a modified chunk's parent)
// is only recorded for such pairs.
func similarWords(wa, wb map[string]bool) bool {
	if len(wa) == 0 || len(wb) == 0 {
		return false
	}
	inter := 0
	for w := range wa {
		if wb[w] {
			inter++
		}
	}
	return float64(inter) >= 0.3*float64(len(wa)+len(wb)-inter)
}

func wordSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		out[w] = true
	}
	return out
}
