package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Scalar columns: what lakevec keeps beside a vector (an id, the columns a
// filter may name), what an Iceberg delete file holds (file_path and pos,
// or the equality key columns), and what a search result returns. Only
// flat columns (no repeated node on the path) are scalar: one value, or
// null, per row.

// ColumnType is the type a scalar column's values are read as.
type ColumnType uint8

const (
	TypeInt    ColumnType = iota + 1 // BOOLEAN aside, every integer physical type (dates and timestamps as their raw integers)
	TypeFloat                        // FLOAT and DOUBLE
	TypeString                       // BYTE_ARRAY (strings, JSON, raw bytes) and FIXED_LEN_BYTE_ARRAY
	TypeBool                         // BOOLEAN
)

func (t ColumnType) String() string {
	switch t {
	case TypeInt:
		return "int"
	case TypeFloat:
		return "float"
	case TypeString:
		return "string"
	case TypeBool:
		return "bool"
	}
	return fmt.Sprintf("type(%d)", t)
}

// ErrNotScalar: the column is repeated (a list or map), not one value per
// row.
var ErrNotScalar = errors.New("not a scalar column")

// Column holds the values of one scalar column, one per row, in the slice
// of its type. Null[i] marks a null (nil when the column has none).
type Column struct {
	Name    string
	Type    ColumnType
	Ints    []int64
	Floats  []float64
	Strings []string
	Bools   []bool
	Null    []bool
}

// Len is the number of rows held.
func (c *Column) Len() int {
	switch c.Type {
	case TypeInt:
		return len(c.Ints)
	case TypeFloat:
		return len(c.Floats)
	case TypeString:
		return len(c.Strings)
	case TypeBool:
		return len(c.Bools)
	}
	return 0
}

// IsNull reports whether row i is null.
func (c *Column) IsNull(i int) bool { return c.Null != nil && c.Null[i] }

// Value returns row i as int64, float64, string or bool; nil when null.
func (c *Column) Value(i int) any {
	if c.IsNull(i) {
		return nil
	}
	switch c.Type {
	case TypeInt:
		return c.Ints[i]
	case TypeFloat:
		return c.Floats[i]
	case TypeString:
		return c.Strings[i]
	case TypeBool:
		return c.Bools[i]
	}
	return nil
}

// Append adds v (of the column's type, or nil for null).
func (c *Column) Append(v any) {
	null := v == nil
	if null && c.Null == nil {
		c.Null = make([]bool, c.Len(), c.Len()+1)
	}
	if c.Null != nil {
		c.Null = append(c.Null, null)
	}
	switch c.Type {
	case TypeInt:
		x, _ := v.(int64)
		c.Ints = append(c.Ints, x)
	case TypeFloat:
		x, _ := v.(float64)
		c.Floats = append(c.Floats, x)
	case TypeString:
		x, _ := v.(string)
		c.Strings = append(c.Strings, x)
	case TypeBool:
		x, _ := v.(bool)
		c.Bools = append(c.Bools, x)
	}
}

// scalarLeaf is a resolved scalar column.
type scalarLeaf struct {
	name   string
	index  int // leaf column index
	typ    ColumnType
	maxDef int
}

func resolveScalar(sc *parquet.Schema, name string) (scalarLeaf, error) {
	path := strings.Split(name, ".")
	leaf, ok := sc.Lookup(path...)
	if !ok {
		if isGroup(sc, path) {
			return scalarLeaf{}, fmt.Errorf("%w: %q is a group", ErrNotScalar, name)
		}
		return scalarLeaf{}, fmt.Errorf("%w: %q", ErrNoColumn, name)
	}
	if leaf.MaxRepetitionLevel > 0 {
		return scalarLeaf{}, fmt.Errorf("%w: %q is repeated (a list or a map)", ErrNotScalar, name)
	}
	if !leaf.Node.Leaf() {
		return scalarLeaf{}, fmt.Errorf("%w: %q is a group", ErrNotScalar, name)
	}
	l := scalarLeaf{name: name, index: leaf.ColumnIndex, maxDef: leaf.MaxDefinitionLevel}
	switch leaf.Node.Type().Kind() {
	case parquet.Boolean:
		l.typ = TypeBool
	case parquet.Int32, parquet.Int64:
		l.typ = TypeInt
	case parquet.Float, parquet.Double:
		l.typ = TypeFloat
	case parquet.ByteArray, parquet.FixedLenByteArray:
		l.typ = TypeString
	default:
		return scalarLeaf{}, fmt.Errorf("%w: %q has physical type %s", ErrWrongType, name, leaf.Node.Type())
	}
	return l, nil
}

// isGroup reports whether path names a group node of the schema.
func isGroup(n parquet.Node, path []string) bool {
	for _, name := range path {
		var next parquet.Node
		for _, f := range n.Fields() {
			if f.Name() == name {
				next = f
			}
		}
		if next == nil {
			return false
		}
		n = next
	}
	return !n.Leaf()
}

func (l scalarLeaf) value(v parquet.Value) any {
	if v.IsNull() || v.DefinitionLevel() < l.maxDef {
		return nil
	}
	switch l.typ {
	case TypeBool:
		return v.Boolean()
	case TypeInt:
		if v.Kind() == parquet.Int32 {
			return int64(v.Int32())
		}
		return v.Int64()
	case TypeFloat:
		if v.Kind() == parquet.Float {
			return float64(v.Float())
		}
		return v.Double()
	default:
		return string(v.ByteArray())
	}
}

// openChecked opens a Parquet file after the footer check that guards
// parquet-go against hostile sizes.
func openChecked(src io.ReaderAt, size int64, pageIndex bool) (*parquet.File, int64, error) {
	dataEnd, err := checkFooter(src, size)
	if err != nil {
		return nil, 0, err
	}
	pf, err := parquet.OpenFile(src, size, parquet.SkipPageIndex(!pageIndex), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return pf, dataEnd, nil
}

// ReadColumns reads whole scalar columns of the Parquet file in src (size
// bytes; name is used in errors): one value per row, in row order. Only
// those columns' pages are read. Errors are *VectorError values naming
// the file and the column.
func ReadColumns(ctx context.Context, src io.ReaderAt, size int64, name string, columns []string) (rows int64, out []Column, err error) {
	cur := ""
	fail := func(row int64, e error) error {
		return &VectorError{File: name, Column: cur, Row: row, Err: e}
	}
	defer panicAsCorrupt(&err, fail) // parquet-go may panic on a damaged file
	pf, dataEnd, err := openChecked(src, size, false)
	if err != nil {
		return 0, nil, fail(-1, err)
	}
	vals := make([]parquet.Value, 1024)
	for _, c := range columns {
		cur = c
		leaf, err := resolveScalar(pf.Schema(), c)
		if err != nil {
			return 0, nil, fail(-1, err)
		}
		col := Column{Name: c, Type: leaf.typ}
		var first int64
		for i, rg := range pf.RowGroups() {
			if err := ctx.Err(); err != nil {
				return 0, nil, err
			}
			if err := checkChunk(pf, src, dataEnd, i, leaf.index); err != nil {
				return 0, nil, fail(-1, fmt.Errorf("%w: row group %d: %v", ErrCorrupt, i, err))
			}
			n := rg.NumRows()
			pages := rg.ColumnChunks()[leaf.index].Pages()
			got, err := readLeafValues(pages, vals, n, func(v parquet.Value) { col.Append(leaf.value(v)) })
			pages.Close()
			if err != nil {
				return 0, nil, fail(-1, fmt.Errorf("%w: row group %d: %v", ErrCorrupt, i, err))
			}
			if got != n {
				return 0, nil, fail(-1, fmt.Errorf("%w: row group %d: column has %d values for %d rows", ErrCorrupt, i, got, n))
			}
			first += n
		}
		rows = first
		out = append(out, col)
	}
	if len(columns) == 0 {
		rows = pf.NumRows()
	}
	return rows, out, nil
}

// readLeafValues reads up to max values of a flat column from pages.
func readLeafValues(pages parquet.Pages, vals []parquet.Value, max int64, fn func(parquet.Value)) (int64, error) {
	var got int64
	for got < max {
		page, err := pages.ReadPage()
		if err == io.EOF {
			break
		}
		if err != nil {
			return got, err
		}
		vr := page.Values()
		for got < max {
			k, err := vr.ReadValues(vals[:min(int64(len(vals)), max-got)])
			for _, v := range vals[:k] {
				fn(v)
			}
			got += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				parquet.Release(page)
				return got, err
			}
			if k == 0 {
				parquet.Release(page)
				return got, errors.New("page reader made no progress")
			}
		}
		parquet.Release(page)
	}
	return got, nil
}

// FetchRows returns the values of columns at the given row positions of
// the Parquet file in src: out[i][j] is column j of positions[i] (nil for
// null). It finds each row's row group from the row counts and seeks to
// it through the offset index (the page index) when the file has one, so
// only the pages holding the rows are read, never the whole file.
func FetchRows(ctx context.Context, src io.ReaderAt, size int64, name string, columns []string, positions []int64) (out [][]any, err error) {
	cur := ""
	fail := func(row int64, e error) error {
		return &VectorError{File: name, Column: cur, Row: row, Err: e}
	}
	defer panicAsCorrupt(&err, fail) // parquet-go may panic on a damaged file
	pf, dataEnd, err := openChecked(src, size, true)
	if err != nil {
		return nil, fail(-1, err)
	}
	rgs := pf.RowGroups()
	starts := make([]int64, len(rgs)+1)
	for i, rg := range rgs {
		starts[i+1] = starts[i] + rg.NumRows()
	}
	out = make([][]any, len(positions))
	for i := range out {
		out[i] = make([]any, len(columns))
	}
	order := make([]int, len(positions))
	for i := range order {
		order[i] = i
		if p := positions[i]; p < 0 || p >= starts[len(rgs)] {
			return nil, fail(p, fmt.Errorf("row position out of range: the file has %d rows", starts[len(rgs)]))
		}
	}
	sort.Slice(order, func(a, b int) bool { return positions[order[a]] < positions[order[b]] })
	vals := make([]parquet.Value, 1)
	for j, c := range columns {
		cur = c
		leaf, err := resolveScalar(pf.Schema(), c)
		if err != nil {
			return nil, fail(-1, err)
		}
		checked := map[int]bool{}
		for _, i := range order {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			pos := positions[i]
			g := sort.Search(len(rgs), func(g int) bool { return starts[g+1] > pos })
			if !checked[g] {
				if err := checkChunk(pf, src, dataEnd, g, leaf.index); err != nil {
					return nil, fail(-1, fmt.Errorf("%w: row group %d: %v", ErrCorrupt, g, err))
				}
				checked[g] = true
			}
			pages := rgs[g].ColumnChunks()[leaf.index].Pages()
			err := pages.SeekToRow(pos - starts[g])
			var got int64
			if err == nil {
				got, err = readLeafValues(pages, vals, 1, func(v parquet.Value) { out[i][j] = leaf.value(v) })
			}
			pages.Close()
			if err == nil && got != 1 {
				err = fmt.Errorf("%w: no value at the row", ErrCorrupt)
			}
			if err != nil {
				return nil, fail(pos, err)
			}
		}
	}
	return out, nil
}

// panicAsCorrupt, deferred, turns a panic of parquet-go on a damaged file
// into an ErrCorrupt error built by fail.
func panicAsCorrupt(err *error, fail func(row int64, e error) error) {
	if r := recover(); r != nil {
		*err = fail(-1, fmt.Errorf("%w: %v\n%s", ErrCorrupt, r, firstFrames(debug.Stack())))
	}
}
