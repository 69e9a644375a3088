package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lakevec/lakevec/engine"
	"github.com/lakevec/lakevec/engine/filter"
	"github.com/lakevec/lakevec/hnsw"
	"github.com/lakevec/lakevec/lake"
)

// Attached ("external") collections: Parquet datasets and Iceberg tables
// whose vector column lakevec indexes in place (engine.Attach). The server
// keeps each one open once it has been used (opening loads its index
// checkpoint, which may be large) and closes them all on shutdown.

// collectionInfo describes a collection: the documents collection the
// server serves, another documents collection of the data directory, or
// an attached one.
type collectionInfo struct {
	Name string `json:"name"`
	// Kind is "documents", "parquet" or "iceberg".
	Kind string `json:"kind"`
	// Served is true for the documents collection this server searches.
	Served bool `json:"served,omitempty"`
	// Source is the dataset (directory or glob) or the Iceberg catalog.
	Source string `json:"source,omitempty"`
	// Table is the Iceberg table, namespace.table.
	Table string `json:"table,omitempty"`
	// Snapshot is the Iceberg snapshot indexed (a string: snapshot ids are
	// 63-bit and JSON numbers lose precision above 2^53).
	Snapshot     string `json:"snapshot,omitempty"`
	VectorColumn string `json:"vector_column,omitempty"`
	Metric       string `json:"metric,omitempty"`
	ModelID      string `json:"model_id,omitempty"`
	Dim          int    `json:"dim"`
	// Rows: attached, the rows indexed; documents, the chunk versions
	// valid now (served) or ever (others).
	Rows  int `json:"rows"`
	Files int `json:"files,omitempty"`
	// ChunkVersions and Batches: documents collections.
	ChunkVersions int    `json:"chunk_versions,omitempty"`
	Batches       uint64 `json:"batches,omitempty"`
	// LastChange is the valid time of the latest version (documents).
	LastChange string `json:"last_change,omitempty"`
	// LastRefresh is when an attached collection was last refreshed.
	LastRefresh string `json:"last_refresh,omitempty"`
	// LastRefreshReport is the report of the last attach or refresh made
	// through this server since it started (the engine does not keep it).
	LastRefreshReport *engine.RefreshReport `json:"last_refresh_report,omitempty"`
	// Lag is how far an attached collection is behind its source (absent
	// when the source could not be read: see LagError).
	Lag      *engine.Lag `json:"lag,omitempty"`
	LagError string      `json:"lag_error,omitempty"`
	// Extra holds what the engine reports beyond the fields above.
	Extra map[string]any `json:"extra,omitempty"`
	// Error says why an attached collection could not be opened.
	Error string `json:"error,omitempty"`
}

type collectionsResponse struct {
	Collections []collectionInfo `json:"collections"`
}

type attachRequest struct {
	Name string `json:"name"`
	// Parquet is a directory (every *.parquet below it) or a glob, on the
	// server, under one of its attach roots.
	Parquet string `json:"parquet,omitempty"`
	// IcebergCatalog (a SQLite catalog file, path or sqlite:///path, under
	// an attach root) and IcebergTable (namespace.table) name an Iceberg
	// table instead.
	IcebergCatalog string `json:"iceberg_catalog,omitempty"`
	IcebergTable   string `json:"iceberg_table,omitempty"`
	VectorColumn   string `json:"vector_column"`
	// Metric is l2, ip or cosine; default cosine.
	Metric string `json:"metric,omitempty"`
}

type attachResponse struct {
	Collection collectionInfo       `json:"collection"`
	Report     engine.RefreshReport `json:"report"`
}

type vectorSearchRequest struct {
	// Vector is one query; Vectors several; Query a text embedded with the
	// collection's embedder (given at attach). Give one of the three.
	Query   string      `json:"query,omitempty"`
	Vector  []float32   `json:"vector,omitempty"`
	Vectors [][]float32 `json:"vectors,omitempty"`
	K       int         `json:"k,omitempty"`  // default 5
	Ef      int         `json:"ef,omitempty"` // default max(64, 4k)
	// Filter on the collection's kept columns, e.g. "lang = 'en' AND year >= 2020".
	Filter string `json:"filter,omitempty"`
	// Snapshot (an Iceberg snapshot id, as a string: 63-bit ids do not
	// survive JSON numbers) or AsOf (RFC 3339 or YYYY-MM-DD): search the
	// rows live then. Neither: now.
	Snapshot string `json:"snapshot,omitempty"`
	AsOf     string `json:"as_of,omitempty"`
	// Fetch names columns to read from the lake for each hit.
	Fetch []string `json:"fetch,omitempty"`
}

type vectorResults struct {
	Hits []engine.VectorHit `json:"hits"`
}

type vectorSearchResponse struct {
	Collection string `json:"collection"`
	K          int    `json:"k"`
	// Hits answer Vector; Results answer Vectors, in order.
	Hits    []engine.VectorHit `json:"hits,omitempty"`
	Results []vectorResults    `json:"results,omitempty"`
}

// maxQueryVectors bounds the vectors of one collection search.
const maxQueryVectors = 1024

// external is one attached collection the server has open (or failed to
// open). mu serialises opening; x is set once.
type external struct {
	mu      sync.Mutex // serialises opening, attaching and closing
	x       atomic.Pointer[engine.External]
	lastRep atomic.Pointer[engine.RefreshReport]
}

// externals holds the attached collections of the data directory that
// the server has opened.
type externals struct {
	mu     sync.Mutex // guards m and closed; never held while opening
	m      map[string]*external
	closed bool
}

// errClosed is returned once shutdown has closed the collections.
var errClosed = apiErr(http.StatusServiceUnavailable, "shutting down")

// entry returns the registry entry of name, creating it.
func (e *externals) entry(name string) (*external, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	if e.m == nil {
		e.m = map[string]*external{}
	}
	x := e.m[name]
	if x == nil {
		x = &external{}
		e.m[name] = x
	}
	return x, nil
}

// forget removes name's entry if it is still ent and holds no collection
// (an open or attach that failed). ent.mu is held.
func (e *externals) forget(name string, ent *external) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m[name] == ent && ent.x.Load() == nil {
		delete(e.m, name)
	}
}

// open returns the open collection name, opening it on first use.
func (s *Server) openExternal(ctx context.Context, name string) (*external, error) {
	if s.o.DataDir == "" {
		return nil, apiErr(http.StatusNotFound, "%v: %q (this server has no data directory for attached collections)", engine.ErrNoCollection, name)
	}
	ent, err := s.ext.entry(name)
	if err != nil {
		return nil, err
	}
	if ent.x.Load() != nil {
		return ent, nil
	}
	ent.mu.Lock()
	defer ent.mu.Unlock()
	if ent.x.Load() != nil {
		return ent, nil
	}
	x, err := engine.OpenExternal(ctx, s.o.DataDir, name)
	if err != nil {
		s.ext.forget(name, ent) // unknown names must not accumulate entries
		return nil, err
	}
	// A collection whose source lies under the attach roots (attached
	// over the API, or so placed by the operator) reads only files under
	// them: its catalog cannot send the server elsewhere.
	if kind, src, _ := x.Source(); len(s.o.AttachRoots) > 0 {
		if kind == "iceberg" {
			src = strings.TrimPrefix(src, "sqlite://")
		}
		if _, err := s.checkUnderRoots("source", src); err == nil {
			x.SetPathGuard(s.pathGuard)
		}
	}
	// Shutdown may have started while it opened: close it rather than leak.
	s.ext.mu.Lock()
	closed := s.ext.closed
	s.ext.mu.Unlock()
	if closed {
		x.Close()
		return nil, errClosed
	}
	ent.x.Store(x)
	return ent, nil
}

// closeExternals closes every attached collection the server opened
// (each writes its index checkpoint if refreshes happened since the last).
func (s *Server) closeExternals() error {
	s.ext.mu.Lock()
	s.ext.closed = true
	m := s.ext.m
	s.ext.m = nil
	s.ext.mu.Unlock()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		ent := m[n]
		ent.mu.Lock() // waits for an open or attach in progress
		if x := ent.x.Swap(nil); x != nil {
			// Close waits for a refresh in progress.
			if err := x.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close collection %s: %w", n, err))
			}
		}
		ent.mu.Unlock()
	}
	return errors.Join(errs...)
}

// validName checks a collection name as the CLI does: 1 to 64 lower-case
// letters, digits and '_'.
func validName(param, n string) error {
	if n == "" || len(n) > 64 {
		return badParam(param, "%q: want 1 to 64 characters", n)
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return badParam(param, "%q: only lower-case letters, digits and '_'", n)
		}
	}
	return nil
}

// infoOfExternal turns engine.External.Info into a collectionInfo; keys
// it does not know go to Extra, so new engine fields reach clients.
func infoOfExternal(m map[string]any) collectionInfo {
	c := collectionInfo{}
	extra := map[string]any{}
	for k, v := range m {
		switch k {
		case "name":
			c.Name = str(v)
		case "kind":
			c.Kind = str(v)
		case "source":
			c.Source = str(v)
		case "table":
			c.Table = str(v)
		case "snapshot":
			if n := num(v); n != 0 {
				c.Snapshot = fmt.Sprint(v)
			}
		case "vector_column":
			c.VectorColumn = str(v)
		case "metric":
			c.Metric = str(v)
		case "dim":
			c.Dim = int(num(v))
		case "rows":
			c.Rows = int(num(v))
		case "files":
			c.Files = int(num(v))
		case "refreshed":
			c.LastRefresh = str(v)
		case "last_refresh":
			if rep, ok := v.(engine.RefreshReport); ok {
				c.LastRefreshReport = &rep
			}
		default:
			extra[k] = v
		}
	}
	if len(extra) > 0 {
		c.Extra = extra
	}
	return c
}

func str(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case nil:
		return ""
	case fmt.Stringer:
		return s.String()
	case time.Time:
		return s.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

func num(v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int32:
		return float64(n)
	case int64:
		return float64(n)
	case uint32:
		return float64(n)
	case uint64:
		return float64(n)
	case float32:
		return float64(n)
	case float64:
		return n
	}
	return 0
}

// servedInfo describes the documents collection the server serves.
func servedInfo(kb KB) collectionInfo {
	st := kb.Stats()
	return collectionInfo{Name: st.Collection, Kind: "documents", Served: true, ModelID: st.ModelID, Dim: st.Dim,
		Rows: st.Current, ChunkVersions: st.Rows, Batches: st.Batches, LastChange: st.LastAt}
}

// info describes an open collection; x is ent.x, loaded by the caller.
func (e *external) info(ctx context.Context, x *engine.External) collectionInfo {
	c := infoOfExternal(x.Info())
	if rep := e.lastRep.Load(); rep != nil {
		c.LastRefreshReport = rep
	}
	if lag, err := x.Lag(ctx); err != nil {
		c.LagError = err.Error()
	} else {
		c.Lag = &lag
	}
	return c
}

// get returns the open collection, or errClosed after shutdown closed it.
func (e *external) get() (*engine.External, error) {
	if x := e.x.Load(); x != nil {
		return x, nil
	}
	return nil, errClosed
}

func (s *Server) listCollections(r *http.Request, kb KB) (any, error) {
	served := servedInfo(kb)
	out := []collectionInfo{served}
	if s.o.DataDir == "" {
		return collectionsResponse{Collections: out}, nil
	}
	docs, err := engine.DocumentCollections(s.o.DataDir)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		if str(d["name"]) == served.Name {
			continue
		}
		out = append(out, collectionInfo{Name: str(d["name"]), Kind: "documents", ModelID: str(d["model_id"]),
			Dim: int(num(d["dim"])), Rows: int(num(d["chunk_versions"])), ChunkVersions: int(num(d["chunk_versions"])),
			Batches: uint64(num(d["batches"])), LastChange: str(d["last_at"])})
	}
	names, err := engine.ExternalNames(s.o.DataDir)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		ent, err := s.openExternal(r.Context(), n)
		if err != nil {
			if st, _, _ := statusOf(err); st == http.StatusServiceUnavailable {
				return nil, err
			}
			// One collection that cannot be opened (its dataset moved, say)
			// must not hide the others; the log has the details.
			loggerOf(r).Warn("open attached collection", "request_id", infoOf(r.Context()).id, "collection", n, "err", err)
			out = append(out, collectionInfo{Name: n, Error: "cannot be opened (see the server log)"})
			continue
		}
		x, err := ent.get()
		if err != nil {
			return nil, err
		}
		out = append(out, ent.info(r.Context(), x))
	}
	return collectionsResponse{Collections: out}, nil
}

func (s *Server) getCollection(r *http.Request, kb KB) (any, error) {
	if name := r.PathValue("name"); name == kb.Stats().Collection {
		return servedInfo(kb), nil
	}
	ent, x, err := s.attached(r, kb, "")
	if err != nil {
		return nil, err
	}
	return ent.info(r.Context(), x), nil
}

// attached returns the open attached collection the request's {name}
// names. refusal, if not empty, is why the documents collection cannot be
// the target.
func (s *Server) attached(r *http.Request, kb KB, refusal string) (*external, *engine.External, error) {
	name := r.PathValue("name")
	if err := validName("name", name); err != nil {
		return nil, nil, err
	}
	if refusal != "" && name == kb.Stats().Collection {
		return nil, nil, badParam("name", "%q is the documents collection: %s", name, refusal)
	}
	ent, err := s.openExternal(r.Context(), name)
	if err != nil {
		return nil, nil, err
	}
	x, err := ent.get()
	if err != nil {
		return nil, nil, err
	}
	return ent, x, nil
}

// attachRoots returns the cleaned, symlink-resolved attach roots.
// They are resolved once: the path guard asks on every file a refresh or
// a fetch opens.
func (s *Server) attachRoots() []string {
	s.rootsOnce.Do(func() {
		for _, r := range s.o.AttachRoots {
			abs, err := filepath.Abs(r)
			if err != nil {
				continue
			}
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				abs = real
			}
			s.roots = append(s.roots, abs)
		}
	})
	return s.roots
}

// checkUnderRoots refuses a local path (a directory, a file or a glob)
// outside the attach roots. The part before the first glob character is
// resolved (symlinks included) and must lie within a root.
func (s *Server) checkUnderRoots(param, p string) (string, error) {
	roots := s.attachRoots()
	if len(roots) == 0 {
		return "", apiErr(http.StatusForbidden, "%s: attaching over the API is off: the server has no attach roots (lakevec serve --attach-root DIR)", param)
	}
	if strings.Contains(p, "://") {
		return "", badParam(param, "%q: a local path is expected", p)
	}
	if !filepath.IsAbs(p) {
		return "", badParam(param, "%q: an absolute path is expected", p)
	}
	clean := filepath.Clean(p)
	static, rest := clean, ""
	if i := strings.IndexAny(clean, `*?[\`); i >= 0 {
		static = filepath.Dir(clean[:i+1])
		rest = strings.TrimPrefix(clean, static)
	}
	resolved := static
	if real, err := filepath.EvalSymlinks(static); err == nil {
		resolved = real
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", badParam(param, "%q: %v", p, err)
	}
	for _, root := range roots {
		if rel, err := filepath.Rel(root, resolved); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return resolved + rest, nil
		}
	}
	return "", apiErr(http.StatusForbidden, "%s: %q is outside the server's attach roots", param, p)
}

// pathGuard admits a data or delete file only if it is a local file under
// the attach roots (symlinks resolved).
func (s *Server) pathGuard(uri string) error {
	p := uri
	if rest, ok := strings.CutPrefix(uri, "file://"); ok {
		p = rest
	}
	if _, err := s.checkUnderRoots("file", p); err != nil {
		return fmt.Errorf("file %s is outside the server's attach roots: not read", uri)
	}
	return nil
}

func (s *Server) attachCollection(r *http.Request, kb KB) (any, error) {
	var req attachRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := validName("name", req.Name); err != nil {
		return nil, err
	}
	if req.Name == kb.Stats().Collection {
		return nil, apiErr(http.StatusConflict, "name: %q is the documents collection", req.Name)
	}
	if req.VectorColumn == "" {
		return nil, badParam("vector_column", "required")
	}
	if (req.Parquet == "") == (req.IcebergCatalog == "") {
		return nil, badParam("parquet", "give exactly one of parquet and iceberg_catalog")
	}
	if (req.IcebergCatalog != "") != (req.IcebergTable != "") {
		return nil, badParam("iceberg_table", "iceberg_catalog and iceberg_table go together")
	}
	metric := hnsw.Cosine
	if req.Metric != "" {
		m, err := hnsw.ParseMetric(req.Metric)
		if err != nil {
			return nil, badParam("metric", "%v", err)
		}
		metric = m
	}
	if s.o.DataDir == "" {
		return nil, apiErr(http.StatusForbidden, "this server has no data directory for attached collections")
	}
	o := engine.ExternalOptions{Name: req.Name, IcebergTable: req.IcebergTable, VectorColumn: req.VectorColumn, Metric: metric,
		PathGuard: s.pathGuard}
	var err error
	if req.Parquet != "" {
		if o.Parquet, err = s.checkUnderRoots("parquet", req.Parquet); err != nil {
			return nil, err
		}
	} else {
		if o.IcebergCatalog, err = s.checkUnderRoots("iceberg_catalog", strings.TrimPrefix(req.IcebergCatalog, "sqlite://")); err != nil {
			return nil, err
		}
	}
	ent, err := s.ext.entry(req.Name)
	if err != nil {
		return nil, err
	}
	ent.mu.Lock()
	defer ent.mu.Unlock()
	if ent.x.Load() != nil {
		return nil, apiErr(http.StatusConflict, "name: collection %q is already attached; refresh it", req.Name)
	}
	names, err := engine.ExternalNames(s.o.DataDir)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n == req.Name {
			return nil, apiErr(http.StatusConflict, "name: collection %q is already attached; refresh it", req.Name)
		}
	}
	x, rep, err := engine.Attach(r.Context(), s.o.DataDir, o)
	if err != nil {
		s.ext.forget(req.Name, ent)
		switch {
		case errors.Is(err, engine.ErrExists):
			return nil, apiErr(http.StatusConflict, "name: collection %q is already attached; refresh it", req.Name)
		case errors.Is(err, engine.ErrLocal), r.Context().Err() != nil:
			return nil, err // the server's own failure: 500 (details in the log only)
		}
		// The dataset cannot be read as asked (no files, no such column,
		// not a vector column): the client's to fix. The message names
		// only paths the client gave.
		return nil, badParam("source", "%v", err)
	}
	ent.lastRep.Store(&rep)
	ent.x.Store(x)
	return attachResponse{Collection: ent.info(r.Context(), x), Report: rep}, nil
}

func (s *Server) refreshCollection(r *http.Request, kb KB) (any, error) {
	ent, x, err := s.attached(r, kb, "it changes by ingesting, not by refresh")
	if err != nil {
		return nil, err
	}
	// The engine serialises refreshes; searches go on meanwhile and see the
	// refresh whole when it commits.
	rep, err := x.Refresh(r.Context())
	if err != nil {
		return nil, err
	}
	ent.lastRep.Store(&rep)
	return rep, nil
}

func (s *Server) searchCollection(r *http.Request, kb KB) (any, error) {
	name := r.PathValue("name")
	if err := validName("name", name); err != nil {
		return nil, err
	}
	var req vectorSearchRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	given := 0
	for _, b := range []bool{req.Vector != nil, req.Vectors != nil, req.Query != ""} {
		if b {
			given++
		}
	}
	if given != 1 {
		return nil, badParam("vector", "give exactly one of vector, vectors and query")
	}
	if err := s.checkQuery("query", req.Query); req.Query != "" && err != nil {
		return nil, err
	}
	if req.Vectors != nil && (len(req.Vectors) == 0 || len(req.Vectors) > maxQueryVectors) {
		return nil, badParam("vectors", "%d vectors: want 1..%d", len(req.Vectors), maxQueryVectors)
	}
	if req.K == 0 {
		req.K = 5
	}
	if _, err := checkRange("k", req.K, 1, s.o.MaxK); err != nil {
		return nil, err
	}
	if req.Ef == 0 {
		req.Ef = min(max(64, 4*req.K), s.o.MaxEf)
	} else if _, err := checkRange("ef", req.Ef, 1, s.o.MaxEf); err != nil {
		return nil, err
	}
	_, x, err := s.attached(r, kb, "search it with POST /api/v1/search")
	if err != nil {
		return nil, err
	}
	dim := x.Dim()
	queries := req.Vectors
	if req.Vector != nil || req.Query != "" {
		queries = [][]float32{req.Vector}
	}
	for i, q := range queries {
		pname := "vector"
		if req.Vectors != nil {
			pname = fmt.Sprintf("vectors[%d]", i)
		}
		if req.Query != "" {
			continue
		}
		if len(q) != dim {
			return nil, badParam(pname, "%d dimensions, the collection has %d", len(q), dim)
		}
		for _, v := range q {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, badParam(pname, "not a finite vector")
			}
		}
	}
	eq := engine.ExternalQuery{K: req.K, Ef: req.Ef, Filter: req.Filter, Fetch: req.Fetch}
	if req.Snapshot != "" {
		if eq.Snapshot, err = strconv.ParseInt(req.Snapshot, 10, 64); err != nil || eq.Snapshot <= 0 {
			return nil, badParam("snapshot", "%q is not a snapshot id", req.Snapshot)
		}
	}
	if req.AsOf != "" {
		if eq.AsOf, err = parseTime("as_of", req.AsOf); err != nil {
			return nil, err
		}
	}
	if len(req.Fetch) > 64 {
		return nil, badParam("fetch", "%d columns: at most 64", len(req.Fetch))
	}
	resp := vectorSearchResponse{Collection: name, K: req.K}
	for _, q := range queries {
		if err := r.Context().Err(); err != nil {
			return nil, err
		}
		var hits []engine.VectorHit
		if req.Query != "" {
			hits, err = x.QueryText(r.Context(), req.Query, eq)
		} else {
			hits, err = x.Query(r.Context(), q, eq)
		}
		var fe *filter.Error
		switch {
		case errors.Is(err, engine.ErrNoEmbedder):
			return nil, badParam("query", "%v", err)
		case errors.As(err, &fe):
			return nil, badParam("filter", "%v", err)
		case errors.Is(err, engine.ErrNotIndexed):
			return nil, badParam("snapshot/as_of", "%v", err)
		case errors.Is(err, lake.ErrNoColumn) || errors.Is(err, lake.ErrNotScalar):
			return nil, badParam("fetch", "%v", err)
		case err != nil:
			return nil, err
		}
		resp.Results = append(resp.Results, vectorResults{Hits: nonNil(hits)})
	}
	if req.Vector != nil || req.Query != "" {
		resp.Hits, resp.Results = resp.Results[0].Hits, nil
	}
	return resp, nil
}
