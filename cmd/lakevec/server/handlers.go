package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lakevec/lakevec/engine"
)

// Request and response bodies. Their JSON shapes are the OpenAPI schemas
// (see openapi.go), so change them with care: clients depend on them.

type searchRequest struct {
	Query  string    `json:"query,omitempty"`  // the text to search for, or
	Vector []float32 `json:"vector,omitempty"` // an embedded query of the collection's dimension
	K      int       `json:"k,omitempty"`
	Ef     int       `json:"ef,omitempty"`
	AsOf   string    `json:"as_of,omitempty"`
}

type searchResponse struct {
	Query string       `json:"query,omitempty"`
	K     int          `json:"k"`
	AsOf  *time.Time   `json:"as_of,omitempty"` // absent: current versions
	Hits  []engine.Hit `json:"hits"`
}

type compareResponse struct {
	Query   string                `json:"query"`
	From    time.Time             `json:"from"`
	To      time.Time             `json:"to"`
	Entries []engine.CompareEntry `json:"entries"`
}

type ingestDoc struct {
	DocID  string `json:"doc_id"`
	Text   string `json:"text,omitempty"`
	Delete bool   `json:"delete,omitempty"`
}

type ingestRequest struct {
	At string `json:"at,omitempty"` // default now
	// Sync makes the batch a full snapshot: documents present now and
	// missing from it are deleted.
	Sync      bool        `json:"sync,omitempty"`
	Documents []ingestDoc `json:"documents"`
}

type docsResponse struct {
	Documents []string `json:"documents"`
}

type showResponse struct {
	DocID string     `json:"doc_id"`
	AsOf  *time.Time `json:"as_of,omitempty"`
	Text  string     `json:"text"`
}

type historyResponse struct {
	DocID    string           `json:"doc_id"`
	Versions []historyVersion `json:"versions"`
}

type diffResponse struct {
	DocID string            `json:"doc_id"`
	From  time.Time         `json:"from"`
	To    time.Time         `json:"to"`
	Lines []engine.DiffLine `json:"lines"`
}

type verifyResponse struct {
	OK       bool     `json:"ok"`
	Problems []string `json:"problems"`
}

// parseTime reads an RFC 3339 instant or a date (UTC midnight), like the CLI.
func parseTime(name, v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, badParam(name, "%q: want an RFC 3339 time (2024-03-12T09:30:00Z) or a date (2024-03-12)", v)
}

// optTime parses an optional time; nil when empty.
func optTime(name, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := parseTime(name, v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func reqTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, badParam(name, "required")
	}
	return parseTime(name, v)
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badParam(name, "%q is not an integer", v)
	}
	return checkRange(name, n, lo, hi)
}

func checkRange(name string, n, lo, hi int) (int, error) {
	if n < lo || n > hi {
		return 0, badParam(name, "%d out of range %d..%d", n, lo, hi)
	}
	return n, nil
}

func (s *Server) checkQuery(name, q string) error {
	if strings.TrimSpace(q) == "" {
		return badParam(name, "required")
	}
	if len(q) > s.o.MaxQueryBytes {
		return badParam(name, "%d bytes, more than the limit of %d", len(q), s.o.MaxQueryBytes)
	}
	return nil
}

// decodeBody reads exactly one JSON value into v, refusing unknown fields.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return badParam("body", "empty: want a JSON object")
		}
		return badParam("body", "%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badParam("body", "more than one JSON value")
	}
	return nil
}

func (s *Server) searchGet(r *http.Request, kb KB) (any, error) {
	q := r.URL.Query()
	if err := s.checkQuery("q", q.Get("q")); err != nil {
		return nil, err
	}
	k, err := intParam(r, "k", 5, 1, s.o.MaxK)
	if err != nil {
		return nil, err
	}
	ef, err := intParam(r, "ef", 0, 1, s.o.MaxEf)
	if err != nil {
		return nil, err
	}
	asOf, err := optTime("as_of", q.Get("as_of"))
	if err != nil {
		return nil, err
	}
	hits, err := kb.Search(r.Context(), q.Get("q"), engine.SearchOptions{K: k, Ef: ef, AsOf: asOf})
	if err != nil {
		return nil, err
	}
	return searchResponse{Query: q.Get("q"), K: k, AsOf: asOf, Hits: nonNil(hits)}, nil
}

func (s *Server) searchPost(r *http.Request, kb KB) (any, error) {
	var req searchRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if (req.Query == "") == (req.Vector == nil) {
		return nil, badParam("query", "give exactly one of query and vector")
	}
	if req.K == 0 {
		req.K = 5
	}
	if _, err := checkRange("k", req.K, 1, s.o.MaxK); err != nil {
		return nil, err
	}
	if req.Ef != 0 {
		if _, err := checkRange("ef", req.Ef, 1, s.o.MaxEf); err != nil {
			return nil, err
		}
	}
	asOf, err := optTime("as_of", req.AsOf)
	if err != nil {
		return nil, err
	}
	o := engine.SearchOptions{K: req.K, Ef: req.Ef, AsOf: asOf}
	var hits []engine.Hit
	if req.Vector != nil {
		if dim := kb.Stats().Dim; len(req.Vector) != dim {
			return nil, badParam("vector", "%d dimensions, the collection's model has %d", len(req.Vector), dim)
		}
		hits, err = kb.SearchVector(r.Context(), req.Vector, o)
	} else {
		if err := s.checkQuery("query", req.Query); err != nil {
			return nil, err
		}
		hits, err = kb.Search(r.Context(), req.Query, o)
	}
	if err != nil {
		return nil, err
	}
	return searchResponse{Query: req.Query, K: req.K, AsOf: asOf, Hits: nonNil(hits)}, nil
}

func (s *Server) compare(r *http.Request, kb KB) (any, error) {
	q := r.URL.Query().Get("q")
	if err := s.checkQuery("q", q); err != nil {
		return nil, err
	}
	from, err := reqTime(r, "from")
	if err != nil {
		return nil, err
	}
	to, err := reqTime(r, "to")
	if err != nil {
		return nil, err
	}
	k, err := intParam(r, "k", 10, 1, s.o.MaxK)
	if err != nil {
		return nil, err
	}
	c, err := kb.Compare(r.Context(), q, from, to, k)
	if err != nil {
		return nil, err
	}
	return compareResponse{Query: q, From: from, To: to, Entries: nonNil(c)}, nil
}

// checkDocID refuses ids the engine or the URL scheme cannot carry.
func checkDocID(name, id string) error {
	switch {
	case id == "":
		return badParam(name, "empty document id")
	case len(id) > 1024:
		return badParam(name, "document id of %d bytes, more than 1024", len(id))
	case !utf8.ValidString(id):
		return badParam(name, "document id is not valid UTF-8")
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return badParam(name, "document id %q contains a control character", id)
	}
	return nil
}

// uploadDocs ingests the files of a multipart form, each as the version of
// the document its file name names, at the form's "at" time (default now).
// The route checked the content type and the X-Lakevec-Upload header.
func (s *Server) uploadDocs(r *http.Request, kb KB) (any, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badParam("body", "%v", err)
	}
	at := time.Now().UTC()
	batch := s.newDocBatch("files")
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, badParam("body", "%v", err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, badParam("body", "%v", err)
		}
		// The document id is the file name as sent (FileName would keep
		// only its last path element: policies/terms.md is an id).
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if params["filename"] == "" {
			if part.FormName() != "at" {
				return nil, badParam(part.FormName(), "unknown form field (want \"at\" and file parts)")
			}
			if at, err = parseTime("at", string(b)); err != nil {
				return nil, err
			}
			continue
		}
		id := params["filename"]
		name := fmt.Sprintf("file %q", id)
		if !utf8.Valid(b) {
			return nil, badParam(name, "not UTF-8 text")
		}
		if err := batch.add(name, engine.DocInput{DocID: id, Text: string(b)}); err != nil {
			return nil, err
		}
	}
	if len(batch.docs) == 0 {
		return nil, badParam("files", "no file parts: give at least one document")
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.commit(r, kb, batch.docs, at)
}

// docBatch collects one request's documents with the checks every ingest
// path makes: a valid id, no id twice, at most MaxBatchDocs documents.
type docBatch struct {
	field string // names the whole batch in errors
	limit int
	docs  []engine.DocInput
	seen  map[string]bool
}

func (s *Server) newDocBatch(field string) *docBatch {
	return &docBatch{field: field, limit: s.o.MaxBatchDocs, seen: map[string]bool{}}
}

// add appends d; name names d in errors.
func (b *docBatch) add(name string, d engine.DocInput) error {
	if err := checkDocID(name, d.DocID); err != nil {
		return err
	}
	if b.seen[d.DocID] {
		return badParam(name, "%q appears twice in one batch", d.DocID)
	}
	if len(b.docs) == b.limit {
		return badParam(b.field, "more than the limit of %d documents per request", b.limit)
	}
	b.seen[d.DocID] = true
	b.docs = append(b.docs, d)
	return nil
}

func (s *Server) ingest(r *http.Request, kb KB) (any, error) {
	var req ingestRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	at := time.Now().UTC()
	if req.At != "" {
		t, err := parseTime("at", req.At)
		if err != nil {
			return nil, err
		}
		at = t
	}
	if len(req.Documents) == 0 {
		return nil, badParam("documents", "empty: give at least one document")
	}
	batch := s.newDocBatch("documents")
	for i, d := range req.Documents {
		if d.Delete && d.Text != "" {
			return nil, badParam(fmt.Sprintf("documents[%d]", i), "give text or delete, not both")
		}
		if err := batch.add(fmt.Sprintf("documents[%d].doc_id", i), engine.DocInput{DocID: d.DocID, Text: d.Text, Delete: d.Delete}); err != nil {
			return nil, err
		}
	}
	docs, seen := batch.docs, batch.seen
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if req.Sync {
		present, err := kb.Docs()
		if err != nil {
			return nil, err
		}
		for _, id := range present {
			if !seen[id] {
				docs = append(docs, engine.DocInput{DocID: id, Delete: true})
			}
		}
	}
	return s.commit(r, kb, docs, at)
}

func (s *Server) commit(r *http.Request, kb KB, docs []engine.DocInput, at time.Time) (engine.Report, error) {
	rep, err := kb.Ingest(r.Context(), docs, at)
	switch {
	case err != nil:
		s.met.batches.WithLabelValues("failed").Inc()
	case rep.Seq == 0:
		s.met.batches.WithLabelValues("unchanged").Inc()
	default:
		s.met.batches.WithLabelValues("committed").Inc()
	}
	if err == nil {
		s.met.embeddings.WithLabelValues("computed").Add(float64(rep.Embedded))
		s.met.embeddings.WithLabelValues("reused").Add(float64(max(0, rep.Chunks-rep.Embedded)))
	}
	if rep.Docs == nil {
		rep.Docs = []engine.DocReport{}
	}
	return rep, err
}

func (s *Server) deleteDoc(r *http.Request, kb KB) (any, error) {
	id := r.PathValue("id")
	if err := checkDocID("id", id); err != nil {
		return nil, err
	}
	at := time.Now().UTC()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := parseTime("at", v)
		if err != nil {
			return nil, err
		}
		at = t
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	rep, err := s.commit(r, kb, []engine.DocInput{{DocID: id, Delete: true}}, at)
	if err != nil {
		return nil, err
	}
	for _, d := range rep.Docs {
		if d.Op == "missing" {
			return nil, apiErr(http.StatusNotFound, "%v: %q", engine.ErrNoDocument, id)
		}
	}
	return rep, nil
}

func (s *Server) docs(r *http.Request, kb KB) (any, error) {
	ids, err := kb.Docs()
	if err != nil {
		return nil, err
	}
	return docsResponse{Documents: nonNil(ids)}, nil
}

func (s *Server) show(r *http.Request, kb KB) (any, error) {
	id := r.PathValue("id")
	if err := checkDocID("id", id); err != nil {
		return nil, err
	}
	asOf, err := optTime("as_of", r.URL.Query().Get("as_of"))
	if err != nil {
		return nil, err
	}
	text, err := kb.Show(id, asOf)
	if err != nil {
		return nil, err
	}
	return showResponse{DocID: id, AsOf: asOf, Text: text}, nil
}

func (s *Server) history(r *http.Request, kb KB) (any, error) {
	id := r.PathValue("id")
	if err := checkDocID("id", id); err != nil {
		return nil, err
	}
	vs, err := kb.History(id)
	if err != nil {
		return nil, err
	}
	return historyResponse{DocID: id, Versions: historyVersions(vs)}, nil
}

func (s *Server) diff(r *http.Request, kb KB) (any, error) {
	id := r.PathValue("id")
	if err := checkDocID("id", id); err != nil {
		return nil, err
	}
	from, err := reqTime(r, "from")
	if err != nil {
		return nil, err
	}
	to, err := reqTime(r, "to")
	if err != nil {
		return nil, err
	}
	lines, err := kb.Diff(id, from, to)
	if err != nil {
		return nil, err
	}
	return diffResponse{DocID: id, From: from, To: to, Lines: nonNil(lines)}, nil
}

func (s *Server) stats(r *http.Request, kb KB) (any, error) { return kb.Stats(), nil }

func (s *Server) verify(r *http.Request, kb KB) (any, error) {
	p, err := kb.Verify(r.Context())
	if err != nil {
		return nil, err
	}
	return verifyResponse{OK: len(p) == 0, Problems: nonNil(p)}, nil
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
