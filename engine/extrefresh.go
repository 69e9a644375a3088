package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/lakevec/lakevec/hnsw"
	"github.com/lakevec/lakevec/lake"
	"github.com/lakevec/lakevec/snapshot"
)

// RefreshReport says what a refresh did.
type RefreshReport struct {
	Snapshots       int     `json:"snapshots"` // versions applied (Iceberg snapshots, or 1 for a changed dataset)
	FilesTotal      int     `json:"files_total"`
	FilesRead       int     `json:"files_read"`
	FilesRemoved    int     `json:"files_removed"`
	DeleteFilesRead int     `json:"delete_files_read,omitempty"`
	RowsAdded       int     `json:"rows_added"`
	RowsRemoved     int     `json:"rows_removed"`
	RowsRemapped    int     `json:"rows_remapped,omitempty"`
	NullVectors     int64   `json:"null_vectors"`
	Seconds         float64 `json:"seconds"`
}

// extChange is one version to apply: an Iceberg snapshot, or what a refresh
// of a Parquet dataset found.
type extChange struct {
	snapshot int64
	timeMs   int64
	addData  []srcFile
	remove   []string // data file URIs
	addPos   []snapshot.File
	addEq    []snapshot.File
	dropDel  []string // delete file keys no longer live
}

type srcFile struct {
	uri       string
	size      int64
	mtime     int64
	etag      string
	dataSeq   int64
	partition string
	specID    int32
}

// extFailpoint, set by tests, simulates a crash at a step of a version's
// commit: the refresh stops there with the error, leaving the disk as a
// killed process would.
var extFailpoint = func(step string) error { return nil }

// delRecord is an applied delete file.
type delRecord struct {
	File    snapshot.File `json:"file"`
	Gen     uint32        `json:"gen"`               // version that applied it
	Dropped uint32        `json:"dropped,omitempty"` // version that saw it leave the table
}

// checkSource fails when the source cannot be read at all (a missing
// catalog, table, bucket or dataset), before anything is created.
func checkSource(ctx context.Context, m extMeta, creds lake.S3Options, guard func(string) error) error {
	if m.Kind == "iceberg" {
		t, err := lake.OpenIceberg(ctx, m.icebergSource(creds, guard))
		if err != nil {
			return err
		}
		return t.Close()
	}
	st := m.storage()
	if creds.AccessKeyID != "" {
		st = lake.NewStorage(creds)
	}
	_, err := listParquet(ctx, st, m.Source)
	return err
}

// readColumns reads whole scalar columns of the file at uri.
func (x *External) readColumns(ctx context.Context, uri string, cols []string) ([]lake.Column, error) {
	f, err := x.open(ctx, uri)
	if err != nil {
		return nil, &lake.VectorError{File: uri, Row: -1, Err: err}
	}
	defer f.Close()
	_, out, err := lake.ReadColumns(ctx, f, f.Size(), uri, cols)
	return out, err
}

// pendingChanges lists the versions a refresh must apply, oldest first.
func (x *External) pendingChanges(ctx context.Context) ([]extChange, int, *lake.IcebergTable, error) {
	if x.meta.Kind != "iceberg" {
		now, err := listParquet(ctx, x.st, x.meta.Source)
		if err != nil {
			return nil, 0, nil, err
		}
		var c extChange
		for p, f := range x.files {
			if l, ok := now[p]; !ok || !l.same(f) {
				c.remove = append(c.remove, p)
			}
		}
		for p, l := range now {
			if f, ok := x.files[p]; !ok || !l.same(f) {
				c.addData = append(c.addData, srcFile{uri: p, size: l.size, mtime: l.mtime, etag: l.etag})
			}
		}
		if len(c.remove)+len(c.addData) == 0 {
			return nil, len(now), nil, nil
		}
		sort.Strings(c.remove)
		sort.Slice(c.addData, func(i, j int) bool { return c.addData[i].uri < c.addData[j].uri })
		return []extChange{c}, len(now), nil, nil
	}
	t, err := lake.OpenIceberg(ctx, x.meta.icebergSource(x.creds, x.guard))
	if err != nil {
		return nil, 0, nil, err
	}
	cur := t.Current()
	var out []extChange
	switch {
	case cur.ID == x.meta.Snapshot:
	case x.meta.Gen == 0:
		// Attach: the first snapshot to index whole, as the first version
		// (the current one by default), then every snapshot after it.
		first, err := x.firstSnapshot(t, cur)
		if err == nil {
			var st snapshot.State
			if st, err = t.State(ctx, first.ID); err == nil {
				out = []extChange{changeOf(first.ID, first.TimeMs, snapshot.Diff(snapshot.State{Files: map[string]snapshot.File{}}, st))}
			}
		}
		if err == nil && first.ID != cur.ID {
			var chs []snapshot.SnapshotChange
			if chs, err = t.Changes(ctx, first.ID); err == nil {
				for _, sc := range chs {
					out = append(out, changeOf(sc.SnapshotID, sc.TimestampMs, sc.Change))
				}
			}
		}
		if err != nil {
			t.Close()
			return nil, 0, nil, err
		}
	default:
		chs, err := t.Changes(ctx, x.meta.Snapshot)
		if errors.Is(err, lake.ErrHistoryGap) {
			// Expired snapshots or a rollback: one version from the diff
			// of what is indexed and the current state.
			st, err2 := t.State(ctx, cur.ID)
			if err2 != nil {
				t.Close()
				return nil, 0, nil, err2
			}
			chs, err = []snapshot.SnapshotChange{{SnapshotID: cur.ID, TimestampMs: cur.TimeMs, Change: snapshot.Diff(x.indexedState(), st)}}, nil
		}
		if err != nil {
			t.Close()
			return nil, 0, nil, err
		}
		for _, sc := range chs {
			out = append(out, changeOf(sc.SnapshotID, sc.TimestampMs, sc.Change))
		}
	}
	st, err := t.State(ctx, cur.ID)
	if err != nil {
		t.Close()
		return nil, 0, nil, err
	}
	total := 0
	for _, f := range st.Files {
		if f.Kind == snapshot.Data {
			total++
		}
	}
	return out, total, t, nil
}

// firstSnapshot is where an attach starts the collection's history:
// meta.FromSnapshot 0 is the current snapshot, -1 the oldest ancestor of
// the current one the table still lists, any other value that snapshot,
// which must be an ancestor of the current one.
func (x *External) firstSnapshot(t *lake.IcebergTable, cur lake.SnapshotInfo) (lake.SnapshotInfo, error) {
	want := x.meta.FromSnapshot
	if want == 0 || cur.ID == 0 {
		return cur, nil
	}
	s := cur
	for {
		if s.ID == want {
			return s, nil
		}
		p, ok := t.Snapshot(s.ParentID)
		if s.ParentID == 0 || !ok {
			if want == -1 {
				return s, nil // the oldest the table still lists
			}
			return lake.SnapshotInfo{}, fmt.Errorf("snapshot %d is not an ancestor of the current snapshot %d that the table still lists", want, cur.ID)
		}
		s = p
	}
}

// indexedState is the table state the collection reflects, from its own
// records: live data files and applied delete files.
func (x *External) indexedState() snapshot.State {
	st := snapshot.State{SnapshotID: x.meta.Snapshot, Files: map[string]snapshot.File{}}
	for uri := range x.files {
		st.Files[uri] = snapshot.File{Path: uri, Kind: snapshot.Data, ContentOffset: -1}
	}
	for k, d := range x.deletes {
		if d.Dropped == 0 {
			st.Files[k] = d.File
		}
	}
	return st
}

func changeOf(id, ts int64, c snapshot.Change) extChange {
	ch := extChange{snapshot: id, timeMs: ts, addPos: c.AddedPositionDeletes, addEq: c.AddedEqualityDeletes}
	for _, f := range c.AddedData {
		ch.addData = append(ch.addData, srcFile{uri: f.Path, size: f.Size, dataSeq: f.DataSequence, partition: f.Partition, specID: f.SpecID})
	}
	for _, f := range c.RemovedData {
		ch.remove = append(ch.remove, f.Path)
	}
	for _, f := range slices.Concat(c.RemovedPositionDeletes, c.RemovedEqualityDeletes) {
		ch.dropDel = append(ch.dropDel, f.Key())
	}
	return ch
}

type listed struct {
	size  int64
	mtime int64
	etag  string
}

// same reports whether a listed file is still the one indexed.
func (l listed) same(f *extFile) bool {
	return l.size == f.Size && l.mtime == f.MTime && l.etag == f.ETag
}

// listParquet returns the Parquet files of a dataset (a local directory or
// glob, or an s3:// prefix or glob) with size, modification time and
// ETag: the state of the dataset.
func listParquet(ctx context.Context, st *lake.Storage, src string) (map[string]listed, error) {
	objs, err := st.List(ctx, src)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("no Parquet dataset at %q (a directory, a glob or an s3:// prefix of .parquet files)", src)
	}
	out := make(map[string]listed, len(objs))
	for _, o := range objs {
		out[o.URI] = listed{size: o.Size, mtime: o.MTime, etag: o.ETag}
	}
	return out, nil
}

// Refresh brings the collection up to its source: for an Iceberg table,
// every snapshot committed since the last refresh is applied in order,
// each as one version, all-or-nothing; for a Parquet dataset, the files
// that appeared, changed or disappeared since form one version. Only the
// changed files (and delete files) are read.
func (x *External) Refresh(ctx context.Context) (RefreshReport, error) {
	return x.RefreshWith(ctx, nil)
}

// Progress receives how far a refresh is: phase "read" counts data files
// read of those to read, phase "index" rows inserted into the graph of
// those to insert (per version). Called from the refreshing goroutine.
type Progress func(phase string, done, total int64)

// RefreshWith is Refresh reporting its progress to p (nil: none).
func (x *External) RefreshWith(ctx context.Context, p Progress) (RefreshReport, error) {
	x.refreshMu.Lock()
	defer x.refreshMu.Unlock()
	start := time.Now()
	var rep RefreshReport
	changes, total, tbl, err := x.pendingChanges(ctx)
	if err != nil {
		return rep, err
	}
	if tbl != nil {
		defer tbl.Close()
	}
	rep.FilesTotal = total
	x.progress = p
	defer func() { x.progress = nil }()
	for _, c := range changes {
		x.toRead += int64(len(c.addData))
	}
	x.readDone = 0
	defer func() { x.toRead = 0 }()
	for _, c := range changes {
		if err := x.apply(ctx, c, tbl, &rep); err != nil {
			return rep, err
		}
		rep.Snapshots++
	}
	rep.Seconds = time.Since(start).Seconds()
	if x.meta.Gen > 0 {
		// Record the refresh (even one that found nothing) for status.
		x.mu.Lock()
		x.meta.Refreshed = time.Now().UnixMilli()
		if rep.Snapshots > 0 || x.meta.LastReport == nil { // an idle refresh keeps the last report that did something
			r := rep
			x.meta.LastReport = &r
		}
		meta := x.meta
		x.mu.Unlock()
		if err := x.putMeta(meta); err != nil {
			return rep, local(fmt.Errorf("refresh %s: %w", meta.Name, err))
		}
	}
	if x.meta.Gen > 0 && (x.meta.Gen-x.meta.CkptGen >= checkpointEvery || x.meta.CkptGen == 0) {
		if err := x.checkpoint(); err != nil {
			return rep, local(fmt.Errorf("refresh %s: checkpoint: %w", x.meta.Name, err))
		}
	}
	return rep, nil
}

func (x *External) putMeta(meta extMeta) error {
	b, err := encodeRecord(kindExtMeta, &meta)
	if err != nil {
		return err
	}
	if err := x.db.Update(func(txn *badger.Txn) error { return txn.Set(extMetaKey(meta.Name), b) }); err != nil {
		return err
	}
	return x.db.Sync()
}

// newFile is a data file read by a version being applied.
type newFile struct {
	f    *extFile
	vecs [][]float32
	cols []lake.Column // kept columns, one value per row with a vector
}

// apply reads and applies one version. Nothing is visible to searches,
// nor durable, until its commit.
func (x *External) apply(ctx context.Context, c extChange, tbl *lake.IcebergTable, rep *RefreshReport) error {
	meta := x.meta // refreshMu is held: only this goroutine writes meta
	gen := meta.Gen + 1
	kept := meta.keptNames()

	// 1. Read the added data files.
	var added []*newFile
	for _, s := range c.addData {
		nf, err := x.readData(ctx, &meta, s, gen, kept)
		if err != nil {
			return err
		}
		rep.NullVectors += nf.f.Nulls
		rep.FilesRead++
		x.readDone++
		if x.progress != nil {
			x.progress("read", x.readDone, x.toRead)
		}
		added = append(added, nf)
	}
	if meta.Dim == 0 {
		if len(c.addData) == 0 {
			return nil // an empty table: nothing to index yet
		}
		return fmt.Errorf("no vectors in %s column %q", meta.Source, meta.VectorColumn)
	}
	if x.idx == nil {
		metric, err := hnsw.ParseMetric(meta.Metric)
		if err != nil {
			return err
		}
		if x.idx, err = hnsw.New(hnsw.DefaultOptions(meta.Dim, metric)); err != nil {
			return err
		}
	}

	// 2. Rows of removed files end, unless the id column finds them
	// rewritten unchanged in an added file (then they move).
	touched := map[string]*extFile{} // copies of live files this version changes
	touch := func(uri string) *extFile {
		if f, ok := touched[uri]; ok {
			return f
		}
		old, ok := x.files[uri]
		if !ok {
			return nil
		}
		f := *old
		f.Deleted = slices.Clone(old.Deleted)
		touched[uri] = &f
		return &f
	}
	ends := map[uint32]bool{}
	byKey := map[string]uint32{} // id column value → live row of a removed file
	for _, uri := range c.remove {
		f := touch(uri)
		if f == nil {
			continue // never indexed (it had no vectors) or already gone
		}
		f.Removed = gen
		rep.FilesRemoved++
		for off := range int(f.Count) {
			id := f.id(off)
			if rf := x.rowFile[id]; rf.URI != f.URI || rf.Added != f.Added || x.to[id] != live {
				continue // moved on to another file, or already ended
			}
			ends[id] = true
			if meta.IDColumn != "" {
				if k, ok := keyOf(x.cols[meta.IDColumn], int(id)); ok {
					byKey[k] = id
				}
			}
		}
	}
	// 3. Ids for the new rows: reuse for remapped ones, fresh otherwise.
	type move struct {
		id  uint32
		f   *extFile
		off int
	}
	var moves []move
	var newIDs []uint32
	var newVecs [][]float32
	base := meta.NextRow
	newCols := map[string]*lake.Column{}
	for i, name := range kept {
		if i < len(meta.ColumnTypes) {
			newCols[name] = &lake.Column{Name: name, Type: lake.ColumnType(meta.ColumnTypes[i])}
		}
	}
	idPos := slices.Index(kept, meta.IDColumn)
	for _, nf := range added {
		f := nf.f
		f.FirstRow = meta.NextRow
		var ids []uint32
		explicit := false
		for off, v := range nf.vecs {
			if idPos >= 0 {
				if k, ok := keyOf(&nf.cols[idPos], off); ok {
					if old, ok := byKey[k]; ok && x.sameRow(old, v, nf.cols, off, kept) {
						delete(byKey, k)
						delete(ends, old)
						ids = append(ids, old)
						moves = append(moves, move{old, f, off})
						explicit = true
						rep.RowsRemapped++
						continue
					}
				}
			}
			id := meta.NextRow
			meta.NextRow++
			ids = append(ids, id)
			newIDs = append(newIDs, id)
			newVecs = append(newVecs, v)
			for j, name := range kept {
				newCols[name].Append(nf.cols[j].Value(off))
			}
		}
		if explicit {
			f.IDs = ids
		}
	}
	// 4. Insert the new rows above the visible bound: searches skip them.
	if err := x.insertReporting(ctx, newIDs, newVecs); err != nil {
		x.undoInsert(newIDs)
		return fmt.Errorf("index version %d: %w", gen, err)
	}
	rep.RowsAdded += len(newIDs)

	// 5. Delete files: position deletes end rows by (file, position),
	// equality deletes by key, in live data files and the ones just added.
	liveNow := map[string]*extFile{}
	for uri, f := range x.files {
		if !slices.Contains(c.remove, uri) {
			liveNow[uri] = f
		}
	}
	for _, nf := range added {
		liveNow[nf.f.URI] = nf.f
	}
	addedBy := map[*extFile]*newFile{}
	for _, nf := range added {
		addedBy[nf.f] = nf
	}
	endRow := func(f *extFile, off int) {
		id := f.id(off)
		if ends[id] || (int(id) < len(x.to) && x.to[id] != live) {
			return // already ended
		}
		if addedBy[f] == nil {
			f = touch(f.URI)
		}
		f.Deleted = append(f.Deleted, rowEnd{Off: uint32(off), Gen: gen})
		ends[id] = true
	}
	fileFor := func(uri string) *extFile {
		f := liveNow[uri]
		if f != nil && addedBy[f] == nil {
			if t := touched[uri]; t != nil {
				return t
			}
		}
		return f
	}
	var newDeletes []snapshot.File
	for _, d := range c.addPos {
		if d.Format == "PUFFIN" || d.ContentOffset >= 0 {
			x.undoInsert(newIDs)
			return fmt.Errorf("delete file %s: deletion vectors (Iceberg v3) are not supported yet", d.Path)
		}
		cols, err := x.readColumns(ctx, d.Path, []string{"file_path", "pos"})
		if err != nil {
			x.undoInsert(newIDs)
			return fmt.Errorf("position delete file: %w", err)
		}
		rep.DeleteFilesRead++
		for i := range cols[0].Len() {
			p, _ := cols[0].Value(i).(string)
			pos, _ := cols[1].Value(i).(int64)
			f := fileFor(p)
			if f == nil {
				continue
			}
			if off := f.offOf(pos); off >= 0 {
				endRow(f, off)
			}
		}
		newDeletes = append(newDeletes, d)
	}
	for _, d := range c.addEq {
		if err := x.applyEqDelete(ctx, tbl, d, liveNow, fileFor, addedBy, endRow); err != nil {
			x.undoInsert(newIDs)
			return err
		}
		rep.DeleteFilesRead++
		newDeletes = append(newDeletes, d)
	}
	// Older equality deletes still apply to added files with a lower data
	// sequence number (a compaction that kept the sequence numbers).
	for key, d := range x.deletes {
		if d.Dropped != 0 || d.File.Kind != snapshot.EqualityDeletes || slices.Contains(c.dropDel, key) {
			continue
		}
		only := map[string]*extFile{}
		for _, nf := range added {
			if nf.f.DataSeq < d.File.DataSequence {
				only[nf.f.URI] = nf.f
			}
		}
		if len(only) == 0 {
			continue
		}
		if err := x.applyEqDelete(ctx, tbl, d.File, only, fileFor, addedBy, endRow); err != nil {
			x.undoInsert(newIDs)
			return err
		}
	}
	removedRows := 0
	for id := range ends {
		if id < base {
			removedRows++
		}
	}
	newLive := len(newIDs)
	for id := range ends {
		if id >= base {
			newLive-- // added and deleted in the same version
		}
	}
	rep.RowsRemoved += removedRows

	// 6. Durable: delta segment, then every record stamped with this
	// version, then the meta record — the commit point. Records of a
	// version above meta.Gen are ignored when loading.
	if err := x.writeDelta(gen, newIDs, newVecs); err != nil {
		x.undoInsert(newIDs)
		return local(err)
	}
	if err := extFailpoint("after-delta"); err != nil {
		return err
	}
	meta.Gen = gen
	if c.snapshot != 0 {
		meta.Snapshot = c.snapshot
	}
	ts := c.timeMs
	if ts == 0 {
		ts = time.Now().UnixMilli()
	}
	if n := len(x.versions); n > 0 && ts < x.versions[n-1].TimeMs {
		ts = x.versions[n-1].TimeMs // versions are ordered in time
	}
	ver := extVersion{Gen: gen, Snapshot: c.snapshot, TimeMs: ts}
	meta.Files = len(liveNow)
	meta.Rows = x.meta.Rows - removedRows + newLive
	wb := x.db.NewWriteBatch()
	put := func(key []byte, kind byte, v any) error {
		b, err := encodeRecord(kind, v)
		if err != nil {
			return err
		}
		return wb.Set(key, b)
	}
	err := put(extVersionKey(meta.Name, gen), kindExtVersion, &ver)
	for _, nf := range added {
		if err == nil {
			err = put(extFileKey(meta.Name, gen, nf.f.URI), kindExtFile, nf.f)
		}
		if err == nil && len(kept) > 0 {
			err = put(extColsKey(meta.Name, gen, nf.f.URI), kindExtCols, &nf.cols)
		}
	}
	for _, f := range touched {
		if err == nil {
			err = put(extFileKey(meta.Name, f.Added, f.URI), kindExtFile, f)
		}
	}
	newDel := map[string]delRecord{}
	for _, d := range newDeletes {
		newDel[d.Key()] = delRecord{File: d, Gen: gen}
	}
	for _, k := range c.dropDel {
		if d, ok := x.deletes[k]; ok {
			d.Dropped = gen
			newDel[k] = d
		}
	}
	for k, d := range newDel {
		if err == nil {
			err = put(extDeleteKey(meta.Name, k), kindExtDelete, &d)
		}
	}
	if err == nil {
		err = wb.Flush()
	} else {
		wb.Cancel()
	}
	if err == nil {
		if err = extFailpoint("after-records"); err != nil {
			return err
		}
		err = x.putMeta(meta)
	}
	if err != nil {
		x.undoInsert(newIDs)
		return local(fmt.Errorf("refresh %s: commit version %d: %w", meta.Name, gen, err))
	}

	// 7. Visible: grow the row arrays, end rows, move remapped rows.
	x.mu.Lock()
	defer x.mu.Unlock()
	x.meta = meta
	x.growRowsLocked(int(meta.NextRow))
	for _, nf := range added {
		f := nf.f
		for off := range int(f.Count) {
			id := f.id(off)
			if id >= base {
				x.from[id], x.to[id] = gen, live
				x.rowFile[id], x.rowOff[id] = f, uint32(off)
			}
		}
	}
	for i, id := range newIDs {
		for name, col := range newCols {
			setColumn(x.cols[name], int(id), col.Value(i))
		}
	}
	for _, m := range moves {
		x.rowFile[m.id], x.rowOff[m.id] = m.f, uint32(m.off)
	}
	for id := range ends {
		x.to[id] = gen
	}
	for uri, f := range touched {
		if f.Removed != 0 {
			delete(x.files, uri)
		} else {
			x.files[uri] = f
		}
	}
	for _, uri := range c.remove {
		delete(x.files, uri)
	}
	for _, nf := range added {
		x.files[nf.f.URI] = nf.f
	}
	for k, d := range newDel {
		x.deletes[k] = d
	}
	x.versions = append(x.versions, ver)
	x.visible = meta.NextRow
	return nil
}

// insertReporting inserts rows into the graph in slices, reporting
// progress after each (one call without a progress hook).
func (x *External) insertReporting(ctx context.Context, ids []uint32, vecs [][]float32) error {
	if x.progress == nil {
		return x.idx.InsertBatch(ctx, ids, vecs, 0)
	}
	const step = 2048
	for i := 0; i < len(ids); i += step {
		j := min(i+step, len(ids))
		if err := x.idx.InsertBatch(ctx, ids[i:j], vecs[i:j], 0); err != nil {
			return err
		}
		x.progress("index", int64(j), int64(len(ids)))
	}
	return nil
}

// undoInsert takes rows of a failed version out of the graph again.
func (x *External) undoInsert(ids []uint32) {
	for _, id := range ids {
		x.idx.Delete(id)
	}
}

// keyOf renders row i of an id column as a map key.
func keyOf(c *lake.Column, i int) (string, bool) {
	if c == nil || i >= c.Len() || c.IsNull(i) {
		return "", false
	}
	return fmt.Sprintf("%d|%v", c.Type, c.Value(i)), true
}

// sameRow reports whether the new row (vector v, kept columns cols at off)
// is row id unchanged.
func (x *External) sameRow(id uint32, v []float32, cols []lake.Column, off int, kept []string) bool {
	old, err := x.idx.Vector(id)
	if err != nil || len(old) != len(v) {
		return false
	}
	nv := v
	if x.idx.Metric() == hnsw.Cosine {
		var s float64
		for _, f := range v {
			s += float64(f) * float64(f)
		}
		if s == 0 {
			return false
		}
		inv := 1 / math.Sqrt(s)
		nv = make([]float32, len(v))
		for i, f := range v {
			nv[i] = float32(float64(f) * inv)
		}
	}
	for i := range old {
		if d := old[i] - nv[i]; d > 1e-6 || d < -1e-6 {
			return false
		}
	}
	for j, name := range kept {
		if x.cols[name].Value(int(id)) != cols[j].Value(off) {
			return false
		}
	}
	return true
}

// readData reads an added data file: vectors with their positions and the
// kept columns of the rows that have a vector.
func (x *External) readData(ctx context.Context, meta *extMeta, s srcFile, gen uint32, kept []string) (*newFile, error) {
	nf := &newFile{f: &extFile{URI: s.uri, Size: s.size, MTime: s.mtime, ETag: s.etag, Added: gen, DataSeq: s.dataSeq, Partition: s.partition, SpecID: s.specID}}
	contiguous := true
	if x.guard != nil {
		if err := x.guard(s.uri); err != nil {
			return nil, err
		}
	}
	st, err := x.st.ReadVectors(ctx, s.uri, lake.VectorOptions{Column: meta.VectorColumn, Dim: meta.Dim}, func(b *lake.VectorBatch) error {
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
		return nil, err
	}
	if meta.Dim == 0 {
		meta.Dim = st.Dim
	}
	nf.f.Count, nf.f.Nulls = uint32(len(nf.vecs)), st.Nulls+st.Empty
	if len(kept) > 0 {
		all, err := x.readColumns(ctx, s.uri, kept)
		if err != nil {
			return nil, err
		}
		if meta.ColumnTypes == nil {
			for _, c := range all {
				meta.ColumnTypes = append(meta.ColumnTypes, uint8(c.Type))
			}
		}
		for j, c := range all {
			if uint8(c.Type) != meta.ColumnTypes[j] {
				return nil, fmt.Errorf("parquet file %s: column %s: type %s, the collection's is %s", s.uri, c.Name, c.Type, lake.ColumnType(meta.ColumnTypes[j]))
			}
			col := lake.Column{Name: c.Name, Type: c.Type}
			for off := range nf.vecs {
				v := c.Value(int(nf.f.pos(off)))
				if fv, ok := v.(float64); ok && (math.IsNaN(fv) || math.IsInf(fv, 0)) {
					v = nil // kept as null: JSON has no NaN
				}
				col.Append(v)
			}
			nf.cols = append(nf.cols, col)
		}
	}
	if contiguous {
		nf.f.Positions = nil
	}
	return nf, nil
}

// applyEqDelete ends the rows of the targets (live data files with a lower
// data sequence number, in the delete's partition) whose key columns
// equal a row of equality delete file d.
func (x *External) applyEqDelete(ctx context.Context, tbl *lake.IcebergTable, d snapshot.File, targets map[string]*extFile,
	fileFor func(string) *extFile, addedBy map[*extFile]*newFile, endRow func(*extFile, int)) error {
	if tbl == nil {
		return fmt.Errorf("equality delete file %s outside an Iceberg table", d.Path)
	}
	var names []string
	for _, id := range d.EqualityFieldIDs {
		n, ok := tbl.ColumnName(id)
		if !ok {
			return fmt.Errorf("equality delete file %s: field id %d is not in the table schema", d.Path, id)
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return fmt.Errorf("equality delete file %s names no key columns", d.Path)
	}
	dcols, err := x.readColumns(ctx, d.Path, names)
	if err != nil {
		return fmt.Errorf("equality delete file: %w", err)
	}
	keys := map[string]bool{}
	for i := range dcols[0].Len() {
		if k, ok := tupleKey(dcols, i, nil); ok {
			keys[k] = true
		}
	}
	if len(keys) == 0 {
		return nil
	}
	kept := x.meta.keptNames()
	inMemory := true
	for _, n := range names {
		if !slices.Contains(kept, n) {
			inMemory = false
		}
	}
	for uri := range targets {
		f := fileFor(uri)
		if f == nil || f.DataSeq >= d.DataSequence || (d.Partition != "" && (d.Partition != f.Partition || d.SpecID != f.SpecID)) {
			continue
		}
		var cols []lake.Column
		var posMap func(off int) int
		if nf := addedBy[f]; nf != nil && inMemory {
			for _, n := range names {
				cols = append(cols, nf.cols[slices.Index(kept, n)])
			}
			posMap = func(off int) int { return off }
		} else if inMemory {
			for _, n := range names {
				cols = append(cols, *x.cols[n])
			}
			posMap = func(off int) int { return int(f.id(off)) }
		} else {
			var err error
			if cols, err = x.readColumns(ctx, f.URI, names); err != nil {
				return fmt.Errorf("equality delete %s: %w", d.Path, err)
			}
			posMap = func(off int) int { return int(f.pos(off)) }
		}
		for off := range int(f.Count) {
			if k, ok := tupleKey(cols, posMap(off), nil); ok && keys[k] {
				endRow(f, off)
			}
		}
	}
	return nil
}

// tupleKey renders row i of cols as one map key. Equality deletes compare
// null-safely (the Iceberg spec: a null in a delete row matches a null).
func tupleKey(cols []lake.Column, i int, buf []byte) (string, bool) {
	for j := range cols {
		if i >= cols[j].Len() {
			return "", false
		}
		k, ok := keyOf(&cols[j], i)
		if !ok {
			k = "null"
		}
		buf = append(buf, k...)
		buf = append(buf, 0)
	}
	return string(buf), true
}
