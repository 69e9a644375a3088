package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// reqInfo travels in the request context so the outermost middleware can
// log and measure what the inner ones decided.
type reqInfo struct {
	id    string
	route string // the route pattern, "unmatched" when none
	lg    *slog.Logger
}

type ctxKey struct{}

func loggerOf(r *http.Request) *slog.Logger { return infoOf(r.Context()).lg }

func infoOf(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (Flush).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// middleware wraps the mux, outermost first: request id, log and metrics;
// panic recovery; security headers; Host check; CORS.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{id: r.Header.Get("X-Request-Id"), route: "unmatched", lg: s.lg}
		if !validRequestID.MatchString(ri.id) {
			ri.id = newRequestID()
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Request-Id", ri.id)
		s.met.inFlight.Inc()
		defer func() {
			s.met.inFlight.Dec()
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.lg.Error("panic in handler", "request_id", ri.id, "route", ri.route, "panic", fmt.Sprint(p))
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, errorBody{Error: "internal error (request " + ri.id + ")"})
				}
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			d := time.Since(start)
			s.met.observe(ri.route, sw.status, d)
			// The path, not the query (it holds search text); never headers.
			s.lg.Info("request", "request_id", ri.id, "method", r.Method, "route", ri.route, "path", r.URL.Path,
				"status", sw.status, "duration_ms", float64(d.Microseconds())/1000, "bytes", sw.bytes,
				"remote", r.RemoteAddr)
		}()
		s.securityHeaders(sw.Header())
		if !s.hostAllowed(r.Host) {
			writeError(sw, r, apiErr(http.StatusMisdirectedRequest, "Host %q is not served here (a loopback server answers only localhost names; see --allowed-host)", r.Host))
			return
		}
		if s.cors(sw, r) {
			return
		}
		next.ServeHTTP(sw, r)
	})
}

func (s *Server) securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if s.o.TLSCert != "" {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// hostAllowed guards a loopback server against DNS rebinding: a web page
// on evil.example whose name resolves to 127.0.0.1 sends Host:
// evil.example, which is refused. Servers on other addresses need keys,
// which a browser does not send by itself, so they accept any Host.
func (s *Server) hostAllowed(host string) bool {
	if !isLoopback(s.o.Addr) {
		return true
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	return slices.Contains(s.o.AllowedHosts, h) || slices.Contains(s.o.AllowedHosts, host)
}

// cors sets the CORS headers for an allowed Origin and answers preflight
// requests. It reports whether the request was answered. Without
// CORSOrigins it sets nothing, so browsers refuse cross-origin reads, and
// it refuses cross-origin writes outright (a form post needs no preflight).
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	allowed := slices.Contains(s.o.CORSOrigins, "*") || slices.Contains(s.o.CORSOrigins, origin)
	if !allowed {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(origin, r) {
			writeError(w, r, apiErr(http.StatusForbidden, "Origin %q is not allowed (see --cors-origin)", origin))
			return true
		}
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "X-Request-Id")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// sameOrigin reports whether origin names the host the request was sent to.
func sameOrigin(origin string, r *http.Request) bool {
	o := strings.TrimPrefix(strings.TrimPrefix(origin, "https://"), "http://")
	return o == r.Host
}
