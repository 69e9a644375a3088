package history

import (
	"fmt"

	"github.com/apache/iceberg-go"
)

// Column names of the history table. Lookups are by name: Iceberg may
// assign other field ids when it creates the table.
const (
	colDocID       = "doc_id"
	colChunkKey    = "chunk_key"
	colParent      = "parent"
	colPosition    = "position"
	colContentHash = "content_hash"
	colText        = "text"
	colEmbedding   = "embedding"
	colEvent       = "event"
	colAt          = "at"
	colCommitSeq   = "commit_seq"
)

// tableSchema is the Iceberg schema of a new history table.
//
//   - chunk_key and parent hold the uint32 bit pattern in a signed int, and
//     commit_seq the uint64 bit pattern in a long: values ≥ 2^31 (2^63)
//     read as negative in SQL engines and round-trip exactly here.
//   - at is a timestamptz (microseconds, UTC) holding whole milliseconds,
//     so SQL engines show a date; Row.At is milliseconds.
//   - embedding is list<float> (no fixed-size list exists in Iceberg, and
//     Arrow fixed_size_list crashes iceberg-go's Append); null when the
//     row carries no vector.
func tableSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: colDocID, Type: iceberg.PrimitiveTypes.String, Required: true,
			Doc: "document id"},
		iceberg.NestedField{ID: 2, Name: colChunkKey, Type: iceberg.PrimitiveTypes.Int32, Required: true,
			Doc: "chunk key within the document (uint32 bit pattern)"},
		iceberg.NestedField{ID: 3, Name: colParent, Type: iceberg.PrimitiveTypes.Int32, Required: true,
			Doc: "chunk key this chunk was derived from, 0 = none (uint32 bit pattern)"},
		iceberg.NestedField{ID: 4, Name: colPosition, Type: iceberg.PrimitiveTypes.Int32, Required: true,
			Doc: "position of the chunk in the document"},
		iceberg.NestedField{ID: 5, Name: colContentHash, Type: iceberg.FixedTypeOf(32), Required: true,
			Doc: "SHA-256 of the normalised chunk text"},
		iceberg.NestedField{ID: 6, Name: colText, Type: iceberg.PrimitiveTypes.String, Required: true,
			Doc: "chunk text"},
		iceberg.NestedField{ID: 7, Name: colEmbedding, Required: false,
			Type: &iceberg.ListType{ElementID: 11, Element: iceberg.PrimitiveTypes.Float32, ElementRequired: true},
			Doc:  "embedding vector, null when absent"},
		iceberg.NestedField{ID: 8, Name: colEvent, Type: iceberg.PrimitiveTypes.String, Required: true,
			Doc: "open: the chunk version becomes valid at `at`; close: it stops being valid at `at`"},
		iceberg.NestedField{ID: 9, Name: colAt, Type: iceberg.PrimitiveTypes.TimestampTz, Required: true,
			Doc: "valid_from (open) or valid_to (close), whole milliseconds"},
		iceberg.NestedField{ID: 10, Name: colCommitSeq, Type: iceberg.PrimitiveTypes.Int64, Required: true,
			Doc: "lakevec batch id (WAL sequence number, uint64 bit pattern)"},
	)
}

// checkSchema verifies that an existing table has every column with the
// expected type, so a table created by someone else, or by a future
// version with an incompatible change, is refused with a clear message
// instead of failing mid-commit. Extra columns are allowed (they read as
// null for our rows).
func checkSchema(ident string, sc *iceberg.Schema) error {
	want := tableSchema()
	for _, wf := range want.Fields() {
		got, ok := sc.FindFieldByName(wf.Name)
		if !ok {
			return fmt.Errorf("history table %s: column %s is missing", ident, wf.Name)
		}
		if !got.Type.Equals(wf.Type) && !sameListOfFloat(got.Type, wf.Type) {
			return fmt.Errorf("history table %s: column %s has type %s, want %s", ident, wf.Name, got.Type, wf.Type)
		}
		if got.Required && !wf.Required {
			return fmt.Errorf("history table %s: column %s is required, want optional", ident, wf.Name)
		}
	}
	return nil
}

// sameListOfFloat accepts list<float> whatever its element id and element
// nullability (ids are reassigned on create; element-required only
// tightens what we write).
func sameListOfFloat(got, want iceberg.Type) bool {
	g, ok1 := got.(*iceberg.ListType)
	w, ok2 := want.(*iceberg.ListType)
	return ok1 && ok2 && g.Element.Equals(w.Element)
}
