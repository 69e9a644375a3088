package lake

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// FuzzDecodeFloat32LE: the packed-vector decoder keeps every bit pattern,
// rejects lengths that are not 4·dim, and round-trips with the encoder.
func FuzzDecodeFloat32LE(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63}, 1)
	f.Add([]byte{1, 0, 192, 127, 0, 0, 0, 128}, 2)
	f.Add([]byte{1, 2, 3}, 1)
	f.Fuzz(func(t *testing.T, b []byte, dim int) {
		if dim < 0 || dim > 1<<16 {
			return
		}
		dst := make([]float32, dim)
		err := DecodeFloat32LE(dst, b)
		if len(b) != 4*dim {
			if !errors.Is(err, ErrDim) {
				t.Fatalf("len %d dim %d: err %v, want ErrDim", len(b), dim, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range dst {
			if math.Float32bits(v) != binary.LittleEndian.Uint32(b[4*i:]) {
				t.Fatalf("value %d changed bits", i)
			}
		}
		if !bytes.Equal(EncodeFloat32LE(nil, dst), b) {
			t.Fatal("encode(decode(b)) != b")
		}
	})
}

// smallFile writes a minimal file with only the vector column (seeds must
// be small: the fuzzer's minimizer is quadratic in the input size).
func smallFile(tb testing.TB, sh vectorShape, vecs [][]float32, pageVersion int) []byte {
	tb.Helper()
	sc := parquet.NewSchema("t", parquet.Group{"embedding": sh.node(nil)})
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, sc, parquet.Compression(&parquet.Uncompressed), parquet.MaxRowsPerRowGroup(3),
		parquet.DataPageVersion(pageVersion), parquet.DataPageStatistics(false))
	for _, v := range vecs {
		if (v == nil && !sh.canNull) || (v != nil && len(v) == 0 && !sh.canEmpty) {
			continue
		}
		row := map[string]any{}
		if v != nil {
			row["embedding"] = sh.value(v)
		}
		if err := w.Write(row); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzReadVectors feeds damaged Parquet files to the reader: it must
// return a *VectorError or consistent results, never panic, hang or
// allocate without bound.
func FuzzReadVectors(f *testing.F) {
	vecs := [][]float32{{1, 2}, nil, {3, 4}, {}, {5, 6}}
	for i, sh := range shapes(2) {
		if sh.raw == nil {
			f.Add(smallFile(f, sh, vecs, 1+i%2))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var vectors int64
		st, err := ReadVectors(context.Background(), bytes.NewReader(data), int64(len(data)), "fuzz.parquet", VectorOptions{Column: "embedding"},
			func(b *VectorBatch) error {
				if len(b.Values) != b.Len()*b.Dim || b.Dim <= 0 {
					t.Fatalf("inconsistent batch: %d rows, %d values, dim %d", b.Len(), len(b.Values), b.Dim)
				}
				vectors += int64(b.Len())
				return nil
			})
		if err != nil {
			var ve *VectorError
			if !errors.As(err, &ve) {
				t.Fatalf("error is not a *VectorError: %v", err)
			}
			return
		}
		if st.Vectors != vectors || st.Vectors+st.Nulls+st.Empty != st.Rows {
			t.Fatalf("stats %+v inconsistent with %d vectors seen", st, vectors)
		}
	})
}

// FuzzDecodePageHeader: the Thrift page-header decoder never panics, never
// reads past its input, and accepts the headers parquet-go writes.
func FuzzDecodePageHeader(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range shapes(3)[:3] {
		data := testFile(f, sh, nil, &parquet.Snappy, 2, 5, testVectors(rng, 12, 3, sh))
		f.Add(data[4:])
	}
	f.Add([]byte{0x15, 0x00, 0x15, 0x02, 0x15, 0x02, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodePageHeader(b)
		if err != nil {
			return
		}
		if h.size <= 0 || h.size > len(b) {
			t.Fatalf("header size %d of %d bytes", h.size, len(b))
		}
		_ = checkPageHeader(h, int64(len(b)))
	})
}

// FuzzVectorExtents: the byte ranges Storage.ReadVectors hints for an s3
// object come from the file's own footer (bytes from the network): they
// must never panic and must lie within the file.
func FuzzVectorExtents(f *testing.F) {
	sh := shapes(3)[0]
	f.Add(smallFile(f, sh, [][]float32{{1, 2, 3}, {4, 5, 6}}, 1))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		for _, e := range vectorExtents(bytes.NewReader(data), size, "embedding") {
			if e.off < 0 || e.end < e.off || e.end > size {
				t.Fatalf("extent %+v outside a %d-byte file", e, size)
			}
		}
	})
}
