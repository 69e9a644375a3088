package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options configure a Server. Start from DefaultOptions.
type Options struct {
	// Addr is the listen address. Default "127.0.0.1:7700". A non-loopback
	// address (including "0.0.0.0" and ":7700") requires APIKey or AdminKey.
	Addr string
	// APIKey is the read-only bearer token. Empty: none.
	APIKey string
	// AdminKey is the bearer token that may also write (ingest, delete,
	// verify). Empty: none. When any key is set, every route except
	// /healthz, /readyz and /openapi.json needs one; when only APIKey is
	// set, writes are refused (403).
	AdminKey string
	// MaxBodyBytes limits request bodies. Default 16 MiB; zero means the
	// default, not unlimited.
	MaxBodyBytes int64
	// MaxK is the largest k a search may ask for. Default 1000.
	MaxK int
	// MaxEf is the largest graph beam width a search may ask for. Default 4096.
	MaxEf int
	// MaxQueryBytes limits a query text. Default 16 KiB.
	MaxQueryBytes int
	// MaxBatchDocs limits the documents of one POST /documents. Default 10000.
	MaxBatchDocs int
	// CORSOrigins are the origins allowed to call the API from a browser
	// ("*": any). Empty (default): no CORS headers, cross-origin browser
	// calls are refused.
	CORSOrigins []string
	// AllowedHosts are extra Host header values accepted when the server
	// listens on a loopback address (localhost, 127.0.0.1 and ::1 always
	// are): the guard against DNS rebinding. Ignored on other addresses.
	AllowedHosts []string
	// TLSCert and TLSKey, both or neither, serve HTTPS.
	TLSCert, TLSKey string
	// DebugAddr, if set, serves net/http/pprof on a second listener, which
	// must be a loopback address. Default: off.
	DebugAddr string
	// ShutdownTimeout bounds how long in-flight requests may run after
	// shutdown starts. Default 30s.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout and ReadTimeout bound reading a request. Defaults
	// 10s and 5m (ingesting a large batch over a slow link).
	ReadHeaderTimeout, ReadTimeout time.Duration
	// Logger receives request and lifecycle logs. Default: discard.
	Logger *slog.Logger
	// DataDir is the data directory of the served knowledge base, where
	// attached (external) collections live. Empty: the collections
	// endpoints list only the served documents collection, and attaching
	// is refused.
	DataDir string
	// AttachRoots are the directories under which POST /api/v1/collections
	// may attach a local Parquet dataset or Iceberg SQLite catalog
	// (symlinks resolved; a glob's fixed prefix must lie within a root).
	// Empty (default): attaching over the API is refused (403); refreshing
	// and searching collections attached with the CLI still work.
	AttachRoots []string
	// RefreshInterval, if positive, refreshes every attached collection on
	// that interval (and once at start), and exports their lag in
	// /metrics. Zero: collections change only by an explicit refresh.
	RefreshInterval time.Duration
	// UI, if set, serves the web UI at GET / (everything outside /api/,
	// /metrics, /openapi.json, /healthz and /readyz). It gets the same
	// security headers (CSP default-src 'self') and, when keys are set, no
	// key: the UI's static files are public, its API calls carry the key.
	UI http.Handler
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{
		Addr:              "127.0.0.1:7700",
		MaxBodyBytes:      16 << 20,
		MaxK:              1000,
		MaxEf:             4096,
		MaxQueryBytes:     16 << 10,
		MaxBatchDocs:      10000,
		ShutdownTimeout:   30 * time.Second,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
	}
}

// withDefaults fills zero fields with their defaults.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Addr == "" {
		o.Addr = d.Addr
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = d.MaxBodyBytes
	}
	if o.MaxK == 0 {
		o.MaxK = d.MaxK
	}
	if o.MaxEf == 0 {
		o.MaxEf = d.MaxEf
	}
	if o.MaxQueryBytes == 0 {
		o.MaxQueryBytes = d.MaxQueryBytes
	}
	if o.MaxBatchDocs == 0 {
		o.MaxBatchDocs = d.MaxBatchDocs
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = d.ShutdownTimeout
	}
	if o.ReadHeaderTimeout == 0 {
		o.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = d.ReadTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// minKeyLen is the shortest accepted key: 16 characters, for example
// `openssl rand -hex 16` gives 32.
const minKeyLen = 16

// Validate reports every problem of the options at once (after defaults).
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		bad("--addr %q: %v", o.Addr, err)
	} else if !isLoopback(o.Addr) && o.APIKey == "" && o.AdminKey == "" {
		bad("--addr %s is not a loopback address: refusing to serve without an API key (set --api-key/--admin-key or LAKEVEC_API_KEY/LAKEVEC_ADMIN_KEY)", o.Addr)
	}
	for _, k := range []struct{ name, v string }{{"api key", o.APIKey}, {"admin key", o.AdminKey}} {
		if k.v != "" && len(k.v) < minKeyLen {
			bad("%s: too short (%d characters, want at least %d)", k.name, len(k.v), minKeyLen)
		}
		if strings.TrimSpace(k.v) != k.v || strings.ContainsAny(k.v, " \t\r\n") {
			bad("%s: contains white space", k.name)
		}
	}
	if o.APIKey != "" && o.APIKey == o.AdminKey {
		bad("the api key and the admin key are the same: a read-only key must differ from the admin key")
	}
	if o.MaxBodyBytes < 0 {
		bad("max body bytes %d: want > 0", o.MaxBodyBytes)
	}
	if o.MaxK < 1 {
		bad("max k %d: want >= 1", o.MaxK)
	}
	if o.MaxEf < 1 {
		bad("max ef %d: want >= 1", o.MaxEf)
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		bad("--tls-cert and --tls-key go together")
	}
	if o.DebugAddr != "" {
		if _, _, err := net.SplitHostPort(o.DebugAddr); err != nil {
			bad("--debug-addr %q: %v", o.DebugAddr, err)
		} else if !isLoopback(o.DebugAddr) {
			bad("--debug-addr %s: pprof is served only on a loopback address", o.DebugAddr)
		}
	}
	for _, c := range o.CORSOrigins {
		if c != "*" && !strings.HasPrefix(c, "http://") && !strings.HasPrefix(c, "https://") {
			bad("--cors-origin %q: want an origin like https://app.example.com, or *", c)
		}
	}
	for _, r := range o.AttachRoots {
		if !filepath.IsAbs(r) {
			bad("--attach-root %q: want an absolute directory", r)
		} else if st, err := os.Stat(r); err != nil || !st.IsDir() {
			bad("--attach-root %q: not a directory", r)
		}
	}
	if o.ShutdownTimeout < 0 {
		bad("shutdown timeout %s: want >= 0", o.ShutdownTimeout)
	}
	return errors.Join(errs...)
}

// isLoopback reports whether a host:port listens only on loopback. Host
// names other than "localhost" are not trusted to resolve to loopback.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
