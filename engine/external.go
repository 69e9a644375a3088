package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/lakevec/lakevec/engine/embed"
	"github.com/lakevec/lakevec/hnsw"
	"github.com/lakevec/lakevec/lake"
)

// An external collection indexes the vector column of a table the user
// owns — an Iceberg table or a plain Parquet dataset — in place: lakevec
// reads the files, never copies or writes them, and a refresh reads only
// the files that changed.
//
// # Versions and time travel
//
// The collection moves through versions 1, 2, …: one per Iceberg snapshot
// applied (every snapshot of the table's history since the attach, in
// order, so any of them can be searched), or one per refresh of a Parquet
// dataset that found a change. A version records its snapshot id and its
// time (the snapshot's commit time; for a Parquet dataset, when the
// refresh saw it).
//
// Every row ever indexed keeps the interval of versions [from, to) in
// which it was live: removing a data file, a position delete, an equality
// delete or a dataset file that changed ends it (to = the version), and
// nothing is removed from the graph. A search at version g admits exactly
// the rows with from ≤ g < to through the filtered HNSW search, so
// `--snapshot ID` and `--as-of T` (the last version at or before T) return
// what the table held then; the current search is the same filter at the
// newest version.
//
// # Rows
//
// A row is addressed by (data file, row position). It gets a dense id in
// the index when first read. With an id column, a snapshot that removes
// files and adds files holding the same rows unchanged (a compaction, a
// copy-on-write rewrite of untouched rows) remaps those rows to their new
// file and position without touching the graph: same id value, same
// vector, same kept columns.
//
// Kept columns (ExternalOptions.Columns, plus the id column) are read with
// the vectors and stored beside them — in memory for filters evaluated
// inside the graph search, in Badger so they survive the table owner
// expiring old snapshots. Other columns can be fetched from the lake by
// row position at search time.
//
// # State and durability
//
// Badger holds (per collection name):
//
//	xmeta2/<name>                     extMeta: source, columns, versions applied, counters
//	xf/<name>/<added version>/<uri>   extFile: a data file, its rows' ids and positions, when it was removed, rows deleted in it
//	xc/<name>/<added version>/<uri>   the kept columns of that file's rows
//	xv/<name>/<version>               extVersion: snapshot id and time
//	xd/<name>/<key>                   a delete file already applied
//
// The graph is checkpointed to index/x-<name>-<version>.hnsw; the rows a
// version added are also written, before the version commits, to a delta
// segment index/x-<name>-d<version>.vec (see extdelta.go). Opening loads
// the checkpoint and inserts the delta segments after it, so a restart
// never re-reads the lake and does not depend on files the owner may have
// expired. A version commits in one Badger transaction; until then its
// rows are in the graph with ids at or above the visible bound, which
// searches skip. A crash before the commit leaves the previous version,
// and the next refresh redoes the lost one.
//
// Lock order: refreshMu (one refresh at a time), then mu (readers vs the
// commit of a version).

// ExternalOptions describe an external collection at attach time.
type ExternalOptions struct {
	Name string
	// Parquet is a directory (every *.parquet below it) or a glob.
	Parquet string
	// IcebergCatalog and IcebergTable name an Iceberg table instead: a
	// catalog (SQLite path or sqlite:///path, postgres://…, or a REST
	// catalog's http(s):// URI) and "namespace.table"; or no catalog and
	// the location of a metadata JSON file (that one table version: a
	// refresh cannot see later ones).
	IcebergCatalog, IcebergTable string
	// VectorColumn is the dotted path of the vector column.
	VectorColumn string
	// IDColumn, optional, is a scalar column identifying a row across
	// files: rows rewritten unchanged into new files are remapped, not
	// re-indexed.
	IDColumn string
	// Columns are scalar columns kept beside each vector: usable in
	// filters and returned with results.
	Columns []string
	// Metric of the index; default cosine.
	Metric hnsw.Metric
	// FromSnapshot is where an Iceberg collection's history starts: 0 (the
	// default) the current snapshot; -1 the oldest snapshot the table still
	// lists on the current one's lineage; or that snapshot id. Every
	// snapshot from there on becomes a version (their data files must
	// still exist).
	FromSnapshot int64
	// PathGuard, optional, vets every data and delete file URI before it
	// is opened (a server keeps reads inside its configured roots: an
	// Iceberg catalog may name files anywhere). Not stored: set it again
	// on an opened collection with SetPathGuard.
	PathGuard func(uri string) error
	// Progress, optional, receives the attach's progress (see Progress).
	Progress Progress
	// Embedder, optional, is the model that produced the vectors: text
	// queries are embedded with it (QueryText). Nil: vector queries only.
	Embedder *embed.Config
	// S3 configures s3:// datasets and warehouses. Static credentials are
	// used for the attach only and never stored: later opens take them
	// from the AWS default chain (AWS_ACCESS_KEY_ID, …).
	S3 lake.S3Options
}

type extMeta struct {
	Name         string          `json:"name"`
	Kind         string          `json:"kind"` // "parquet" or "iceberg"
	Table        string          `json:"table,omitempty"`
	Source       string          `json:"source"`
	VectorColumn string          `json:"vector_column"`
	IDColumn     string          `json:"id_column,omitempty"`
	Columns      []string        `json:"columns,omitempty"`
	ColumnTypes  []uint8         `json:"column_types,omitempty"` // lake.ColumnType of each kept column (id column last), set by the first read
	Metric       string          `json:"metric"`
	Dim          int             `json:"dim"`
	NextRow      uint32          `json:"next_row"`
	Gen          uint32          `json:"gen"`                // versions applied
	Snapshot     int64           `json:"snapshot,omitempty"` // Iceberg snapshot of the newest version
	CkptGen      uint32          `json:"ckpt_gen"`           // version the index checkpoint reflects
	CkptNextRow  uint32          `json:"ckpt_next_row"`      // rows the checkpoint covers
	Rows         int             `json:"rows"`               // live rows
	Files        int             `json:"files"`              // live data files
	Refreshed    int64           `json:"refreshed"`          // unix ms of the last refresh
	LastReport   *RefreshReport  `json:"last_report,omitempty"`
	Embedder     *embed.Config   `json:"embedder,omitempty"`
	FromSnapshot int64           `json:"from_snapshot,omitempty"` // attach: where the history starts
	S3           *lake.S3Options `json:"s3,omitempty"`            // without credentials
}

// storage returns the object store settings of the collection.
func (m *extMeta) storage() *lake.Storage {
	if m.S3 == nil {
		return lake.NewStorage(lake.S3Options{})
	}
	return lake.NewStorage(*m.S3)
}

// icebergSource names the collection's Iceberg table for package lake.
// guard, if not nil, vets every file of the table before it is read.
func (m *extMeta) icebergSource(creds lake.S3Options, guard func(uri string) error) lake.IcebergSource {
	src := lake.IcebergSource{Catalog: m.Source, Table: m.Table, Guard: guard}
	if m.S3 != nil {
		src.S3 = *m.S3
	}
	if creds.AccessKeyID != "" {
		src.S3.AccessKeyID, src.S3.SecretAccessKey, src.S3.SessionToken = creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken
	}
	return src
}

// keptNames are the kept columns with the id column (if it is not one of
// them) last.
func (m *extMeta) keptNames() []string {
	out := slices.Clone(m.Columns)
	if m.IDColumn != "" && !slices.Contains(out, m.IDColumn) {
		out = append(out, m.IDColumn)
	}
	return out
}

type extFile struct {
	URI       string   `json:"uri"`
	Size      int64    `json:"size"`
	ETag      string   `json:"etag,omitempty"`  // object stores
	MTime     int64    `json:"mtime,omitempty"` // unix ns (Parquet datasets)
	Added     uint32   `json:"added"`           // version that added it
	Removed   uint32   `json:"removed,omitempty"`
	FirstRow  uint32   `json:"first_row"`
	Count     uint32   `json:"count"`
	IDs       []uint32 `json:"ids,omitempty"`       // nil: FirstRow+i
	Positions []int64  `json:"positions,omitempty"` // nil: 0..Count-1 (no null vectors)
	Nulls     int64    `json:"nulls,omitempty"`
	// Deleted rows (by offset in the file's rows) and the version that
	// deleted them: position and equality deletes.
	Deleted []rowEnd `json:"deleted,omitempty"`
	// Iceberg: data sequence number and partition, for matching deletes.
	DataSeq   int64  `json:"data_seq,omitempty"`
	Partition string `json:"partition,omitempty"`
	SpecID    int32  `json:"spec_id,omitempty"`
}

type rowEnd struct {
	Off uint32 `json:"o"`
	Gen uint32 `json:"g"`
}

func (f *extFile) id(off int) uint32 {
	if f.IDs != nil {
		return f.IDs[off]
	}
	return f.FirstRow + uint32(off)
}

func (f *extFile) pos(off int) int64 {
	if f.Positions != nil {
		return f.Positions[off]
	}
	return int64(off)
}

// offOf returns the offset of the row at position pos, or -1 (a null
// vector, or beyond the file).
func (f *extFile) offOf(pos int64) int {
	if f.Positions == nil {
		if pos >= 0 && pos < int64(f.Count) {
			return int(pos)
		}
		return -1
	}
	i, ok := slices.BinarySearch(f.Positions, pos)
	if !ok {
		return -1
	}
	return i
}

type extVersion struct {
	Gen      uint32 `json:"gen"`
	Snapshot int64  `json:"snapshot,omitempty"`
	TimeMs   int64  `json:"time_ms"`
}

// Record kinds of external collections. 8 and 9 were the first format
// (one file set, no history): retired, never reuse.
const (
	kindExtMeta    byte = 10
	kindExtFile    byte = 11
	kindExtVersion byte = 12
	kindExtCols    byte = 13
	kindExtDelete  byte = 14
)

func extMetaKey(n string) []byte { return []byte("xmeta2/" + n) }
func extFileKey(n string, gen uint32, uri string) []byte {
	return fmt.Appendf(nil, "xf/%s/%010d/%s", n, gen, uri)
}
func extColsKey(n string, gen uint32, uri string) []byte {
	return fmt.Appendf(nil, "xc/%s/%010d/%s", n, gen, uri)
}
func extVersionKey(n string, gen uint32) []byte { return fmt.Appendf(nil, "xv/%s/%010d", n, gen) }
func extDeleteKey(n, key string) []byte         { return []byte("xd/" + n + "/" + key) }

func (x *External) ckpt(gen uint32) string {
	return filepath.Join(x.dir, "index", fmt.Sprintf("x-%s-%d.hnsw", x.meta.Name, gen))
}

// live is the "to" of a row that was never removed.
const live = math.MaxUint32

// External is an open external collection. Searches run concurrently;
// refreshes are serialised.
type External struct {
	dir string
	db  *badger.DB

	refreshMu sync.Mutex
	// Progress of the refresh running (refreshMu held).
	progress         Progress
	toRead, readDone int64
	st               *lake.Storage          // reads the source's files
	guard            func(uri string) error // vets file URIs before opening (nil: none)
	creds            lake.S3Options         // S3 credentials given at attach (not stored)
	embMu            sync.Mutex             // guards emb
	emb              embed.Embedder         // opened on the first text query

	mu       sync.RWMutex // guards everything below
	meta     extMeta
	files    map[string]*extFile // live data files by URI
	idx      *hnsw.Index
	versions []extVersion // versions[g-1] is version g
	// Per row id: the versions it was live in, [from, to), and where it
	// is now (or was last).
	from, to []uint32
	rowFile  []*extFile
	rowOff   []uint32
	// cols are the kept columns' values by row id.
	cols map[string]*lake.Column
	// deletes are the delete files applied (by key), for the diff of a
	// table whose history cannot be walked.
	deletes map[string]delRecord
	// visible bounds the ids searches may return: rows a refresh is still
	// inserting (ids >= visible) are hidden until it commits.
	visible uint32
}

// ErrNoCollection is returned for a collection name the data directory
// does not hold.
var ErrNoCollection = errors.New("no such collection")

// ErrLocal marks (through errors.Is) a failure of the data directory — the
// store, index or segment files — as opposed to the source being unreadable
// as asked. ErrExists: the collection name is taken.
var (
	ErrLocal  = errors.New("data directory failure")
	ErrExists = errors.New("collection exists")
)

// localErr tags err with ErrLocal.
type localErr struct{ err error }

func (e localErr) Error() string   { return e.err.Error() }
func (e localErr) Unwrap() []error { return []error{e.err, ErrLocal} }

func local(err error) error {
	if err == nil {
		return nil
	}
	return localErr{err}
}

// Attach registers an external collection and indexes it (a first
// refresh). The name must be new in the data directory.
func Attach(ctx context.Context, dir string, o ExternalOptions) (*External, RefreshReport, error) {
	if o.Metric == 0 {
		o.Metric = hnsw.Cosine
	}
	if o.VectorColumn == "" {
		return nil, RefreshReport{}, fmt.Errorf("attach %s: the vector column is required", o.Name)
	}
	for _, c := range o.Columns {
		if c == "" || c == o.VectorColumn {
			return nil, RefreshReport{}, fmt.Errorf("attach %s: bad kept column %q", o.Name, c)
		}
	}
	meta := extMeta{Name: o.Name, Kind: "parquet", Source: o.Parquet, VectorColumn: o.VectorColumn, Metric: o.Metric.String(),
		IDColumn: o.IDColumn, Columns: o.Columns, Embedder: o.Embedder, FromSnapshot: o.FromSnapshot}
	if o.S3 != (lake.S3Options{}) {
		s3 := o.S3
		s3.AccessKeyID, s3.SecretAccessKey, s3.SessionToken = "", "", ""
		meta.S3 = &s3
	}
	if o.IcebergCatalog != "" || strings.HasSuffix(o.IcebergTable, ".metadata.json") {
		if o.Parquet != "" {
			return nil, RefreshReport{}, fmt.Errorf("attach %s: give a Parquet dataset or an Iceberg table, not both", o.Name)
		}
		meta.Kind, meta.Source, meta.Table = "iceberg", o.IcebergCatalog, o.IcebergTable
	} else if o.Parquet == "" {
		return nil, RefreshReport{}, fmt.Errorf("attach %s: give a Parquet dataset or an Iceberg table", o.Name)
	}
	if err := checkSource(ctx, meta, o.S3, o.PathGuard); err != nil {
		return nil, RefreshReport{}, fmt.Errorf("attach %s: %w", o.Name, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "index"), 0o755); err != nil {
		return nil, RefreshReport{}, local(err)
	}
	db, err := openStore(dir)
	if err != nil {
		return nil, RefreshReport{}, local(err)
	}
	var exists bool
	if err := db.View(func(txn *badger.Txn) error {
		var m extMeta
		exists, err = getRecord(txn, extMetaKey(o.Name), kindExtMeta, &m)
		return err
	}); err != nil || exists {
		closeStore(db)
		if err == nil {
			err = fmt.Errorf("%w: collection %q is already attached; use refresh", ErrExists, o.Name)
		} else {
			err = local(err)
		}
		return nil, RefreshReport{}, fmt.Errorf("attach %s: %w", o.Name, err)
	}
	x := newExternal(dir, db, meta)
	x.creds, x.st, x.guard = o.S3, lake.NewStorage(o.S3), o.PathGuard
	rep, err := x.RefreshWith(ctx, o.Progress)
	if err != nil {
		closeStore(db)
		return nil, rep, fmt.Errorf("attach %s: %w", o.Name, err)
	}
	if x.meta.Gen == 0 {
		closeStore(db)
		return nil, rep, fmt.Errorf("attach %s: no vectors in %s column %q", o.Name, meta.Source, meta.VectorColumn)
	}
	return x, rep, nil
}

func newExternal(dir string, db *badger.DB, meta extMeta) *External {
	return &External{dir: dir, db: db, meta: meta, files: map[string]*extFile{}, deletes: map[string]delRecord{}, cols: map[string]*lake.Column{}}
}

// OpenExternal opens an attached external collection from its store, its
// index checkpoint and the delta segments after it. It does not read the
// lake: call Refresh to catch up with changes made while it was closed.
func OpenExternal(ctx context.Context, dir, name string) (*External, error) {
	if _, err := os.Stat(filepath.Join(dir, "store")); err != nil {
		return nil, fmt.Errorf("%w: %q (no data directory at %s)", ErrNoCollection, name, dir)
	}
	db, err := openStore(dir)
	if err != nil {
		return nil, err
	}
	x := newExternal(dir, db, extMeta{})
	if err := x.load(ctx, name); err != nil {
		closeStore(db)
		return nil, fmt.Errorf("open collection %s: %w", name, err)
	}
	x.st = x.meta.storage()
	return x, nil
}

// load reads the collection's state from the store and the index from its
// checkpoint and delta segments.
func (x *External) load(ctx context.Context, name string) error {
	var files []*extFile
	colRecs := map[string]map[string]*lake.Column{} // file key → columns
	err := x.db.View(func(txn *badger.Txn) error {
		ok, err := getRecord(txn, extMetaKey(name), kindExtMeta, &x.meta)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %q", ErrNoCollection, name)
		}
		// Records stamped with a version above meta.Gen belong to a
		// version that did not commit (meta is the commit point): ignored,
		// and overwritten when the refresh is redone.
		if err := scanRecords(txn, []byte("xv/"+name+"/"), nil, kindExtVersion, func(_ []byte, v *extVersion) error {
			if v.Gen <= x.meta.Gen {
				x.versions = append(x.versions, *v)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := scanRecords(txn, []byte("xf/"+name+"/"), nil, kindExtFile, func(_ []byte, f *extFile) error {
			if f.Added > x.meta.Gen {
				return nil
			}
			c := *f
			if c.Removed > x.meta.Gen {
				c.Removed = 0
			}
			c.Deleted = slices.DeleteFunc(c.Deleted, func(d rowEnd) bool { return d.Gen > x.meta.Gen })
			files = append(files, &c)
			return nil
		}); err != nil {
			return err
		}
		if err := scanRecords(txn, []byte("xc/"+name+"/"), nil, kindExtCols, func(k []byte, c *[]lake.Column) error {
			m := map[string]*lake.Column{}
			for i := range *c {
				m[(*c)[i].Name] = &(*c)[i]
			}
			colRecs[strings.Replace(string(k), "xc/", "xf/", 1)] = m
			return nil
		}); err != nil {
			return err
		}
		return scanRecords(txn, []byte("xd/"+name+"/"), nil, kindExtDelete, func(k []byte, d *delRecord) error {
			if d.Gen > x.meta.Gen {
				return nil // written by a version that did not commit
			}
			if d.Dropped > x.meta.Gen {
				d.Dropped = 0
			}
			x.deletes[strings.TrimPrefix(string(k), "xd/"+name+"/")] = *d
			return nil
		})
	})
	if err != nil {
		return err
	}
	if len(x.versions) != int(x.meta.Gen) {
		return &CorruptStoreError{Key: string(extMetaKey(name)), Reason: fmt.Sprintf("%d versions recorded, meta says %d", len(x.versions), x.meta.Gen)}
	}
	n := int(x.meta.NextRow)
	x.growRowsLocked(n)
	// Oldest first: a remapped row's newest file decides where it is and
	// whether it is live.
	sort.SliceStable(files, func(i, j int) bool { return files[i].Added < files[j].Added })
	seen := make([]bool, n)
	for _, f := range files {
		cols := colRecs[string(extFileKey(name, f.Added, f.URI))]
		for off := range int(f.Count) {
			id := f.id(off)
			if int(id) >= n {
				return &CorruptStoreError{Key: string(extFileKey(name, f.Added, f.URI)), Reason: fmt.Sprintf("row id %d beyond %d rows", id, n)}
			}
			if !seen[id] {
				seen[id] = true
				x.from[id] = f.Added
				for c, col := range x.cols {
					if src := cols[c]; src != nil && off < src.Len() {
						setColumn(col, int(id), src.Value(off))
					}
				}
			}
			x.rowFile[id], x.rowOff[id] = f, uint32(off)
			x.to[id] = live
			if f.Removed != 0 {
				x.to[id] = f.Removed
			}
		}
		for _, d := range f.Deleted {
			if id := f.id(int(d.Off)); x.rowFile[id] == f && d.Gen < x.to[id] {
				x.to[id] = d.Gen
			}
		}
		if f.Removed == 0 {
			x.files[f.URI] = f
		}
	}
	if x.meta.CkptGen == 0 {
		return fmt.Errorf("no index checkpoint recorded (the attach did not finish): detach and attach again")
	}
	x.idx, err = hnsw.LoadFile(x.ckpt(x.meta.CkptGen))
	if err != nil {
		return err
	}
	if err := x.replayDeltas(ctx); err != nil {
		return err
	}
	x.visible = x.meta.NextRow
	return nil
}

// growRowsLocked extends the per-row arrays to n rows.
func (x *External) growRowsLocked(n int) {
	for len(x.from) < n {
		x.from = append(x.from, 0)
		x.to = append(x.to, 0)
		x.rowFile = append(x.rowFile, nil)
		x.rowOff = append(x.rowOff, 0)
	}
	names := x.meta.keptNames()
	for i, c := range names {
		col := x.cols[c]
		if col == nil {
			if i >= len(x.meta.ColumnTypes) {
				continue // types are known after the first read
			}
			col = &lake.Column{Name: c, Type: lake.ColumnType(x.meta.ColumnTypes[i])}
			x.cols[c] = col
		}
		for col.Len() < n {
			col.Append(nil)
		}
	}
}

// setColumn sets row id of col to v (of the column's type, or nil).
func setColumn(col *lake.Column, id int, v any) {
	if v == nil {
		if col.Null == nil {
			col.Null = make([]bool, col.Len())
		}
		col.Null[id] = true
		return
	}
	if col.Null != nil {
		col.Null[id] = false
	}
	switch col.Type {
	case lake.TypeInt:
		col.Ints[id], _ = v.(int64)
	case lake.TypeFloat:
		col.Floats[id], _ = v.(float64)
	case lake.TypeString:
		col.Strings[id], _ = v.(string)
	case lake.TypeBool:
		col.Bools[id], _ = v.(bool)
	}
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
		return scanRecords(txn, []byte("xmeta2/"), nil, kindExtMeta, func(_ []byte, m *extMeta) error {
			out = append(out, m.Name)
			return nil
		})
	})
	return out, err
}

// Close writes an index checkpoint if versions were applied since the
// last one, and releases the collection.
func (x *External) Close() error {
	x.refreshMu.Lock()
	err := x.checkpoint()
	x.refreshMu.Unlock()
	if e := closeStore(x.db); err == nil {
		err = e
	}
	return err
}

// checkpointEvery is how many versions may pass between checkpoints.
const checkpointEvery = 16

// checkpoint writes the index for the current version and records it in
// the store, then removes the previous checkpoint and the delta segments
// it covers. refreshMu is held.
func (x *External) checkpoint() error {
	x.mu.RLock()
	meta := x.meta
	x.mu.RUnlock()
	if meta.CkptGen == meta.Gen || x.idx == nil {
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
	if prev != 0 && prev != meta.Gen {
		os.Remove(x.ckpt(prev))
	}
	x.removeDeltas(meta.CkptGen)
	return nil
}

// Info describes the collection.
func (x *External) Info() map[string]any {
	x.mu.RLock()
	defer x.mu.RUnlock()
	m := x.meta
	info := map[string]any{"name": m.Name, "kind": m.Kind, "source": m.Source, "vector_column": m.VectorColumn,
		"metric": m.Metric, "dim": m.Dim, "rows": m.Rows, "files": m.Files, "versions": m.Gen,
		"rows_indexed": m.NextRow}
	if m.Table != "" {
		info["table"] = m.Table
	}
	if m.Snapshot != 0 {
		info["snapshot"] = m.Snapshot
	}
	if m.IDColumn != "" {
		info["id_column"] = m.IDColumn
	}
	if len(m.Columns) > 0 {
		info["columns"] = m.Columns
	}
	if m.Refreshed != 0 {
		info["refreshed"] = time.UnixMilli(m.Refreshed).UTC().Format(time.RFC3339)
	}
	if len(x.versions) > 0 {
		info["first_version_at"] = time.UnixMilli(x.versions[0].TimeMs).UTC().Format(time.RFC3339Nano)
		info["last_version_at"] = time.UnixMilli(x.versions[len(x.versions)-1].TimeMs).UTC().Format(time.RFC3339Nano)
	}
	if m.LastReport != nil {
		info["last_refresh"] = *m.LastReport
	}
	if m.Embedder != nil {
		info["embedder"] = m.Embedder.Kind
	}
	return info
}

// Dim is the dimension of the collection's vectors.
func (x *External) Dim() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.meta.Dim
}

// SetPathGuard makes every later file open go through guard first (nil:
// none). Call it before the collection is shared.
func (x *External) SetPathGuard(guard func(uri string) error) { x.guard = guard }

// Source returns the collection's source: the dataset location, or the
// Iceberg catalog (and table).
func (x *External) Source() (kind, source, table string) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.meta.Kind, x.meta.Source, x.meta.Table
}

// open opens a file of the source through the guard.
func (x *External) open(ctx context.Context, uri string) (lake.File, error) {
	if x.guard != nil {
		if err := x.guard(uri); err != nil {
			return nil, err
		}
	}
	return x.st.Open(ctx, uri)
}

// Versions returns the versions applied, oldest first.
func (x *External) Versions() []ExternalVersion {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]ExternalVersion, len(x.versions))
	for i, v := range x.versions {
		out[i] = ExternalVersion{Version: v.Gen, Snapshot: v.Snapshot, Time: time.UnixMilli(v.TimeMs).UTC()}
	}
	return out
}

// ExternalVersion is one version of an external collection.
type ExternalVersion struct {
	Version  uint32    `json:"version"`
	Snapshot int64     `json:"snapshot,omitempty"`
	Time     time.Time `json:"time"`
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
