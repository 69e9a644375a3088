package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/lakevec/lakevec/engine/chunk"
	"github.com/lakevec/lakevec/wal"
)

// eventVersion rows carry a document version's layout (its chunk keys and
// separators, as JSON in Text), so the store can be rebuilt from the lake
// alone.
const eventVersion = "version"

type versionLayout struct {
	Op     string         `json:"op"`
	Chunks []layoutChunk  `json:"chunks,omitempty"`
	Counts map[string]int `json:"counts,omitempty"`
}

type layoutChunk struct {
	Key uint32 `json:"k"`
	Sep string `json:"s,omitempty"`
}

func versionRows(b *batch) []HistoryRow {
	var rows []HistoryRow
	for _, d := range b.Docs {
		l := versionLayout{Op: d.Version.Op, Counts: d.Version.Counts}
		for _, c := range d.Version.Chunks {
			l.Chunks = append(l.Chunks, layoutChunk{Key: c.Key, Sep: c.Sep})
		}
		js, _ := json.Marshal(l)
		rows = append(rows, HistoryRow{DocID: d.State.DocID, Event: eventVersion, At: b.At, CommitSeq: b.Seq, Text: string(js)})
	}
	return rows
}

// RebuildReport says what Rebuild restored.
type RebuildReport struct {
	Batches  int `json:"batches"`
	Docs     int `json:"docs"`
	Rows     int `json:"rows"`
	Versions int `json:"versions"`
}

// Rebuild replaces the store of the data directory dir with one rebuilt
// from the lake history table alone (o.History), then drops the index
// checkpoints so the next Open builds the indexes from it. It refuses when
// the current store's log holds unfinished batches (open the directory
// normally first to complete them) unless the store cannot be opened at
// all. The old store is kept as store.old until the new one is in place.
func Rebuild(ctx context.Context, dir string, o Options) (RebuildReport, error) {
	var rep RebuildReport
	if o.Collection == "" {
		o.Collection = "docs"
	}
	storeDir := filepath.Join(dir, "store")
	if db, err := badger.Open(badger.DefaultOptions(storeDir).WithLogger(nil)); err == nil {
		l, err := wal.Open(db, "batches", wal.Options{})
		if err == nil {
			var recs []wal.Record
			if recs, err = l.Pending(); err == nil && len(recs) > 0 {
				err = fmt.Errorf("the write-ahead log holds %d unfinished batches; open the data directory once to complete them before rebuilding", len(recs))
			}
		}
		db.Close()
		if err != nil {
			return rep, fmt.Errorf("rebuild %s: %w", dir, err)
		}
	}
	type rowKeyT struct {
		doc string
		key uint32
	}
	opens := map[rowKeyT]HistoryRow{}
	closes := map[rowKeyT]HistoryRow{}
	var versions []HistoryRow
	err := o.History.Scan(ctx, func(r HistoryRow) error {
		k := rowKeyT{r.DocID, r.ChunkKey}
		switch r.Event {
		case "open":
			opens[k] = r
		case "close":
			closes[k] = r
		case eventVersion:
			versions = append(versions, r)
		default:
			return fmt.Errorf("unknown event %q for %s", r.Event, r.DocID)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("rebuild: scan the lake: %w", err)
	}
	if len(opens) > 0 && len(versions) == 0 {
		return rep, fmt.Errorf("rebuild: the history table has chunk versions but no document layouts (written by an older lakevec); it cannot be rebuilt from")
	}
	// Rows in commit order, then document and position.
	keys := make([]rowKeyT, 0, len(opens))
	for k := range opens {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := opens[keys[i]], opens[keys[j]]
		if a.CommitSeq != b.CommitSeq {
			return a.CommitSeq < b.CommitSeq
		}
		if a.DocID != b.DocID {
			return a.DocID < b.DocID
		}
		return a.Position < b.Position
	})
	sort.SliceStable(versions, func(i, j int) bool { return versions[i].CommitSeq < versions[j].CommitSeq })

	tmpDir := storeDir + ".rebuild"
	os.RemoveAll(tmpDir)
	db, err := badger.Open(badger.DefaultOptions(tmpDir).WithLogger(nil))
	if err != nil {
		return rep, fmt.Errorf("rebuild: %w", err)
	}
	c := o.Collection
	meta := collMeta{Name: c, Kind: "documents", Created: time.Now().UnixMilli()}
	rowOf := map[rowKeyT]uint32{}
	changes := map[uint64]*change{}
	chg := func(seq uint64) *change {
		if changes[seq] == nil {
			changes[seq] = &change{}
		}
		return changes[seq]
	}
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	put := func(key []byte, kind byte, v any) error {
		b, err := encodeRecord(kind, v)
		if err != nil {
			return err
		}
		return wb.Set(key, b)
	}
	for i, k := range keys {
		r := opens[k]
		row := uint32(i)
		rowOf[k] = row
		h := hexHash(r.Hash)
		cv := chunkVersion{Row: row, DocID: r.DocID, Key: r.ChunkKey, Parent: r.Parent, Hash: h, Text: r.Text,
			Position: int(r.Position), From: r.At, To: openEnd, SeqFrom: r.CommitSeq}
		if cl, ok := closes[k]; ok {
			cv.To, cv.SeqTo = cl.At, cl.CommitSeq
			chg(cl.CommitSeq).Closed = append(chg(cl.CommitSeq).Closed, row)
		}
		chg(r.CommitSeq).Opened = append(chg(r.CommitSeq).Opened, row)
		if err := put(rowKey(c, row), kindRow, &cv); err != nil {
			return rep, err
		}
		if len(r.Embedding) > 0 {
			if meta.Dim == 0 {
				meta.Dim = len(r.Embedding)
			}
			if err := wb.Set(embKey(o.Embedder.ModelID(), h), encodeVector(r.Embedding)); err != nil {
				return rep, err
			}
		}
		meta.AppliedSeq = max(meta.AppliedSeq, r.CommitSeq)
		meta.LastAt = max(meta.LastAt, r.At)
	}
	maxKey := map[string]uint32{} // highest chunk key each document used
	for k := range opens {
		maxKey[k.doc] = max(maxKey[k.doc], k.key)
	}
	states := map[string]*docState{}
	for _, v := range versions {
		var l versionLayout
		if err := json.Unmarshal([]byte(v.Text), &l); err != nil {
			return rep, fmt.Errorf("rebuild: layout of %s in batch %d: %w", v.DocID, v.CommitSeq, err)
		}
		st := states[v.DocID]
		if st == nil {
			st = &docState{DocID: v.DocID, NextKey: 1}
			states[v.DocID] = st
		}
		dv := docVersion{Seq: v.CommitSeq, At: v.At, Op: l.Op, Counts: l.Counts}
		for _, lc := range l.Chunks {
			row, ok := rowOf[rowKeyT{v.DocID, lc.Key}]
			if !ok {
				return rep, fmt.Errorf("rebuild: %s version of batch %d names chunk %d, which the lake does not hold", v.DocID, v.CommitSeq, lc.Key)
			}
			dv.Chunks = append(dv.Chunks, docChunk{Key: lc.Key, Row: row, Hash: hexHash(opens[rowKeyT{v.DocID, lc.Key}].Hash), Sep: lc.Sep})
			st.NextKey = max(st.NextKey, lc.Key+1)
		}
		st.NextKey = max(st.NextKey, maxKey[v.DocID]+1)
		st.Deleted = l.Op == "delete"
		st.Chunks = dv.Chunks
		st.LastAt, st.LastSeq = v.At, v.CommitSeq
		st.Versions++
		if err := put(docVerKey(c, v.DocID, v.CommitSeq), kindDocVer, &dv); err != nil {
			return rep, err
		}
		meta.AppliedSeq = max(meta.AppliedSeq, v.CommitSeq)
		meta.LastAt = max(meta.LastAt, v.At)
		rep.Versions++
	}
	for _, st := range states {
		if err := put(docKey(c, st.DocID), kindDoc, st); err != nil {
			return rep, err
		}
	}
	for seq, ch := range changes {
		if err := put(chgKey(c, seq), kindChange, ch); err != nil {
			return rep, err
		}
	}
	if meta.Dim == 0 {
		meta.Dim = o.Embedder.Dim()
	}
	meta.ModelID, meta.NextRow, meta.LakeSeq = o.Embedder.ModelID(), uint32(len(keys)), meta.AppliedSeq
	meta.Normalizer, meta.Chunker = chunkVersions()
	if err := put(metaKey(c), kindMeta, &meta); err != nil {
		return rep, err
	}
	if err := wb.Flush(); err != nil {
		return rep, fmt.Errorf("rebuild: write the store: %w", err)
	}
	// The log's sequence must continue after the lake's batches.
	l, err := wal.Open(db, "batches", wal.Options{})
	if err == nil {
		err = l.SkipTo(meta.AppliedSeq + 1)
	}
	if err != nil {
		db.Close()
		return rep, fmt.Errorf("rebuild: advance the log: %w", err)
	}
	if err := db.Close(); err != nil {
		return rep, err
	}
	old := storeDir + ".old"
	os.RemoveAll(old)
	if _, err := os.Stat(storeDir); err == nil {
		if err := os.Rename(storeDir, old); err != nil {
			return rep, err
		}
	}
	if err := os.Rename(tmpDir, storeDir); err != nil {
		return rep, err
	}
	os.RemoveAll(old)
	os.RemoveAll(filepath.Join(dir, "index"))
	rep.Batches = int(meta.AppliedSeq)
	rep.Docs = len(states)
	rep.Rows = len(keys)
	return rep, nil
}

func chunkVersions() (normalizer, chunker string) {
	return chunk.NormalizerVersion, chunk.ChunkerVersion
}
