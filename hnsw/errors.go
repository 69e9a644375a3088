package hnsw

import (
	"errors"
	"fmt"
)

// Errors callers can test for with errors.Is. Returned errors wrap these
// with the details (dimension found, component index, id).
var (
	ErrDimension  = errors.New("wrong vector dimension")
	ErrNonFinite  = errors.New("vector has a NaN or infinite component")
	ErrZeroVector = errors.New("zero vector has no direction under cosine")
	ErrBadK       = errors.New("k must be at least 1")
	ErrEmpty      = errors.New("index holds no live vectors")
	ErrNotFound   = errors.New("id not in index")
	ErrBadID      = errors.New("id out of range")
	ErrCorrupt    = errors.New("corrupt index file")
)

// CorruptionError describes where a saved index failed to decode. It
// matches ErrCorrupt under errors.Is.
type CorruptionError struct {
	Section string // "header", "vectors", "links0", ...
	Offset  int64  // byte offset in the file where the section starts
	Reason  string
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("corrupt index file: section %s at byte %d: %s", e.Section, e.Offset, e.Reason)
}

// Is reports ErrCorrupt as a match.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }
