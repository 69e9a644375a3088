package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/lakevec/lakevec/wal"
)

// ReembedReport says what Reembed did.
type ReembedReport struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Texts    int    `json:"texts"`    // distinct chunk texts embedded
	Versions int    `json:"versions"` // chunk versions, current and historical
}

// Reembed switches a collection to another embedder: every distinct chunk
// text of every version, current and historical, is embedded with
// o.Embedder, the collection's model id and dimension change, and the index
// checkpoints are dropped so the next Open builds the indexes from the new
// vectors. Documents, versions and validity intervals are untouched. The
// lake history keeps the vectors it was written with. It refuses while the
// log holds unfinished batches.
func Reembed(ctx context.Context, dir string, o Options) (ReembedReport, error) {
	return ReembedProgress(ctx, dir, o, nil)
}

// ReembedProgress is Reembed calling progress (when not nil) after each
// batch of texts embedded, with the count done and the total.
func ReembedProgress(ctx context.Context, dir string, o Options, progress func(done, total int)) (ReembedReport, error) {
	var rep ReembedReport
	if o.Collection == "" {
		o.Collection = "docs"
	}
	if o.Embedder == nil {
		return rep, fmt.Errorf("reembed: no embedder")
	}
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, "store")).WithLogger(nil))
	if err != nil {
		return rep, fmt.Errorf("reembed %s: %w", dir, err)
	}
	defer db.Close()
	l, err := wal.Open(db, "batches", wal.Options{})
	if err != nil {
		return rep, err
	}
	if recs, err := l.Pending(); err != nil || len(recs) > 0 {
		return rep, fmt.Errorf("reembed: the write-ahead log holds unfinished batches (%v); open the data directory once first", err)
	}
	var meta collMeta
	texts := map[string]string{}
	err = db.View(func(txn *badger.Txn) error {
		found, err := getRecord(txn, metaKey(o.Collection), kindMeta, &meta)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("no collection %q in %s", o.Collection, dir)
		}
		return scanRecords(txn, rowPrefix(o.Collection), nil, kindRow, func(_ []byte, cv *chunkVersion) error {
			texts[cv.Hash] = cv.Text
			rep.Versions++
			return nil
		})
	})
	if err != nil {
		return rep, fmt.Errorf("reembed: %w", err)
	}
	rep.From, rep.To, rep.Texts = meta.ModelID, o.Embedder.ModelID(), len(texts)
	k := &KB{emb: o.Embedder, meta: collMeta{Dim: o.Embedder.Dim()}}
	hashes := sortedKeys(texts)
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	for i := 0; i < len(hashes); i += embedBatch {
		part := hashes[i:min(i+embedBatch, len(hashes))]
		in := make([]string, len(part))
		for j, h := range part {
			in[j] = texts[h]
		}
		vs, err := k.embedTexts(ctx, in)
		if err != nil {
			return rep, fmt.Errorf("reembed: %w", err)
		}
		for j, h := range part {
			if len(vs[j]) != o.Embedder.Dim() {
				return rep, fmt.Errorf("reembed: embedder returned %d dimensions, says %d", len(vs[j]), o.Embedder.Dim())
			}
			if err := wb.Set(embKey(rep.To, h), encodeVector(vs[j])); err != nil {
				return rep, err
			}
		}
		if progress != nil {
			progress(i+len(part), len(hashes))
		}
	}
	if err := wb.Flush(); err != nil {
		return rep, fmt.Errorf("reembed: %w", err)
	}
	// Switch the model only once every vector is stored.
	meta.ModelID, meta.Dim = rep.To, o.Embedder.Dim()
	b, err := encodeRecord(kindMeta, &meta)
	if err != nil {
		return rep, err
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(metaKey(o.Collection), b) }); err != nil {
		return rep, err
	}
	if err := db.Sync(); err != nil {
		return rep, err
	}
	os.RemoveAll(filepath.Join(dir, "index"))
	return rep, nil
}
