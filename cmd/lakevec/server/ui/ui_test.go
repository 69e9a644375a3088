package ui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/lakevec/lakevec/cmd/lakevec/server"
	"github.com/lakevec/lakevec/cmd/lakevec/server/ui"
)

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Host = "127.0.0.1:7700" // a loopback server answers loopback names only
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func TestHandlerServesTheEmbeddedFiles(t *testing.T) {
	h := ui.Handler()
	for _, c := range []struct{ path, ctype, contains string }{
		{"/", "text/html; charset=utf-8", `<script src="app.js" defer></script>`},
		{"/index.html", "text/html; charset=utf-8", `<link rel="stylesheet" href="style.css">`},
		{"/app.js", "text/javascript; charset=utf-8", "'use strict'"},
		{"/style.css", "text/css; charset=utf-8", ".diff-line"},
		{"/favicon.svg", "image/svg+xml", "<svg"},
	} {
		res := get(t, h, "GET", c.path)
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != c.ctype || !strings.Contains(string(b), c.contains) {
			t.Errorf("GET %s: %d %s, body has %q: %v", c.path, res.StatusCode, res.Header.Get("Content-Type"), c.contains, strings.Contains(string(b), c.contains))
		}
		if res.Header.Get("Cache-Control") != "no-cache" || res.Header.Get("ETag") == "" {
			t.Errorf("GET %s: caching headers %v", c.path, res.Header)
		}
		if r2 := get(t, h, "GET", c.path, "If-None-Match", res.Header.Get("ETag")); r2.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", c.path, r2.StatusCode)
		}
	}
	if res := get(t, h, "HEAD", "/app.js"); res.StatusCode != 200 {
		t.Errorf("HEAD: %d", res.StatusCode)
	}
	if res := get(t, h, "GET", "/static/app.js"); res.StatusCode != 404 {
		t.Errorf("GET /static/app.js: %d, want 404", res.StatusCode)
	}
	if res := get(t, h, "POST", "/"); res.StatusCode != 405 {
		t.Errorf("POST /: %d, want 405", res.StatusCode)
	}
}

// TestFilesKeepTheCSPRules checks the sources against the rules that let
// the UI run under "default-src 'self'" and keep untrusted text out of
// HTML: no inline script or style, no event-handler attributes, no HTML
// sinks, no eval. The browser test checks the same at run time.
func TestFilesKeepTheCSPRules(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	html := read("index.html")
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>\s*[^<\s]`),     // an inline script body
		regexp.MustCompile(`(?i)<style`),                             // a style element
		regexp.MustCompile(`(?i)\sstyle\s*=`),                        // a style attribute
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),                     // an event-handler attribute
		regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"(?:https?:)?//`), // anything off-origin (a CDN)
		regexp.MustCompile(`(?i)javascript:`),
	} {
		if m := re.FindString(html); m != "" {
			t.Errorf("index.html: %q matches %s", m, re)
		}
	}
	for _, tag := range regexp.MustCompile(`(?i)<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, "src=") {
			t.Errorf("index.html: %s has no src", tag)
		}
	}
	// The JS, without its comment lines (which name the forbidden sinks).
	var code strings.Builder
	for _, l := range strings.Split(read("app.js"), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "//") {
			code.WriteString(l + "\n")
		}
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
		"setAttribute('style'", `setAttribute("style"`, "cssText", "setTimeout('", `setTimeout("`, "srcdoc", "createContextualFragment",
		"http://", "https://"} {
		if strings.Contains(code.String(), bad) {
			t.Errorf("app.js uses %q", bad)
		}
	}
	if strings.Contains(read("style.css"), "@import") || strings.Contains(read("style.css"), "url(http") {
		t.Error("style.css loads something from elsewhere")
	}
}

// The server serves the UI at / with its security headers, and no key.
func TestServedByTheServer(t *testing.T) {
	srv, err := server.New(server.Options{APIKey: "read-key-0123456789abcdef", UI: ui.Handler()})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/app.js", "/style.css"} {
		res := get(t, srv.Handler(), "GET", p)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d", p, res.StatusCode)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") {
			t.Fatalf("GET %s: CSP %q", p, csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s: no nosniff", p)
		}
	}
	if res := get(t, srv.Handler(), "GET", "/api/v1/stats"); res.StatusCode != 401 {
		t.Fatalf("the API without a key: %d", res.StatusCode)
	}
}
