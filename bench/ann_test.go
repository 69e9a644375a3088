package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakevec/lakevec/bench/gen"
	"github.com/lakevec/lakevec/bench/texmex"
	"github.com/lakevec/lakevec/engine/embed"
)

func testSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("BENCH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("BENCH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with BENCH_SEED=%d)", seed, seed)
	return seed
}

// genDir writes a generated set and returns a config pointing at it.
func genDir(t *testing.T, spec gen.Spec) ANNConfig {
	t.Helper()
	dir := t.TempDir()
	if _, err := GenerateToDir(spec, dir, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	c := DefaultANNConfig()
	c.Base = filepath.Join(dir, GenBaseFile)
	c.Query = filepath.Join(dir, GenQueryFile)
	c.GT = filepath.Join(dir, GenGTFile)
	c.Metric = "cosine"
	c.Efs = []int{10, 64}
	c.Threads = 2
	c.MinTime = 0
	c.MinPasses = 1
	return c
}

// parseLines checks that every stdout line is a result with exactly the
// keys of ResultKeys, in order.
func parseLines(t *testing.T, out string) []Result {
	t.Helper()
	var rs []Result
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		var keys []string
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("line %q: not a JSON object", line)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			keys = append(keys, tok.(string))
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
		}
		if !slices.Equal(keys, ResultKeys) {
			t.Fatalf("line %q: keys %v, want %v", line, keys, ResultKeys)
		}
		r, err := ParseResult([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

func hnswlibAvailable(t *testing.T) bool {
	dir := t.TempDir()
	script, err := writeHnswlibScript(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkHnswlib(context.Background(), DefaultPython, script); err != nil {
		t.Logf("hnswlib peer not tested: %v", err)
		return false
	}
	return true
}

func TestRunANNEndToEnd(t *testing.T) {
	c := genDir(t, gen.Spec{N: 2000, Dim: 32, Queries: 50, Seed: testSeed(t)})
	c.Peers = []string{"coder"}
	withHnswlib := hnswlibAvailable(t)
	if withHnswlib {
		c.Peers = append(c.Peers, "hnswlib")
	}
	var stdout, stderr bytes.Buffer
	results, err := RunANN(context.Background(), c, &stdout, &stderr)
	t.Logf("stderr:\n%s", stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	rs := parseLines(t, stdout.String())
	if len(rs) != len(results) {
		t.Fatalf("%d lines on stdout, %d results returned", len(rs), len(results))
	}
	want := map[string]int{SystemLakevec: 2, SystemCoder: 2}
	if withHnswlib {
		want[SystemHnswlib] = 2
		want[SystemHnswlibBatch] = 2
	}
	got := map[string]int{}
	for _, r := range rs {
		got[r.System]++
		if r.N != 2000 || r.Dim != 32 || !slices.Contains(c.Efs, r.Ef) {
			t.Errorf("%+v: wrong n, dim or ef", r)
		}
		if r.RecallAt10 < 0 || r.RecallAt10 > 1 || r.QPS <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms ||
			r.BuildS <= 0 || r.BytesPerVector < 4*32 {
			t.Errorf("%+v: implausible numbers", r)
		}
		wantThreads := 2
		if r.System == SystemCoder {
			wantThreads = 1
		}
		if r.Threads != wantThreads {
			t.Errorf("%s: threads %d, want %d", r.System, r.Threads, wantThreads)
		}
		// coder/hnsw's search stops early whatever ef is; do not hold it
		// to a recall bar.
		if r.System != SystemCoder && r.Ef == 64 && r.RecallAt10 < 0.95 {
			t.Errorf("%s: recall@10 %.3f at ef 64, want ≥ 0.95", r.System, r.RecallAt10)
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("results per system %v, want %v", got, want)
	}
	if !strings.Contains(stderr.String(), "recall@10") || !strings.Contains(stderr.String(), "bytes/vec") {
		t.Errorf("no table on stderr")
	}
}

// TestRunANNSkip indexes base[100:] against ground truth computed without
// the first 100 vectors, as with bigann10k, and checks the ids map back.
func TestRunANNSkip(t *testing.T) {
	seed := testSeed(t)
	c := genDir(t, gen.Spec{N: 1500, Dim: 24, Queries: 40, Seed: seed})
	base, err := texmex.ReadVectors(c.Base)
	if err != nil {
		t.Fatal(err)
	}
	q, err := texmex.ReadVectors(c.Query)
	if err != nil {
		t.Fatal(err)
	}
	gt := gen.GroundTruth(base.Slice(100, base.Len()), q, 20)
	for i := range gt.Data {
		gt.Data[i] += 100
	}
	c.GT = filepath.Join(t.TempDir(), "gt_excl.ivecs")
	if err := texmex.WriteIvecs(c.GT, gt); err != nil {
		t.Fatal(err)
	}
	c.Skip = 100
	c.Efs = []int{80}
	c.Metric = "ip"
	var stdout bytes.Buffer
	if _, err := RunANN(context.Background(), c, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	rs := parseLines(t, stdout.String())
	if len(rs) != 1 || rs[0].N != 1400 || rs[0].RecallAt10 < 0.95 {
		t.Fatalf("results %+v, want n 1400 and recall ≥ 0.95", rs)
	}
}

func TestRunANNInputErrors(t *testing.T) {
	c0 := genDir(t, gen.Spec{N: 300, Dim: 16, Queries: 20, Seed: 7})
	dir := t.TempDir()
	write := func(name string, fn func(p string) error) string {
		p := filepath.Join(dir, name)
		if err := fn(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	otherDim := write("q8.fvecs", func(p string) error {
		return texmex.WriteFvecs(p, texmex.Vectors{Dim: 8, Data: make([]float32, 8*20)})
	})
	fewRows := write("few.ivecs", func(p string) error {
		return texmex.WriteIvecs(p, texmex.IDs{K: 10, Data: make([]int32, 10*5)})
	})
	shallow := write("shallow.ivecs", func(p string) error {
		return texmex.WriteIvecs(p, texmex.IDs{K: 5, Data: make([]int32, 5*20)})
	})
	outOfRange := write("oor.ivecs", func(p string) error {
		return texmex.WriteIvecs(p, texmex.IDs{K: 10, Data: slices.Repeat([]int32{300}, 10*20)})
	})
	for _, tc := range []struct {
		name string
		edit func(c *ANNConfig)
		want string
	}{
		{"missing flags", func(c *ANNConfig) { c.Base, c.GT = "", "" }, "--base is required\n--gt is required"},
		{"missing file", func(c *ANNConfig) { c.Base = filepath.Join(dir, "nope.fvecs") }, "--base: open " + dir + "/nope.fvecs: no such file"},
		{"bad extension", func(c *ANNConfig) { c.Query = "q.txt" }, `--query: q.txt: unknown extension ".txt"`},
		{"gt not ivecs", func(c *ANNConfig) { c.GT = c.Base }, "want an .ivecs file"},
		{"metric", func(c *ANNConfig) { c.Metric = "hamming" }, `--metric "hamming": want l2, ip or cosine`},
		{"k", func(c *ANNConfig) { c.K = 5 }, "--k 5: must be at least 10"},
		{"m", func(c *ANNConfig) { c.M = 1 }, "--m 1: must be at least 2"},
		{"threads", func(c *ANNConfig) { c.Threads = 0 }, "--threads 0: must be positive"},
		{"ef", func(c *ANNConfig) { c.Efs = nil }, "--ef: no values"},
		{"peer", func(c *ANNConfig) { c.Peers = []string{"coder,faiss"} }, `--peer "faiss": want coder or hnswlib`},
		{"dim mismatch", func(c *ANNConfig) { c.Query = otherDim }, "has dimension 8 but --base"},
		{"skip", func(c *ANNConfig) { c.Skip = 300 }, "--skip 300: must be less than the 300 vectors"},
		{"k above n", func(c *ANNConfig) { c.Skip, c.K = 295, 10 }, "--k 10: more than the 5 indexed vectors"},
		{"gt rows", func(c *ANNConfig) { c.GT = fewRows }, "has 5 rows, fewer than the 20 queries"},
		{"gt depth", func(c *ANNConfig) { c.GT = shallow }, "holds 5 ids per query, need at least 10"},
		{"gt ids", func(c *ANNConfig) { c.GT = outOfRange }, "row 0 holds id 300, outside the indexed ids 0..299"},
		{"gt ids with skip", func(c *ANNConfig) { c.Skip = 100 }, "outside the indexed ids 100..299 (with --skip"},
		{"index options", func(c *ANNConfig) { c.EfConstruction = 1 }, "index options"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c0
			tc.edit(&c)
			_, err := RunANN(context.Background(), c, &bytes.Buffer{}, &bytes.Buffer{})
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v (%T), want an *InputError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseIntList(t *testing.T) {
	if got, err := ParseIntList("--ef", " 10, 20,40 "); err != nil || !slices.Equal(got, []int{10, 20, 40}) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, s := range []string{"", "10,,20", "10,x", "0", "-5", "1.5"} {
		_, err := ParseIntList("--ef", s)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), "--ef ") {
			t.Errorf("ParseIntList(%q) = %v, want an --ef input error", s, err)
		}
	}
}

func TestHnswlibMissing(t *testing.T) {
	c := DefaultANNConfig()
	c.Base, c.Query, c.GT = "b.fvecs", "q.fvecs", "g.ivecs"
	c.Peers = []string{"hnswlib"}
	c.Python = filepath.Join(t.TempDir(), "no-python3")
	_, err := RunANN(context.Background(), c, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y python3-hnswlib python3-numpy") {
		t.Fatalf("missing interpreter: got %v", err)
	}
	// An interpreter whose imports fail: the script exits 3.
	fake := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"No module named 'hnswlib'\" >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.Python = fake
	_, err = RunANN(context.Background(), c, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "No module named 'hnswlib'") ||
		!strings.Contains(err.Error(), "apt-get install -y python3-hnswlib python3-numpy") {
		t.Fatalf("missing module: got %v", err)
	}
}

func TestPercentileAndQPS(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var d []time.Duration
		for _, x := range xs {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	for _, tc := range []struct {
		lat      []time.Duration
		p        float64
		wantMs   float64
		wantQPSx float64
	}{
		{ms(5), 0.5, 5, 200},
		{ms(4, 1, 3, 2), 0.5, 2, 400},
		{ms(4, 1, 3, 2), 0.99, 4, 400},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.5, 5, 1000.0 / 5.5},
	} {
		if got := qps(tc.lat); got < tc.wantQPSx*0.999 || got > tc.wantQPSx*1.001 {
			t.Errorf("qps(%v) = %v, want %v", tc.lat, got, tc.wantQPSx)
		}
		if got := percentileMs(tc.lat, tc.p); got != tc.wantMs {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.lat, tc.p, got, tc.wantMs)
		}
	}
	if percentileMs(nil, 0.5) != 0 || qps(nil) != 0 {
		t.Error("empty input")
	}
}

func TestParseResultRejects(t *testing.T) {
	good := `{"system":"x","ef":1,"recall_at_10":1,"qps":1,"p50_ms":1,"p99_ms":1,"build_s":1,"threads":1,"n":1,"dim":1,"bytes_per_vector":1}`
	if _, err := ParseResult([]byte(good)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		strings.Replace(good, `"dim":1,`, ``, 1),
		strings.Replace(good, `}`, `,"extra":1}`, 1),
		strings.Replace(good, `"ef":1`, `"ef":"1"`, 1),
		`not json`,
	} {
		if _, err := ParseResult([]byte(bad)); err == nil {
			t.Errorf("ParseResult(%s) succeeded", bad)
		}
	}
}

func TestGenerateToDir(t *testing.T) {
	seed := testSeed(t)
	spec := gen.Spec{N: 1200, Dim: 20, Queries: 15, Seed: seed}
	a, b := t.TempDir(), t.TempDir()
	var progress bytes.Buffer
	meta, err := GenerateToDir(spec, a, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateToDir(spec, b, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{GenBaseFile, GenQueryFile, GenGTFile, GenMetaFile} {
		x, err1 := os.ReadFile(filepath.Join(a, f))
		y, err2 := os.ReadFile(filepath.Join(b, f))
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with seed %d (%v, %v)", f, seed, err1, err2)
		}
	}
	if meta.Generator != gen.Version || meta.N != 1200 || meta.K != 100 || meta.Clusters != 6 || meta.RelativeContrast10 <= 1 {
		t.Errorf("meta %+v", meta)
	}
	var onDisk GenMeta
	raw, _ := os.ReadFile(filepath.Join(a, GenMetaFile))
	if err := json.Unmarshal(raw, &onDisk); err != nil || onDisk != meta {
		t.Errorf("meta.json %s does not match %+v (%v)", raw, meta, err)
	}
	gt, err := texmex.ReadIvecs(filepath.Join(a, GenGTFile))
	if err != nil || gt.Len() != 15 || gt.K != 100 {
		t.Errorf("ground truth %d×%d, %v", gt.Len(), gt.K, err)
	}
	if !strings.Contains(progress.String(), "relative contrast") {
		t.Errorf("progress %q", progress.String())
	}

	for _, tc := range []struct {
		spec gen.Spec
		dir  string
		want string
	}{
		{spec, "", "--out is required"},
		{gen.Spec{N: 0, Dim: 8, Queries: 1}, a, "invalid data set: n 0 out of range"},
	} {
		_, err := GenerateToDir(tc.spec, tc.dir, &bytes.Buffer{})
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an input error containing %q", err, tc.want)
		}
	}
}

// TestRunAsOf runs the as-of benchmark small: recall against exact as-of
// search must be high and every line well formed.
func TestRunAsOf(t *testing.T) {
	var stdout, stderr bytes.Buffer
	rs, err := RunAsOf(context.Background(), AsOfConfig{Current: 1500, Historical: 1500, Dim: 32, Queries: 40, Efs: []int{64}, Seed: testSeed(t)}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || strings.Count(stdout.String(), "\n") != 3 {
		t.Fatalf("%d results:\n%s", len(rs), stdout.String())
	}
	for _, r := range rs {
		if r.RecallAt10 < 0.9 || r.P50ms <= 0 || r.Rows != 3000 || r.MeanValid <= 0 {
			t.Errorf("%+v", r)
		}
	}
}

func TestScoreRun(t *testing.T) {
	rel := map[string]bool{"a": true, "b": true}
	n, r := scoreRun([]string{"a", "x", "b"}, rel)
	want := (1 + 1/math.Log2(4)) / (1 + 1/math.Log2(3))
	if math.Abs(n-want) > 1e-12 || r != 1 {
		t.Fatalf("ndcg %v (want %v), recall %v", n, want, r)
	}
	if n, r := scoreRun([]string{"x"}, rel); n != 0 || r != 0 {
		t.Fatalf("no hit: %v %v", n, r)
	}
}

// TestRunBEIRSciFact runs the lexical embedder on SciFact's test split: the
// HNSW run (default ef 400 for 100 results) must lose under 0.005 nDCG@10
// against exact search.
func TestRunBEIRSciFact(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 5,183 abstracts; run without -short")
	}
	dir := filepath.Join("..", "..", "shared", "data", "ir", "scifact")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("scifact not present: %v", err)
	}
	var stdout, stderr bytes.Buffer
	rs, err := RunBEIR(context.Background(), BEIRConfig{Dataset: dir, Embedder: embed.NewLexical()}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", stderr.String())
	if len(rs) != 2 || rs[0].Queries != 300 || rs[0].Docs != 5183 {
		t.Fatalf("%+v", rs)
	}
	// The lexical embedder matches words only (SciFact's BM25 reaches
	// 0.665 with a full vocabulary; 384 hashed buckets collide): a sanity
	// floor, not a quality claim.
	if rs[0].NDCGAt10 < 0.15 {
		t.Fatalf("lexical nDCG@10 %.4f is implausibly low", rs[0].NDCGAt10)
	}
	if rs[0].NDCGAt10-rs[1].NDCGAt10 > 0.005 {
		t.Fatalf("HNSW loses %.4f nDCG@10 against exact search", rs[0].NDCGAt10-rs[1].NDCGAt10)
	}
}

func TestRunRefresh(t *testing.T) {
	var stdout, stderr bytes.Buffer
	r, err := RunRefresh(context.Background(), RefreshConfig{N: 2000, Dim: 16, Files: 4, Queries: 30, AppendPercent: 5, Seed: testSeed(t)}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if r.FilesRead != 1 || r.RowsAdded != 100 || r.DeletedLeaked != 0 || r.RecallRefresh < 0.9 || r.RecallDelta > 0.05 {
		t.Fatalf("%+v\n%s", r, stderr.String())
	}
}
