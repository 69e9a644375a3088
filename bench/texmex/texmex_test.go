package texmex

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rec encodes one record: a dimension header followed by raw body bytes.
func rec(dim int32, body ...byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(dim))
	return append(b, body...)
}

func f32s(xs ...float32) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func testSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TEXMEX_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("TEXMEX_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with TEXMEX_SEED=%d)", seed, seed)
	return seed
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 1))
	dir := t.TempDir()
	for _, dim := range []int{1, 3, 128} {
		n := 1 + rng.IntN(50)
		v := Vectors{Dim: dim, Data: make([]float32, n*dim)}
		for i := range v.Data {
			v.Data[i] = float32(rng.NormFloat64())
		}
		p := filepath.Join(dir, "v.fvecs")
		if err := WriteFvecs(p, v); err != nil {
			t.Fatal(err)
		}
		got, err := ReadVectors(p)
		if err != nil {
			t.Fatal(err)
		}
		if got.Dim != dim || got.Len() != n || !slices.Equal(got.Data, v.Data) {
			t.Fatalf("dim %d: fvecs round trip differs: got %d×%d", dim, got.Len(), got.Dim)
		}

		x := IDs{K: dim, Data: make([]int32, n*dim)}
		for i := range x.Data {
			x.Data[i] = rng.Int32() - math.MaxInt32/2
		}
		p = filepath.Join(dir, "gt.ivecs")
		if err := WriteIvecs(p, x); err != nil {
			t.Fatal(err)
		}
		gx, err := ReadIvecs(p)
		if err != nil {
			t.Fatal(err)
		}
		if gx.K != dim || gx.Len() != n || !slices.Equal(gx.Data, x.Data) {
			t.Fatalf("dim %d: ivecs round trip differs", dim)
		}
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("leftover temporary file %s", e.Name())
		}
	}
}

func TestBvecs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "b.bvecs")
	if err := os.WriteFile(p, cat(rec(3, 0, 7, 255), rec(3, 1, 2, 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := ReadVectors(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 7, 255, 1, 2, 3}
	if v.Dim != 3 || !slices.Equal(v.Data, want) {
		t.Fatalf("got dim %d data %v, want 3 %v", v.Dim, v.Data, want)
	}
	if r := v.Row(1); len(r) != 3 || cap(r) != 3 || r[0] != 1 {
		t.Fatalf("Row(1) = %v (cap %d)", r, cap(r))
	}
}

func TestDecodeErrors(t *testing.T) {
	big := int32(MaxDim + 1)
	for _, tc := range []struct {
		name string
		f    Format
		in   []byte
		want string // substring of the error; "" means success
	}{
		{"empty", Fvecs, nil, "read x: vector 0 at byte 0: empty file"},
		{"empty ivecs", Ivecs, nil, "read x: row 0 at byte 0: empty file"},
		{"short header", Fvecs, []byte{2, 0}, "vector 0 at byte 0: truncated dimension header: file ends after 2 of 4 bytes"},
		{"short header after record", Fvecs, cat(rec(1, f32s(1)...), []byte{1}), "vector 1 at byte 8: truncated dimension header"},
		{"zero dim", Fvecs, rec(0), "vector 0 at byte 0: dimension 0 out of range"},
		{"negative dim", Bvecs, rec(-5, 1), "dimension -5 out of range"},
		{"huge dim", Ivecs, rec(big), "row 0 at byte 0: dimension 65537 out of range"},
		{"truncated body", Fvecs, rec(2, f32s(1)...), "vector 0 at byte 0: truncated: want 8 bytes after the header, file ends after 4"},
		{"truncated second", Fvecs, cat(rec(2, f32s(1, 2)...), rec(2, 1)), "vector 1 at byte 12: truncated: want 8 bytes after the header, file ends after 1"},
		{"truncated bvecs", Bvecs, cat(rec(3, 1, 2, 3), rec(3, 1, 2)), "vector 1 at byte 7: truncated"},
		{"ragged", Fvecs, cat(rec(2, f32s(1, 2)...), rec(1, f32s(3)...)), "vector 1 at byte 12: dimension 1, want 2"},
		{"ragged ivecs", Ivecs, cat(rec(1, f32s(0)...), rec(1, f32s(0)...), rec(2, f32s(0, 0)...)), "row 2 at byte 16: dimension 2, want 1"},
		{"nan", Fvecs, cat(rec(2, f32s(1, 2)...), rec(2, f32s(0, float32(math.NaN()))...)), "vector 1 at byte 12: component 1 is NaN"},
		{"inf", Fvecs, rec(1, f32s(float32(math.Inf(1)))...), "component 0 is +Inf"},
		{"ok", Fvecs, cat(rec(2, f32s(1, 2)...), rec(2, f32s(3, 4)...)), ""},
		{"ok bvecs", Bvecs, rec(1, 9), ""},
		{"ok ivecs negative ids", Ivecs, rec(1, f32s(0)...), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.f == Ivecs {
				_, err = decodeIvecs(bytes.NewReader(tc.in), "x", int64(len(tc.in)))
			} else {
				_, err = decodeVectors(bytes.NewReader(tc.in), "x", tc.f, int64(len(tc.in)))
			}
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("errors.Is(%v, ErrFormat) = false", err)
			}
		})
	}
}

func TestReadErrorsNameFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "base.fvecs")
	// 17 good records of dimension 128, then one of dimension 64.
	good := rec(128, make([]byte, 512)...)
	in := bytes.Repeat(good, 17)
	in = append(in, rec(64, make([]byte, 256)...)...)
	if err := os.WriteFile(p, in, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadVectors(p)
	want := "read " + p + ": vector 17 at byte 8772: dimension 64, want 128"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}

	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.fvecs"), "no such file"},
		{filepath.Join(dir, "x.txt"), `unknown extension ".txt"`},
		{filepath.Join(dir, "x.ivecs"), "want .fvecs or .bvecs"},
	} {
		if _, err := ReadVectors(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("ReadVectors(%s) = %v, want an error naming the file and containing %q", tc.path, err, tc.want)
		}
	}
	if _, err := ReadIvecs(p); err == nil || !strings.Contains(err.Error(), "want an .ivecs file") {
		t.Errorf("ReadIvecs(%s) = %v", p, err)
	}
}

func TestWriteRejectsBadShapes(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []Vectors{{Dim: 0}, {Dim: 2}, {Dim: 2, Data: []float32{1, 2, 3}}, {Dim: MaxDim + 1, Data: []float32{1}}} {
		if err := WriteFvecs(filepath.Join(dir, "a.fvecs"), v); err == nil {
			t.Errorf("WriteFvecs(dim %d, %d values) succeeded", v.Dim, len(v.Data))
		}
	}
	if err := WriteIvecs(filepath.Join(dir, "a.ivecs"), IDs{K: 3, Data: []int32{1}}); err == nil {
		t.Error("WriteIvecs of a ragged slab succeeded")
	}
	if err := WriteFvecs(filepath.Join(dir, "no", "such", "dir.fvecs"), Vectors{Dim: 1, Data: []float32{1}}); err == nil {
		t.Error("WriteFvecs into a missing directory succeeded")
	}
}

// TestBigann10k reads the shared SIFT sample when it is present.
func TestBigann10k(t *testing.T) {
	dir := "/work/shared/data/ann/bigann10k"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("bigann10k not present")
	}
	base, err := ReadVectors(filepath.Join(dir, "bigann10k_base.bvecs"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := ReadVectors(filepath.Join(dir, "bigann10k_query.bvecs"))
	if err != nil {
		t.Fatal(err)
	}
	gt, err := ReadIvecs(filepath.Join(dir, "bigann10k_groundtruth_excl_queries.ivecs"))
	if err != nil {
		t.Fatal(err)
	}
	if base.Len() != 10000 || base.Dim != 128 || q.Len() != 100 || gt.Len() != 100 || gt.K != 100 {
		t.Fatalf("shapes: base %d×%d query %d×%d gt %d×%d", base.Len(), base.Dim, q.Len(), q.Dim, gt.Len(), gt.K)
	}
	if !slices.Equal(q.Data, base.Slice(0, 100).Data) {
		t.Error("queries are not base[0:100] as the README says")
	}
	for _, id := range gt.Data {
		if id < 100 || id >= 10000 {
			t.Fatalf("excl-queries ground truth holds id %d", id)
		}
	}
}

func fuzzSeeds(f *testing.F, es int) {
	body := make([]byte, 2*es)
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(rec(2, body...))
	f.Add(cat(rec(2, body...), rec(2, body...)))
	f.Add(cat(rec(2, body...), rec(3, body...)))
	f.Add(rec(2, body[:1]...))
	f.Add(rec(0))
	f.Add(rec(-1))
	f.Add(rec(MaxDim))
	f.Add(rec(math.MaxInt32))
	f.Add(rec(1, f32s(float32(math.NaN()))...))
}

// checkDecoded asserts the invariants of a successful decode.
func checkDecoded(t *testing.T, in []byte, dim, n, es int) {
	if dim <= 0 || dim > MaxDim {
		t.Fatalf("decoded dimension %d", dim)
	}
	if n*dim != (len(in)/(4+dim*es))*dim || len(in)%(4+dim*es) != 0 {
		t.Fatalf("decoded %d values of dim %d from %d bytes", n*dim, dim, len(in))
	}
}

func FuzzReadFvecs(f *testing.F) {
	fuzzSeeds(f, 4)
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := decodeVectors(bytes.NewReader(in), "fuzz.fvecs", Fvecs, int64(len(in)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "read fuzz.fvecs: vector ") {
				t.Fatalf("error does not name file and vector: %v", err)
			}
			return
		}
		checkDecoded(t, in, v.Dim, v.Len(), 4)
		var out bytes.Buffer
		if err := encodeFvecs(&out, v); err != nil || !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("re-encoding differs (err %v)", err)
		}
	})
}

func FuzzReadBvecs(f *testing.F) {
	fuzzSeeds(f, 1)
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := decodeVectors(bytes.NewReader(in), "fuzz.bvecs", Bvecs, int64(len(in)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "read fuzz.bvecs: vector ") {
				t.Fatalf("error does not name file and vector: %v", err)
			}
			return
		}
		checkDecoded(t, in, v.Dim, v.Len(), 1)
		for _, x := range v.Data {
			if x < 0 || x > 255 || x != float32(int(x)) {
				t.Fatalf("bvecs component %v", x)
			}
		}
	})
}

func FuzzReadIvecs(f *testing.F) {
	fuzzSeeds(f, 4)
	f.Fuzz(func(t *testing.T, in []byte) {
		x, err := decodeIvecs(bytes.NewReader(in), "fuzz.ivecs", -1)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "read fuzz.ivecs: row ") {
				t.Fatalf("error does not name file and row: %v", err)
			}
			return
		}
		checkDecoded(t, in, x.K, x.Len(), 4)
		var out bytes.Buffer
		if err := encodeIvecs(&out, x); err != nil || !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("re-encoding differs (err %v)", err)
		}
	})
}
