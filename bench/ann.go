package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lakevec/lakevec/bench/texmex"
)

// InputError reports flags or input files that are wrong or do not fit
// together, as opposed to a failure while running.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErrorf(format string, args ...any) error {
	return &InputError{fmt.Errorf(format, args...)}
}

// System names as they appear in results.
const (
	SystemLakevec = "lakevec"
	SystemCoder   = "coder-hnsw"
	SystemHnswlib = "hnswlib"
	// SystemHnswlibBatch is hnswlib timed over one call for all queries.
	SystemHnswlibBatch = "hnswlib-batch"
)

// DefaultPython is the interpreter of the hnswlib peer: Debian's, which
// sees the python3-hnswlib and python3-numpy packages.
const DefaultPython = "/usr/bin/python3"

// ANNConfig configures RunANN. See DefaultANNConfig for defaults.
type ANNConfig struct {
	Base, Query, GT string // .fvecs/.bvecs, .fvecs/.bvecs, .ivecs; required

	Metric         string // "l2", "ip" or "cosine"; default "l2"
	M              int    // default 16
	EfConstruction int    // default 200
	Efs            []int  // search beam widths; default 10,20,40,80,160
	K              int    // results asked per query, at least 10; default 10
	Threads        int    // build threads; default runtime.NumCPU()
	Skip           int    // index base[Skip:], keeping original ids; default 0
	Peers          []string
	MinTime        time.Duration // per ef, at least this long; default 1s
	MinPasses      int           // per ef, at least this many passes; default 3
	Seed           uint64        // level assignment seed of every system; default 1
	Python         string        // interpreter for hnswlib; default DefaultPython
	// Bar, when set, shows each build's progress (a terminal progress bar)
	// in place of the periodic progress lines. Default nil: the lines.
	Bar BarFunc
}

// DefaultANNConfig returns the defaults, with no files set.
func DefaultANNConfig() ANNConfig {
	return ANNConfig{
		Metric:         "l2",
		M:              16,
		EfConstruction: 200,
		Efs:            []int{10, 20, 40, 80, 160},
		K:              10,
		Threads:        runtime.NumCPU(),
		MinTime:        time.Second,
		MinPasses:      3,
		Seed:           1,
		Python:         DefaultPython,
	}
}

// peerNames maps accepted --peer values to system names.
var peerNames = map[string]string{
	"coder":       SystemCoder,
	SystemCoder:   SystemCoder,
	SystemHnswlib: SystemHnswlib,
}

// Validate checks the flags without touching files and reports every
// problem at once, as an *InputError. It normalises Peers to system names
// without duplicates.
func (c *ANNConfig) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, f := range []struct {
		flag, path string
		ids        bool
	}{{"--base", c.Base, false}, {"--query", c.Query, false}, {"--gt", c.GT, true}} {
		if f.path == "" {
			add("%s is required", f.flag)
			continue
		}
		switch format, err := texmex.FormatOf(f.path); {
		case err != nil:
			add("%s: %w", f.flag, err)
		case f.ids && format != texmex.Ivecs:
			add("%s %s: want an .ivecs file", f.flag, f.path)
		case !f.ids && format == texmex.Ivecs:
			add("%s %s: want an .fvecs or .bvecs file", f.flag, f.path)
		}
	}
	switch c.Metric {
	case "l2", "ip", "cosine":
	default:
		add("--metric %q: want l2, ip or cosine", c.Metric)
	}
	if c.M < 2 {
		add("--m %d: must be at least 2", c.M)
	}
	if c.EfConstruction < 1 {
		add("--ef-construction %d: must be positive", c.EfConstruction)
	}
	if len(c.Efs) == 0 {
		add("--ef: no values")
	}
	for _, ef := range c.Efs {
		if ef < 1 {
			add("--ef %d: must be positive", ef)
		}
	}
	if c.K < 10 {
		add("--k %d: must be at least 10 to measure recall@10", c.K)
	}
	if c.Threads < 1 {
		add("--threads %d: must be positive", c.Threads)
	}
	if c.Skip < 0 {
		add("--skip %d: must not be negative", c.Skip)
	}
	if c.MinTime < 0 {
		add("--min-time %v: must not be negative", c.MinTime)
	}
	if c.MinPasses < 1 {
		add("--min-passes %d: must be positive", c.MinPasses)
	}
	var peers []string
	for _, p := range c.Peers {
		for p := range strings.SplitSeq(p, ",") {
			p = strings.TrimSpace(p)
			name, ok := peerNames[p]
			if !ok {
				add("--peer %q: want coder or hnswlib", p)
				continue
			}
			if !slices.Contains(peers, name) {
				peers = append(peers, name)
			}
		}
	}
	c.Peers = peers
	if slices.Contains(peers, SystemHnswlib) && c.Python == "" {
		add("--python: empty")
	}
	if err := errors.Join(errs...); err != nil {
		return &InputError{err}
	}
	return nil
}

// ParseIntList parses a comma-separated list of positive integers such as
// "10,20,40"; flag names the flag in errors.
func ParseIntList(flag, s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, inputErrorf("%s %q: %q is not a positive integer", flag, s, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// annData is the loaded and cross-checked input.
type annData struct {
	base  texmex.Vectors // all of it; the index holds base[skip:]
	skip  int
	query texmex.Vectors
	gt    texmex.IDs
}

func (d *annData) n() int { return d.base.Len() - d.skip }

func loadANNData(c *ANNConfig) (*annData, error) {
	read := func(flag, path string) (texmex.Vectors, error) {
		v, err := texmex.ReadVectors(path)
		if err != nil {
			return v, fileError(flag, err)
		}
		return v, nil
	}
	base, err := read("--base", c.Base)
	if err != nil {
		return nil, err
	}
	query, err := read("--query", c.Query)
	if err != nil {
		return nil, err
	}
	gt, err := texmex.ReadIvecs(c.GT)
	if err != nil {
		return nil, fileError("--gt", err)
	}
	d := &annData{base: base, skip: c.Skip, query: query, gt: gt}

	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if query.Dim != base.Dim {
		add("--query %s has dimension %d but --base %s has %d", c.Query, query.Dim, c.Base, base.Dim)
	}
	if c.Skip >= base.Len() {
		add("--skip %d: must be less than the %d vectors of --base %s", c.Skip, base.Len(), c.Base)
	} else if c.K > d.n() {
		add("--k %d: more than the %d indexed vectors", c.K, d.n())
	}
	if d.n() > math.MaxInt32 {
		add("--base %s: %d vectors to index, more than %d", c.Base, d.n(), math.MaxInt32)
	}
	if gt.Len() < query.Len() {
		add("--gt %s has %d rows, fewer than the %d queries of --query %s", c.GT, gt.Len(), query.Len(), c.Query)
	}
	if gt.K < 10 {
		add("--gt %s holds %d ids per query, need at least 10 for recall@10", c.GT, gt.K)
	}
	if len(errs) == 0 {
		lo, hi := int32(c.Skip), int32(base.Len())
	rows:
		for i := range query.Len() {
			for _, id := range gt.Row(i)[:10] {
				if id < lo || id >= hi {
					add("--gt %s row %d holds id %d, outside the indexed ids %d..%d"+
						" (with --skip, use ground truth computed without the skipped vectors)", c.GT, i, id, lo, hi-1)
					break rows
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, &InputError{err}
	}
	return d, nil
}

// fileError names the flag; a missing file is an input error.
func fileError(flag string, err error) error {
	err = fmt.Errorf("%s: %w", flag, err)
	if errors.Is(err, fs.ErrNotExist) {
		return &InputError{err}
	}
	return err
}

// RunANN runs the benchmark: lakevec first, then the peers in order. It
// writes each Result as a JSON line to stdout as soon as it is measured,
// progress and a final table to stderr, and returns the results.
func RunANN(ctx context.Context, c ANNConfig, stdout, stderr io.Writer) ([]Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	stderr = &lockedWriter{w: stderr}
	var script string
	if slices.Contains(c.Peers, SystemHnswlib) {
		dir, err := os.MkdirTemp("", "lakevec-bench-")
		if err != nil {
			return nil, fmt.Errorf("hnswlib peer: %w", err)
		}
		defer os.RemoveAll(dir)
		if script, err = writeHnswlibScript(dir); err != nil {
			return nil, err
		}
		// Fail before a long build, not after it.
		if err := checkHnswlib(ctx, c.Python, script); err != nil {
			return nil, err
		}
	}
	d, err := loadANNData(&c)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "bench: %d base vectors (indexing %d, skip %d), %d queries, dim %d, metric %s\n",
		d.base.Len(), d.n(), d.skip, d.query.Len(), d.base.Dim, c.Metric)

	var results []Result
	emit := func(r Result) error {
		r = r.rounded()
		results = append(results, r)
		fmt.Fprintf(stderr, "%s: ef %d: recall@10 %.4f, %.0f qps, p50 %.3f ms, p99 %.3f ms\n",
			r.System, r.Ef, r.RecallAt10, r.QPS, r.P50ms, r.P99ms)
		return writeResult(stdout, r)
	}
	for _, sys := range append([]string{SystemLakevec}, c.Peers...) {
		var err error
		switch sys {
		case SystemLakevec:
			err = runGo(ctx, &lakevecSystem{}, d, &c, stderr, emit)
		case SystemCoder:
			err = runGo(ctx, &coderSystem{}, d, &c, stderr, emit)
		case SystemHnswlib:
			err = runHnswlib(ctx, &c, script, d, stderr, emit)
		}
		runtime.GC() // drop the previous index before building the next
		if err != nil {
			writeTable(stderr, results)
			return results, err
		}
	}
	writeTable(stderr, results)
	return results, nil
}

// goSystem is an index built and searched in this process.
type goSystem interface {
	name() string
	// build indexes d.base[d.skip:] under ids d.skip.. and returns the
	// number of threads used.
	build(ctx context.Context, d *annData, c *ANNConfig, progress io.Writer) (threads int, err error)
	// search returns original ids, nearest first, appended to dst[:0].
	search(q []float32, k, ef int, dst []int32) ([]int32, error)
	bytesPerVector() float64
}

// savedLoader is a system that can save its index and serve the searches
// from the reloaded copy, reporting the times (outside build_s).
type savedLoader interface {
	roundTrip(progress io.Writer) error
}

func runGo(ctx context.Context, s goSystem, d *annData, c *ANNConfig, stderr io.Writer, emit func(Result) error) error {
	fmt.Fprintf(stderr, "%s: building %d vectors (M %d, efC %d)\n", s.name(), d.n(), c.M, c.EfConstruction)
	start := time.Now()
	threads, err := s.build(ctx, d, c, stderr)
	if err != nil {
		return fmt.Errorf("%s: build: %w", s.name(), err)
	}
	buildS := time.Since(start).Seconds()
	fmt.Fprintf(stderr, "%s: built in %.2f s (threads: %d)\n", s.name(), buildS, threads)
	if rt, ok := s.(savedLoader); ok {
		if err := rt.roundTrip(stderr); err != nil {
			return fmt.Errorf("%s: save and load: %w", s.name(), err)
		}
	}
	for _, ef := range c.Efs {
		r, err := measure(ctx, s, d, c, ef)
		if err != nil {
			return fmt.Errorf("%s: ef %d: %w", s.name(), ef, err)
		}
		r.BuildS, r.Threads = buildS, threads
		if err := emit(r); err != nil {
			return err
		}
	}
	return nil
}

// measure runs the timed passes of one ef; see the package comment.
func measure(ctx context.Context, s goSystem, d *annData, c *ANNConfig, ef int) (Result, error) {
	nq := d.query.Len()
	lat := make([]time.Duration, 0, nq*c.MinPasses)
	buf := make([]int32, 0, c.K)
	hits := 0
	runtime.GC() // do not bill this ef for the previous one's garbage
	start := time.Now()
	for pass := 0; ; pass++ {
		for i := range nq {
			if i%64 == 0 && ctx.Err() != nil {
				return Result{}, ctx.Err()
			}
			q := d.query.Row(i)
			t0 := time.Now()
			ids, err := s.search(q, c.K, ef, buf)
			lat = append(lat, time.Since(t0))
			if err != nil {
				return Result{}, fmt.Errorf("query %d: %w", i, err)
			}
			if pass == 0 {
				hits += overlap10(ids, d.gt.Row(i))
			}
			buf = ids
		}
		if pass+1 >= c.MinPasses && time.Since(start) >= c.MinTime {
			break
		}
	}
	return Result{
		System:         s.name(),
		Ef:             ef,
		RecallAt10:     float64(hits) / float64(10*nq),
		QPS:            qps(lat),
		P50ms:          percentileMs(lat, 0.50),
		P99ms:          percentileMs(lat, 0.99),
		N:              d.n(),
		Dim:            d.base.Dim,
		BytesPerVector: s.bytesPerVector(),
	}, nil
}

// overlap10 counts the first 10 results that are among the first 10
// ground-truth ids.
func overlap10(got []int32, gt []int32) int {
	n := 0
	for _, id := range got[:min(10, len(got))] {
		if slices.Contains(gt[:10], id) {
			n++
		}
	}
	return n
}

// percentileMs is the nearest-rank percentile p of lat, in milliseconds.
// It sorts lat.
func percentileMs(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	i := min(max(int(math.Ceil(p*float64(len(lat))))-1, 0), len(lat)-1)
	return float64(lat[i]) / float64(time.Millisecond)
}

// qps is calls per second of summed call time.
func qps(lat []time.Duration) float64 {
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	if sum <= 0 {
		return 0
	}
	return float64(len(lat)) / sum.Seconds()
}
