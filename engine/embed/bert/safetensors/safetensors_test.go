package safetensors

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
)

const partialPath = "../../../../../shared/models/all-minilm-l6-v2/partial/model.safetensors.first-851968-bytes"

func openPartial(t *testing.T) *File {
	t.Helper()
	if _, err := os.Stat(partialPath); err != nil {
		t.Skipf("partial MiniLM file not found at %s: %v", partialPath, err)
	}
	f, err := Open(partialPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestPartialMiniLM checks the header, dtypes, shapes, first values and
// sha256 of the tensors listed in REFERENCE.md §5.
func TestPartialMiniLM(t *testing.T) {
	f := openPartial(t)
	if f.HeaderSize != 11408 {
		t.Errorf("header size %d, want 11408", f.HeaderSize)
	}
	if len(f.Tensors) != 104 {
		t.Errorf("%d tensors, want 104", len(f.Tensors))
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	if f.ExpectedSize() != 90868376 || f.Size() != 851968 {
		t.Errorf("expected size %d, size %d", f.ExpectedSize(), f.Size())
	}
	for _, c := range []struct {
		name   string
		dtype  string
		shape  []int64
		off    [2]int64
		first  []float64
		sha256 string
	}{
		{"embeddings.position_ids", "I64", []int64{1, 512}, [2]int64{0, 4096}, []float64{0, 1, 2, 3}, "5738153ec97595b1c1e4dc027f7b7fb4534f19ed2ce9f9ee712e6d34a384cde7"},
		{"embeddings.LayerNorm.bias", "F32", []int64{384}, [2]int64{4096, 5632}, []float64{0.16954054, 0.11112433, 0.00644465, 0.02163352}, "298735285ffe944e1bf03e5d35c7280326b85cf121bde9874f1af5dc51ab939d"},
		{"embeddings.LayerNorm.weight", "F32", []int64{384}, [2]int64{5632, 7168}, []float64{0.59892833, 0.5835948, 0.63354105, 0.62446064}, "75076e095d717aab96f8b6beeee503c27940d9a76f2b891a0e3de72f8a6043e4"},
		{"embeddings.position_embeddings.weight", "F32", []int64{512, 384}, [2]int64{7168, 793600}, []float64{-0.08555417, -0.03291567, -0.01702809, 0.10415854}, "4c347d866c9012e7160b42a7e36d9138935e0669cc62932df70cdc7d6401ea01"},
		{"embeddings.token_type_embeddings.weight", "F32", []int64{2, 384}, [2]int64{793600, 796672}, []float64{0.01461648, 0.00376141, -0.01204102, -0.01775294}, "f879f8e422ed211948f28b560d3c5e17aae7993f063b51196a28cf5c0fb3da21"},
	} {
		ti, ok := f.Lookup(c.name)
		if !ok {
			t.Errorf("%s missing", c.name)
			continue
		}
		if ti.DType != c.dtype || !equal(ti.Shape, c.shape) || ti.Begin != c.off[0] || ti.End != c.off[1] {
			t.Errorf("%s: got %s %v [%d,%d]", c.name, ti.DType, ti.Shape, ti.Begin, ti.End)
		}
		raw, err := f.Raw(c.name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		if hex.EncodeToString(sum[:]) != c.sha256 {
			t.Errorf("%s: sha256 %x", c.name, sum)
		}
		var got []float64
		if c.dtype == "I64" {
			v, err := f.Int64s(c.name)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range v[:4] {
				got = append(got, float64(x))
			}
			if v[511] != 511 {
				t.Errorf("position_ids[511] = %d", v[511])
			}
		} else {
			v, err := f.Float32s(c.name)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(v)) != ti.NumElements() {
				t.Errorf("%s: %d values", c.name, len(v))
			}
			for _, x := range v[:4] {
				got = append(got, float64(x))
			}
		}
		for i := range c.first {
			if math.Abs(got[i]-c.first[i]) > 1e-7 {
				t.Errorf("%s[%d] = %v, want %v", c.name, i, got[i], c.first[i])
			}
		}
	}
	// word_embeddings is only partly present; every later tensor is absent.
	tr := f.Truncated()
	if len(tr) != 104-5 || tr[0] != "embeddings.word_embeddings.weight" {
		t.Errorf("truncated: %d tensors, first %v", len(tr), tr[:min(1, len(tr))])
	}
	we, _ := f.Lookup("embeddings.word_embeddings.weight")
	if we.DType != "F32" || !equal(we.Shape, []int64{30522, 384}) || we.Begin != 796672 || we.End != 47678464 {
		t.Errorf("word_embeddings: %+v", we)
	}
	if got := f.Available(we); got != 851968-8-11408-796672 {
		t.Errorf("word_embeddings available %d", got)
	}
	_, err := f.Float32s("embeddings.word_embeddings.weight")
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "embeddings.word_embeddings.weight") ||
		!strings.Contains(err.Error(), "first-851968-bytes") || !strings.Contains(err.Error(), "43880 of 46881792") {
		t.Errorf("truncated read: %v", err)
	}
	if _, err := f.Float32s("pooler.dense.bias"); !errors.Is(err, ErrTruncated) {
		t.Errorf("pooler read: %v", err)
	}
	if _, err := f.Float32s("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing tensor: %v", err)
	}
	if _, err := f.Float32s("embeddings.position_ids"); err == nil {
		t.Error("Float32s on I64 should fail")
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// build returns a safetensors file with the given header JSON and data.
func build(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestRoundTripDTypes(t *testing.T) {
	data := make([]byte, 0, 64)
	data = binary.LittleEndian.AppendUint32(data, math.Float32bits(1.5))
	data = binary.LittleEndian.AppendUint32(data, math.Float32bits(-2))
	data = binary.LittleEndian.AppendUint16(data, 0x3c00) // F16 1.0
	data = binary.LittleEndian.AppendUint16(data, 0xc000) // F16 -2.0
	data = binary.LittleEndian.AppendUint16(data, 0x0001) // F16 smallest subnormal
	data = binary.LittleEndian.AppendUint16(data, 0x7c00) // F16 +Inf
	data = binary.LittleEndian.AppendUint16(data, 0x3fc0) // BF16 1.5
	data = binary.LittleEndian.AppendUint16(data, 0xc040) // BF16 -3
	hdr := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"h":{"dtype":"F16","shape":[2,2],"data_offsets":[8,16]},` +
		`"b":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]},` +
		`"z":{"dtype":"F32","shape":[0,4],"data_offsets":[20,20]},"__metadata__":{"k":"v"}}   `
	file := build(hdr, data)
	f, err := NewReader(bytes.NewReader(file), int64(len(file)), "mem")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]float32{
		"a": {1.5, -2}, "h": {1, -2, float32(math.Ldexp(1, -24)), float32(math.Inf(1))}, "b": {1.5, -3}, "z": {},
	} {
		got, err := f.Float32s(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %v", name, got)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s[%d] = %v want %v", name, i, got[i], want[i])
			}
		}
	}
	if len(f.Truncated()) != 0 || f.Metadata["k"] != "v" {
		t.Errorf("truncated %v metadata %v", f.Truncated(), f.Metadata)
	}
}

func TestHalfToFloat32Exhaustive(t *testing.T) {
	// Every binary16 value converts exactly: compare with a float64 formula.
	for h := 0; h < 1<<16; h++ {
		sign := 1.0
		if h>>15 == 1 {
			sign = -1
		}
		e, m := (h>>10)&0x1f, h&0x3ff
		got := HalfToFloat32(uint16(h))
		var want float64
		switch {
		case e == 0x1f && m == 0:
			want = math.Inf(int(sign))
		case e == 0x1f:
			if !math.IsNaN(float64(got)) {
				t.Fatalf("%#x: got %v, want NaN", h, got)
			}
			continue
		case e == 0:
			want = sign * math.Ldexp(float64(m), -24)
		default:
			want = sign * math.Ldexp(1+float64(m)/1024, e-15)
		}
		if float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
			t.Fatalf("%#x: got %v want %v", h, got, want)
		}
	}
}

func TestBadHeaders(t *testing.T) {
	ok := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	for _, c := range []struct{ name, header, want string }{
		{"not json", `nope`, "JSON object"},
		{"array", `[1]`, "JSON object"},
		{"bad dtype", `{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, `tensor "a": unknown dtype`},
		{"size mismatch", `{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, `tensor "a": F32[3] needs 12 bytes`},
		{"negative dim", `{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, "negative"},
		{"reversed", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, "bad data_offsets"},
		{"gap", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, "gap"},
		{"overlap", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, "overlaps"},
		{"dup", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, "twice"},
		{"missing field", `{"a":{"dtype":"F32","shape":[2]}}`, "needs dtype"},
		{"overflow", `{"a":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}}`, "overflows"},
		{"metadata type", `{"__metadata__":{"k":1}}`, "__metadata__"},
		{"trailing", ok + `x`, "trailing"},
	} {
		file := build(c.header, make([]byte, 16))
		_, err := NewReader(bytes.NewReader(file), int64(len(file)), "bad.safetensors")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bad.safetensors") {
			t.Errorf("%s: err = %v, want it to contain %q and the file name", c.name, err, c.want)
		}
	}
	// header length past the end of the file
	file := build(ok, nil)
	binary.LittleEndian.PutUint64(file, 1<<20)
	if _, err := NewReader(bytes.NewReader(file), int64(len(file)), "x"); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("long header length: %v", err)
	}
	if _, err := NewReader(bytes.NewReader(nil), 3, "x"); err == nil {
		t.Error("3-byte file accepted")
	}
	if _, err := Open("/nonexistent/model.safetensors"); err == nil || !strings.Contains(err.Error(), "/nonexistent/model.safetensors") {
		t.Errorf("open missing: %v", err)
	}
}

// FuzzParseHeader: no panics on arbitrary bytes, and an accepted header
// has tensors that tile [0, DataSize) with sizes matching dtype × shape.
func FuzzParseHeader(f *testing.F) {
	f.Add(build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}`, make([]byte, 8)))
	f.Add(build(`{"a":{"dtype":"BF16","shape":[2,1],"data_offsets":[0,4]},"b":{"dtype":"I64","shape":[],"data_offsets":[4,12]}}`, nil))
	f.Add(build(`{}`, nil))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, '{'})
	// (The 11 KB MiniLM header is not a seed: minimising its mutations
	// takes the fuzzer minutes.)
	f.Add(build(`{"__metadata__":{"format":"pt"},"embeddings.position_ids":{"dtype":"I64","shape":[1,512],"data_offsets":[0,4096]},"embeddings.LayerNorm.bias":{"dtype":"F32","shape":[384],"data_offsets":[4096,5632]}}`, make([]byte, 100)))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err == nil {
			var pos int64
			for _, ti := range h.Tensors {
				if ti.Begin != pos || ti.End < ti.Begin || ti.NumElements()*dtypeSizes[ti.DType] != ti.End-ti.Begin {
					t.Fatalf("accepted inconsistent tensor %+v", ti)
				}
				pos = ti.End
			}
			if pos != h.DataSize {
				t.Fatalf("data size %d, tensors end at %d", h.DataSize, pos)
			}
		}
		fl, err := NewReader(bytes.NewReader(b), int64(len(b)), "fuzz")
		if err != nil {
			return
		}
		for _, ti := range fl.Tensors {
			if ti.End-ti.Begin > 1<<20 {
				continue
			}
			switch ti.DType {
			case "F32", "F16", "BF16", "F64":
				fl.Float32s(ti.Name)
			case "I64", "I32", "U8":
				fl.Int64s(ti.Name)
			default:
				fl.Raw(ti.Name)
			}
		}
		fl.Truncated()
	})
}
