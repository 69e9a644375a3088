package engine

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/lakevec/lakevec/engine/chunk"
	"github.com/lakevec/lakevec/engine/embed"
	"github.com/lakevec/lakevec/hnsw"
	"github.com/lakevec/lakevec/wal"
)

// Options configure Open.
type Options struct {
	// Collection is the documents collection. Default "docs".
	Collection string
	// Embedder turns chunk texts and queries into vectors. Default: the
	// offline lexical embedder (matches words, not meaning).
	Embedder embed.Embedder
	// History is the lake table of chunk versions. Default: an in-memory
	// table (tests only; the CLI always passes the lake).
	History History
	// Tokens counts tokens for the chunker's window. Default: the
	// embedder's own tokenizer when it has one (a TokenCounter, like the
	// native BERT encoder), else chunk.EstimateTokens.
	Tokens func(string) int
	// MaxTokens is the chunk token budget. Default: the embedder's
	// MaxSeqLength less 2 ([CLS], [SEP]) for a TokenCounter, else 254.
	MaxTokens int
	// CheckpointEvery writes index checkpoints every this many batches
	// (and on Close). Default 64.
	CheckpointEvery int
	// Logger receives recovery and checkpoint events. Default: discard.
	Logger *slog.Logger
	// Failpoint, for crash tests: the commit step after which the process
	// kills itself with SIGKILL ("after-wal", "after-lake", "after-store",
	// "after-index"), optionally for one batch ("after-lake:3"). Also read
	// from LAKEVEC_FAILPOINT.
	Failpoint string
}

// TokenCounter is an embedder that can count the tokens it would read in
// a text (untruncated, without special tokens), so chunks are cut to fit
// its window exactly.
type TokenCounter interface {
	CountTokens(text string) int
	MaxSeqLength() int
}

// KB is a versioned knowledge base: a documents collection whose every
// chunk version is kept with its validity interval. One writer at a time
// (Ingest, Delete), any number of readers.
type KB struct {
	dir  string
	db   *badger.DB
	log  *wal.Log
	hist History
	emb  embed.Embedder
	opts Options
	coll string
	lg   *slog.Logger

	writeMu sync.Mutex // one writer: plan, log, commit, apply

	mu      sync.RWMutex // guards everything below: what searches see
	meta    collMeta
	from    []int64 // valid_from per row (ms)
	to      []int64 // valid_to per row (ms), openEnd while valid
	hot     *hnsw.Index
	hotRow  []uint32          // hot id -> row
	rowHot  map[uint32]uint32 // row -> hot id, for rows valid now
	histIdx *hnsw.Index       // every row, id = row

	sinceCheckpoint int
	blocked         error // an unfinished batch recovery could not complete

	// A checkpoint due after a batch is written by a goroutine holding
	// writeMu, after the batch is acknowledged: the ingest that makes it
	// due does not wait for it; the next write does, if it comes sooner.
	ckptPending atomic.Bool
	ckptWG      sync.WaitGroup
	closed      bool   // set by Close under writeMu; a pending checkpoint then does nothing
	ckptHook    func() // tests: runs before a background checkpoint is written
}

// batchError is a logged batch that recovery could not complete.
type batchError struct {
	seq uint64
	err error
}

func (e *batchError) Error() string {
	return fmt.Sprintf("batch %d is in the write-ahead log but could not be completed: %v", e.seq, e.err)
}
func (e *batchError) Unwrap() error { return e.err }

// Open opens (creating if needed) the knowledge base in dir and recovers
// any batch the write-ahead log holds unfinished.
func Open(ctx context.Context, dir string, o Options) (*KB, error) {
	if o.Collection == "" {
		o.Collection = "docs"
	}
	if o.Embedder == nil {
		o.Embedder = embed.NewLexical()
	}
	if o.History == nil {
		o.History = NewMemHistory()
	}
	if tc, ok := o.Embedder.(TokenCounter); ok {
		if o.Tokens == nil {
			o.Tokens = tc.CountTokens
		}
		if o.MaxTokens == 0 {
			o.MaxTokens = tc.MaxSeqLength() - 2
		}
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Failpoint == "" {
		o.Failpoint = os.Getenv("LAKEVEC_FAILPOINT")
	}
	if err := os.MkdirAll(filepath.Join(dir, "index"), 0o755); err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	db, err := openStore(dir)
	if err != nil {
		return nil, err
	}
	k := &KB{dir: dir, db: db, hist: o.History, emb: o.Embedder, opts: o, coll: o.Collection, lg: o.Logger}
	if err := k.open(ctx); err != nil {
		closeStore(db)
		return nil, err
	}
	return k, nil
}

func (k *KB) open(ctx context.Context) error {
	var err error
	if k.log, err = wal.Open(k.db, "batches", wal.Options{}); err != nil {
		return err
	}
	found := false
	if err := k.db.View(func(txn *badger.Txn) error {
		found, err = getRecord(txn, metaKey(k.coll), kindMeta, &k.meta)
		return err
	}); err != nil {
		return fmt.Errorf("open collection %s: %w", k.coll, err)
	}
	if !found {
		k.meta = collMeta{Name: k.coll, Kind: "documents", ModelID: k.emb.ModelID(), Dim: k.emb.Dim(),
			Normalizer: chunk.NormalizerVersion, Chunker: chunk.ChunkerVersion, Created: time.Now().UnixMilli()}
		if err := k.putMeta(); err != nil {
			return err
		}
	}
	if err := embed.CheckModel(k.meta.ModelID, k.emb.ModelID()); err != nil {
		return fmt.Errorf("open collection %s: %w", k.coll, err)
	}
	if k.meta.Chunker != chunk.ChunkerVersion || k.meta.Normalizer != chunk.NormalizerVersion {
		return fmt.Errorf("open collection %s: chunked by %s/%s, this build chunks with %s/%s; re-import the documents",
			k.coll, k.meta.Normalizer, k.meta.Chunker, chunk.NormalizerVersion, chunk.ChunkerVersion)
	}
	if err := k.recover(ctx); err != nil {
		var be *batchError
		if !errors.As(err, &be) {
			return err
		}
		// A logged batch that cannot be completed now (the lake is down)
		// blocks writes, which were planned on top of it, but not reads.
		k.blocked = err
		k.lg.Error("an unfinished batch could not be completed; writes are refused until it is", "err", err)
	}
	return k.loadIndexes(ctx)
}

func (k *KB) putMeta() error {
	b, err := encodeRecord(kindMeta, &k.meta)
	if err != nil {
		return err
	}
	if err := k.db.Update(func(txn *badger.Txn) error { return txn.Set(metaKey(k.coll), b) }); err != nil {
		return fmt.Errorf("write collection metadata: %w", err)
	}
	return k.db.Sync()
}

// Close writes an index checkpoint and closes the store.
func (k *KB) Close() error {
	k.writeMu.Lock()
	if k.closed {
		k.writeMu.Unlock()
		return nil
	}
	k.closed = true
	err := k.checkpoint()
	if e := k.hist.Close(); err == nil {
		err = e
	}
	if e := closeStore(k.db); err == nil {
		err = e
	}
	k.writeMu.Unlock()
	k.ckptWG.Wait()
	return err
}

// ModelID returns the embedder model id of the collection.
func (k *KB) ModelID() string { return k.meta.ModelID }

// failpoint kills the process at a named commit step, for crash tests.
// Options.Failpoint is "step" (every batch) or "step:seq" (that batch).
func (k *KB) failpoint(name string, seq uint64) {
	fp := k.opts.Failpoint
	if fp == name || fp == fmt.Sprintf("%s:%d", name, seq) {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is asynchronous
	}
}

// DocInput is one document operation of a batch.
type DocInput struct {
	DocID  string
	Text   string
	Delete bool
}

// DocReport says what a batch did to one document.
type DocReport struct {
	DocID     string `json:"doc_id"`
	Op        string `json:"op"` // "added", "updated", "unchanged", "deleted", "missing"
	Chunks    int    `json:"chunks"`
	Added     int    `json:"added"`
	Removed   int    `json:"removed"`
	Unchanged int    `json:"unchanged"`
	Moved     int    `json:"moved"`
	Modified  int    `json:"modified"`
	Embedded  int    `json:"embedded"` // embeddings computed for this document's chunks
}

// Report summarises a batch.
type Report struct {
	Seq         uint64      `json:"seq"` // 0 when nothing changed
	At          time.Time   `json:"at"`
	Docs        []DocReport `json:"docs"`
	Chunks      int         `json:"chunks"`       // chunks of the documents as ingested
	NewVersions int         `json:"new_versions"` // chunk versions created (added + modified)
	Embedded    int         `json:"embedded"`     // embeddings computed
	CacheHits   int         `json:"cache_hits"`   // new chunk versions whose text was embedded before
}

// batch is the WAL payload: everything a batch writes, decided before any
// side effect, so recovery redoes it exactly (embeddings included).
type batch struct {
	Seq        uint64               `json:"seq"`
	Coll       string               `json:"coll"`
	At         int64                `json:"at"`
	Docs       []docUpdate          `json:"docs"`
	Opened     []chunkVersion       `json:"opened,omitempty"`
	Closed     []chunkVersion       `json:"closed,omitempty"` // with To and SeqTo set
	Embeddings map[string][]float32 `json:"embeddings,omitempty"`
	NextRow    uint32               `json:"next_row"`
}

type docUpdate struct {
	State   docState   `json:"state"`
	Version docVersion `json:"version"`
}

// ErrOutOfOrder is returned when a document version is older than the
// document's latest one: versions of a document are ingested in time order.
var ErrOutOfOrder = errors.New("version older than the document's latest")

// Ingest applies one batch of document operations at valid time at: one
// WAL record, one lake snapshot, one store transaction. Documents whose
// chunks did not change produce no new version.
func (k *KB) Ingest(ctx context.Context, docs []DocInput, at time.Time) (Report, error) {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	if k.blocked != nil {
		if err := k.recover(ctx); err != nil {
			return Report{}, fmt.Errorf("ingest refused: %w", err)
		}
		k.blocked = nil
		if err := k.reloadIndexes(ctx); err != nil {
			return Report{}, err
		}
	}
	atMs := at.UTC().UnixMilli()
	rep := Report{At: time.UnixMilli(atMs).UTC()}
	seen := map[string]bool{}
	for _, d := range docs {
		if d.DocID == "" {
			return rep, fmt.Errorf("ingest: empty document id")
		}
		if !utf8.ValidString(d.DocID) || !utf8.ValidString(d.Text) {
			return rep, fmt.Errorf("ingest: document %q is not valid UTF-8 text", strings.ToValidUTF8(d.DocID, "\uFFFD"))
		}
		if seen[d.DocID] {
			return rep, fmt.Errorf("ingest: document %q appears twice in one batch", d.DocID)
		}
		seen[d.DocID] = true
	}
	b, err := k.plan(ctx, docs, atMs, &rep)
	if err != nil {
		return rep, err
	}
	if len(b.Docs) == 0 {
		return rep, nil // nothing changed: no batch
	}
	payload, err := json.Marshal(b)
	if err != nil {
		return rep, err
	}
	seq, err := k.log.Append(kindBatch, payload)
	if err != nil {
		return rep, fmt.Errorf("ingest: %w", err)
	}
	if seq != b.Seq {
		return rep, fmt.Errorf("ingest: log assigned batch %d, planned %d (a second writer?)", seq, b.Seq)
	}
	k.failpoint("after-wal", b.Seq)
	if err := k.commitBatch(ctx, b); err != nil {
		// The batch is logged: later batches must not be planned over it.
		// The next write (or open) completes it first.
		k.blocked = &batchError{seq, err}
		return rep, fmt.Errorf("ingest batch %d: %w (the batch is in the write-ahead log; it is completed before the next write or when the data directory is next opened)", seq, err)
	}
	rep.Seq = seq
	return rep, nil
}

// commitBatch runs steps 3-5 of the commit protocol for a logged batch:
// lake, store, indexes, done. Every step is idempotent, so recovery calls
// it again for a batch that was interrupted anywhere.
func (k *KB) commitBatch(ctx context.Context, b *batch) error {
	// Commit is idempotent by batch id: after a lost acknowledgement the
	// lake already holds the snapshot and nothing is written twice.
	if _, err := k.hist.Commit(ctx, b.Seq, historyRows(b)); err != nil {
		return fmt.Errorf("commit to the lake: %w", err)
	}
	k.failpoint("after-lake", b.Seq)
	if b.Seq > k.meta.AppliedSeq {
		if err := k.applyStore(b); err != nil {
			return fmt.Errorf("apply to the store: %w", err)
		}
	}
	k.failpoint("after-store", b.Seq)
	k.applyIndexes(b)
	k.failpoint("after-index", b.Seq)
	if err := k.log.MarkDone(b.Seq); err != nil {
		return err
	}
	k.sinceCheckpoint++
	if k.sinceCheckpoint >= k.opts.CheckpointEvery && k.ckptPending.CompareAndSwap(false, true) {
		k.ckptWG.Add(1)
		go k.backgroundCheckpoint()
	}
	return nil
}

// backgroundCheckpoint writes the checkpoint a batch made due, as a writer:
// it holds writeMu, so no batch is applied while the graphs and the hot map
// are written and they agree with one applied batch. It takes the search
// lock only shared; the one exclusive taker, a batch's publish, runs under
// writeMu, so no search queues behind it.
func (k *KB) backgroundCheckpoint() {
	defer k.ckptWG.Done()
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	k.ckptPending.Store(false)
	if k.closed || k.sinceCheckpoint < k.opts.CheckpointEvery {
		return
	}
	if k.ckptHook != nil {
		k.ckptHook()
	}
	start := time.Now()
	if err := k.checkpoint(); err != nil {
		k.lg.Warn("index checkpoint failed", "err", err)
		return
	}
	k.lg.Info("index checkpoint written", "batch", k.meta.AppliedSeq, "seconds", time.Since(start).Seconds())
}

func historyRows(b *batch) []HistoryRow {
	rows := make([]HistoryRow, 0, len(b.Opened)+len(b.Closed))
	for _, r := range b.Opened {
		h, _ := hex.DecodeString(r.Hash)
		var hh [32]byte
		copy(hh[:], h)
		rows = append(rows, HistoryRow{DocID: r.DocID, ChunkKey: r.Key, Parent: r.Parent, Position: int32(r.Position),
			Hash: hh, Text: r.Text, Embedding: b.Embeddings[r.Hash], Event: "open", At: r.From, CommitSeq: b.Seq})
	}
	for _, r := range b.Closed {
		h, _ := hex.DecodeString(r.Hash)
		var hh [32]byte
		copy(hh[:], h)
		rows = append(rows, HistoryRow{DocID: r.DocID, ChunkKey: r.Key, Position: int32(r.Position), Hash: hh,
			Event: "close", At: r.To, CommitSeq: b.Seq})
	}
	return append(rows, versionRows(b)...)
}

// applyStore writes a batch to Badger in one transaction, then syncs.
func (k *KB) applyStore(b *batch) error {
	meta := k.meta
	meta.NextRow = max(meta.NextRow, b.NextRow)
	meta.AppliedSeq = b.Seq
	meta.LakeSeq = max(meta.LakeSeq, b.Seq)
	meta.LastAt = max(meta.LastAt, b.At)
	ch := change{}
	err := k.db.Update(func(txn *badger.Txn) error {
		put := func(key []byte, kind byte, v any) error {
			val, err := encodeRecord(kind, v)
			if err != nil {
				return err
			}
			return txn.Set(key, val)
		}
		for _, d := range b.Docs {
			if err := put(docKey(b.Coll, d.State.DocID), kindDoc, &d.State); err != nil {
				return err
			}
			if err := put(docVerKey(b.Coll, d.State.DocID, b.Seq), kindDocVer, &d.Version); err != nil {
				return err
			}
		}
		for i := range b.Opened {
			if err := put(rowKey(b.Coll, b.Opened[i].Row), kindRow, &b.Opened[i]); err != nil {
				return err
			}
			ch.Opened = append(ch.Opened, b.Opened[i].Row)
		}
		for i := range b.Closed {
			if err := put(rowKey(b.Coll, b.Closed[i].Row), kindRow, &b.Closed[i]); err != nil {
				return err
			}
			ch.Closed = append(ch.Closed, b.Closed[i].Row)
		}
		for h, v := range b.Embeddings {
			if err := txn.Set(embKey(k.meta.ModelID, h), encodeVector(v)); err != nil {
				return err
			}
		}
		if err := put(chgKey(b.Coll, b.Seq), kindChange, &ch); err != nil {
			return err
		}
		return put(metaKey(b.Coll), kindMeta, &meta)
	})
	if err != nil {
		return err
	}
	if err := k.db.Sync(); err != nil {
		return err
	}
	k.mu.Lock()
	k.meta = meta
	k.mu.Unlock()
	return nil
}

// applyIndexes brings the in-memory validity arrays and indexes up to a
// batch already in the store. Readers see the batch all at once, and keep
// searching while it is inserted:
//
//  1. Stage, without k.mu: the batch's vectors are inserted into both
//     graphs (one goroutine each; most of an ingest's time). A search that
//     meets a staged node skips it: a staged history row has no validity
//     interval yet (its row is past the validity arrays), and a staged hot
//     id maps to no row (hotRow is noRow or too short; see SearchVector).
//  2. Publish, under k.mu: validity intervals, hot id ↔ row maps, and the
//     closed rows' removal from the hot graph, all at once.
//
// Only the writer (writeMu) runs this, and only it writes rowHot, from,
// to and hotRow, so reading them here without k.mu is safe.
func (k *KB) applyIndexes(b *batch) {
	var histIDs, hotRows []uint32
	var histVecs, hotVecs [][]float32
	queued := map[uint32]bool{} // hist; a row opened twice in a batch is inserted once
	queuedHot := map[uint32]bool{}
	for _, r := range b.Opened {
		v := b.Embeddings[r.Hash]
		if v == nil {
			v = k.cachedVector(r.Hash)
		}
		if v == nil {
			k.lg.Error("no embedding for a row; run lakevec verify", "row", r.Row)
			continue
		}
		if !k.histIdx.Contains(r.Row) && !queued[r.Row] {
			queued[r.Row] = true
			histIDs, histVecs = append(histIDs, r.Row), append(histVecs, v)
		}
		if r.To == openEnd {
			if _, ok := k.rowHot[r.Row]; !ok && !queuedHot[r.Row] {
				queuedHot[r.Row] = true
				hotRows, hotVecs = append(hotRows, r.Row), append(hotVecs, v)
			}
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, row := range histIDs {
			if err := k.histIdx.Insert(row, histVecs[i]); err != nil {
				k.lg.Error("history index insert", "row", row, "err", err)
			}
		}
	}()
	staged := make([]uint32, 0, len(hotRows))
	stagedRows := make([]uint32, 0, len(hotRows))
	for i, row := range hotRows {
		id, err := k.hot.Add(hotVecs[i])
		if err != nil {
			k.lg.Error("hot index insert", "row", row, "err", err)
			continue
		}
		staged, stagedRows = append(staged, id), append(stagedRows, row)
	}
	<-done

	k.mu.Lock()
	defer k.mu.Unlock()
	for _, r := range b.Opened {
		k.ensureRowsLocked(r.Row)
		k.from[r.Row], k.to[r.Row] = r.From, r.To
	}
	for i, id := range staged {
		k.setHotLocked(id, stagedRows[i])
	}
	for _, r := range b.Closed {
		k.ensureRowsLocked(r.Row)
		k.to[r.Row] = r.To
		if id, ok := k.rowHot[r.Row]; ok {
			k.hot.Delete(id)
			k.hotRow[id] = noRow
			delete(k.rowHot, r.Row)
		}
	}
}

// noRow marks a hot id that maps to no row: deleted, or staged by a batch
// not yet published.
const noRow = math.MaxUint32

func (k *KB) ensureRowsLocked(row uint32) {
	for int(row) >= len(k.from) {
		k.from = append(k.from, 0)
		k.to = append(k.to, 0)
	}
}

func (k *KB) setHotLocked(id, row uint32) {
	for int(id) >= len(k.hotRow) {
		k.hotRow = append(k.hotRow, noRow)
	}
	k.hotRow[id] = row
	k.rowHot[row] = id
}

// cachedVector reads an embedding from the cache, nil if absent or bad.
func (k *KB) cachedVector(hash string) []float32 {
	var v []float32
	k.db.View(func(txn *badger.Txn) error {
		v, _ = k.readVector(txn, hash)
		return nil
	})
	return v
}

// readVector reads an embedding from the cache inside txn; nil, nil when
// it is absent.
func (k *KB) readVector(txn *badger.Txn, hash string) ([]float32, error) {
	key := embKey(k.meta.ModelID, hash)
	it, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var v []float32
	err = it.Value(func(b []byte) error {
		v, err = decodeVector(key, b, k.meta.Dim)
		return err
	})
	return v, err
}

// recover completes every batch the log holds unfinished.
func (k *KB) recover(ctx context.Context) error {
	recs, err := k.log.Pending()
	if errors.Is(err, wal.ErrCorrupt) {
		n, rerr := k.log.Repair()
		if rerr != nil {
			return fmt.Errorf("repair write-ahead log: %w", rerr)
		}
		k.lg.Warn("dropped damaged write-ahead log records", "records", n, "err", err)
		recs, err = k.log.Pending()
	}
	if err != nil {
		return fmt.Errorf("read write-ahead log: %w", err)
	}
	for _, r := range recs {
		if r.Type != kindBatch {
			return fmt.Errorf("write-ahead log record %d has unknown type %d", r.Seq, r.Type)
		}
		var b batch
		if err := json.Unmarshal(r.Payload, &b); err != nil {
			return fmt.Errorf("write-ahead log record %d: %w", r.Seq, err)
		}
		if b.Coll != k.coll {
			continue
		}
		if b.Seq <= k.meta.AppliedSeq {
			if err := k.log.MarkDone(b.Seq); err != nil {
				return err
			}
			continue
		}
		k.lg.Info("completing an interrupted batch", "seq", b.Seq)
		// Indexes are loaded after recovery, from the store: only the lake
		// and the store are redone here. Commit is idempotent by batch id.
		if _, err := k.hist.Commit(ctx, b.Seq, historyRows(&b)); err != nil {
			return &batchError{b.Seq, fmt.Errorf("commit to the lake: %w", err)}
		}
		if err := k.applyStore(&b); err != nil {
			return fmt.Errorf("recover batch %d: %w", b.Seq, err)
		}
		if err := k.log.MarkDone(b.Seq); err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys returns the keys of m in order (deterministic batches).
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// reloadIndexes rebuilds the in-memory state from the store after a
// recovery that happened while the KB was open.
func (k *KB) reloadIndexes(ctx context.Context) error {
	k.mu.Lock()
	k.hot, k.histIdx = nil, nil
	k.mu.Unlock()
	return k.loadIndexes(ctx)
}
