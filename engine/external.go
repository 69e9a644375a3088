package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
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
// in the index; a file's rows take a contiguous id range. The index is a
// checkpoint file named by generation (index/x-<name>-<gen>.hnsw). A
// refresh writes the new checkpoint first, then switches the store to it
// in one transaction, then removes the old one: a crash at any point
// leaves the previous generation whole, and the refresh is simply redone.
//
// Not yet: Iceberg tables (snapshot diffs and delete files, package
// snapshot), time travel across snapshots, scalar filters, returned
// columns, reuse of freed row ids.

// ExternalOptions describe an external collection at attach time.
type ExternalOptions struct {
	Name string
	// Parquet is a directory (every *.parquet below it) or a glob.
	Parquet string
	// VectorColumn is the dotted path of the vector column.
	VectorColumn string
	// Metric of the index; default cosine.
	Metric hnsw.Metric
}

type extMeta struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"` // "parquet"
	Source       string `json:"source"`
	VectorColumn string `json:"vector_column"`
	Metric       string `json:"metric"`
	Dim          int    `json:"dim"`
	NextRow      uint32 `json:"next_row"`
	Gen          uint64 `json:"gen"`
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
	idx       *hnsw.Index
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
	if _, err := listParquet(o.Parquet); err != nil {
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
	x.meta = extMeta{Name: o.Name, Kind: "parquet", Source: o.Parquet, VectorColumn: o.VectorColumn, Metric: o.Metric.String()}
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
	if err == nil {
		x.idx, err = hnsw.LoadFile(x.ckpt(x.meta.Gen))
	}
	if err != nil {
		closeStore(db)
		return nil, fmt.Errorf("open collection %s: %w", name, err)
	}
	return x, nil
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

// Close releases the collection.
func (x *External) Close() error { return closeStore(x.db) }

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
	now, err := listParquet(x.meta.Source)
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
	// Build the next generation of the index on a copy, so searches keep
	// the current one until the switch.
	var next *hnsw.Index
	if x.idx == nil {
		metric, err := hnsw.ParseMetric(meta.Metric)
		if err != nil {
			return rep, err
		}
		if next, err = hnsw.New(hnsw.DefaultOptions(meta.Dim, metric)); err != nil {
			return rep, err
		}
	} else {
		var err error
		if next, err = cloneIndex(x.idx); err != nil {
			return rep, err
		}
	}
	for _, f := range removed {
		for r := f.FirstRow; r < f.FirstRow+f.Count; r++ {
			if err := next.Delete(r); err != nil && !errors.Is(err, hnsw.ErrNotFound) {
				return rep, err
			}
		}
		rep.RowsRemoved += int(f.Count)
	}
	for _, nf := range added {
		ids := make([]uint32, len(nf.vecs))
		for i := range ids {
			ids[i] = nf.f.FirstRow + uint32(i)
		}
		if err := next.InsertBatch(ctx, ids, nf.vecs, 0); err != nil {
			return rep, fmt.Errorf("index %s: %w", nf.f.Path, err)
		}
		rep.RowsAdded += len(ids)
	}
	meta.Gen++
	meta.Rows = next.Len()
	meta.Files = len(now)
	meta.Refreshed = time.Now().UnixMilli()
	if err := next.WriteFile(x.ckpt(meta.Gen)); err != nil {
		return rep, err
	}
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
		os.Remove(x.ckpt(meta.Gen))
		return rep, fmt.Errorf("refresh %s: %w", meta.Name, err)
	}
	old := x.ckpt(x.meta.Gen)
	x.mu.Lock()
	for _, f := range removed {
		delete(x.files, f.Path)
	}
	for i := range added {
		f := added[i].f
		x.files[f.Path] = &f
	}
	hadOld := x.meta.Gen > 0
	x.meta, x.idx = meta, next
	x.mu.Unlock()
	if hadOld {
		os.Remove(old)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// cloneIndex copies an index through its file format.
func cloneIndex(x *hnsw.Index) (*hnsw.Index, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(x.Save(pw)) }()
	return hnsw.Load(pr)
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
	return map[string]any{"name": x.meta.Name, "kind": x.meta.Kind, "source": x.meta.Source, "vector_column": x.meta.VectorColumn,
		"metric": x.meta.Metric, "dim": x.meta.Dim, "rows": x.meta.Rows, "files": x.meta.Files,
		"refreshed": time.UnixMilli(x.meta.Refreshed).UTC().Format(time.RFC3339)}
}

// Search returns the k nearest rows to q.
func (x *External) Search(q []float32, k, ef int) ([]VectorHit, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	res, err := x.idx.Search(q, k, max(ef, k), nil)
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

func (x *External) fileOf(id uint32) *extFile {
	for _, f := range x.files {
		if id >= f.FirstRow && id < f.FirstRow+f.Count {
			return f
		}
	}
	return nil
}
