package server

import (
	"mime"
	"net/http"
	"strings"

	"github.com/lakevec/lakevec/engine"
)

// route is one endpoint. The table in apiRoutes both registers the
// handlers and produces the OpenAPI document, so the two cannot drift.
type route struct {
	method  string // GET, POST, DELETE
	path    string // ServeMux syntax: /api/v1/documents/{id...}
	access  access
	summary string
	query   []param
	body    any                                                  // a value of the request body type (JSON), nil: none
	upload  bool                                                 // the body is multipart/form-data (see uploadDocs)
	resp    any                                                  // a value of the 200 response type (JSON), nil: see respType
	rawType string                                               // content type of a non-JSON response
	errors  []int                                                // statuses besides 200 and the ones every route has
	api     func(s *Server, r *http.Request, kb KB) (any, error) // JSON handlers, need the KB
	raw     func(s *Server, w http.ResponseWriter, r *http.Request)
}

func (rt route) pattern() string { return rt.method + " " + rt.path }

// param is a query parameter.
type param struct {
	name, typ, desc string // typ: string, integer, time
	required        bool
}

var (
	pK       = param{name: "k", typ: "integer", desc: "number of results, 1..max k (default 1000); default 5"}
	pEf      = param{name: "ef", typ: "integer", desc: "graph beam width, 1..max ef (default 4096); default max(64, 4k)"}
	pAsOf    = param{name: "as_of", typ: "time", desc: "the versions valid at this instant (RFC 3339 or YYYY-MM-DD, UTC midnight); default now"}
	pAt      = param{name: "at", typ: "time", desc: "valid time of the change (RFC 3339 or YYYY-MM-DD); default now"}
	pFromReq = param{name: "from", typ: "time", desc: "first time", required: true}
	pToReq   = param{name: "to", typ: "time", desc: "second time", required: true}
)

const (
	apiPrefix = "/api/v1"
	textPlain = "text/plain; charset=utf-8"
)

// apiRoutes is the table of every route the server serves (the web UI at
// GET / aside).
func apiRoutes() []route {
	bad, notFound, conflict, tooLarge := http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge
	return []route{
		{method: "GET", path: "/healthz", access: public, summary: "Liveness: the process serves HTTP.", rawType: textPlain, raw: (*Server).healthz},
		{method: "GET", path: "/readyz", access: public, summary: "Readiness: the knowledge base is open (503 before, and during shutdown).", rawType: textPlain, errors: []int{http.StatusServiceUnavailable}, raw: (*Server).readyz},
		{method: "GET", path: "/openapi.json", access: public, summary: "This OpenAPI 3 document.", rawType: "application/json", raw: (*Server).openAPI},
		{method: "GET", path: "/metrics", access: read, summary: "Prometheus metrics.", rawType: "text/plain; version=0.0.4", raw: (*Server).metricsHandler},

		{method: "GET", path: apiPrefix + "/search", access: read, summary: "Search the documents now, or as of a time.",
			query: []param{{name: "q", typ: "string", desc: "query text", required: true}, pK, pEf, pAsOf},
			resp:  searchResponse{}, errors: []int{bad}, api: (*Server).searchGet},
		{method: "POST", path: apiPrefix + "/search", access: read, summary: "Search with a JSON body: a query text or an embedded vector.",
			body: searchRequest{}, resp: searchResponse{}, errors: []int{bad, tooLarge}, api: (*Server).searchPost},
		{method: "GET", path: apiPrefix + "/compare", access: read, summary: "Search at two times and mark results same, added, removed or changed.",
			query: []param{{name: "q", typ: "string", desc: "query text", required: true}, pFromReq, pToReq,
				{name: "k", typ: "integer", desc: "results per time; default 10"}},
			resp: compareResponse{}, errors: []int{bad}, api: (*Server).compare},
		{method: "POST", path: apiPrefix + "/documents", access: admin, summary: "Ingest a batch of document versions and deletions at one valid time.",
			body: ingestRequest{}, resp: engine.Report{}, errors: []int{bad, conflict, tooLarge}, api: (*Server).ingest},
		{method: "POST", path: apiPrefix + "/documents/upload", access: admin, upload: true,
			summary: "Ingest files as document versions at one valid time: multipart/form-data, one part per file (its file name is the document id), optional field \"at\"; the header X-Lakevec-Upload: 1 is required (a cross-site form cannot send it).",
			resp:    engine.Report{}, errors: []int{bad, conflict, tooLarge, http.StatusUnsupportedMediaType}, api: (*Server).uploadDocs},
		{method: "GET", path: apiPrefix + "/documents", access: read, summary: "The ids of the documents present now.",
			resp: docsResponse{}, api: (*Server).docs},
		{method: "GET", path: apiPrefix + "/documents/{id...}", access: read, summary: "A document's text now or as of a time (the id may contain slashes).",
			query: []param{pAsOf}, resp: showResponse{}, errors: []int{bad, notFound}, api: (*Server).show},
		{method: "DELETE", path: apiPrefix + "/documents/{id...}", access: admin, summary: "Delete a document as of a time; its history stays searchable.",
			query: []param{pAt}, resp: engine.Report{}, errors: []int{bad, notFound, conflict}, api: (*Server).deleteDoc},
		{method: "GET", path: apiPrefix + "/history/{id...}", access: read, summary: "The versions of a document, oldest first.",
			resp: historyResponse{}, errors: []int{bad, notFound}, api: (*Server).history},
		{method: "GET", path: apiPrefix + "/diff/{id...}", access: read, summary: "The chunks of a document compared between two times.",
			query: []param{pFromReq, pToReq}, resp: diffResponse{}, errors: []int{bad, notFound}, api: (*Server).diff},
		{method: "GET", path: apiPrefix + "/stats", access: read, summary: "Counts of the collection.",
			resp: engine.Stats{}, api: (*Server).stats},
		{method: "POST", path: apiPrefix + "/verify", access: admin, summary: "Check that lake, store and indexes agree.",
			resp: verifyResponse{}, api: (*Server).verify},
		{method: "GET", path: apiPrefix + "/timeline", access: read, summary: "The times at which documents changed, oldest first (the range of as-of searches).",
			resp: timelineResponse{}, api: (*Server).timelineOf},

		{method: "GET", path: apiPrefix + "/collections", access: read, summary: "The collections: the documents collection served and the attached Parquet and Iceberg ones.",
			resp: collectionsResponse{}, api: (*Server).listCollections},
		{method: "POST", path: apiPrefix + "/collections", access: admin, summary: "Attach a Parquet dataset or an Iceberg table under the server's attach roots and index it.",
			body: attachRequest{}, resp: attachResponse{}, errors: []int{bad, conflict, tooLarge}, api: (*Server).attachCollection},
		{method: "GET", path: apiPrefix + "/collections/{name}", access: read, summary: "One collection: source, snapshot indexed, rows, files, last refresh and its report.",
			resp: collectionInfo{}, errors: []int{bad, notFound}, api: (*Server).getCollection},
		{method: "POST", path: apiPrefix + "/collections/{name}/refresh", access: admin, summary: "Bring an attached collection up to its source, reading only changed files.",
			resp: engine.RefreshReport{}, errors: []int{bad, notFound}, api: (*Server).refreshCollection},
		{method: "POST", path: apiPrefix + "/collections/{name}/search", access: read, summary: "Nearest rows of an attached collection to one vector or several.",
			body: vectorSearchRequest{}, resp: vectorSearchResponse{}, errors: []int{bad, notFound, tooLarge}, api: (*Server).searchCollection},
	}
}

// handle registers rt on the mux with its access check and body limit.
func (s *Server) handle(rt route) {
	s.routes = append(s.routes, rt)
	pattern := rt.pattern()
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		infoOf(r.Context()).route = pattern
		r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes)
		if err := s.authorize(r, rt.access); err != nil {
			writeError(w, r, err)
			return
		}
		if rt.upload {
			// Forms can be sent cross-site without a preflight; a custom
			// header cannot (and CORS is off unless configured).
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt != "multipart/form-data" {
				writeError(w, r, apiErr(http.StatusUnsupportedMediaType, "Content-Type %q: want multipart/form-data", r.Header.Get("Content-Type")))
				return
			}
			if r.Header.Get("X-Lakevec-Upload") == "" {
				writeError(w, r, badParam("X-Lakevec-Upload", "header required for uploads (it keeps cross-site forms out)"))
				return
			}
		}
		if rt.body != nil {
			// JSON only: a cross-site form cannot send it without a preflight.
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt != "application/json" {
				writeError(w, r, apiErr(http.StatusUnsupportedMediaType, "Content-Type %q: want application/json", r.Header.Get("Content-Type")))
				return
			}
		}
		if rt.raw != nil {
			rt.raw(s, w, r)
			return
		}
		kb := s.kbOrNil()
		if kb == nil {
			w.Header().Set("Retry-After", "1")
			writeError(w, r, apiErr(http.StatusServiceUnavailable, "not ready: the knowledge base is still opening"))
			return
		}
		v, err := rt.api(s, r, kb)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// fallback serves what no route claims: the web UI (GET outside /api/),
// else a JSON 404 or 405.
func (s *Server) fallback(w http.ResponseWriter, r *http.Request) {
	if s.o.UI != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		r.URL.Path != "/api" && !strings.HasPrefix(r.URL.Path, "/api/") {
		infoOf(r.Context()).route = "GET /"
		s.o.UI.ServeHTTP(w, r)
		return
	}
	s.notFound(w, r)
}

// notFound answers paths no route matches: 405 with Allow when the path
// exists under another method, else 404, both as JSON.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "DELETE"} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := s.mux.Handler(r2); p != "" && p != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, r, apiErr(http.StatusMethodNotAllowed, "method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	writeError(w, r, apiErr(http.StatusNotFound, "no route %s %s (see /openapi.json)", r.Method, r.URL.Path))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", textPlain)
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", textPlain)
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case s.closing.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("shutting down\n"))
	case s.kbOrNil() == nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("opening the knowledge base\n"))
	default:
		w.Write([]byte("ready\n"))
	}
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) {
	s.met.handler.ServeHTTP(w, r)
}
