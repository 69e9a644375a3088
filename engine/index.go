package engine

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/lakevec/lakevec/hnsw"
)

// Index checkpoints live in <dir>/index:
//
//	hot-<seq>.hnsw, hist-<seq>.hnsw  the two graphs (package hnsw format)
//	hotrows-<seq>.bin                hot id -> row (uint32 LE) + crc32c
//	CHECKPOINT                       {"seq": N}: the checkpoint in force
//
// Each file is written atomically (temp, fsync, rename); CHECKPOINT is
// written last, so a crash leaves the previous checkpoint in force. On
// open the checkpoint is loaded and the batches after it are replayed from
// the store's change records: a normal restart never rebuilds.

type checkpointFile struct {
	Seq uint64 `json:"seq"`
}

func (k *KB) newIndexes() error {
	var err error
	o := hnsw.DefaultOptions(k.meta.Dim, hnsw.Cosine)
	if k.hot, err = hnsw.New(o); err != nil {
		return err
	}
	k.histIdx, err = hnsw.New(o)
	k.hotRow, k.rowHot = nil, map[uint32]uint32{}
	return err
}

// loadIndexes rebuilds the validity arrays from the store, loads the index
// checkpoint and replays the batches after it.
func (k *KB) loadIndexes(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	start := time.Now()
	k.from, k.to = make([]int64, k.meta.NextRow), make([]int64, k.meta.NextRow)
	var rows []chunkVersion
	err := k.db.View(func(txn *badger.Txn) error {
		return scanRecords(txn, rowPrefix(k.coll), nil, kindRow, func(key []byte, cv *chunkVersion) error {
			if cv.Row >= k.meta.NextRow {
				return &CorruptStoreError{Key: string(key), Reason: fmt.Sprintf("row %d beyond the collection's %d rows", cv.Row, k.meta.NextRow)}
			}
			k.from[cv.Row], k.to[cv.Row] = cv.From, cv.To
			rows = append(rows, *cv)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("load rows: %w", err)
	}
	seq, err := k.loadCheckpointLocked()
	if err != nil {
		k.lg.Warn("index checkpoint unusable, rebuilding from the store", "err", err)
		seq = 0
	}
	if seq == 0 {
		if err := k.newIndexes(); err != nil {
			return err
		}
		if err := k.addRowsLocked(ctx, rows); err != nil {
			return err
		}
		k.lg.Info("indexes built from the store", "rows", len(rows), "seconds", time.Since(start).Seconds())
		return nil
	}
	// Replay the batches after the checkpoint.
	var opened []chunkVersion
	var closed []uint32
	byRow := map[uint32]chunkVersion{}
	for _, r := range rows {
		byRow[r.Row] = r
	}
	err = k.db.View(func(txn *badger.Txn) error {
		return scanRecords(txn, chgPrefix(k.coll), chgKey(k.coll, seq+1), kindChange, func(_ []byte, ch *change) error {
			for _, r := range ch.Opened {
				opened = append(opened, byRow[r])
			}
			closed = append(closed, ch.Closed...)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("replay changes after checkpoint %d: %w", seq, err)
	}
	if err := k.addRowsLocked(ctx, opened); err != nil {
		return err
	}
	for _, r := range closed {
		if id, ok := k.rowHot[r]; ok && k.to[r] != openEnd {
			k.hot.Delete(id)
			k.hotRow[id] = noRow
			delete(k.rowHot, r)
		}
	}
	k.lg.Info("indexes loaded", "checkpoint", seq, "replayed_rows", len(opened), "seconds", time.Since(start).Seconds())
	return nil
}

// addRowsLocked inserts rows into the history index, and those valid now
// into the hot index, with vectors from the embedding cache.
func (k *KB) addRowsLocked(ctx context.Context, rows []chunkVersion) error {
	var ids, hotRows []uint32
	var vecs, hotVecs [][]float32
	err := k.db.View(func(txn *badger.Txn) error {
		for _, r := range rows {
			if k.histIdx.Contains(r.Row) {
				continue
			}
			v, err := k.readVector(txn, r.Hash)
			if err != nil || v == nil {
				return &CorruptStoreError{Key: string(embKey(k.meta.ModelID, r.Hash)), Reason: fmt.Sprintf("embedding of row %d (document %q) is missing or damaged", r.Row, r.DocID)}
			}
			ids, vecs = append(ids, r.Row), append(vecs, v)
			if k.to[r.Row] == openEnd {
				hotRows, hotVecs = append(hotRows, r.Row), append(hotVecs, v)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := k.histIdx.InsertBatch(ctx, ids, vecs, 0); err != nil {
		return fmt.Errorf("build history index: %w", err)
	}
	for i, v := range hotVecs {
		if _, ok := k.rowHot[hotRows[i]]; ok {
			continue
		}
		id, err := k.hot.Add(v)
		if err != nil {
			return fmt.Errorf("build hot index: %w", err)
		}
		k.setHotLocked(id, hotRows[i])
	}
	return nil
}

func (k *KB) indexDir() string { return filepath.Join(k.dir, "index") }

func (k *KB) loadCheckpointLocked() (uint64, error) {
	b, err := os.ReadFile(filepath.Join(k.indexDir(), "CHECKPOINT"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var cp checkpointFile
	if err := json.Unmarshal(b, &cp); err != nil {
		return 0, fmt.Errorf("CHECKPOINT: %w", err)
	}
	if cp.Seq > k.meta.AppliedSeq {
		return 0, fmt.Errorf("checkpoint at batch %d is ahead of the store (%d)", cp.Seq, k.meta.AppliedSeq)
	}
	name := func(p, ext string) string {
		return filepath.Join(k.indexDir(), fmt.Sprintf("%s-%d.%s", p, cp.Seq, ext))
	}
	hot, err := hnsw.LoadFile(name("hot", "hnsw"))
	if err != nil {
		return 0, err
	}
	hist, err := hnsw.LoadFile(name("hist", "hnsw"))
	if err != nil {
		return 0, err
	}
	if hot.Dim() != k.meta.Dim || hist.Dim() != k.meta.Dim {
		return 0, fmt.Errorf("checkpoint dimension %d/%d, collection %d", hot.Dim(), hist.Dim(), k.meta.Dim)
	}
	hr, err := os.ReadFile(name("hotrows", "bin"))
	if err != nil {
		return 0, err
	}
	if len(hr) < 4 || len(hr)%4 != 0 || crc32.Checksum(hr[:len(hr)-4], castagnoli) != binary.LittleEndian.Uint32(hr[len(hr)-4:]) {
		return 0, fmt.Errorf("%s: damaged", name("hotrows", "bin"))
	}
	k.hot, k.histIdx = hot, hist
	k.hotRow, k.rowHot = make([]uint32, (len(hr)-4)/4), map[uint32]uint32{}
	for i := range k.hotRow {
		row := binary.LittleEndian.Uint32(hr[4*i:])
		k.hotRow[i] = noRow
		if hot.Contains(uint32(i)) {
			k.hotRow[i] = row
			if int(row) >= len(k.to) {
				return 0, fmt.Errorf("checkpoint maps hot id %d to row %d beyond the store", i, row)
			}
			k.rowHot[row] = uint32(i)
		}
	}
	return cp.Seq, nil
}

// checkpoint writes both indexes and the hot row map for the applied
// batch, then publishes them in CHECKPOINT and removes older files.
func (k *KB) checkpoint() error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	seq := k.meta.AppliedSeq
	if seq == 0 || k.hot == nil {
		return nil
	}
	name := func(p, ext string) string { return filepath.Join(k.indexDir(), fmt.Sprintf("%s-%d.%s", p, seq, ext)) }
	if err := k.hot.WriteFile(name("hot", "hnsw")); err != nil {
		return err
	}
	if err := k.histIdx.WriteFile(name("hist", "hnsw")); err != nil {
		return err
	}
	hr := make([]byte, 0, 4*len(k.hotRow)+4)
	for _, r := range k.hotRow {
		hr = binary.LittleEndian.AppendUint32(hr, r)
	}
	hr = binary.LittleEndian.AppendUint32(hr, crc32.Checksum(hr, castagnoli))
	if err := writeFileAtomic(name("hotrows", "bin"), hr); err != nil {
		return err
	}
	cp, _ := json.Marshal(checkpointFile{Seq: seq})
	if err := writeFileAtomic(filepath.Join(k.indexDir(), "CHECKPOINT"), cp); err != nil {
		return err
	}
	k.sinceCheckpoint = 0
	ents, _ := os.ReadDir(k.indexDir())
	keep := fmt.Sprintf("-%d.", seq)
	for _, e := range ents {
		n := e.Name()
		if n != "CHECKPOINT" && (!strings.Contains(n, keep) || strings.HasSuffix(n, ".tmp")) {
			os.Remove(filepath.Join(k.indexDir(), n))
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func fmtMs(ms int64) string {
	if ms == openEnd {
		return "∞"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}
