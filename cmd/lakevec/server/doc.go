// Package server is lakevec's HTTP API: one engine.KB opened for the
// process (one writer, many readers; the KB is safe for concurrent use)
// served as JSON, with an OpenAPI document, Prometheus metrics and
// structured logs. `lakevec serve` (cmd/lakevec/serve.go) wires it.
//
// # Key types
//
//   - Server: New(Options), Handler() for httptest or embedding, SetKB,
//     Run(ctx, open) / Serve(ctx, listener, open) for the process.
//   - Options (DefaultOptions, Validate): address, keys, limits, CORS,
//     TLS, the pprof listener, the web UI handler.
//   - KB: the methods of *engine.KB the server uses.
//   - externals: the attached collections the server has opened
//     (collections.go); timelineCache: the change times (timeline.go).
//   - route: one row of the route table (routes.go), which both registers
//     the handler on the ServeMux and produces the OpenAPI operation, so
//     the two cannot drift; a test checks both directions.
//
// # Routes
//
//	GET    /healthz                      public  liveness ("ok")
//	GET    /readyz                       public  200 once the KB is open; 503 before and while shutting down
//	GET    /openapi.json                 public  the OpenAPI 3 document, generated from the route table
//	GET    /metrics                      read    Prometheus
//	GET    /api/v1/search?q&k&ef&as_of   read    search now, or as of a time
//	POST   /api/v1/search                read    {query | vector, k, ef, as_of}
//	GET    /api/v1/compare?q&from&to&k   read    search at two times, marked same/added/removed/changed
//	POST   /api/v1/documents             admin   {at?, sync?, documents: [{doc_id, text} | {doc_id, delete: true}]} → engine.Report
//	GET    /api/v1/documents             read    {documents: [ids present now]}
//	GET    /api/v1/documents/{id...}     read    ?as_of → {doc_id, as_of, text}
//	DELETE /api/v1/documents/{id...}     admin   ?at → engine.Report; 404 if not present
//	GET    /api/v1/history/{id...}       read    {doc_id, versions}
//	GET    /api/v1/diff/{id...}          read    ?from&to → {doc_id, from, to, lines}
//	GET    /api/v1/stats                 read    engine.Stats
//	GET    /api/v1/timeline              read    {first, last, changes: [{at, docs}]}: the change times, oldest first
//	POST   /api/v1/verify                admin   {ok, problems}
//	GET    /api/v1/collections           read    {collections: [...]}: the served documents collection, others, attached ones
//	POST   /api/v1/collections           admin   {name, parquet | iceberg_catalog+iceberg_table, vector_column, metric?} → {collection, report}
//	GET    /api/v1/collections/{name}    read    source, kind, snapshot indexed, rows, files, last refresh, last refresh report
//	POST   /api/v1/collections/{name}/refresh  admin  engine.RefreshReport
//	POST   /api/v1/collections/{name}/search   read   {vector | vectors, k, ef} → {hits} or {results: [{hits}]}
//
// Document ids contain slashes ("Policies/terms.md"), so they are the tail
// of the path ({id...}); history and diff have their own prefixes rather
// than a suffix, which a document named "x/history" would make ambiguous.
// A slash may also be sent percent-encoded (Policies%2Fterms.md). Ids with
// empty, "." or ".." segments cannot be addressed by path (ServeMux cleans
// paths and redirects); they remain searchable and deletable only through
// POST /api/v1/documents with delete: true.
//
// History versions carry "changed": the chunks a version added, removed,
// modified or moved (the engine's counts less "unchanged"), the size of
// the change. The timeline lists the distinct valid times of the
// versions of the documents present now: the engine lists no deleted
// documents, so a document deleted before now adds no change time (as-of
// searches at any time are unaffected). It is computed from History per
// document and cached until the next batch.
//
// # Attached collections
//
// Parquet datasets and Iceberg tables attached with `lakevec attach` or
// POST /api/v1/collections live in the data directory (Options.DataDir).
// The server opens each on first use (loading its index checkpoint) and
// keeps it open; Close (called by Serve on shutdown, before the KB is
// closed) closes them, writing their checkpoints. Listing opens every
// attached collection once; one that cannot be opened is listed with an
// error rather than failing the list. Attaching over the API reads files
// on the server, so it is refused (403) unless Options.AttachRoots (serve
// --attach-root) names directories, and then the dataset directory, glob
// prefix or SQLite catalog must resolve (symlinks included) inside one;
// relative paths and URLs are refused (400). Every data and delete file a
// collection whose source lies under the roots reads goes through a path
// guard (engine PathGuard): it too must resolve inside a root, so neither
// a symlink in the dataset nor a catalog naming files elsewhere makes the
// server read outside them. (The Iceberg metadata and manifest files are
// read by iceberg-go and are not guarded.) Refreshes are serialised by the
// engine; searches go on during a refresh and see it whole once it
// commits. The last refresh report (stored by the engine) and the lag
// behind the source come with each collection's status.
//
// Times are RFC 3339 or YYYY-MM-DD (UTC midnight), as in the CLI. Errors
// are {"error": "...", "request_id": "..."}: 400 bad input naming the
// parameter ("k: 0 out of range 1..1000"), 401 no or unknown key, 403
// read-only key on a write (or a cross-origin write), 404 no such
// document or route, 405 wrong method (with Allow), 409 a version older
// than the document's latest (engine.ErrOutOfOrder), 413 body too large,
// 415 a body that is not application/json, 421 a Host not served (DNS
// rebinding guard), 503 not ready, 500 otherwise — whose details are only
// logged, under the request id, since they may name server files.
//
// # Auth model
//
// Keys are bearer tokens (Authorization: Bearer KEY). The read key may
// call read routes; the admin key may call every route. Keys are compared
// as SHA-256 digests with crypto/subtle, never logged or echoed. With no
// key configured every route is open, which Options.Validate allows only
// on a loopback address: a non-loopback address (0.0.0.0, ::, a host
// name) without a key is refused at start. With only the read key, writes
// are refused (403): the API is then read-only. Keys shorter than 16
// characters, or equal read and admin keys, are refused.
//
// Browsers: a loopback server without keys would be reachable from any
// web page the user opens, so (1) the Host header must be a loopback name
// (or an --allowed-host), which defeats DNS rebinding; (2) a request with
// an Origin that is neither the server's own nor an allowed CORS origin
// may only GET (the browser withholds the response without CORS headers);
// (3) bodies must be application/json, which a cross-site form cannot
// send without a preflight — except POST /api/v1/documents/upload, whose
// multipart/form-data a form can send, so it also requires the header
// X-Lakevec-Upload, which a form cannot set. CORS is off unless
// CORSOrigins is set.
//
// # Limits
//
// Request bodies: MaxBodyBytes (16 MiB) via http.MaxBytesReader on every
// route; k ≤ MaxK (1000), ef ≤ MaxEf (4096), query ≤ 16 KiB, ≤ 10,000
// documents per POST, doc ids ≤ 1,024 bytes without control characters;
// headers ≤ 64 KiB, ReadHeaderTimeout 10s, ReadTimeout 5m, IdleTimeout
// 2m. Every response carries Content-Security-Policy "default-src 'self';
// frame-ancestors 'none'", X-Content-Type-Options nosniff, X-Frame-Options
// DENY, Referrer-Policy no-referrer (and HSTS under TLS); API responses
// are Cache-Control no-store. pprof is served only on a separate listener
// (DebugAddr), which must be loopback.
//
// # Lifecycle
//
// Serve answers /healthz at once, opens the KB (recovery may take a
// while; the API answers 503 meanwhile), then is ready. When ctx is
// cancelled (SIGINT/SIGTERM in the CLI) it marks itself not ready, stops
// accepting, lets in-flight requests finish for up to ShutdownTimeout
// (request contexts are not cancelled by the signal), then closes the KB,
// which writes the index checkpoint.
//
// # Observability
//
// Metrics (own registry): lakevec_http_request_duration_seconds{route,
// status} with the ServeMux pattern as route ("unmatched" otherwise),
// lakevec_http_requests_in_flight, lakevec_api_ingest_requests_total
// {result}, lakevec_kb_rows{index="current"|"history"}, lakevec_kb_batches,
// lakevec_kb_ready, plus the Go and process collectors. Logs: one JSON
// line per request (request_id, method, route, path without the query,
// status, duration_ms, bytes, remote); never a header. X-Request-Id is
// accepted if well-formed and always returned.
//
// # Web UI
//
// Options.UI, when set, serves GET and HEAD requests the route table does
// not claim, outside /api/ (the fallback "/" handler), with the same
// security headers and no key check for its static files; its API calls
// carry the key like any client. It is not in the OpenAPI document.
// `lakevec serve` sets it to ui.Handler() (package ui, below this one;
// --no-ui turns it off).
//
// Package ui embeds (go:embed) index.html, style.css, app.js and an icon:
// no framework, no build step, no CDN, so the binary serves a UI that
// works offline. app.js routes on the URL fragment:
//
//   - #/search?q&as_of: a query box; "current" or "as of" with a slider
//     whose steps are the change times of GET /api/v1/timeline (first to
//     last); results show the document id, the passage of the chunk that
//     matches best with the query words marked, the score and the chunk
//     version's validity interval. A result found as of T links to the
//     document as of T. Moving the slider searches again (debounced; a
//     stale answer is dropped).
//   - #/doc/{id}?at: the versions on a time axis (GET /api/v1/history),
//     each a mark whose size grows with its "changed" count, and a table;
//     the text as of the selected version (GET /api/v1/documents/{id}
//     ?as_of); a diff between any two versions (GET /api/v1/diff): the
//     engine diffs paragraphs (chunks), and a run of removed paragraphs
//     followed by added ones is compared again word by word in the
//     browser, so <del> and <ins> mark the words that changed.
//   - #/collections: source, kind, snapshot indexed, rows, files, last
//     refresh, lag ("—": the engine reports none), the last refresh
//     report and a Refresh button (admin key).
//
// Rules, checked by a static test of the files and by the browser test:
// text from the API (document text, ids, snippets, error messages) is
// inserted with textContent or as text nodes, never as HTML (no
// innerHTML, insertAdjacentHTML, document.write); no inline script or
// style, no event-handler attributes, no eval or string timers; data-
// dependent positions and sizes are set through the CSSOM
// (element.style), which CSP allows, never through style attributes. So
// Content-Security-Policy "default-src 'self'" holds. When the server has
// keys, a 401 opens a key prompt; the key is kept in sessionStorage (this
// tab only) and sent as a bearer token, never in a URL.
//
// The browser test (ui/e2e_test.go, TestE2EBrowser) drives
// /usr/bin/chromium headless through chromedp against a loopback server;
// it skips when Chromium is absent (scripts/ci-chromium.sh installs
// Debian's) and under -short, and saves screenshots to
// $LAKEVEC_E2E_ARTIFACTS (default: the test's temporary directory).
package server
