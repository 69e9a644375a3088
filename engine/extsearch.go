package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lakevec/lakevec/engine/embed"
	"github.com/lakevec/lakevec/engine/filter"
	"github.com/lakevec/lakevec/hnsw"
	"github.com/lakevec/lakevec/lake"
)

// ExternalQuery is a search of an external collection.
type ExternalQuery struct {
	K, Ef int
	// Filter is a scalar filter over the kept columns (package filter).
	Filter string
	// Snapshot searches the rows live in that Iceberg snapshot; AsOf the
	// rows live in the last version at or before that time. Both zero:
	// now.
	Snapshot int64
	AsOf     time.Time
	// Fetch names columns to read from the lake by row position for each
	// result (kept columns are returned without it).
	Fetch []string
}

// VectorHit is one result of an external collection search.
type VectorHit struct {
	File  string  `json:"file"`
	Row   int64   `json:"row"` // position in the file
	Score float32 `json:"score"`
	ID    uint32  `json:"id"`
	// Columns are the kept columns and the fetched ones.
	Columns map[string]any `json:"columns,omitempty"`
	// FetchError says why fetched columns are missing (the file expired
	// or changed since it was indexed).
	FetchError string `json:"fetch_error,omitempty"`
	// The row's validity: the version (snapshot, time) that added it and,
	// if it is gone now, the one that removed it.
	AddedSnapshot   int64      `json:"added_snapshot,omitempty"`
	AddedAt         time.Time  `json:"added_at"`
	RemovedSnapshot int64      `json:"removed_snapshot,omitempty"`
	RemovedAt       *time.Time `json:"removed_at,omitempty"`
}

// ErrNotIndexed: the snapshot or time asked for is not one the collection
// has seen.
var ErrNotIndexed = errors.New("not indexed")

// QueryText embeds text with the collection's embedder (given at attach)
// and searches with the vector.
func (x *External) QueryText(ctx context.Context, text string, o ExternalQuery) ([]VectorHit, error) {
	x.mu.RLock()
	cfg, dim, name := x.meta.Embedder, x.meta.Dim, x.meta.Name
	x.mu.RUnlock()
	if cfg == nil {
		return nil, fmt.Errorf("%w: collection %s was attached without an embedder: search it with a vector", ErrNoEmbedder, name)
	}
	x.embMu.Lock()
	if x.emb == nil {
		e, err := embed.Open(ctx, *cfg)
		if err != nil {
			x.embMu.Unlock()
			return nil, fmt.Errorf("collection %s: open its embedder: %w", name, err)
		}
		x.emb = e
	}
	e := x.emb
	x.embMu.Unlock()
	if e.Dim() != dim {
		return nil, fmt.Errorf("collection %s: its embedder %s makes %d-dimensional vectors, the collection holds %d", name, e.ModelID(), e.Dim(), dim)
	}
	vs, err := e.Embed(ctx, []string{text})
	if err != nil {
		return nil, err
	}
	return x.Query(ctx, vs[0], o)
}

// ErrNoEmbedder: a text query on a collection without an embedder.
var ErrNoEmbedder = errors.New("no embedder")

// Search returns the k nearest rows to q now.
func (x *External) Search(q []float32, k, ef int) ([]VectorHit, error) {
	return x.Query(context.Background(), q, ExternalQuery{K: k, Ef: ef})
}

// resolveLocked returns the version a query reads.
func (x *External) resolveLocked(o ExternalQuery) (uint32, error) {
	n := len(x.versions)
	if n == 0 {
		return 0, fmt.Errorf("collection %s has no indexed version yet", x.meta.Name)
	}
	if o.Snapshot != 0 && !o.AsOf.IsZero() {
		return 0, errors.New("give a snapshot or a time, not both")
	}
	if o.Snapshot != 0 {
		for i := n - 1; i >= 0; i-- {
			if x.versions[i].Snapshot == o.Snapshot {
				return x.versions[i].Gen, nil
			}
		}
		if x.meta.Kind != "iceberg" {
			return 0, fmt.Errorf("%w: collection %s is a Parquet dataset: it has versions, not snapshots (search with an as-of time)", ErrNotIndexed, x.meta.Name)
		}
		return 0, fmt.Errorf("%w: snapshot %d: collection %s has indexed snapshots %d (%s) to %d (%s); older ones were not indexed (attach with --all-snapshots or --from-snapshot to index earlier history)",
			ErrNotIndexed, o.Snapshot, x.meta.Name, x.versions[0].Snapshot, fmtMs(x.versions[0].TimeMs), x.versions[n-1].Snapshot, fmtMs(x.versions[n-1].TimeMs))
	}
	if o.AsOf.IsZero() {
		return x.versions[n-1].Gen, nil
	}
	t := o.AsOf.UnixMilli()
	i := sort.Search(n, func(i int) bool { return x.versions[i].TimeMs > t })
	if i == 0 {
		return 0, fmt.Errorf("%w: %s is before the first indexed version of %s (%s)", ErrNotIndexed, o.AsOf.UTC().Format(time.RFC3339), x.meta.Name, fmtMs(x.versions[0].TimeMs))
	}
	return x.versions[i-1].Gen, nil
}

// Query searches the collection as o says: the rows live at the version
// asked for that pass the filter, nearest first.
func (x *External) Query(ctx context.Context, q []float32, o ExternalQuery) ([]VectorHit, error) {
	if o.K <= 0 {
		return nil, fmt.Errorf("k must be positive, got %d", o.K)
	}
	var match filter.Match
	var expr *filter.Expr
	if o.Filter != "" {
		var err error
		if expr, err = filter.Parse(o.Filter); err != nil {
			return nil, err
		}
	}
	x.mu.RLock()
	hits, err := func() ([]VectorHit, error) {
		defer x.mu.RUnlock()
		if x.idx == nil {
			return nil, fmt.Errorf("collection %s has no indexed rows yet", x.meta.Name)
		}
		g, err := x.resolveLocked(o)
		if err != nil {
			return nil, err
		}
		if expr != nil {
			if match, err = filter.Compile(expr, x.cols); err != nil {
				return nil, err
			}
		}
		vis, from, to := x.visible, x.from, x.to
		allow := func(id uint32) bool {
			return id < vis && from[id] <= g && g < to[id] && (match == nil || match(id))
		}
		if match == nil && g == x.meta.Gen && x.meta.Rows == int(x.meta.NextRow) {
			// Every committed row is live now: only the bound matters (a
			// refresh may be inserting rows above it during this search).
			allow = func(id uint32) bool { return id < vis }
		}
		res, err := x.idx.Search(q, o.K, max(o.Ef, o.K), allow)
		if err != nil {
			return nil, err
		}
		out := make([]VectorHit, 0, len(res))
		for _, r := range res {
			if int(r.ID) >= len(x.rowFile) || x.rowFile[r.ID] == nil {
				return nil, &CorruptStoreError{Key: string(extMetaKey(x.meta.Name)), Reason: fmt.Sprintf("index id %d belongs to no file", r.ID)}
			}
			f, off := x.rowFile[r.ID], int(x.rowOff[r.ID])
			score := -r.Distance
			if x.meta.Metric != hnsw.L2.String() {
				score = 1 - r.Distance
			}
			h := VectorHit{File: f.URI, Row: f.pos(off), Score: score, ID: r.ID}
			fv := x.versions[from[r.ID]-1]
			h.AddedSnapshot, h.AddedAt = fv.Snapshot, time.UnixMilli(fv.TimeMs).UTC()
			if t := to[r.ID]; t != live && int(t) <= len(x.versions) {
				tv := x.versions[t-1]
				at := time.UnixMilli(tv.TimeMs).UTC()
				h.RemovedSnapshot, h.RemovedAt = tv.Snapshot, &at
			}
			if len(x.cols) > 0 {
				h.Columns = map[string]any{}
				for name, c := range x.cols {
					if int(r.ID) < c.Len() {
						h.Columns[name] = c.Value(int(r.ID))
					}
				}
			}
			out = append(out, h)
		}
		return out, nil
	}()
	if err != nil || len(o.Fetch) == 0 {
		return hits, err
	}
	return hits, x.fetch(ctx, hits, o.Fetch)
}

// fetch reads columns of the hits' rows from the lake by position, one
// open per file.
func (x *External) fetch(ctx context.Context, hits []VectorHit, cols []string) error {
	byFile := map[string][]int{}
	for i, h := range hits {
		byFile[h.File] = append(byFile[h.File], i)
	}
	x.mu.RLock()
	recs := map[string]*extFile{}
	for i := range hits {
		if f := x.rowFile[hits[i].ID]; f != nil {
			recs[hits[i].File] = f
		}
	}
	x.mu.RUnlock()
	for uri, is := range byFile {
		var vals [][]any
		f, err := x.open(ctx, uri)
		if err == nil {
			if rec := recs[uri]; rec != nil && f.Size() != rec.Size {
				err = fmt.Errorf("the file changed since it was indexed")
			}
			if err == nil {
				pos := make([]int64, len(is))
				for j, i := range is {
					pos[j] = hits[i].Row
				}
				vals, err = lake.FetchRows(ctx, f, f.Size(), uri, cols, pos)
			}
			f.Close()
		} else if errors.Is(err, lake.ErrNoObject) {
			err = fmt.Errorf("the file is gone (expired by the table owner?): %w", err)
		}
		if err != nil {
			if errors.Is(err, lake.ErrNoColumn) || errors.Is(err, lake.ErrNotScalar) {
				return err // a mistake in the request, not a missing file
			}
			for _, i := range is {
				hits[i].FetchError = err.Error()
			}
			continue
		}
		for j, i := range is {
			if hits[i].Columns == nil {
				hits[i].Columns = map[string]any{}
			}
			for c, name := range cols {
				hits[i].Columns[name] = vals[j][c]
			}
		}
	}
	return nil
}

// Lag says how far the collection is behind its source.
type Lag struct {
	Snapshots int     `json:"snapshots"` // Iceberg snapshots not applied yet
	Seconds   float64 `json:"seconds"`   // age of the newest unapplied change
	Files     int     `json:"files"`     // Parquet: files added, changed or removed since
}

// Lag compares the collection with its source now (it reads the table's
// metadata or lists the dataset, not the data).
func (x *External) Lag(ctx context.Context) (Lag, error) {
	x.mu.RLock()
	meta := x.meta
	var lastMs int64
	if n := len(x.versions); n > 0 {
		lastMs = x.versions[n-1].TimeMs
	}
	files := make(map[string]*extFile, len(x.files))
	for u, f := range x.files {
		files[u] = f
	}
	x.mu.RUnlock()
	if meta.Kind != "iceberg" {
		now, err := listParquet(ctx, x.st, meta.Source)
		if err != nil {
			return Lag{}, err
		}
		var l Lag
		var newest int64
		for p, f := range now {
			if have, ok := files[p]; !ok || !f.same(have) {
				l.Files++
				newest = max(newest, f.mtime)
			}
		}
		for p := range files {
			if _, ok := now[p]; !ok {
				l.Files++
			}
		}
		if l.Files > 0 && newest > 0 {
			l.Seconds = max(0, time.Since(time.Unix(0, newest)).Seconds())
		}
		return l, nil
	}
	t, err := lake.OpenIceberg(ctx, meta.icebergSource(x.creds, x.guard))
	if err != nil {
		return Lag{}, err
	}
	defer t.Close()
	cur := t.Current()
	if cur.ID == meta.Snapshot {
		return Lag{}, nil
	}
	// Walk back from the current snapshot to the one indexed: the oldest
	// unapplied snapshot is how long the collection has been behind.
	l := Lag{}
	oldest := cur.TimeMs
	for id := cur.ID; id != 0 && id != meta.Snapshot; {
		s, ok := t.Snapshot(id)
		if !ok {
			break
		}
		l.Snapshots++
		oldest = s.TimeMs
		id = s.ParentID
	}
	l.Seconds = max(0, time.Since(time.UnixMilli(max(oldest, lastMs))).Seconds())
	return l, nil
}
