package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// vectorShape builds the Parquet node of a vector column and the Go value
// written for one vector (nil = null vector).
type vectorShape struct {
	name  string
	node  func(enc encoding.Encoding) parquet.Node
	value func(v []float32) any
	// raw, when set, writes the column's values with explicit levels
	// (parquet-go's map writer drops optional list elements).
	raw func(v []float32, col int) []parquet.Value
	// canEmpty: the shape can store an empty vector distinct from null.
	canEmpty, canNull bool
}

// optionalElems encodes a list<optional float> vector with explicit levels
// (vector def 1, list def 2, element def 3); a NaN with payload 0x7fc0dead
// stands for a null element.
func optionalElems(v []float32, col int) []parquet.Value {
	switch {
	case v == nil:
		return []parquet.Value{parquet.NullValue().Level(0, 0, col)}
	case len(v) == 0:
		return []parquet.Value{parquet.NullValue().Level(0, 1, col)}
	}
	out := make([]parquet.Value, len(v))
	for j, f := range v {
		rep := min(j, 1)
		if math.Float32bits(f) == nullElem {
			out[j] = parquet.NullValue().Level(rep, 2, col)
		} else {
			out[j] = parquet.FloatValue(f).Level(rep, 3, col)
		}
	}
	return out
}

const nullElem = 0x7fc0dead

func floatLeaf(enc encoding.Encoding) parquet.Node {
	n := parquet.Leaf(parquet.FloatType)
	if enc != nil {
		n = parquet.Encoded(n, enc)
	}
	return n
}

func doubleLeaf(enc encoding.Encoding) parquet.Node {
	n := parquet.Leaf(parquet.DoubleType)
	if enc != nil {
		n = parquet.Encoded(n, enc)
	}
	return n
}

func shapes(dim int) []vectorShape {
	return []vectorShape{
		{name: "list<float>", canEmpty: true, canNull: true,
			node:  func(e encoding.Encoding) parquet.Node { return parquet.Optional(parquet.List(floatLeaf(e))) },
			value: func(v []float32) any { return v }},
		{name: "list<optional float>", canEmpty: true, canNull: true,
			node: func(e encoding.Encoding) parquet.Node {
				return parquet.Optional(parquet.List(parquet.Optional(floatLeaf(e))))
			},
			raw: optionalElems},
		{name: "list<double>", canEmpty: true, canNull: true,
			node: func(e encoding.Encoding) parquet.Node { return parquet.Optional(parquet.List(doubleLeaf(e))) },
			value: func(v []float32) any {
				if v == nil {
					return nil
				}
				d := make([]float64, len(v))
				for i, f := range v {
					d[i] = float64(f)
				}
				return d
			}},
		{name: "fixed_len_byte_array", canNull: true,
			node: func(e encoding.Encoding) parquet.Node {
				n := parquet.Leaf(parquet.FixedLenByteArrayType(4 * dim))
				if e == &parquet.RLEDictionary {
					n = parquet.Encoded(n, e)
				}
				return parquet.Optional(n)
			},
			value: packedValue},
		{name: "byte_array", canEmpty: true, canNull: true,
			node: func(e encoding.Encoding) parquet.Node {
				n := parquet.Leaf(parquet.ByteArrayType)
				if e == &parquet.RLEDictionary {
					n = parquet.Encoded(n, e)
				}
				return parquet.Optional(n)
			},
			value: packedValue},
		{name: "legacy 2-level list", canEmpty: true, canNull: true,
			node: func(e encoding.Encoding) parquet.Node {
				return parquet.Optional(parquet.Group{"array": parquet.Repeated(floatLeaf(e))})
			},
			value: func(v []float32) any {
				if v == nil {
					return nil
				}
				return map[string]any{"array": v}
			}},
		{name: "repeated float", canEmpty: true,
			node:  func(e encoding.Encoding) parquet.Node { return parquet.Repeated(floatLeaf(e)) },
			value: func(v []float32) any { return v }},
	}
}

func packedValue(v []float32) any {
	if v == nil {
		return nil
	}
	return EncodeFloat32LE(nil, v)
}

// testFile writes rows with an id, a text column and the vector column
// "embedding"; vecs[i] nil is a null vector, empty an empty one.
func testFile(t testing.TB, sh vectorShape, enc encoding.Encoding, codec compress.Codec, pageVersion int, rowsPerGroup int64, vecs [][]float32) []byte {
	t.Helper()
	sc := parquet.NewSchema("t", parquet.Group{
		"id":        parquet.Int(64),
		"text":      parquet.String(),
		"embedding": sh.node(enc),
	})
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, sc, parquet.Compression(codec), parquet.MaxRowsPerRowGroup(rowsPerGroup),
		parquet.PageBufferSize(256), parquet.DataPageVersion(pageVersion))
	col := -1
	if leaf, ok := sc.Lookup("embedding"); ok {
		col = leaf.ColumnIndex
	} else if leaf, ok := sc.Lookup("embedding", "list", "element"); ok {
		col = leaf.ColumnIndex
	}
	for i, v := range vecs {
		row := map[string]any{"id": int64(i), "text": strings.Repeat("lorem ipsum ", 20)}
		if sh.raw != nil {
			// Deconstruct the other columns, then put in the vector's
			// values with explicit levels.
			r := sc.Deconstruct(nil, row)
			var out parquet.Row
			for _, val := range r {
				if val.Column() != col {
					out = append(out, val)
				}
			}
			out = append(out, sh.raw(v, col)...)
			slices.SortStableFunc(out, func(a, b parquet.Value) int { return a.Column() - b.Column() })
			if _, err := w.WriteRows([]parquet.Row{out}); err != nil {
				t.Fatalf("write row %d: %v", i, err)
			}
			continue
		}
		if v != nil || !sh.canNull {
			row["embedding"] = sh.value(v)
		}
		if err := w.Write(row); err != nil {
			t.Fatalf("write row %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testVectors returns n vectors of dim with special values, some null and
// some empty (when the shape allows).
func testVectors(rng *rand.Rand, n, dim int, sh vectorShape) [][]float32 {
	vecs := make([][]float32, n)
	for i := range vecs {
		switch {
		case i%9 == 4 && sh.canNull:
			continue // null
		case i%11 == 6 && sh.canEmpty:
			vecs[i] = []float32{}
			continue
		}
		v := make([]float32, dim)
		for j := range v {
			v[j] = rng.Float32()*2 - 1
		}
		if i%7 == 1 {
			v[0] = float32(math.Copysign(0, -1))
			v[1] = float32(math.Inf(1))
			v[2] = math.Float32frombits(1)
		}
		if i%5 == 0 {
			copy(v, vecs[0]) // repeats, for the dictionary
		}
		vecs[i] = v
	}
	return vecs
}

func readAll(t testing.TB, data []byte, opts VectorOptions) (map[int64][]float32, VectorStats, error) {
	got := map[int64][]float32{}
	lastRow := int64(-1)
	st, err := ReadVectors(context.Background(), bytes.NewReader(data), int64(len(data)), "test.parquet", opts,
		func(b *VectorBatch) error {
			if b.Len() == 0 || b.Len() > max(opts.BatchSize, 1024) || len(b.Values) != b.Len()*b.Dim {
				return fmt.Errorf("bad batch: %d rows, %d values, dim %d", b.Len(), len(b.Values), b.Dim)
			}
			for i, r := range b.Rows {
				if r <= lastRow {
					return fmt.Errorf("rows out of order: %d after %d", r, lastRow)
				}
				lastRow = r
				got[r] = slices.Clone(b.Vector(i))
			}
			return nil
		})
	return got, st, err
}

func TestReadVectorsShapesCodecsEncodings(t *testing.T) {
	const n, dim = 60, 5
	codecs := map[string]compress.Codec{"none": &parquet.Uncompressed, "snappy": &parquet.Snappy, "zstd": &parquet.Zstd, "gzip": &parquet.Gzip}
	encs := map[string]encoding.Encoding{"plain": nil, "dict": &parquet.RLEDictionary, "split": &parquet.ByteStreamSplit}
	for _, sh := range shapes(dim) {
		for cname, codec := range codecs {
			for ename, enc := range encs {
				for _, pv := range []int{1, 2} {
					name := fmt.Sprintf("%s/%s/%s/v%d", sh.name, cname, ename, pv)
					t.Run(name, func(t *testing.T) {
						seed := uint64(len(name))
						rng := rand.New(rand.NewPCG(seed, 1))
						vecs := testVectors(rng, n, dim, sh)
						data := testFile(t, sh, enc, codec, pv, 13, vecs)
						if enc != nil && (ename == "dict" || !strings.Contains(sh.name, "byte_array")) {
							checkEncoding(t, data, enc.Encoding())
						}
						got, st, err := readAll(t, data, VectorOptions{Column: "embedding", BatchSize: 4})
						if err != nil {
							t.Fatalf("read: %v", err)
						}
						var nulls, empty int64
						for i, v := range vecs {
							switch {
							case v == nil:
								nulls++
							case len(v) == 0:
								empty++
							default:
								g, ok := got[int64(i)]
								if !ok || !slices.Equal(bits(g), bits(v)) {
									t.Fatalf("row %d = %v, want %v", i, g, v)
								}
							}
						}
						want := VectorStats{RowGroups: 5, Rows: n, Vectors: n - nulls - empty, Nulls: nulls, Empty: empty, Dim: dim}
						if st != want || len(got) != int(want.Vectors) {
							t.Fatalf("stats %+v (%d vectors), want %+v", st, len(got), want)
						}
					})
				}
			}
		}
	}
}

// checkEncoding asserts that the vector column's chunks use enc.
func checkEncoding(t *testing.T, data []byte, enc format.Encoding) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, rg := range f.Metadata().RowGroups {
		for _, c := range rg.Columns {
			if c.MetaData.PathInSchema[0] == "embedding" && !slices.Contains(c.MetaData.Encoding, enc) {
				t.Fatalf("embedding chunk encodings %v, want %v", c.MetaData.Encoding, enc)
			}
		}
	}
}

func bits(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, f := range v {
		out[i] = math.Float32bits(f)
	}
	return out
}

// countingReader records how many bytes are read.
type countingReader struct {
	r  io.ReaderAt
	mu sync.Mutex
	n  int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.mu.Lock()
	c.n += int64(n)
	c.mu.Unlock()
	return n, err
}

// TestReadVectorsReadsOnlyItsColumn: a file dominated by a large text
// column is read for its small vector column without touching most bytes.
func TestReadVectorsReadsOnlyItsColumn(t *testing.T) {
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
	cr := &countingReader{r: bytes.NewReader(buf.Bytes())}
	st, err := ReadVectors(t.Context(), cr, int64(buf.Len()), "big.parquet", VectorOptions{Column: "embedding"},
		func(b *VectorBatch) error { return nil })
	if err != nil || st.Vectors != 1000 || st.RowGroups != 10 {
		t.Fatalf("read: %+v, %v", st, err)
	}
	if cr.n > int64(buf.Len())/10 {
		t.Fatalf("read %d of %d bytes: more than the vector column", cr.n, buf.Len())
	}
	t.Logf("read %d of %d bytes", cr.n, buf.Len())
}

func TestReadVectorsErrors(t *testing.T) {
	ctx := t.Context()
	sh := shapes(3)
	listF, listOptF, listD, flba := sh[0], sh[1], sh[2], sh[3]
	ok := [][]float32{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {1, 1, 1}}
	check := func(t *testing.T, err error, target error, row int64, mention string) {
		t.Helper()
		var ve *VectorError
		if !errors.Is(err, target) || !errors.As(err, &ve) {
			t.Fatalf("err = %v, want %v as *VectorError", err, target)
		}
		if ve.Row != row || ve.File != "test.parquet" || ve.Column == "" {
			t.Fatalf("err %v: row %d file %q column %q, want row %d", err, ve.Row, ve.File, ve.Column, row)
		}
		if !strings.Contains(err.Error(), mention) {
			t.Fatalf("err %q does not mention %q", err, mention)
		}
	}
	t.Run("ragged list", func(t *testing.T) {
		vecs := slices.Clone(ok)
		vecs[2] = []float32{1, 2}
		_, _, err := readAll(t, testFile(t, listF, nil, &parquet.Snappy, 2, 2, vecs), VectorOptions{Column: "embedding"})
		check(t, err, ErrDim, 2, "row 2")
	})
	t.Run("ragged longer", func(t *testing.T) {
		vecs := slices.Clone(ok)
		vecs[3] = []float32{1, 2, 3, 4}
		_, _, err := readAll(t, testFile(t, listD, nil, &parquet.Snappy, 1, 2, vecs), VectorOptions{Column: "embedding"})
		check(t, err, ErrDim, 3, "column embedding")
	})
	t.Run("ragged packed", func(t *testing.T) {
		vecs := slices.Clone(ok)
		vecs[1] = []float32{1, 2, 3, 4}
		_, _, err := readAll(t, testFile(t, sh[4], nil, &parquet.Snappy, 2, 2, vecs), VectorOptions{Column: "embedding"})
		check(t, err, ErrDim, 1, "row 1")
	})
	t.Run("expected dim", func(t *testing.T) {
		_, _, err := readAll(t, testFile(t, flba, nil, &parquet.Zstd, 2, 2, ok), VectorOptions{Column: "embedding", Dim: 4})
		check(t, err, ErrDim, 0, "want 4")
	})
	t.Run("null element", func(t *testing.T) {
		vecs := slices.Clone(ok)
		vecs[1] = []float32{1, math.Float32frombits(nullElem), 3}
		_, _, err := readAll(t, testFile(t, listOptF, nil, &parquet.Snappy, 2, 2, vecs), VectorOptions{Column: "embedding"})
		check(t, err, ErrBadValue, 1, "element 1 is null")
	})
	t.Run("double out of range", func(t *testing.T) {
		sc := parquet.NewSchema("t", parquet.Group{"embedding": listD.node(nil)})
		var buf bytes.Buffer
		w := parquet.NewWriter(&buf, sc)
		w.Write(map[string]any{"embedding": []float64{1, 1e300}})
		w.Close()
		_, _, err := readAll(t, buf.Bytes(), VectorOptions{Column: "embedding"})
		check(t, err, ErrBadValue, 0, "float32 range")
	})
	for name, node := range map[string]parquet.Node{
		"int64":       parquet.Int(64),
		"string":      parquet.String(),
		"list<int32>": parquet.List(parquet.Int(32)),
		"flba(6)":     parquet.Leaf(parquet.FixedLenByteArrayType(6)),
		"struct":      parquet.Group{"a": parquet.Leaf(parquet.FloatType), "b": parquet.Leaf(parquet.FloatType)},
	} {
		t.Run("wrong type "+name, func(t *testing.T) {
			sc := parquet.NewSchema("t", parquet.Group{"embedding": parquet.Optional(node)})
			var buf bytes.Buffer
			w := parquet.NewWriter(&buf, sc)
			w.Close()
			_, _, err := readAll(t, buf.Bytes(), VectorOptions{Column: "embedding"})
			check(t, err, ErrWrongType, -1, "column embedding")
		})
	}
	t.Run("no column", func(t *testing.T) {
		data := testFile(t, listF, nil, &parquet.Snappy, 2, 2, ok)
		_, _, err := readAll(t, data, VectorOptions{Column: "vector"})
		check(t, err, ErrNoColumn, -1, "vector")
		_, _, err = readAll(t, data, VectorOptions{Column: "id.x"})
		check(t, err, ErrNoColumn, -1, "id.x")
	})
	t.Run("nested column path", func(t *testing.T) {
		sc := parquet.NewSchema("t", parquet.Group{"doc": parquet.Optional(parquet.Group{"embedding": listF.node(nil)})})
		var buf bytes.Buffer
		w := parquet.NewWriter(&buf, sc)
		w.Write(map[string]any{"doc": map[string]any{"embedding": []float32{1, 2}}})
		w.Write(map[string]any{})
		w.Write(map[string]any{"doc": map[string]any{"embedding": []float32{3, 4}}})
		w.Close()
		got, st, err := readAll(t, buf.Bytes(), VectorOptions{Column: "doc.embedding"})
		if err != nil || st.Nulls != 1 || st.Vectors != 2 || !slices.Equal(got[2], []float32{3, 4}) {
			t.Fatalf("nested: %v %+v %v", got, st, err)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		data := testFile(t, listF, nil, &parquet.Snappy, 2, 2, ok)
		for name, bad := range map[string][]byte{
			"empty":     nil,
			"garbage":   bytes.Repeat([]byte("garbage!"), 100),
			"truncated": data[:len(data)-9],
			"no footer": data[:len(data)/2],
		} {
			_, _, err := readAll(t, bad, VectorOptions{Column: "embedding"})
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "test.parquet") {
				t.Errorf("%s: err = %v, want ErrCorrupt naming the file", name, err)
			}
		}
		// Damage every byte of the data pages in turn: an error or a
		// result, never a panic.
		rng := rand.New(rand.NewPCG(9, 9))
		for range 300 {
			bad := slices.Clone(data)
			bad[4+rng.IntN(len(data)/2)] ^= byte(1 + rng.IntN(255))
			readAll(t, bad, VectorOptions{Column: "embedding"})
		}
	})
	t.Run("callback error and cancel", func(t *testing.T) {
		data := testFile(t, listF, nil, &parquet.Snappy, 2, 2, ok)
		stop := errors.New("stop")
		_, err := ReadVectors(ctx, bytes.NewReader(data), int64(len(data)), "test.parquet", VectorOptions{Column: "embedding"},
			func(*VectorBatch) error { return stop })
		if err != stop {
			t.Fatalf("err = %v, want the callback's", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = ReadVectors(cctx, bytes.NewReader(data), int64(len(data)), "test.parquet", VectorOptions{Column: "embedding"},
			func(*VectorBatch) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("file", func(t *testing.T) {
		_, err := ReadVectorsFile(ctx, "/nonexistent/x.parquet", VectorOptions{Column: "embedding"}, nil)
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/x.parquet") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestPageHeaderScan: every page header parquet-go writes decodes, and
// declared sizes that would make parquet-go allocate gigabytes are refused.
func TestPageHeaderScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	sh := shapes(3)[0]
	data := testFile(t, sh, &parquet.RLEDictionary, &parquet.Zstd, 1, 5, testVectors(rng, 30, 3, sh))
	h, err := decodePageHeader(data[4:])
	if err != nil || h.compressed <= 0 || h.uncompressed <= 0 || h.numValues <= 0 {
		t.Fatalf("first page header %+v, %v", h, err)
	}
	// A header declaring a 2 GiB page inside a 100-byte chunk.
	bomb := []byte{0x15, 0x00, 0x15, 0x90, 0x01, 0x15, 0xfe, 0xff, 0xff, 0xff, 0x0f, 0x00}
	h, err = decodePageHeader(bomb)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPageHeader(h, 100); err == nil || !strings.Contains(err.Error(), "overruns") {
		t.Fatalf("bomb header accepted: %+v %v", h, err)
	}
	for _, b := range [][]byte{nil, {0x15}, {0x19, 0xff}, bytes.Repeat([]byte{0x1c}, 100)} {
		if _, err := decodePageHeader(b); err == nil {
			t.Errorf("decoded a header from %x", b)
		}
	}
	// Footer length bomb: 12 bytes claiming a 2 GiB footer.
	_, _, err = readAll(t, []byte("PAR1\x15\x00\x15\x90PAR1"), VectorOptions{Column: "embedding"})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "footer length") {
		t.Fatalf("footer bomb: %v", err)
	}
}
