package lake

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Errors of the vector reader, matched with errors.Is through *VectorError.
var (
	// ErrNoColumn: the file has no column at the given path.
	ErrNoColumn = errors.New("no such column")
	// ErrWrongType: the column is not list<float>, list<double>,
	// fixed_len_byte_array or byte_array of packed float32.
	ErrWrongType = errors.New("not a vector column")
	// ErrDim: a vector's dimension differs from the expected one (ragged).
	ErrDim = errors.New("wrong vector dimension")
	// ErrBadValue: a null element inside a vector, or a double outside the
	// float32 range.
	ErrBadValue = errors.New("bad vector value")
	// ErrCorrupt: the file cannot be read or is inconsistent with itself.
	ErrCorrupt = errors.New("corrupt parquet file")
)

// VectorError says where reading a vector column failed.
type VectorError struct {
	File   string // as given to ReadVectors
	Column string // dotted column path
	Row    int64  // row position in the file, -1 when not about one row
	Err    error  // wraps one of the Err* sentinels
}

func (e *VectorError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "parquet file %s", e.File)
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %s", e.Column)
	}
	if e.Row >= 0 {
		fmt.Fprintf(&b, ": row %d", e.Row)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *VectorError) Unwrap() error { return e.Err }

// VectorOptions configure ReadVectors.
type VectorOptions struct {
	// Column is the dotted path of the vector column ("embedding",
	// "doc.embedding"). Required.
	Column string
	// Dim is the expected dimension. Zero: the dimension of the first
	// vector read; every later vector must match it.
	Dim int
	// BatchSize is the number of vectors per callback. Zero: 1024.
	BatchSize int
}

// VectorBatch is a run of vectors of one row group. Its slices are reused
// by the next callback: copy what you keep.
type VectorBatch struct {
	RowGroup int
	Dim      int
	// Rows are the positions in the file (0-based, across row groups) of
	// the rows the vectors come from, increasing. Rows with a null or empty
	// vector are skipped, so positions can jump.
	Rows []int64
	// Values holds the vectors row-major: vector i is
	// Values[i*Dim : (i+1)*Dim].
	Values []float32
}

// Len returns the number of vectors in the batch.
func (b *VectorBatch) Len() int { return len(b.Rows) }

// Vector returns vector i (a view into Values).
func (b *VectorBatch) Vector(i int) []float32 { return b.Values[i*b.Dim : (i+1)*b.Dim] }

// VectorStats summarise one read.
type VectorStats struct {
	RowGroups int
	Rows      int64 // rows in the file
	Vectors   int64 // vectors passed to the callback
	Nulls     int64 // rows whose vector, or a group holding it, is null: skipped
	Empty     int64 // rows whose vector is an empty list: skipped
	Dim       int   // dimension of the vectors (0 if none was read)
}

// ReadVectorsFile is ReadVectors on a local file.
func ReadVectorsFile(ctx context.Context, path string, opts VectorOptions, fn func(*VectorBatch) error) (VectorStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return VectorStats{}, &VectorError{File: path, Column: opts.Column, Row: -1, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return VectorStats{}, &VectorError{File: path, Column: opts.Column, Row: -1, Err: err}
	}
	return ReadVectors(ctx, f, st.Size(), path, opts, fn)
}

// ReadVectors reads the vector column opts.Column of the Parquet file in
// src (size bytes; name is used in errors) and calls fn with batches of
// vectors, row group by row group, in row order. Only the pages of that
// column are read, one page at a time, so memory stays bounded by a page
// plus a batch whatever the file size.
//
// Supported column shapes:
//
//   - list<float> or list<double> (the standard 3-level LIST, and the
//     legacy 2-level and bare repeated forms); doubles are narrowed to
//     float32 and must be within its range;
//   - fixed_len_byte_array(4·dim) or byte_array holding dim little-endian
//     float32 values.
//
// Null vectors (or null groups above them) and empty lists are skipped and
// counted in VectorStats. A null element, a dimension other than the
// expected one, a wrong type or an unreadable file is a *VectorError
// naming the file, the column and (when it is about a row) the row
// position. An error returned by fn stops the read and is returned as is.
func ReadVectors(ctx context.Context, src io.ReaderAt, size int64, name string, opts VectorOptions, fn func(*VectorBatch) error) (stats VectorStats, err error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1024
	}
	fail := func(row int64, e error) error {
		return &VectorError{File: name, Column: opts.Column, Row: row, Err: e}
	}
	if opts.Column == "" {
		return stats, fail(-1, fmt.Errorf("%w: empty column path", ErrNoColumn))
	}
	if opts.Dim < 0 {
		return stats, fail(-1, fmt.Errorf("%w: negative expected dimension %d", ErrDim, opts.Dim))
	}
	// parquet-go may panic on a damaged file; bad input must be an error.
	cbErr := false
	defer func() {
		if r := recover(); r != nil {
			if cbErr {
				panic(r) // the callback's own panic is not ours to hide
			}
			err = fail(-1, fmt.Errorf("%w: %v\n%s", ErrCorrupt, r, firstFrames(debug.Stack())))
		}
	}()
	dataEnd, err := checkFooter(src, size)
	if err != nil {
		return stats, fail(-1, err)
	}
	pf, err := parquet.OpenFile(src, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return stats, fail(-1, fmt.Errorf("%w: %v", ErrCorrupt, err))
	}
	shape, err := resolveShape(pf.Schema(), strings.Split(opts.Column, "."))
	if err != nil {
		return stats, fail(-1, err)
	}
	r := &vreader{
		ctx:   ctx,
		shape: shape,
		dim:   opts.Dim,
		batch: opts.BatchSize,
		fn: func(b *VectorBatch) error {
			cbErr = true
			err := fn(b)
			cbErr = false
			if err != nil {
				return callbackError{err}
			}
			return nil
		},
		fail:  fail,
		stats: &stats,
	}
	var first int64
	for i, rg := range pf.RowGroups() {
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		chunks := rg.ColumnChunks()
		if shape.column >= len(chunks) {
			return stats, fail(-1, fmt.Errorf("%w: row group %d has %d column chunks", ErrCorrupt, i, len(chunks)))
		}
		n := rg.NumRows()
		if n < 0 {
			return stats, fail(-1, fmt.Errorf("%w: row group %d has %d rows", ErrCorrupt, i, n))
		}
		if err := checkChunk(pf, src, dataEnd, i, shape.column); err != nil {
			return stats, fail(-1, fmt.Errorf("%w: row group %d: %v", ErrCorrupt, i, err))
		}
		if err := r.rowGroup(i, first, n, chunks[shape.column]); err != nil {
			var ce callbackError
			if errors.As(err, &ce) {
				return stats, ce.err
			}
			return stats, err
		}
		stats.RowGroups++
		first += n
	}
	stats.Rows = first
	if stats.Rows != pf.NumRows() {
		return stats, fail(-1, fmt.Errorf("%w: row groups hold %d rows, footer says %d", ErrCorrupt, stats.Rows, pf.NumRows()))
	}
	stats.Dim = r.dim
	return stats, nil
}

// checkFooter validates the footer length before parquet-go allocates a
// buffer of that size: parquet-go v0.32.0 trusts the 32-bit length, so a
// damaged or hostile 12-byte file makes it allocate up to 4 GiB.
// It returns the offset where the footer starts (the end of the pages).
func checkFooter(src io.ReaderAt, size int64) (int64, error) {
	const minFile = 4 + 4 + 4 // magic, footer length, magic
	if size < minFile {
		return 0, fmt.Errorf("%w: %d bytes is too short for a parquet file", ErrCorrupt, size)
	}
	var tail [8]byte
	if _, err := src.ReadAt(tail[:], size-8); err != nil {
		return 0, fmt.Errorf("%w: read footer: %v", ErrCorrupt, err)
	}
	if string(tail[4:]) != "PAR1" {
		return 0, fmt.Errorf("%w: no PAR1 magic at the end (encrypted or not parquet)", ErrCorrupt)
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-minFile {
		return 0, fmt.Errorf("%w: footer length %d exceeds the file size %d", ErrCorrupt, n, size)
	}
	return size - 8 - n, nil
}

// checkChunk checks that the column chunk of row group rg lies within the
// pages area [4, dataEnd) and that its page headers declare sane sizes
// (see pagescan.go), locating it the way parquet-go does.
func checkChunk(pf *parquet.File, src io.ReaderAt, dataEnd int64, rg, col int) error {
	md := pf.Metadata()
	if rg >= len(md.RowGroups) || col >= len(md.RowGroups[rg].Columns) {
		return fmt.Errorf("no metadata for column chunk %d", col)
	}
	cm := md.RowGroups[rg].Columns[col].MetaData
	start := cm.DataPageOffset
	if cm.DictionaryPageOffset != 0 {
		start = cm.DictionaryPageOffset
	}
	if start < 4 || cm.TotalCompressedSize < 0 || start > dataEnd || cm.TotalCompressedSize > dataEnd-start {
		return fmt.Errorf("column chunk at offset %d, %d bytes, outside the pages area [4, %d)", start, cm.TotalCompressedSize, dataEnd)
	}
	return scanChunkPages(src, start, cm.TotalCompressedSize)
}

type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// firstFrames keeps the top of a panic's stack for the error message.
func firstFrames(stack []byte) string {
	lines := strings.SplitN(string(stack), "\n", 12)
	return strings.Join(lines[:min(len(lines), 11)], "\n")
}

// elemKind is how the leaf's values become float32s.
type elemKind uint8

const (
	elemFloat  elemKind = iota // list element FLOAT
	elemDouble                 // list element DOUBLE
	elemPacked                 // leaf of packed little-endian float32 bytes
)

// shape is the resolved layout of a vector column.
type shape struct {
	column int // leaf column index
	kind   elemKind
	list   bool // one value per element (list) or per vector (packed)
	// Definition level thresholds (see resolveShape).
	vecDef  int // def < vecDef: the vector (or a group above) is null
	elemDef int // list: def < elemDef: empty list
	maxDef  int // list: elemDef <= def < maxDef: null element
	maxRep  int
}

// resolveShape finds the vector column at path and checks its type.
//
// Definition levels count the optional and repeated nodes on the path
// from the root to the leaf that are present. For a list column:
//
//	def < vecDef            the vector (or a group above it) is null
//	vecDef ≤ def < elemDef  the list is empty
//	elemDef ≤ def < maxDef  the element is null
//	def = maxDef            an element value
func resolveShape(sc *parquet.Schema, path []string) (shape, error) {
	var node parquet.Node = sc
	def := 0
	for i, p := range path {
		var next parquet.Node
		for _, f := range node.Fields() {
			if f.Name() == p {
				next = f
				break
			}
		}
		if next == nil || node.Leaf() {
			return shape{}, fmt.Errorf("%w: %s not found in schema", ErrNoColumn, strings.Join(path[:i+1], "."))
		}
		if i < len(path)-1 {
			if next.Repeated() {
				return shape{}, fmt.Errorf("%w: %s is repeated (a vector inside a repeated group is not supported)",
					ErrWrongType, strings.Join(path[:i+1], "."))
			}
			if next.Optional() {
				def++
			}
		}
		node = next
	}
	var (
		s        shape
		leafPath = append([]string(nil), path...)
		elem     parquet.Node
	)
	switch {
	case node.Leaf() && !node.Repeated():
		// Packed float32 bytes.
		t := node.Type()
		switch t.Kind() {
		case parquet.FixedLenByteArray:
			if t.Length()%4 != 0 || t.Length() == 0 {
				return shape{}, fmt.Errorf("%w: fixed_len_byte_array(%d) is not a whole number of float32", ErrWrongType, t.Length())
			}
		case parquet.ByteArray:
			if lt := t.LogicalType(); (lt != nil && lt.Value != nil) || t.ConvertedType() != nil {
				return shape{}, fmt.Errorf("%w: byte_array annotated %s is not packed float32", ErrWrongType, t)
			}
		default:
			return shape{}, fmt.Errorf("%w: type %s, want list<float>, list<double>, fixed_len_byte_array or byte_array", ErrWrongType, t)
		}
		if node.Optional() {
			def++
		}
		s.kind, s.vecDef, s.maxDef = elemPacked, def, def
	case node.Leaf(): // bare repeated float: the legacy 1-level list
		s.list, s.vecDef = true, def
		def++
		s.elemDef, s.maxDef = def, def
		elem = node
	default: // a group: 3-level LIST or legacy 2-level
		if node.Optional() {
			def++
		}
		s.list, s.vecDef = true, def
		fs := node.Fields()
		if len(fs) != 1 || !fs[0].Repeated() {
			return shape{}, fmt.Errorf("%w: group %s is not a list (want one repeated field)", ErrWrongType, node)
		}
		rep := fs[0]
		leafPath = append(leafPath, rep.Name())
		def++
		s.elemDef = def
		switch {
		case rep.Leaf(): // 2-level: repeated float element
			elem = rep
		case len(rep.Fields()) == 1 && rep.Fields()[0].Leaf() && !rep.Fields()[0].Repeated():
			e := rep.Fields()[0]
			leafPath = append(leafPath, e.Name())
			if e.Optional() {
				def++
			}
			elem = e
		default:
			return shape{}, fmt.Errorf("%w: list %s: element is not a float or double", ErrWrongType, node)
		}
		s.maxDef = def
	}
	if elem != nil {
		switch elem.Type().Kind() {
		case parquet.Float:
			s.kind = elemFloat
		case parquet.Double:
			s.kind = elemDouble
		default:
			return shape{}, fmt.Errorf("%w: list element type %s, want float or double", ErrWrongType, elem.Type())
		}
	}
	leaf, ok := sc.Lookup(leafPath...)
	if !ok {
		return shape{}, fmt.Errorf("%w: leaf %s not found", ErrNoColumn, strings.Join(leafPath, "."))
	}
	s.column, s.maxRep = leaf.ColumnIndex, leaf.MaxRepetitionLevel
	wantRep := 0
	if s.list {
		wantRep = 1
	}
	if leaf.MaxDefinitionLevel != s.maxDef || leaf.MaxRepetitionLevel != wantRep {
		return shape{}, fmt.Errorf("%w: unexpected levels (def %d rep %d, want def %d rep %d)",
			ErrWrongType, leaf.MaxDefinitionLevel, leaf.MaxRepetitionLevel, s.maxDef, wantRep)
	}
	return s, nil
}

// vreader reads one vector column, row group by row group.
type vreader struct {
	ctx   context.Context
	shape shape
	dim   int
	batch int
	fn    func(*VectorBatch) error
	fail  func(row int64, err error) error
	stats *VectorStats

	out  VectorBatch
	cur  []float32 // elements of the list being assembled
	vals []parquet.Value
}

// rowGroup reads the column chunk of row group rg, whose first row is at
// file position first and which holds n rows.
func (r *vreader) rowGroup(rg int, first, n int64, cc parquet.ColumnChunk) error {
	pages := cc.Pages()
	defer pages.Close()
	if r.vals == nil {
		r.vals = make([]parquet.Value, 4096)
	}
	r.out = VectorBatch{RowGroup: rg, Dim: r.dim, Rows: r.out.Rows[:0], Values: r.out.Values[:0]}
	row := int64(-1) // index within the row group of the row being read
	inRow := false   // a list row is open (its elements are in r.cur)
	rowNull, rowEmpty := false, false
	for {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		page, err := pages.ReadPage()
		if err == io.EOF {
			break
		}
		if err != nil {
			return r.fail(-1, fmt.Errorf("%w: row group %d: %v", ErrCorrupt, rg, err))
		}
		vr := page.Values()
		for {
			k, err := vr.ReadValues(r.vals)
			for _, v := range r.vals[:k] {
				if !r.shape.list {
					row++
					if row >= n {
						parquet.Release(page)
						return r.fail(-1, fmt.Errorf("%w: row group %d: more values than its %d rows", ErrCorrupt, rg, n))
					}
					if err := r.packed(first+row, v); err != nil {
						parquet.Release(page)
						return err
					}
					continue
				}
				if v.RepetitionLevel() == 0 { // a new row starts
					if inRow {
						if err := r.endRow(first+row, rowNull, rowEmpty); err != nil {
							parquet.Release(page)
							return err
						}
					}
					row++
					if row >= n {
						parquet.Release(page)
						return r.fail(-1, fmt.Errorf("%w: row group %d: more rows than its %d", ErrCorrupt, rg, n))
					}
					inRow, rowNull, rowEmpty = true, false, false
					r.cur = r.cur[:0]
				} else if !inRow {
					parquet.Release(page)
					return r.fail(first, fmt.Errorf("%w: row group %d starts inside a list", ErrCorrupt, rg))
				}
				if err := r.element(first+row, v, &rowNull, &rowEmpty); err != nil {
					parquet.Release(page)
					return err
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				parquet.Release(page)
				return r.fail(-1, fmt.Errorf("%w: row group %d: %v", ErrCorrupt, rg, err))
			}
			if k == 0 {
				parquet.Release(page)
				return r.fail(-1, fmt.Errorf("%w: row group %d: page reader made no progress", ErrCorrupt, rg))
			}
		}
		parquet.Release(page)
	}
	if inRow {
		if err := r.endRow(first+row, rowNull, rowEmpty); err != nil {
			return err
		}
	}
	if row+1 != n {
		return r.fail(-1, fmt.Errorf("%w: row group %d: column has %d rows, row group %d", ErrCorrupt, rg, row+1, n))
	}
	return r.flush()
}

// packed handles one value of a packed float32 column.
func (r *vreader) packed(row int64, v parquet.Value) error {
	if v.DefinitionLevel() < r.shape.vecDef || v.IsNull() {
		r.stats.Nulls++
		return nil
	}
	b := v.ByteArray()
	if len(b) == 0 {
		r.stats.Empty++
		return nil
	}
	if len(b)%4 != 0 {
		return r.fail(row, fmt.Errorf("%w: %d bytes is not a whole number of float32", ErrDim, len(b)))
	}
	if err := r.checkDim(row, len(b)/4); err != nil {
		return err
	}
	start := len(r.out.Values)
	r.out.Values = append(r.out.Values, make([]float32, r.dim)...)
	if err := DecodeFloat32LE(r.out.Values[start:], b); err != nil {
		return r.fail(row, err)
	}
	r.out.Rows = append(r.out.Rows, row)
	return r.maybeFlush()
}

// element handles one value of a list column.
func (r *vreader) element(row int64, v parquet.Value, rowNull, rowEmpty *bool) error {
	d := v.DefinitionLevel()
	switch {
	case d < r.shape.vecDef:
		*rowNull = true
		return nil
	case d < r.shape.elemDef:
		*rowEmpty = true
		return nil
	case d < r.shape.maxDef || v.IsNull():
		return r.fail(row, fmt.Errorf("%w: element %d is null", ErrBadValue, len(r.cur)))
	}
	if *rowNull || *rowEmpty {
		return r.fail(row, fmt.Errorf("%w: a null or empty list has elements", ErrCorrupt))
	}
	switch r.shape.kind {
	case elemFloat:
		if v.Kind() != parquet.Float {
			return r.fail(row, fmt.Errorf("%w: element of kind %s in a float column", ErrCorrupt, v.Kind()))
		}
		r.cur = append(r.cur, v.Float())
	default:
		if v.Kind() != parquet.Double {
			return r.fail(row, fmt.Errorf("%w: element of kind %s in a double column", ErrCorrupt, v.Kind()))
		}
		d := v.Double()
		f := float32(d)
		if math.IsInf(float64(f), 0) && !math.IsInf(d, 0) {
			return r.fail(row, fmt.Errorf("%w: element %d = %g is outside the float32 range", ErrBadValue, len(r.cur), d))
		}
		r.cur = append(r.cur, f)
	}
	if r.dim > 0 && len(r.cur) > r.dim {
		return r.fail(row, fmt.Errorf("%w: more than %d elements", ErrDim, r.dim))
	}
	return nil
}

// endRow closes a list row.
func (r *vreader) endRow(row int64, null, empty bool) error {
	switch {
	case null:
		r.stats.Nulls++
		return nil
	case empty:
		r.stats.Empty++
		return nil
	}
	if err := r.checkDim(row, len(r.cur)); err != nil {
		return err
	}
	r.out.Values = append(r.out.Values, r.cur...)
	r.out.Rows = append(r.out.Rows, row)
	return r.maybeFlush()
}

func (r *vreader) checkDim(row int64, d int) error {
	if r.dim == 0 {
		r.dim = d
		r.out.Dim = d
	}
	if d != r.dim {
		return r.fail(row, fmt.Errorf("%w: %d, want %d", ErrDim, d, r.dim))
	}
	return nil
}

func (r *vreader) maybeFlush() error {
	if len(r.out.Rows) >= r.batch {
		return r.flush()
	}
	return nil
}

func (r *vreader) flush() error {
	if len(r.out.Rows) == 0 {
		return nil
	}
	r.stats.Vectors += int64(len(r.out.Rows))
	err := r.fn(&r.out)
	r.out.Rows, r.out.Values = r.out.Rows[:0], r.out.Values[:0]
	return err
}
