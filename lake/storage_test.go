package lake

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/parquet-go/parquet-go"
)

// reqLog records the requests a fake S3 server saw.
type reqLog struct {
	mu       sync.Mutex
	gets     int
	unranged int   // GETs of a .parquet object without a Range header
	bytes    int64 // response body bytes of object GETs
}

// counts returns the GETs, unranged .parquet GETs and bytes so far.
func (l *reqLog) counts() (gets, unranged int, n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gets, l.unranged, l.bytes
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// fakeS3 starts an in-process fake S3 server (gofakes3) with the given
// buckets. gofakes3 is a fake: s3_integration_test.go runs the same checks
// against a real server.
func fakeS3(t *testing.T, buckets ...string) (S3Options, *s3mem.Backend, *reqLog) {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	log := &reqLog{}
	h := gofakes3.New(backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An object GET has a key after the bucket and no listing query.
		q := r.URL.Query()
		isObjGet := r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 &&
			(r.URL.RawQuery == "" || q.Get("x-id") == "GetObject")
		if !isObjGet {
			h.ServeHTTP(w, r)
			return
		}
		cw := &countingWriter{ResponseWriter: w}
		h.ServeHTTP(cw, r)
		log.mu.Lock()
		log.gets++
		if r.Header.Get("Range") == "" && strings.HasSuffix(r.URL.Path, ".parquet") {
			log.unranged++
		}
		log.bytes += cw.n
		if os.Getenv("LAKEVEC_DEBUG_RANGES") != "" {
			fmt.Println("GET", r.URL.Path, r.Header.Get("Range"), cw.n)
		}
		log.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return S3Options{Endpoint: srv.URL, Region: "us-east-1", AccessKeyID: "test-key", SecretAccessKey: "test-secret"}, backend, log
}

func putObject(t *testing.T, b *s3mem.Backend, bucket, key string, data []byte) {
	t.Helper()
	if _, err := b.PutObject(bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
}

// collect reads every vector of uri through st.
func collect(t *testing.T, st *Storage, uri string) map[int64][]float32 {
	t.Helper()
	got := map[int64][]float32{}
	_, err := st.ReadVectors(t.Context(), uri, VectorOptions{Column: "embedding", BatchSize: 7}, func(b *VectorBatch) error {
		for i, r := range b.Rows {
			got[r] = slices.Clone(b.Vector(i))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	return got
}

func sameVectors(t *testing.T, what string, got, want map[int64][]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d vectors, want %d", what, len(got), len(want))
	}
	for r, v := range want {
		if !slices.Equal(bits(got[r]), bits(v)) {
			t.Fatalf("%s: row %d = %v, want %v", what, r, got[r], v)
		}
	}
}

func uris(objs []Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.URI)
	}
	return out
}

// sampleFile is a small Parquet file of 40 list<float> vectors (dim 4).
func sampleFile(t *testing.T, seed uint64) []byte {
	sh := shapes(4)[0]
	return testFile(t, sh, nil, &parquet.Snappy, 1, 16, testVectors(rand.New(rand.NewPCG(seed, 1)), 40, 4, sh))
}

func TestStorageLocal(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	files := map[string][]byte{
		"a.parquet":             sampleFile(t, 1),
		"sub/b.parquet":         sampleFile(t, 2),
		"sub/deeper/c.parquet":  sampleFile(t, 3),
		"_temporary/x.parquet":  sampleFile(t, 4),
		".hidden.parquet":       sampleFile(t, 5),
		"sub/_SUCCESS":          nil,
		"notes.txt":             []byte("hi"),
		"sub/.b.parquet.crc":    []byte("crc"),
		"other/only.parquet.gz": []byte("no"),
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st := NewStorage(S3Options{})
	abs := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
		return out
	}
	for _, c := range []struct {
		src  string
		want []string
	}{
		{dir, abs("a.parquet", "sub/b.parquet", "sub/deeper/c.parquet")},
		{"file://" + dir, abs("a.parquet", "sub/b.parquet", "sub/deeper/c.parquet")},
		{filepath.Join(dir, "sub"), abs("sub/b.parquet", "sub/deeper/c.parquet")},
		// An explicit glob is taken as written: no hidden-file rule.
		{filepath.Join(dir, "*.parquet"), abs(".hidden.parquet", "a.parquet")},
		{filepath.Join(dir, "sub", "*"), abs("sub/.b.parquet.crc", "sub/_SUCCESS", "sub/b.parquet")},
		{filepath.Join(dir, "a.parquet"), abs("a.parquet")},
	} {
		objs, err := st.List(ctx, c.src)
		if err != nil {
			t.Fatalf("list %s: %v", c.src, err)
		}
		if got := uris(objs); !slices.Equal(got, c.want) {
			t.Fatalf("list %s = %v, want %v", c.src, got, c.want)
		}
		for _, o := range objs {
			if o.Size != int64(len(files[strings.TrimPrefix(o.URI, dir+"/")])) || o.MTime == 0 {
				t.Fatalf("list %s: %+v", c.src, o)
			}
		}
	}
	// A relative path lists as absolute paths.
	t.Chdir(dir)
	if objs, err := st.List(ctx, "sub/deeper"); err != nil || !slices.Equal(uris(objs), abs("sub/deeper/c.parquet")) {
		t.Fatalf("relative list = %v, %v", uris(objs), err)
	}

	want, _, err := readAll(t, files["a.parquet"], VectorOptions{Column: "embedding"})
	if err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{"a.parquet", filepath.Join(dir, "a.parquet"), "file://" + filepath.Join(dir, "a.parquet")} {
		sameVectors(t, uri, collect(t, st, uri), want)
	}
	if _, err := ReadVectorsFile(ctx, "a.parquet", VectorOptions{Column: "embedding"}, func(*VectorBatch) error { return nil }); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		uri  string
		want error
	}{
		{filepath.Join(dir, "missing.parquet"), ErrNoObject},
		{"file://" + filepath.Join(dir, "missing.parquet"), ErrNoObject},
	} {
		_, err := st.Open(ctx, c.uri)
		var se *StorageError
		if !errors.Is(err, c.want) || !errors.As(err, &se) || se.URI != c.uri || !strings.Contains(err.Error(), c.uri) {
			t.Fatalf("open %s: %v, want %v naming the uri", c.uri, err, c.want)
		}
	}
	if _, err := st.List(ctx, filepath.Join(dir, "nope")); !errors.Is(err, ErrNoObject) {
		t.Fatalf("list of a missing dir: %v", err)
	}
	for _, bad := range []string{"", "gs://b/k", "file://host/x", "s3:///key"} {
		if _, err := st.Open(ctx, bad); err == nil {
			t.Fatalf("open %q: no error", bad)
		}
	}
	if _, err := st.Open(ctx, dir); err == nil {
		t.Fatal("open of a directory: no error")
	}
}

func TestStorageS3(t *testing.T) {
	ctx := t.Context()
	opts, backend, log := fakeS3(t, "lake")
	files := map[string][]byte{
		"data/a.parquet":            sampleFile(t, 1),
		"data/sub/b.parquet":        sampleFile(t, 2),
		"data/_temporary/c.parquet": sampleFile(t, 3),
		"data/.d.parquet":           sampleFile(t, 4),
		"data/readme.txt":           []byte("hi"),
		"database/e.parquet":        sampleFile(t, 5), // shares the prefix "data" but not "data/"
		"other/f.parquet":           sampleFile(t, 6),
	}
	for k, v := range files {
		putObject(t, backend, "lake", k, v)
	}
	st := NewStorage(opts)
	for _, c := range []struct {
		src  string
		want []string
	}{
		{"s3://lake/data", []string{"s3://lake/data/a.parquet", "s3://lake/data/sub/b.parquet"}},
		{"s3://lake/data/", []string{"s3://lake/data/a.parquet", "s3://lake/data/sub/b.parquet"}},
		{"s3://lake/data/*.parquet", []string{"s3://lake/data/.d.parquet", "s3://lake/data/a.parquet"}},
		{"s3a://lake/data/s?b/*.parquet", []string{"s3a://lake/data/sub/b.parquet"}},
		{"s3://lake/data/a.parquet", []string{"s3://lake/data/a.parquet"}},
		{"s3://lake/", []string{"s3://lake/data/a.parquet", "s3://lake/data/sub/b.parquet", "s3://lake/database/e.parquet", "s3://lake/other/f.parquet"}},
		{"s3://lake/nothing/here", nil},
	} {
		objs, err := st.List(ctx, c.src)
		if err != nil {
			t.Fatalf("list %s: %v", c.src, err)
		}
		if got := uris(objs); !slices.Equal(got, c.want) {
			t.Fatalf("list %s = %v, want %v", c.src, got, c.want)
		}
		for _, o := range objs {
			key := o.URI[strings.Index(o.URI, "lake/")+5:]
			if o.Size != int64(len(files[key])) || o.ETag == "" {
				t.Fatalf("list %s: %+v", c.src, o)
			}
			if !strings.HasSuffix(c.src, ".parquet") && o.MTime == 0 {
				t.Fatalf("list %s: no mtime in %+v", c.src, o)
			}
		}
	}

	// The same vectors as the local read of the same bytes; every GET ranged.
	for _, key := range []string{"data/a.parquet", "data/sub/b.parquet"} {
		want, _, err := readAll(t, files[key], VectorOptions{Column: "embedding"})
		if err != nil {
			t.Fatal(err)
		}
		sameVectors(t, key, collect(t, st, "s3://lake/"+key), want)
	}
	if gets, unranged, _ := log.counts(); unranged != 0 || gets == 0 {
		t.Fatalf("%d object GETs, %d without a Range", gets, unranged)
	}

	// ReadAt at and past the end, and across the window.
	f, err := st.Open(ctx, "s3://lake/data/a.parquet")
	if err != nil {
		t.Fatal(err)
	}
	data := files["data/a.parquet"]
	if f.Size() != int64(len(data)) {
		t.Fatalf("size %d, want %d", f.Size(), len(data))
	}
	buf := make([]byte, 100)
	if n, err := f.ReadAt(buf, int64(len(data))-10); n != 10 || err != io.EOF || !bytes.Equal(buf[:10], data[len(data)-10:]) {
		t.Fatalf("read at the end: %d, %v", n, err)
	}
	if n, err := f.ReadAt(buf, int64(len(data))); n != 0 || err != io.EOF {
		t.Fatalf("read past the end: %d, %v", n, err)
	}
	whole := make([]byte, len(data))
	if n, err := f.ReadAt(whole, 0); n != len(data) || err != nil || !bytes.Equal(whole, data) {
		t.Fatalf("read all: %d, %v", n, err)
	}
	// The object is replaced under an open file: reads fail, they do not mix two files.
	putObject(t, backend, "lake", "data/a.parquet", sampleFile(t, 9))
	sf := f.(*s3File)
	sf.mu.Lock()
	sf.buf = nil
	sf.mu.Unlock()
	if _, err := f.ReadAt(buf, 0); !errors.Is(err, ErrChanged) {
		t.Fatalf("read of a replaced object: %v", err)
	}
	f.Close()
}

// TestStorageS3RangedReads: a file dominated by a large text column is read
// for its small vector column without downloading most of its bytes.
func TestStorageS3RangedReads(t *testing.T) {
	opts, backend, log := fakeS3(t, "lake")
	sh := shapes(4)[0]
	sc := parquet.NewSchema("t", parquet.Group{"text": parquet.String(), "embedding": sh.node(nil)})
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, sc, parquet.Compression(&parquet.Uncompressed), parquet.MaxRowsPerRowGroup(100))
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range 1000 {
		txt := make([]byte, 2000)
		for j := range txt {
			txt[j] = byte('a' + rng.IntN(26))
		}
		if err := w.Write(map[string]any{"text": string(txt), "embedding": []float32{float32(i), 1, 2, 3}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	putObject(t, backend, "lake", "big.parquet", buf.Bytes())
	st := NewStorage(opts)
	got := collect(t, st, "s3://lake/big.parquet")
	if len(got) != 1000 || got[999][0] != 999 {
		t.Fatalf("%d vectors", len(got))
	}
	gets, unranged, n := log.counts()
	t.Logf("%d GETs, %d of %d bytes", gets, n, buf.Len())
	if unranged != 0 || n > int64(buf.Len())/10 || gets > 30 {
		t.Fatalf("%d GETs (%d unranged) fetched %d of %d bytes", gets, unranged, n, buf.Len())
	}
}

func TestStorageS3Errors(t *testing.T) {
	ctx := t.Context()
	opts, backend, _ := fakeS3(t, "lake")
	putObject(t, backend, "lake", "a.parquet", sampleFile(t, 1))
	st := NewStorage(opts)
	check := func(what string, err error, want error, uri string) {
		t.Helper()
		if !errors.Is(err, want) || !strings.Contains(err.Error(), uri) {
			t.Fatalf("%s: %v; want %v naming %s", what, err, want, uri)
		}
	}
	_, err := st.Open(ctx, "s3://nobucket/a.parquet")
	check("open in a missing bucket", err, ErrNoBucket, "s3://nobucket/a.parquet")
	_, err = st.List(ctx, "s3://nobucket/data")
	check("list of a missing bucket", err, ErrNoBucket, "s3://nobucket/data")
	_, err = st.Open(ctx, "s3://lake/missing.parquet")
	check("open of a missing key", err, ErrNoObject, "s3://lake/missing.parquet")
	_, err = st.ReadVectors(ctx, "s3://lake/missing.parquet", VectorOptions{Column: "embedding"}, nil)
	var ve *VectorError
	if !errors.As(err, &ve) || !errors.Is(err, ErrNoObject) {
		t.Fatalf("read vectors of a missing key: %v", err)
	}

	// A closed port: refused at once, and retried only briefly.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dead := NewStorage(S3Options{Endpoint: "http://" + addr, Region: "us-east-1", AccessKeyID: "k", SecretAccessKey: "s"})
	start := time.Now()
	_, err = dead.Open(ctx, "s3://lake/a.parquet")
	check("open on a closed port", err, ErrUnreachable, "s3://lake/a.parquet")
	_, err = dead.List(ctx, "s3://lake/")
	check("list on a closed port", err, ErrUnreachable, "s3://lake/")
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("an unreachable endpoint took %v to fail", d)
	}

	// Access denied: a server that refuses every request.
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		if r.Method != http.MethodHead {
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		}
	}))
	defer deny.Close()
	denied := NewStorage(S3Options{Endpoint: deny.URL, Region: "us-east-1", AccessKeyID: "k", SecretAccessKey: "s"})
	_, err = denied.Open(ctx, "s3://lake/a.parquet")
	check("open refused", err, ErrAccessDenied, "s3://lake/a.parquet")
	_, err = denied.List(ctx, "s3://lake/x")
	check("list refused", err, ErrAccessDenied, "s3://lake/x")

	if _, err := NewStorage(S3Options{Endpoint: opts.Endpoint, AccessKeyID: "only-id"}).Open(ctx, "s3://lake/a.parquet"); err == nil {
		t.Fatal("half a static credential: no error")
	}
}

// TestS3FileReadAtRandom checks ReadAt of an s3 object against its bytes
// for random reads (sequential runs, seeks, the end), with and without
// hints, from several goroutines at once. LAKE_SEED replays a seed.
func TestS3FileReadAtRandom(t *testing.T) {
	seed := rand.Uint64()
	if s := os.Getenv("LAKE_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (replay with LAKE_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	opts, backend, log := fakeS3(t, "lake")
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	putObject(t, backend, "lake", "blob", data)
	st := NewStorage(opts)
	for round := range 2 {
		f, err := st.Open(t.Context(), "s3://lake/blob")
		if err != nil {
			t.Fatal(err)
		}
		if round == 1 {
			f.(*s3File).setHints([]extent{{100, 5000}, {1 << 20, 2 << 20}, {int64(len(data)) - 1000, int64(len(data))}})
			if err := f.(*s3File).pinTail(4096); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for g := range 4 {
			r := rand.New(rand.NewPCG(seed, uint64(10*round+g)))
			wg.Go(func() {
				off := int64(0)
				for range 200 {
					if r.IntN(4) == 0 {
						off = r.Int64N(int64(len(data)) + 10)
					}
					p := make([]byte, r.IntN(70000)+1)
					n, err := f.ReadAt(p, off)
					wantN := max(0, min(len(p), len(data)-int(off)))
					if n != wantN || (n < len(p)) != (err == io.EOF) || (n == len(p) && err != nil) || !bytes.Equal(p[:n], data[min(off, int64(len(data))):min(off, int64(len(data)))+int64(n)]) {
						errs <- fmt.Errorf("ReadAt(%d bytes, %d) = %d, %v; want %d", len(p), off, n, err, wantN)
						return
					}
					off += int64(n)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		f.Close()
	}
	if _, unranged, _ := log.counts(); unranged != 0 {
		t.Fatalf("%d unranged GETs", unranged)
	}
}
