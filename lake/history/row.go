package history

import (
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Row is one event of the history table. Its fields, order and types match
// engine.HistoryRow, so the two convert with a plain type conversion.
type Row struct {
	DocID     string
	ChunkKey  uint32
	Parent    uint32 // 0 = none
	Position  int32
	Hash      [32]byte
	Text      string
	Embedding []float32 // nil or empty: stored as null, read back as nil
	Event     string    // EventOpen or EventClose
	At        int64     // UTC milliseconds: valid_from for open, valid_to for close
	CommitSeq uint64    // lakevec's batch id; 0 in Commit means "the batch id"
}

// Event values.
const (
	EventOpen  = "open"
	EventClose = "close"
	// EventVersion rows record a document version's layout (the caller's
	// JSON in Text; no chunk key, hash or embedding), so the caller can
	// rebuild its state from the table alone.
	EventVersion = "version"
)

// maxAtMs bounds Row.At so that At*1000 (the stored microseconds) cannot
// overflow: about ±292,000 years.
const maxAtMs = math.MaxInt64 / 1000

// validateRows checks rows before any I/O and fills CommitSeq. It returns a
// copy; the caller's slice is not modified.
func validateRows(batchID uint64, rows []Row) ([]Row, error) {
	out := make([]Row, len(rows))
	for i, r := range rows {
		where := func() string { return fmt.Sprintf("row %d (doc %q chunk %d)", i, r.DocID, r.ChunkKey) }
		switch {
		case r.DocID == "":
			return nil, fmt.Errorf("row %d: empty doc_id", i)
		case !utf8.ValidString(r.DocID):
			return nil, fmt.Errorf("%s: doc_id is not valid UTF-8", where())
		case !utf8.ValidString(r.Text):
			return nil, fmt.Errorf("%s: text is not valid UTF-8", where())
		case r.Event != EventOpen && r.Event != EventClose && r.Event != EventVersion:
			return nil, fmt.Errorf("%s: event %q, want %q, %q or %q", where(), r.Event, EventOpen, EventClose, EventVersion)
		case r.At > maxAtMs || r.At < -maxAtMs:
			return nil, fmt.Errorf("%s: at %d ms is out of range", where(), r.At)
		case r.CommitSeq != 0 && r.CommitSeq != batchID:
			return nil, fmt.Errorf("%s: commit_seq %d differs from batch id %d", where(), r.CommitSeq, batchID)
		}
		r.CommitSeq = batchID
		out[i] = r
	}
	return out, nil
}

// recordRows is how many rows go into one Arrow record batch on write.
const recordRows = 4096

// encodeRows turns rows into Arrow record batches of schema sc (the table's
// current schema as Arrow). Columns are found by name; a column of ours
// with an unexpected Arrow type is an error, extra columns are null.
func encodeRows(sc *arrow.Schema, rows []Row) ([]arrow.RecordBatch, error) {
	var recs []arrow.RecordBatch
	release := func() {
		for _, r := range recs {
			r.Release()
		}
	}
	for start := 0; start < len(rows); start += recordRows {
		end := min(start+recordRows, len(rows))
		rec, err := encodeChunk(sc, rows[start:end])
		if err != nil {
			release()
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

func encodeChunk(sc *arrow.Schema, rows []Row) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Reserve(len(rows))
	for i, f := range sc.Fields() {
		fb := b.Field(i)
		if err := encodeColumn(f, fb, rows); err != nil {
			return nil, err
		}
	}
	return b.NewRecordBatch(), nil
}

func encodeColumn(f arrow.Field, fb array.Builder, rows []Row) error {
	bad := func() error {
		return fmt.Errorf("encode column %s: unexpected arrow type %s", f.Name, f.Type)
	}
	switch f.Name {
	case colDocID, colText, colEvent:
		sb, ok := fb.(*array.StringBuilder)
		if !ok {
			return bad()
		}
		for _, r := range rows {
			switch f.Name {
			case colDocID:
				sb.Append(r.DocID)
			case colText:
				sb.Append(r.Text)
			default:
				sb.Append(r.Event)
			}
		}
	case colChunkKey, colParent, colPosition:
		ib, ok := fb.(*array.Int32Builder)
		if !ok {
			return bad()
		}
		for _, r := range rows {
			switch f.Name {
			case colChunkKey:
				ib.Append(int32(r.ChunkKey))
			case colParent:
				ib.Append(int32(r.Parent))
			default:
				ib.Append(r.Position)
			}
		}
	case colContentHash:
		hb, ok := fb.(*array.FixedSizeBinaryBuilder)
		if !ok {
			return bad()
		}
		for _, r := range rows {
			hb.Append(r.Hash[:])
		}
	case colEmbedding:
		lb, ok := fb.(*array.ListBuilder)
		if !ok {
			return bad()
		}
		vb, ok := lb.ValueBuilder().(*array.Float32Builder)
		if !ok {
			return bad()
		}
		for _, r := range rows {
			if len(r.Embedding) == 0 {
				lb.AppendNull()
				continue
			}
			lb.Append(true)
			vb.AppendValues(r.Embedding, nil)
		}
	case colAt:
		tb, ok := fb.(*array.TimestampBuilder)
		if !ok || tb.Type().(*arrow.TimestampType).Unit != arrow.Microsecond {
			return bad()
		}
		for _, r := range rows {
			tb.Append(arrow.Timestamp(r.At * 1000))
		}
	case colCommitSeq:
		ib, ok := fb.(*array.Int64Builder)
		if !ok {
			return bad()
		}
		for _, r := range rows {
			ib.Append(int64(r.CommitSeq))
		}
	default:
		if !f.Nullable {
			return fmt.Errorf("encode column %s: required column unknown to lakevec", f.Name)
		}
		fb.AppendNulls(len(rows))
	}
	return nil
}

// decoder reads Rows out of Arrow record batches of one schema. The
// accessors tolerate the Arrow types a reader may choose for our Iceberg
// types (string or large string, list or large list, fixed or variable
// binary), so a change of reader settings cannot silently drop data.
type decoder struct {
	file string // for errors: the data file or "scan"
}

// decode calls fn for each row of rec. Errors name the column and the row
// within the batch.
func (d decoder) decode(rec arrow.RecordBatch, fn func(Row) error) error {
	sc := rec.Schema()
	col := func(name string) (arrow.Array, error) {
		idx := sc.FieldIndices(name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("%s: column %s: found %d times in the scan, want once", d.file, name, len(idx))
		}
		return rec.Column(idx[0]), nil
	}
	var cols [10]arrow.Array
	for i, name := range []string{colDocID, colChunkKey, colParent, colPosition, colContentHash, colText, colEmbedding, colEvent, colAt, colCommitSeq} {
		c, err := col(name)
		if err != nil {
			return err
		}
		cols[i] = c
	}
	n := int(rec.NumRows())
	for i := range n {
		var r Row
		var err error
		fail := func(name string, e error) error {
			return fmt.Errorf("%s: column %s row %d: %w", d.file, name, i, e)
		}
		if r.DocID, err = stringAt(cols[0], i); err != nil {
			return fail(colDocID, err)
		}
		var v int32
		if v, err = int32At(cols[1], i); err != nil {
			return fail(colChunkKey, err)
		}
		r.ChunkKey = uint32(v)
		if v, err = int32At(cols[2], i); err != nil {
			return fail(colParent, err)
		}
		r.Parent = uint32(v)
		if r.Position, err = int32At(cols[3], i); err != nil {
			return fail(colPosition, err)
		}
		if err = hashAt(cols[4], i, &r.Hash); err != nil {
			return fail(colContentHash, err)
		}
		if r.Text, err = stringAt(cols[5], i); err != nil {
			return fail(colText, err)
		}
		if r.Embedding, err = floatsAt(cols[6], i); err != nil {
			return fail(colEmbedding, err)
		}
		if r.Event, err = stringAt(cols[7], i); err != nil {
			return fail(colEvent, err)
		}
		if r.At, err = millisAt(cols[8], i); err != nil {
			return fail(colAt, err)
		}
		var s int64
		if s, err = int64At(cols[9], i); err != nil {
			return fail(colCommitSeq, err)
		}
		r.CommitSeq = uint64(s)
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

var errNull = fmt.Errorf("null in a required column")

func stringAt(a arrow.Array, i int) (string, error) {
	if a.IsNull(i) {
		return "", errNull
	}
	switch c := a.(type) {
	case *array.String:
		return c.Value(i), nil
	case *array.LargeString:
		return c.Value(i), nil
	case *array.StringView:
		return c.Value(i), nil
	}
	return "", fmt.Errorf("arrow type %s, want string", a.DataType())
}

func int32At(a arrow.Array, i int) (int32, error) {
	if a.IsNull(i) {
		return 0, errNull
	}
	if c, ok := a.(*array.Int32); ok {
		return c.Value(i), nil
	}
	return 0, fmt.Errorf("arrow type %s, want int32", a.DataType())
}

func int64At(a arrow.Array, i int) (int64, error) {
	if a.IsNull(i) {
		return 0, errNull
	}
	if c, ok := a.(*array.Int64); ok {
		return c.Value(i), nil
	}
	return 0, fmt.Errorf("arrow type %s, want int64", a.DataType())
}

func hashAt(a arrow.Array, i int, dst *[32]byte) error {
	if a.IsNull(i) {
		return errNull
	}
	var b []byte
	switch c := a.(type) {
	case *array.FixedSizeBinary:
		b = c.Value(i)
	case *array.Binary:
		b = c.Value(i)
	case *array.LargeBinary:
		b = c.Value(i)
	default:
		return fmt.Errorf("arrow type %s, want fixed_size_binary(32)", a.DataType())
	}
	if len(b) != 32 {
		return fmt.Errorf("%d bytes, want 32", len(b))
	}
	copy(dst[:], b)
	return nil
}

func millisAt(a arrow.Array, i int) (int64, error) {
	if a.IsNull(i) {
		return 0, errNull
	}
	c, ok := a.(*array.Timestamp)
	if !ok {
		if l, ok := a.(*array.Int64); ok { // a table that stores at as long ms
			return l.Value(i), nil
		}
		return 0, fmt.Errorf("arrow type %s, want timestamp", a.DataType())
	}
	v := int64(c.Value(i))
	switch c.DataType().(*arrow.TimestampType).Unit {
	case arrow.Second:
		return v * 1000, nil
	case arrow.Millisecond:
		return v, nil
	case arrow.Microsecond:
		return floorDiv(v, 1000), nil
	default:
		return floorDiv(v, 1000000), nil
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floatsAt(a arrow.Array, i int) ([]float32, error) {
	if a.IsNull(i) {
		return nil, nil
	}
	var (
		vals       arrow.Array
		start, end int64
	)
	switch c := a.(type) {
	case *array.List:
		vals = c.ListValues()
		start, end = c.ValueOffsets(i)
	case *array.LargeList:
		vals = c.ListValues()
		start, end = c.ValueOffsets(i)
	case *array.FixedSizeList:
		vals = c.ListValues()
		start, end = c.ValueOffsets(i)
	default:
		return nil, fmt.Errorf("arrow type %s, want list<float>", a.DataType())
	}
	f, ok := vals.(*array.Float32)
	if !ok {
		return nil, fmt.Errorf("arrow type %s, want list<float>", a.DataType())
	}
	if start == end {
		return nil, nil
	}
	out := make([]float32, end-start)
	for j := start; j < end; j++ {
		if f.IsNull(int(j)) {
			return nil, fmt.Errorf("null element %d", j-start)
		}
		out[j-start] = f.Value(int(j))
	}
	return out, nil
}
