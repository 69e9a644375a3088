package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/parquet-go/parquet-go"

	"github.com/lakevec/lakevec/cmd/lakevec/server"
	"github.com/lakevec/lakevec/cmd/lakevec/server/ui"
	"github.com/lakevec/lakevec/engine"
)

const (
	chromiumPath = "/usr/bin/chromium"
	e2eReadKey   = "read-key-0123456789abcdef"
	e2eAdminKey  = "admin-key-0123456789abcdef"
)

// The sample: four documents, versions at different times. Paragraphs of
// 50 characters or more are chunks of their own, so a version changes
// some chunks and not others.
const (
	retentionV1 = "# Data retention\n\nWe keep customer records for thirty days after an account is closed.\n\n" +
		"Support tickets are archived every month and stored in the ticket system.\n\n" +
		"Access to archived records is limited to the compliance team."
	retentionV2 = "# Data retention\n\nWe keep customer records for ninety days after an account is closed.\n\n" +
		"Support tickets are archived every month and stored in the ticket system.\n\n" +
		"Access to archived records is limited to the compliance team."
	retentionV3 = "# Data retention\n\nWe keep customer records for ninety days after an account is closed.\n\n" +
		"Support tickets are archived every week and stored in the ticket system.\n\n" +
		"Access to archived records is limited to the compliance team.\n\n" +
		"Backups are deleted after one year, unless a legal hold applies to them.\n\n" +
		"Customers may ask for an export of their records at any time by email."
	onboardingV1 = "# Onboarding\n\nNew employees get a laptop and an account on their first day at the office."
	onboardingV2 = "# Onboarding\n\nNew employees get a laptop and an account on their first day at the office, and a mentor for the first month."
	xssDoc       = "# Markup notes\n\nThis note quotes markup as plain text: <script>window.__xss = 1</script> and " +
		"<img src=x onerror=\"window.__xss = 2\"> must show as written, never run."
	faqV1 = "# FAQ\n\nQuestions about invoices go to the billing team, who answer within two working days."
)

// sample is the versioned history the test ingests, batch by batch.
var sample = []struct {
	at   string
	docs map[string]string
}{
	{"2021-01-01", map[string]string{"policies/retention.md": retentionV1}},
	{"2021-03-01", map[string]string{"notes/xss.md": xssDoc}},
	{"2021-06-01", map[string]string{"guide/onboarding.md": onboardingV1, "faq.md": faqV1}},
	{"2022-01-01", map[string]string{"policies/retention.md": retentionV2}},
	{"2022-06-01", map[string]string{"guide/onboarding.md": onboardingV2}},
	{"2023-01-01", map[string]string{"policies/retention.md": retentionV3}},
}

type e2eVec struct {
	ID        int64     `parquet:"id"`
	Embedding []float32 `parquet:"embedding,list"`
}

func writeE2EVectors(t *testing.T, path string, from, to int) {
	t.Helper()
	var rows []e2eVec
	for i := from; i < to; i++ {
		v := make([]float32, 4)
		for d := range v {
			v[d] = float32((i*7+d*3)%11) - 5
		}
		v[i%4] += 20
		rows = append(rows, e2eVec{ID: int64(i), Embedding: v})
	}
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
}

// apiCall sends one request to the API with the admin key.
func apiCall(t *testing.T, base, method, path string, body any) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+e2eAdminKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return b
}

// browserProblems collects what the page must never produce: uncaught
// exceptions and Content-Security-Policy violations.
type browserProblems struct {
	mu   sync.Mutex
	list []string
}

func (p *browserProblems) add(s string) {
	p.mu.Lock()
	p.list = append(p.list, s)
	p.mu.Unlock()
}

func (p *browserProblems) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.list
	p.list = nil
	return out
}

type result struct {
	Doc      string `json:"doc"`
	Snippet  string `json:"snippet"`
	Validity string `json:"validity"`
	Href     string `json:"href"`
}

const resultsJS = `[...document.querySelectorAll('#results .result')].map(r => ({
	doc: r.dataset.docId, snippet: r.querySelector('.snippet').textContent,
	validity: r.querySelector('.validity').textContent, href: r.querySelector('a.doc-link').getAttribute('href')}))`

// TestE2EBrowser drives the web UI in headless Chromium against a real
// server over loopback: key prompt, search now and as of times chosen
// with the slider, a document's versions and a diff, the collections page
// with a refresh, and untrusted markup shown as text.
func TestE2EBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test: skipped under -short (the race run)")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser end-to-end test: %s not found (scripts/ci-chromium.sh installs Debian's chromium): %v", chromiumPath, err)
	}
	artifacts := os.Getenv("LAKEVEC_E2E_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", artifacts)

	// The server: a fresh data directory, keys, an attach root.
	ctx := context.Background()
	data, root := t.TempDir(), t.TempDir()
	kbase, err := engine.Open(ctx, data, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{APIKey: e2eReadKey, AdminKey: e2eAdminKey, DataDir: data,
		AttachRoots: []string{root}, UI: ui.Handler()})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetKB(kbase)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		if err := kbase.Close(); err != nil {
			t.Error(err)
		}
	})
	for _, b := range sample {
		var docs []map[string]string
		for id, text := range b.docs {
			docs = append(docs, map[string]string{"doc_id": id, "text": text})
		}
		apiCall(t, ts.URL, "POST", "/api/v1/documents", map[string]any{"at": b.at, "documents": docs})
	}
	items := filepath.Join(root, "items")
	if err := os.Mkdir(items, 0o755); err != nil {
		t.Fatal(err)
	}
	writeE2EVectors(t, filepath.Join(items, "part-0.parquet"), 0, 40)
	apiCall(t, ts.URL, "POST", "/api/v1/collections", map[string]any{"name": "items", "parquet": items, "vector_column": "embedding"})

	// The browser.
	actx, cancelA := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 1000),
	)
	defer cancelA()
	problems := &browserProblems{}
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems.add("exception: " + msg)
		case *log.EventEntryAdded:
			if e := ev.Entry; e.Source == log.EntrySourceSecurity || strings.Contains(e.Text, "Content Security Policy") {
				problems.add("security: " + e.Text)
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				problems.add("console.error: " + strings.Join(parts, " "))
			}
		}
	}))
	defer cancelB()
	tctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
	defer cancelT()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tctx, steps...); err != nil {
			shot(t, tctx, artifacts, "failed")
			t.Fatalf("%s: %v", what, err)
		}
	}
	// waitFor polls a JavaScript condition in the page.
	waitFor := func(what, cond string) {
		t.Helper()
		do(what, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(15*time.Second)))
	}
	eval := func(expr string, v any) {
		t.Helper()
		raw, err := chromedp.Run(tctx, chromedp.Evaluate[[]byte](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	results := func() []result {
		t.Helper()
		var rs []result
		eval(resultsJS, &rs)
		return rs
	}

	// Watch for CSP violations from the page itself too, before it loads;
	// window.__xss stays undefined unless untrusted markup ran.
	if _, err := chromedp.Call(tctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.__csp = [];
		document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`}); err != nil {
		t.Fatal(err)
	}

	// 1. The server has keys: the UI asks for one.
	do("open the UI", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#key-panel")))
	shot(t, tctx, artifacts, "01-key-prompt")
	do("give the key", chromedp.SendKeys(chromedp.CSS("#key-input"), e2eAdminKey), chromedp.Click(chromedp.CSS("#key-submit")),
		chromedp.WaitVisible(chromedp.CSS("#q")))
	var stored string
	eval(`sessionStorage.getItem('lakevec.apiKey')`, &stored)
	if stored != e2eAdminKey {
		t.Fatalf("key in sessionStorage: %q", stored)
	}

	// 2. Search the current versions.
	const query = "how long do we keep customer records"
	do("search now", chromedp.SendKeys(chromedp.CSS("#q"), query), chromedp.Click(chromedp.CSS("#search-button")))
	waitFor("current results", `document.querySelector('#results').dataset.asOf === 'now' && document.querySelectorAll('#results .result').length > 0`)
	rs := results()
	if rs[0].Doc != "policies/retention.md" || !strings.Contains(rs[0].Snippet, "ninety days") || rs[0].Validity != "valid 2022-01-01 → now" {
		t.Fatalf("current search, first result: %+v", rs[0])
	}
	var marks []string
	eval(`[...document.querySelectorAll('#results .result:first-child .snippet mark')].map(m => m.textContent.toLowerCase())`, &marks)
	if !strings.Contains(strings.Join(marks, ","), "customer") || !strings.Contains(strings.Join(marks, ","), "records") {
		t.Fatalf("query words not marked in the snippet: %v", marks)
	}
	shot(t, tctx, artifacts, "02-search-current")

	// 3. As of: the slider steps through the six change times. Home: the
	// first one (2021-01-01), when only the retention policy existed, at
	// thirty days.
	do("switch to as of", chromedp.Click(chromedp.CSS("#mode-asof")))
	var max string
	eval(`document.querySelector('#asof-slider').max`, &max)
	if max != "5" {
		t.Fatalf("slider max %s, want 5 (six change times)", max)
	}
	do("slider to the start", chromedp.Focus(chromedp.CSS("#asof-slider")), chromedp.KeyEvent(kb.Home))
	waitFor("results as of 2021-01-01", `document.querySelector('#results').dataset.asOf === '2021-01-01T00:00:00Z'`)
	var label string
	eval(`document.querySelector('#asof-label').textContent`, &label)
	if label != "as of 2021-01-01 (change 1 of 6)" {
		t.Fatalf("slider label %q", label)
	}
	rs = results()
	if rs[0].Doc != "policies/retention.md" || !strings.Contains(rs[0].Snippet, "thirty days") || rs[0].Validity != "valid 2021-01-01 → 2022-01-01" {
		t.Fatalf("as of 2021-01-01, first result: %+v", rs[0])
	}
	for _, r := range rs {
		if r.Doc != "policies/retention.md" {
			t.Fatalf("as of 2021-01-01 only the retention policy existed; got %+v", r)
		}
	}
	shot(t, tctx, artifacts, "03-search-asof-2021-01-01")

	// Three steps right: 2022-01-01, ninety days, and the onboarding guide
	// (2021-06-01) now exists.
	do("slider three steps right", chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight))
	waitFor("results as of 2022-01-01", `document.querySelector('#results').dataset.asOf === '2022-01-01T00:00:00Z'`)
	rs = results()
	if rs[0].Doc != "policies/retention.md" || !strings.Contains(rs[0].Snippet, "ninety days") || rs[0].Validity != "valid 2022-01-01 → now" {
		t.Fatalf("as of 2022-01-01, first result: %+v", rs[0])
	}
	docs := map[string]bool{}
	for _, r := range rs {
		docs[r.Doc] = true
	}
	if !docs["guide/onboarding.md"] || !docs["faq.md"] {
		t.Fatalf("as of 2022-01-01 the onboarding guide and the FAQ exist; results %+v", rs)
	}
	shot(t, tctx, artifacts, "04-search-asof-2022-01-01")

	// 4. Back to 2021-01-01; the result opens the document as of then.
	do("slider back to the start", chromedp.KeyEvent(kb.Home))
	waitFor("results as of 2021-01-01 again", `document.querySelector('#results').dataset.asOf === '2021-01-01T00:00:00Z'`)
	do("open the first result", chromedp.Click(chromedp.CSS("#results .result:first-child a.doc-link")))
	waitFor("document as of 2021-01-01", `document.querySelector('#doc-text') && document.querySelector('#doc-text').dataset.at === '2021-01-01T00:00:00Z' && document.querySelector('#doc-text').textContent.includes('thirty days')`)
	var doc struct {
		ID       string   `json:"id"`
		Marks    []string `json:"marks"`
		Sizes    []int    `json:"sizes"`
		Selected string   `json:"selected"`
		Text     string   `json:"text"`
	}
	eval(`({id: document.querySelector('#doc-id').textContent,
		marks: [...document.querySelectorAll('#timeline .mark')].map(m => m.dataset.at),
		sizes: [...document.querySelectorAll('#timeline .mark')].map(m => Math.round(m.getBoundingClientRect().width)),
		selected: document.querySelector('#timeline .mark.selected').dataset.at,
		text: document.querySelector('#doc-text').textContent})`, &doc)
	if doc.ID != "policies/retention.md" || len(doc.Marks) != 3 || doc.Selected != "2021-01-01T00:00:00Z" || doc.Text != retentionV1 {
		t.Fatalf("document page: %+v", doc)
	}
	// v1 created 3 chunks, v2 changed 1, v3 changed 3: v2's mark is smaller.
	if !(doc.Sizes[1] < doc.Sizes[0] && doc.Sizes[1] < doc.Sizes[2]) {
		t.Fatalf("mark sizes %v: want the one-chunk change smallest", doc.Sizes)
	}
	shot(t, tctx, artifacts, "05-document-asof-2021")

	// A mark selects its version.
	do("click the second version", chromedp.Click(chromedp.CSS(`#timeline .mark[data-idx="1"]`)))
	waitFor("text of v2", `document.querySelector('#doc-text').dataset.at === '2022-01-01T00:00:00Z' && document.querySelector('#doc-text').textContent.includes('ninety days')`)

	// 5. The diff between v1 and v3: words and paragraphs highlighted.
	do("diff v1 → v3", chromedp.SetValue(chromedp.CSS("#diff-from"), "0"), chromedp.SetValue(chromedp.CSS("#diff-to"), "2"),
		chromedp.Click(chromedp.CSS("#diff-button")))
	waitFor("diff shown", `document.querySelector('#diff .diff-summary') && document.querySelector('#diff .diff-summary').textContent.startsWith('2021-01-01 → 2023-01-01')`)
	var diff struct {
		Del []string `json:"del"`
		Ins []string `json:"ins"`
		Eq  []string `json:"eq"`
	}
	eval(`({del: [...document.querySelectorAll('#diff del')].map(e => e.textContent),
		ins: [...document.querySelectorAll('#diff ins')].map(e => e.textContent),
		eq: [...document.querySelectorAll('#diff .diff-line.eq')].map(e => e.textContent)})`, &diff)
	wantDel := []string{"thirty", "month"}
	wantIns := []string{"ninety", "week",
		"Backups are deleted after one year, unless a legal hold applies to them.",
		"Customers may ask for an export of their records at any time by email."}
	if fmt.Sprint(diff.Del) != fmt.Sprint(wantDel) || fmt.Sprint(diff.Ins) != fmt.Sprint(wantIns) {
		t.Fatalf("diff highlights: deleted %q, inserted %q; want %q and %q", diff.Del, diff.Ins, wantDel, wantIns)
	}
	if len(diff.Eq) != 1 || !strings.Contains(diff.Eq[0], "compliance team") {
		t.Fatalf("unchanged paragraphs: %q", diff.Eq)
	}
	do("scroll to the diff", chromedp.ScrollIntoView(chromedp.CSS("#diff")))
	shot(t, tctx, artifacts, "06-diff-v1-v3")

	// 6. Untrusted markup is text: in a document and in a search snippet.
	do("open the markup note", chromedp.Navigate(ts.URL+"/#/doc/"+strings.ReplaceAll("notes/xss.md", "/", "%2F")))
	waitFor("markup note shown", `document.querySelector('#doc-text') && document.querySelector('#doc-text').textContent.includes('<script>')`)
	var xss struct {
		Text     string `json:"text"`
		Children int    `json:"children"`
		Imgs     int    `json:"imgs"`
		Scripts  int    `json:"scripts"`
		Flag     string `json:"flag"`
	}
	const xssJS = `({text: document.querySelector('#doc-text').textContent,
		children: document.querySelector('#doc-text').children.length,
		imgs: document.querySelectorAll('img').length,
		scripts: document.querySelectorAll('script').length,
		flag: typeof window.__xss})`
	eval(xssJS, &xss)
	if xss.Text != xssDoc || xss.Children != 0 || xss.Imgs != 0 || xss.Scripts != 1 || xss.Flag != "undefined" {
		t.Fatalf("untrusted markup: %+v", xss)
	}
	shot(t, tctx, artifacts, "07-markup-as-text")
	// (The page keeps the search mode across views: back to current.)
	do("search for the markup", chromedp.Navigate(ts.URL+"/#/search?q=markup+script+img"), chromedp.Click(chromedp.CSS("#mode-current")))
	waitFor("markup search results", `document.querySelector('#results').dataset.asOf === 'now' && document.querySelectorAll('#results .result').length > 0`)
	rs = results()
	if rs[0].Doc != "notes/xss.md" || !strings.Contains(rs[0].Snippet, `<img src=x onerror="window.__xss = 2">`) {
		t.Fatalf("markup search: %+v", rs[0])
	}
	eval(`({text: '', children: document.querySelectorAll('#results .snippet *:not(mark)').length,
		imgs: document.querySelectorAll('img').length, scripts: document.querySelectorAll('script').length, flag: typeof window.__xss})`, &xss)
	if xss.Children != 0 || xss.Imgs != 0 || xss.Scripts != 1 || xss.Flag != "undefined" {
		t.Fatalf("untrusted markup in a snippet: %+v", xss)
	}
	shot(t, tctx, artifacts, "08-markup-search")

	// 7. Collections: the attached dataset, refreshed after a new file.
	writeE2EVectors(t, filepath.Join(items, "part-1.parquet"), 40, 50)
	do("open collections", chromedp.Navigate(ts.URL+"/#/collections"))
	waitFor("collections table", `document.querySelectorAll('#collections tbody tr').length === 2`)
	var row struct {
		Rows, Lag, Report, Snapshot string
	}
	const rowJS = `(() => { const r = document.querySelector('#collections tr[data-name="items"]');
		return {Rows: r.querySelector('.rows').textContent, Lag: r.querySelector('.lag').textContent,
			Report: r.querySelector('.report').textContent, Snapshot: r.querySelector('.snapshot').textContent}; })()`
	eval(rowJS, &row)
	if row.Rows != "40" || row.Lag != "1 files" || row.Snapshot != "—" || !strings.Contains(row.Report, "rows +40") {
		t.Fatalf("collections row before refresh: %+v", row)
	}
	do("refresh", chromedp.Click(chromedp.CSS(`#collections tr[data-name="items"] button.refresh`)))
	waitFor("refreshed", `document.querySelector('#collections tr[data-name="items"] .rows').textContent === '50'`)
	eval(rowJS, &row)
	if !strings.Contains(row.Report, "2 file(s): 1 read, 0 removed · rows +10 −0") || row.Lag != "0 files" {
		t.Fatalf("refresh report: %+v", row)
	}
	shot(t, tctx, artifacts, "09-collections-refreshed")

	// No exception, no CSP violation, through all of it.
	var csp []string
	eval(`window.__csp`, &csp)
	if p := problems.take(); len(p) > 0 || len(csp) > 0 {
		t.Fatalf("the page reported problems: %q, CSP violations %q", p, csp)
	}
	// The watch works: an inline style attribute is a violation.
	eval(`(document.body.setAttribute('style', 'color: red'), true)`, new(bool))
	waitFor("the planted violation is seen", `window.__csp.length > 0`)
}

// shot saves a screenshot of the viewport as NAME.png.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Error(err)
	}
}
