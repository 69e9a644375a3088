package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/lakevec/lakevec/hnsw"
	"github.com/lakevec/lakevec/lake"
)

// An external collection indexes the vector column of a Parquet dataset
// the user owns, in place: lakevec reads the files, never copies them, and
// a refresh reads only the files that changed.
//
// State (Badger, the data directory's store):
//
//	xmeta/<name>         extMeta: source, column, metric, dim, generation
//	xfile/<name>/<path>  extFile: size, mtime, the rows it holds
//
// Rows are addressed by (file, row position in the file) and get dense ids
// in the index; a file's rows take a contiguous id range.
//
// A refresh reads the changed files, inserts their rows into the live
// index with ids above the visible bound (searches do not see them), then
// commits the new file set in one store transaction, and only then, under
// the collection lock, raises the bound and deletes the rows of removed
// files: readers see the refresh whole or not at all. The index is
// checkpointed (index/x-<name>-<gen>.hnsw) every checkpointEvery refreshes
// and on Close; opening loads the checkpoint and replays from the lake:
// files added since are read again, rows of files gone since are deleted.
// A crash at any point leaves the store at the previous refresh, which
// the next refresh redoes.
//
// Not yet: Iceberg tables (snapshot diffs and delete files, package
// snapshot), time travel across snapshots, scalar filters, returned
// columns, reuse of freed row ids.

// ExternalOptions describe an external collection at attach time.
type ExternalOptions struct {
	Name string
	// Parquet is a directory (every *.parquet below it) or a glob.
	Parquet string
	// IcebergCatalog and IcebergTable name an Iceberg table instead: a
	// SQLite catalog (path or sqlite:///path) and "namespace.table". Its
	// current snapshot's data files are indexed; file:// warehouses only,
	// no merge-on-read deletes yet.
	IcebergCatalog, IcebergTable string
	// VectorColumn is the dotted path of the vector column.
	VectorColumn string
	// Metric of the index; default cosine.
	Metric hnsw.Metric
}

type extMeta struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"` // "parquet" or "iceberg"
	Table        string `json:"table,omitempty"`
	Snapshot     int64  `json:"snapshot,omitempty"` // Iceberg snapshot indexed
	Source       string `json:"source"`
	VectorColumn string `json:"vector_column"`
	Metric       string `json:"metric"`
	Dim          int    `json:"dim"`
	NextRow      uint32 `json:"next_row"`
	Gen          uint64 `json:"gen"`           // refreshes applied
	CkptGen      uint64 `json:"ckpt_gen"`      // refresh the index checkpoint reflects
	CkptNextRow  uint32 `json:"ckpt_next_row"` // rows the checkpoint covers
	Rows         int    `json:"rows"`
	Files        int    `json:"files"`
	Refreshed    int64  `json:"refreshed"`
}

type extFile struct {
	Path      string  `json:"path"`
	Size      int64   `json:"size"`
	MTime     int64   `json:"mtime"` // unix nanoseconds
	FirstRow  uint32  `json:"first_row"`
	Count     uint32  `json:"count"`
	Positions []int64 `json:"positions,omitempty"` // nil: 0..Count-1 (no null vectors)
	Nulls     int64   `json:"nulls,omitempty"`
}

const (
	kindExtMeta byte = 8
	kindExtFile byte = 9
)

func extMetaKey(n string) []byte    { return []byte("xmeta/" + n) }
func extFilePrefix(n string) []byte { return []byte("xfile/" + n + "/") }
func extFileKey(n, p string) []byte { return []byte("xfile/" + n + "/" + p) }
func (x *External) ckpt(gen uint64) string {
	return filepath.Join(x.dir, "index", fmt.Sprintf("x-%s-%d.hnsw", x.meta.Name, gen))
}

// External is an open external collection. Searches run concurrently;
// refreshes are serialised.
type External struct {
	dir string
	db  *badger.DB

	refreshMu sync.Mutex
	mu        sync.RWMutex // guards meta, files, idx, rowFile
	meta      extMeta
	files     map[string]*extFile
	byRow     []*extFile // files sorted by FirstRow, for fileOf
	idx       *hnsw.Index
	// visible bounds the ids searches may return: rows a refresh is still
	// inserting (ids >= visible) are hidden until it commits.
	visible uint32
}

// ErrNoCollection is returned for a collection name the data directory
// does not hold.
var ErrNoCollection = errors.New("no such collection")

// Attach registers an external collection and indexes it (a first
// refresh). The name must be new in the data directory.
func Attach(ctx context.Context, dir string, o ExternalOptions) (*External, RefreshReport, error) {
	if o.Metric == 0 {
		o.Metric = hnsw.Cosine
	}
	if o.VectorColumn == "" {
		return nil, RefreshReport{}, fmt.Errorf("attach %s: the vector column is required", o.Name)
	}
	meta := extMeta{Name: o.Name, Kind: "parquet", Source: o.Parquet, VectorColumn: o.VectorColumn, Metric: o.Metric.String()}
	if o.IcebergCatalog != "" {
		if o.Parquet != "" {
			return nil, RefreshReport{}, fmt.Errorf("attach %s: give a Parquet dataset or an Iceberg table, not both", o.Name)
		}
		meta.Kind, meta.Source, meta.Table = "iceberg", o.IcebergCatalog, o.IcebergTable
	}
	if _, _, err := listSource(ctx, meta); err != nil {
		return nil, RefreshReport{}, fmt.Errorf("attach %s: %w", o.Name, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "index"), 0o755); err != nil {
		return nil, RefreshReport{}, err
	}
	db, err := openStore(dir)
	if err != nil {
		return nil, RefreshReport{}, err
	}
	x := &External{dir: dir, db: db, files: map[string]*extFile{}}
	var exists bool
	if err := db.View(func(txn *badger.Txn) error {
		var m extMeta
		exists, err = getRecord(txn, extMetaKey(o.Name), kindExtMeta, &m)
		return err
	}); err != nil || exists {
		closeStore(db)
		if err == nil {
			err = fmt.Errorf("collection %q is already attached; use refresh", o.Name)
		}
		return nil, RefreshReport{}, fmt.Errorf("attach %s: %w", o.Name, err)
	}
	x.meta = meta
	rep, err := x.Refresh(ctx)
	if err != nil {
		closeStore(db)
		return nil, rep, fmt.Errorf("attach %s: %w", o.Name, err)
	}
	return x, rep, nil
}

// OpenExternal opens an attached external collection from its store and
// its index checkpoint.
func OpenExternal(ctx context.Context, dir, name string) (*External, error) {
	if _, err := os.Stat(filepath.Join(dir, "store")); err != nil {
		return nil, fmt.Errorf("%w: %q (no data directory at %s)", ErrNoCollection, name, dir)
	}
	db, err := openStore(dir)
	if err != nil {
		return nil, err
	}
	x := &External{dir: dir, db: db, files: map[string]*extFile{}}
	err = db.View(func(txn *badger.Txn) error {
		ok, err := getRecord(txn, extMetaKey(name), kindExtMeta, &x.meta)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %q", ErrNoCollection, name)
		}
		return scanRecords(txn, extFilePrefix(name), nil, kindExtFile, func(_ []byte, f *extFile) error {
			x.files[f.Path] = f
			return nil
		})
	})
	x.sortFilesLocked()
	if err == nil {
		x.idx, err = hnsw.LoadFile(x.ckpt(x.meta.CkptGen))
	}
	if err == nil {
		err = x.replay(ctx)
	}
	if err != nil {
		closeStore(db)
		return nil, fmt.Errorf("open collection %s: %w", name, err)
	}
	return x, nil
}

// replay brings a loaded checkpoint up to the store's file set: rows of
// files added after the checkpoint are read from the lake again, rows the
// checkpoint holds whose file is gone are deleted.
func (x *External) replay(ctx context.Context) error {
	covered := make([]bool, x.meta.CkptNextRow)
	for _, f := range x.files {
		if f.FirstRow >= x.meta.CkptNextRow {
			vecs, err := readFileVectors(ctx, f.Path, x.meta.VectorColumn, x.meta.Dim)
			if err != nil {
				return err
			}
			if len(vecs) != int(f.Count) {
				return fmt.Errorf("%s holds %d vectors, %d when it was indexed: it changed; run refresh", f.Path, len(vecs), f.Count)
			}
			ids := make([]uint32, len(vecs))
			for i := range ids {
				ids[i] = f.FirstRow + uint32(i)
			}
			if err := x.idx.InsertBatch(ctx, ids, vecs, 0); err != nil {
				return err
			}
			continue
		}
		for r := f.FirstRow; r < f.FirstRow+f.Count && r < x.meta.CkptNextRow; r++ {
			covered[r] = true
		}
	}
	for r := range covered {
		if !covered[r] && x.idx.Contains(uint32(r)) {
			if err := x.idx.Delete(uint32(r)); err != nil {
				return err
			}
		}
	}
	x.visible = x.meta.NextRow
	return nil
}

func readFileVectors(ctx context.Context, path, column string, dim int) ([][]float32, error) {
	var vecs [][]float32
	_, err := lake.ReadVectorsFile(ctx, path, lake.VectorOptions{Column: column, Dim: dim}, func(b *lake.VectorBatch) error {
		for i := range b.Rows {
			vecs = append(vecs, append([]float32(nil), b.Values[i*b.Dim:(i+1)*b.Dim]...))
		}
		return nil
	})
	return vecs, err
}

// ExternalNames lists the external collections of a data directory.
func ExternalNames(dir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, "store")); err != nil {
		return nil, nil
	}
	db, err := openStore(dir)
	if err != nil {
		return nil, err
	}
	defer closeStore(db)
	var out []string
	err = db.View(func(txn *badger.Txn) error {
		return scanRecords(txn, []byte("xmeta/"), nil, kindExtMeta, func(_ []byte, m *extMeta) error {
			out = append(out, m.Name)
			return nil
		})
	})
	return out, err
}

// Close writes an index checkpoint if refreshes happened since the last
// one, and releases the collection.
func (x *External) Close() error {
	x.refreshMu.Lock()
	err := x.checkpoint()
	x.refreshMu.Unlock()
	if e := closeStore(x.db); err == nil {
		err = e
	}
	return err
}

// checkpointEvery is how many refreshes may pass between checkpoints.
const checkpointEvery = 16

// checkpoint writes the index for the current refresh and records it in
// the store, then removes the previous checkpoint. refreshMu is held.
func (x *External) checkpoint() error {
	x.mu.RLock()
	meta := x.meta
	x.mu.RUnlock()
	if meta.CkptGen == meta.Gen {
		return nil
	}
	if err := x.idx.WriteFile(x.ckpt(meta.Gen)); err != nil {
		return err
	}
	prev := meta.CkptGen
	meta.CkptGen, meta.CkptNextRow = meta.Gen, meta.NextRow
	b, err := encodeRecord(kindExtMeta, &meta)
	if err != nil {
		return err
	}
	if err := x.db.Update(func(txn *badger.Txn) error { return txn.Set(extMetaKey(meta.Name), b) }); err != nil {
		return err
	}
	if err := x.db.Sync(); err != nil {
		return err
	}
	x.mu.Lock()
	x.meta.CkptGen, x.meta.CkptNextRow = meta.CkptGen, meta.CkptNextRow
	x.mu.Unlock()
	if prev != meta.Gen {
		os.Remove(x.ckpt(prev))
	}
	return nil
}

// RefreshReport says what a refresh did.
type RefreshReport struct {
	FilesTotal   int     `json:"files_total"`
	FilesRead    int     `json:"files_read"`
	FilesRemoved int     `json:"files_removed"`
	RowsAdded    int     `json:"rows_added"`
	RowsRemoved  int     `json:"rows_removed"`
	NullVectors  int64   `json:"null_vectors"`
	Seconds      float64 `json:"seconds"`
}

type listed struct {
	size  int64
	mtime int64
}

// listSource returns the files of a collection's source now (and, for an
// Iceberg table, the snapshot they belong to).
func listSource(ctx context.Context, m extMeta) (map[string]listed, int64, error) {
	if m.Kind != "iceberg" {
		l, err := listParquet(m.Source)
		return l, 0, err
	}
	t, err := lake.OpenIcebergTable(ctx, m.Source, m.Table)
	if err != nil {
		return nil, 0, err
	}
	defer t.Close()
	snap, files, err := t.CurrentDataFiles(ctx)
	if err != nil {
		return nil, 0, err
	}
	out := make(map[string]listed, len(files))
	for _, f := range files {
		out[f.Path] = listed{size: f.Size} // Iceberg never rewrites a file in place
	}
	return out, snap, nil
}

// listParquet returns the Parquet files of a directory (recursively) or a
// glob, with size and modification time: the state of the dataset.
func listParquet(src string) (map[string]listed, error) {
	out := map[string]listed{}
	add := func(p string, info os.FileInfo) {
		abs, _ := filepath.Abs(p)
		out[abs] = listed{info.Size(), info.ModTime().UnixNano()}
	}
	if st, err := os.Stat(src); err == nil && st.IsDir() {
		err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if !info.IsDir() && strings.HasSuffix(strings.ToLower(p), ".parquet") {
				add(p, info)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", src, err)
		}
		return out, nil
	}
	matches, err := filepath.Glob(src)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", src, err)
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("no Parquet dataset at %q (a directory or a glob of files)", src)
	}
	for _, m := range matches {
		st, err := os.Stat(m)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			add(m, st)
		}
	}
	return out, nil
}

// Refresh brings the index up to the dataset: files that appeared or
// changed (size or modification time) are read, rows of files that
// disappeared or changed are removed; unchanged files are not opened.
// All of it becomes visible at once, or none of it.
func (x *External) Refresh(ctx context.Context) (RefreshReport, error) {
	x.refreshMu.Lock()
	defer x.refreshMu.Unlock()
	start := time.Now()
	var rep RefreshReport
	now, snap, err := listSource(ctx, x.meta)
	if err != nil {
		return rep, err
	}
	rep.FilesTotal = len(now)
	var removed []*extFile
	var toRead []string
	for p, f := range x.files {
		if l, ok := now[p]; !ok || l.size != f.Size || l.mtime != f.MTime {
			removed = append(removed, f)
		}
	}
	for p, l := range now {
		if f, ok := x.files[p]; !ok || l.size != f.Size || l.mtime != f.MTime {
			toRead = append(toRead, p)
		}
	}
	sort.Strings(toRead)
	sort.Slice(removed, func(i, j int) bool { return removed[i].Path < removed[j].Path })

	// Read the new files before touching anything.
	meta := x.meta
	type newFile struct {
		f    extFile
		vecs [][]float32
	}
	var added []newFile
	for _, p := range toRead {
		nf := newFile{f: extFile{Path: p, Size: now[p].size, MTime: now[p].mtime, FirstRow: meta.NextRow}}
		contiguous := true
		st, err := lake.ReadVectorsFile(ctx, p, lake.VectorOptions{Column: meta.VectorColumn, Dim: meta.Dim}, func(b *lake.VectorBatch) error {
			for i, pos := range b.Rows {
				if pos != int64(len(nf.vecs)) {
					contiguous = false
				}
				nf.f.Positions = append(nf.f.Positions, pos)
				nf.vecs = append(nf.vecs, append([]float32(nil), b.Values[i*b.Dim:(i+1)*b.Dim]...))
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		if meta.Dim == 0 {
			meta.Dim = st.Dim
		}
		if contiguous {
			nf.f.Positions = nil
		}
		nf.f.Count, nf.f.Nulls = uint32(len(nf.vecs)), st.Nulls+st.Empty
		meta.NextRow += nf.f.Count
		rep.NullVectors += nf.f.Nulls
		added = append(added, nf)
		rep.FilesRead++
	}
	if meta.Dim == 0 {
		return rep, fmt.Errorf("no vectors in %s column %q", meta.Source, meta.VectorColumn)
	}
	if x.idx == nil {
		metric, err := hnsw.ParseMetric(meta.Metric)
		if err != nil {
			return rep, err
		}
		if x.idx, err = hnsw.New(hnsw.DefaultOptions(meta.Dim, metric)); err != nil {
			return rep, err
		}
	}
	// Insert the new rows above the visible bound: searches skip them.
	var inserted []uint32
	undo := func() {
		for _, id := range inserted {
			x.idx.Delete(id)
		}
	}
	for _, nf := range added {
		ids := make([]uint32, len(nf.vecs))
		for i := range ids {
			ids[i] = nf.f.FirstRow + uint32(i)
		}
		if err := x.idx.InsertBatch(ctx, ids, nf.vecs, 0); err != nil {
			undo()
			return rep, fmt.Errorf("index %s: %w", nf.f.Path, err)
		}
		inserted = append(inserted, ids...)
		rep.RowsAdded += len(ids)
	}
	for _, f := range removed {
		rep.RowsRemoved += int(f.Count)
	}
	for _, f := range removed {
		if _, ok := now[f.Path]; !ok {
			rep.FilesRemoved++
		}
	}
	meta.Gen++
	meta.Snapshot = snap
	meta.Files = len(now)
	meta.Refreshed = time.Now().UnixMilli()
	meta.Rows = x.idx.Len() - rep.RowsRemoved // inserted rows are live, removed ones not yet deleted
	err = x.db.Update(func(txn *badger.Txn) error {
		for _, f := range removed {
			if err := txn.Delete(extFileKey(meta.Name, f.Path)); err != nil {
				return err
			}
		}
		for i := range added {
			b, err := encodeRecord(kindExtFile, &added[i].f)
			if err != nil {
				return err
			}
			if err := txn.Set(extFileKey(meta.Name, added[i].f.Path), b); err != nil {
				return err
			}
		}
		b, err := encodeRecord(kindExtMeta, &meta)
		if err != nil {
			return err
		}
		return txn.Set(extMetaKey(meta.Name), b)
	})
	if err == nil {
		err = x.db.Sync()
	}
	if err != nil {
		undo()
		return rep, fmt.Errorf("refresh %s: %w", meta.Name, err)
	}
	// Commit point for readers: raise the bound, drop removed rows.
	x.mu.Lock()
	for _, f := range removed {
		for r := f.FirstRow; r < f.FirstRow+f.Count; r++ {
			x.idx.Delete(r)
		}
		delete(x.files, f.Path)
	}
	for i := range added {
		f := added[i].f
		x.files[f.Path] = &f
	}
	x.sortFilesLocked()
	x.meta, x.visible = meta, meta.NextRow
	x.mu.Unlock()
	if meta.Gen-meta.CkptGen >= checkpointEvery || meta.CkptGen == 0 {
		if err := x.checkpoint(); err != nil {
			return rep, fmt.Errorf("refresh %s: checkpoint: %w", meta.Name, err)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// VectorHit is one result of an external collection search.
type VectorHit struct {
	File  string  `json:"file"`
	Row   int64   `json:"row"` // position in the file
	Score float32 `json:"score"`
	ID    uint32  `json:"id"`
}

// Info describes the collection.
func (x *External) Info() map[string]any {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return map[string]any{"name": x.meta.Name, "kind": x.meta.Kind, "source": x.meta.Source, "table": x.meta.Table, "snapshot": x.meta.Snapshot, "vector_column": x.meta.VectorColumn,
		"metric": x.meta.Metric, "dim": x.meta.Dim, "rows": x.meta.Rows, "files": x.meta.Files,
		"refreshed": time.UnixMilli(x.meta.Refreshed).UTC().Format(time.RFC3339)}
}

// Search returns the k nearest rows to q.
func (x *External) Search(q []float32, k, ef int) ([]VectorHit, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var allow func(uint32) bool
	if n := uint32(x.idx.Slots()); n > x.visible {
		vis := x.visible
		allow = func(id uint32) bool { return id < vis }
	}
	res, err := x.idx.Search(q, k, max(ef, k), allow)
	if err != nil {
		return nil, err
	}
	out := make([]VectorHit, 0, len(res))
	for _, r := range res {
		f := x.fileOf(r.ID)
		if f == nil {
			return nil, &CorruptStoreError{Key: string(extMetaKey(x.meta.Name)), Reason: fmt.Sprintf("index id %d belongs to no file", r.ID)}
		}
		pos := int64(r.ID - f.FirstRow)
		if f.Positions != nil {
			pos = f.Positions[r.ID-f.FirstRow]
		}
		score := -r.Distance
		if x.meta.Metric != hnsw.L2.String() {
			score = 1 - r.Distance
		}
		out = append(out, VectorHit{File: f.Path, Row: pos, Score: score, ID: r.ID})
	}
	return out, nil
}

// fileOf finds the file holding row id by binary search over the files
// sorted by first row (rebuilt whenever the file set changes).
func (x *External) fileOf(id uint32) *extFile {
	i := sort.Search(len(x.byRow), func(i int) bool { return x.byRow[i].FirstRow+x.byRow[i].Count > id })
	if i < len(x.byRow) && id >= x.byRow[i].FirstRow {
		return x.byRow[i]
	}
	return nil
}

// sortFilesLocked rebuilds byRow from files; x.mu is held (or x is not
// shared yet).
func (x *External) sortFilesLocked() {
	x.byRow = x.byRow[:0]
	for _, f := range x.files {
		x.byRow = append(x.byRow, f)
	}
	sort.Slice(x.byRow, func(i, j int) bool { return x.byRow[i].FirstRow < x.byRow[j].FirstRow })
}

// DocumentCollections describes the documents collections of a data
// directory from their metadata, without opening their indexes.
func DocumentCollections(dir string) ([]map[string]any, error) {
	if _, err := os.Stat(filepath.Join(dir, "store")); err != nil {
		return nil, nil
	}
	db, err := openStore(dir)
	if err != nil {
		return nil, err
	}
	defer closeStore(db)
	var out []map[string]any
	err = db.View(func(txn *badger.Txn) error {
		return scanRecords(txn, []byte("meta/"), nil, kindMeta, func(_ []byte, m *collMeta) error {
			info := map[string]any{"name": m.Name, "kind": m.Kind, "model_id": m.ModelID, "dim": m.Dim,
				"chunk_versions": m.NextRow, "batches": m.AppliedSeq}
			if m.LastAt != 0 {
				info["last_at"] = fmtMs(m.LastAt)
			}
			out = append(out, info)
			return nil
		})
	})
	return out, err
}
