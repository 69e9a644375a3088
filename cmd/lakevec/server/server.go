package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lakevec/lakevec/engine"
)

// KB is what the server needs of a knowledge base; *engine.KB implements
// it. It must be safe for concurrent use.
type KB interface {
	Search(ctx context.Context, query string, o engine.SearchOptions) ([]engine.Hit, error)
	SearchVector(ctx context.Context, q []float32, o engine.SearchOptions) ([]engine.Hit, error)
	Compare(ctx context.Context, query string, t1, t2 time.Time, n int) ([]engine.CompareEntry, error)
	Ingest(ctx context.Context, docs []engine.DocInput, at time.Time) (engine.Report, error)
	Docs() ([]string, error)
	History(docID string) ([]engine.VersionInfo, error)
	Show(docID string, t *time.Time) (string, error)
	Diff(docID string, from, to time.Time) ([]engine.DiffLine, error)
	Stats() engine.Stats
	Verify(ctx context.Context) ([]string, error)
	Close() error
}

var _ KB = (*engine.KB)(nil)

// Server is the HTTP API over one KB.
type Server struct {
	o       Options
	lg      *slog.Logger
	kb      atomic.Pointer[kbBox] // nil until the KB is open
	closing atomic.Bool           // shutdown started: not ready
	writeMu sync.Mutex            // makes a sync ingest (list, then ingest) atomic
	mux     *http.ServeMux
	routes  []route // as registered, for the OpenAPI document
	handler http.Handler
	met     *metrics
	readKey []byte // sha256 of the keys, nil when unset
	admKey  []byte

	ext      externals     // attached collections opened so far
	timeline timelineCache // change times, recomputed after each batch

	refresh refreshStats // what the automatic refresh loop last saw

	rootsOnce sync.Once
	roots     []string // Options.AttachRoots, absolute, symlinks resolved

	openAPIOnce sync.Once
	openAPIDoc  []byte
}

type kbBox struct{ KB }

// New builds a server. It serves 503 on the API until SetKB.
func New(o Options) (*Server, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	s := &Server{o: o, lg: o.Logger, mux: http.NewServeMux()}
	if o.APIKey != "" {
		s.readKey = keyDigest(o.APIKey)
	}
	if o.AdminKey != "" {
		s.admKey = keyDigest(o.AdminKey)
	}
	s.met = newMetrics(s)
	for _, rt := range apiRoutes() {
		s.handle(rt)
	}
	s.mux.HandleFunc("/", s.fallback)
	s.handler = s.middleware(s.mux)
	return s, nil
}

// Handler returns the server's handler (with every middleware), for
// httptest or embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// SetKB makes the server ready: the API serves from kb from now on.
func (s *Server) SetKB(kb KB) { s.kb.Store(&kbBox{kb}) }

func (s *Server) kbOrNil() KB {
	if b := s.kb.Load(); b != nil {
		return b.KB
	}
	return nil
}

// Close closes the attached collections the server opened. Serve calls
// it on shutdown; a caller that serves Handler itself calls it after its
// last request, before closing the KB.
func (s *Server) Close() error { return s.closeExternals() }

// Run listens on Options.Addr and calls Serve.
func (s *Server) Run(ctx context.Context, open func(context.Context) (KB, error)) error {
	ln, err := net.Listen("tcp", s.o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.o.Addr, err)
	}
	return s.Serve(ctx, ln, open)
}

// Serve serves on ln (and on the debug address, if set) until ctx is
// cancelled. It answers /healthz at once, opens the KB with open, then is
// ready. On cancellation it stops accepting, lets in-flight requests
// finish for up to ShutdownTimeout, then closes the KB (which writes the
// index checkpoint). It returns the first error of serving, opening or
// closing.
func (s *Server) Serve(ctx context.Context, ln net.Listener, open func(context.Context) (KB, error)) error {
	if !isLoopback(ln.Addr().String()) && s.readKey == nil && s.admKey == nil {
		ln.Close()
		return fmt.Errorf("listening on %s, not a loopback address: refusing to serve without an API key", ln.Addr())
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.o.ReadHeaderTimeout,
		ReadTimeout:       s.o.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.lg.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	scheme := "http"
	if s.o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.o.TLSCert, s.o.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		scheme = "https"
	}
	errc := make(chan error, 2)
	go func() {
		if hs.TLSConfig != nil {
			errc <- hs.ServeTLS(ln, "", "") // certificates from TLSConfig; HTTP/2 negotiated
			return
		}
		errc <- hs.Serve(ln)
	}()
	servers := []*http.Server{hs}
	if s.o.DebugAddr != "" {
		dln, err := net.Listen("tcp", s.o.DebugAddr)
		if err != nil {
			hs.Close()
			return fmt.Errorf("listen on --debug-addr %s: %w", s.o.DebugAddr, err)
		}
		ds := &http.Server{Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, ds)
		go func() { errc <- ds.Serve(dln) }()
		s.lg.Info("pprof listening", "addr", dln.Addr().String())
	}
	s.lg.Info("listening", "addr", ln.Addr().String(), "scheme", scheme,
		"auth", s.readKey != nil || s.admKey != nil, "cors", len(s.o.CORSOrigins) > 0)

	var kb KB
	var runErr error
	type opened struct {
		kb  KB
		err error
	}
	oc := make(chan opened, 1)
	go func() { k, err := open(ctx); oc <- opened{k, err} }()
	openDone := false
	select {
	case o := <-oc:
		openDone = true
		if o.err != nil {
			runErr = fmt.Errorf("open the knowledge base: %w", o.err)
		} else {
			kb = o.kb
			s.SetKB(kb)
			s.lg.Info("ready", "collection", kb.Stats().Collection)
		}
	case err := <-errc:
		runErr = err
	case <-ctx.Done():
	}
	var loopDone chan struct{}
	lctx, stopLoop := context.WithCancel(ctx)
	defer stopLoop()
	if runErr == nil && kb != nil && s.o.RefreshInterval > 0 && s.o.DataDir != "" {
		loopDone = make(chan struct{})
		go func() { defer close(loopDone); s.refreshLoop(lctx) }()
	}
	if runErr == nil && kb != nil {
		select {
		case <-ctx.Done():
		case err := <-errc:
			runErr = err
		}
	}
	s.closing.Store(true)
	s.lg.Info("shutting down", "timeout", s.o.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.ShutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			s.lg.Warn("in-flight requests did not finish in time; closing their connections", "err", err)
			srv.Close()
		}
	}
	if !openDone { // opening may still be running: close what it opens
		if o := <-oc; o.err == nil {
			kb = o.kb
		}
	}
	stopLoop()
	if loopDone != nil {
		<-loopDone // a refresh in progress stops at its next step
	}
	if err := s.closeExternals(); err != nil && runErr == nil {
		runErr = err
	}
	if kb != nil {
		if err := kb.Close(); err != nil && runErr == nil {
			runErr = fmt.Errorf("close the knowledge base: %w", err)
		}
	}
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	s.lg.Info("stopped")
	return runErr
}

// debugMux serves pprof; it is only ever bound to a loopback address.
func debugMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}
