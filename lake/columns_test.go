package lake

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// scalarFile writes n rows of id (int64), title (optional string), score
// (double), flag (bool), small (int32) and a text padding column, in row
// groups of rowsPerGroup and small pages.
func scalarFile(t testing.TB, n int, rowsPerGroup int64) []byte {
	t.Helper()
	sc := parquet.NewSchema("t", parquet.Group{
		"id":    parquet.Int(64),
		"title": parquet.Optional(parquet.String()),
		"score": parquet.Leaf(parquet.DoubleType),
		"flag":  parquet.Leaf(parquet.BooleanType),
		"small": parquet.Int(32),
		"pad":   parquet.String(),
		"meta":  parquet.Group{"lang": parquet.Optional(parquet.String())},
	})
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, sc, parquet.MaxRowsPerRowGroup(rowsPerGroup), parquet.PageBufferSize(512))
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range n {
		row := map[string]any{"id": int64(1000 + i), "score": float64(i) / 4, "flag": i%3 == 0, "small": int32(-i),
			"pad": fmt.Sprintf("%0100d", rng.IntN(1<<30))}
		if i%5 != 0 {
			row["title"] = fmt.Sprintf("title %d", i)
		}
		if i%2 == 0 {
			row["meta"] = map[string]any{"lang": []string{"en", "de"}[i%4/2]}
		} else {
			row["meta"] = map[string]any{}
		}
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wantRow(i int) []any {
	var title, lang any
	if i%5 != 0 {
		title = fmt.Sprintf("title %d", i)
	}
	if i%2 == 0 {
		lang = []string{"en", "de"}[i%4/2]
	}
	return []any{int64(1000 + i), title, float64(i) / 4, i%3 == 0, int64(-i), lang}
}

var scalarCols = []string{"id", "title", "score", "flag", "small", "meta.lang"}

func TestReadColumns(t *testing.T) {
	const n = 2500
	data := scalarFile(t, n, 700)
	rows, cols, err := ReadColumns(t.Context(), bytes.NewReader(data), int64(len(data)), "s.parquet", scalarCols)
	if err != nil {
		t.Fatal(err)
	}
	if rows != n || len(cols) != len(scalarCols) {
		t.Fatalf("rows %d cols %d", rows, len(cols))
	}
	wantTypes := []ColumnType{TypeInt, TypeString, TypeFloat, TypeBool, TypeInt, TypeString}
	for j, c := range cols {
		if c.Type != wantTypes[j] || c.Len() != n {
			t.Fatalf("column %s: type %s len %d", c.Name, c.Type, c.Len())
		}
	}
	for i := range n {
		w := wantRow(i)
		for j := range cols {
			if got := cols[j].Value(i); got != w[j] {
				t.Fatalf("row %d column %s: got %v want %v", i, cols[j].Name, got, w[j])
			}
		}
	}
}

func TestFetchRowsByPosition(t *testing.T) {
	const n = 5000
	data := scalarFile(t, n, 1200)
	positions := []int64{0, 4999, 1199, 1200, 1201, 17, 3333, 17, 2400}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 30 {
		positions = append(positions, rng.Int64N(n))
	}
	cr := &countingReader{r: bytes.NewReader(data)}
	out, err := FetchRows(t.Context(), cr, int64(len(data)), "s.parquet", scalarCols, positions)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range positions {
		w := wantRow(int(p))
		for j := range scalarCols {
			if out[i][j] != w[j] {
				t.Fatalf("position %d column %s: got %v want %v", p, scalarCols[j], out[i][j], w[j])
			}
		}
	}
	// One row from a file dominated by the padding column reads a small
	// part of it: the page index locates the page.
	cr.n = 0
	if _, err := FetchRows(t.Context(), cr, int64(len(data)), "s.parquet", []string{"title"}, []int64{3777}); err != nil {
		t.Fatal(err)
	}
	if cr.n > int64(len(data))/5 {
		t.Fatalf("fetching one row read %d of %d bytes", cr.n, len(data))
	}
	t.Logf("one row: %d of %d bytes read", cr.n, len(data))
}

func TestColumnsErrors(t *testing.T) {
	data := scalarFile(t, 50, 100)
	r := bytes.NewReader(data)
	for _, tc := range []struct {
		cols []string
		want error
		pos  []int64
	}{
		{cols: []string{"nope"}, want: ErrNoColumn},
		{cols: []string{"meta"}, want: ErrNotScalar},
		{cols: []string{"id"}, pos: []int64{50}},
		{cols: []string{"id"}, pos: []int64{-1}},
	} {
		var err error
		if tc.pos == nil {
			_, _, err = ReadColumns(t.Context(), r, int64(len(data)), "s.parquet", tc.cols)
		} else {
			_, err = FetchRows(t.Context(), r, int64(len(data)), "s.parquet", tc.cols, tc.pos)
		}
		var ve *VectorError
		if err == nil || !errors.As(err, &ve) || ve.File != "s.parquet" {
			t.Fatalf("%v %v: got %v", tc.cols, tc.pos, err)
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Fatalf("%v: got %v, want %v", tc.cols, err, tc.want)
		}
		t.Log(err)
	}
	// A list column is not scalar.
	sh := shapes(4)[0]
	sc := parquet.NewSchema("t", parquet.Group{"embedding": sh.node(nil)})
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, sc)
	if err := w.Write(map[string]any{"embedding": []float32{1, 2, 3, 4}}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, _, err := ReadColumns(t.Context(), bytes.NewReader(buf.Bytes()), int64(buf.Len()), "v.parquet", []string{"embedding.list.element"}); !errors.Is(err, ErrNotScalar) {
		t.Fatalf("list column: %v", err)
	}
}

// FuzzColumns: damaged files give errors, never panics or huge
// allocations.
func FuzzColumns(f *testing.F) {
	f.Add(scalarFile(f, 40, 16))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		ReadColumns(t.Context(), r, int64(len(data)), "f.parquet", []string{"id", "title", "meta.lang"})
		FetchRows(t.Context(), r, int64(len(data)), "f.parquet", []string{"id", "title"}, []int64{0, 3, 39})
	})
}
