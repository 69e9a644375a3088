package embed

import (
	"errors"
	"fmt"
)

// Errors callers can test for with errors.Is. Returned errors are the typed
// errors below, which carry the details.
var (
	// ErrModelMismatch: a collection's vectors come from another model.
	ErrModelMismatch = errors.New("embedding model mismatch")
	// ErrEmptyText: a text has nothing to embed.
	ErrEmptyText = errors.New("text has nothing to embed")
)

// ModelMismatchError says that a collection was embedded with one model and
// is being opened with another. Vectors of two models live in unrelated
// spaces, so the collection must be re-embedded (`lakevec reembed`) or opened
// with the model it was built with. It matches ErrModelMismatch under
// errors.Is.
type ModelMismatchError struct {
	Stored     string // the model id recorded with the collection
	Configured string // the model id of the embedder in use
}

// Error names both model ids and the command that re-embeds.
func (e *ModelMismatchError) Error() string {
	return fmt.Sprintf("embedding model mismatch: the collection was embedded with %q but the configured embedder is %q; "+
		"vectors of different models cannot be compared: run `lakevec reembed` to re-embed it with %q, or configure the embedder for %q",
		e.Stored, e.Configured, e.Configured, e.Stored)
}

// Is reports ErrModelMismatch as a match.
func (e *ModelMismatchError) Is(target error) bool { return target == ErrModelMismatch }

// CheckModel compares the model id stored with a collection to the model id
// of the configured embedder (Embedder.ModelID). It returns nil when they are
// equal and a *ModelMismatchError otherwise; an empty id on either side is a
// mismatch too, so a collection records its model id when it is created
// rather than calling CheckModel.
func CheckModel(stored, configured string) error {
	if stored == configured && stored != "" {
		return nil
	}
	return &ModelMismatchError{Stored: stored, Configured: configured}
}

// EmptyTextError says that texts[Index] has nothing an embedder can embed:
// it is empty, or (for the lexical embedder) has no letter or digit, so its
// vector would be zero and could not be normalised. It matches ErrEmptyText
// under errors.Is.
type EmptyTextError struct {
	Index int    // position in the texts passed to Embed
	Why   string // what is missing, e.g. "it is empty"
}

// Error names the text by its index and says what is missing.
func (e *EmptyTextError) Error() string {
	return fmt.Sprintf("texts[%d] has nothing to embed: %s", e.Index, e.Why)
}

// Is reports ErrEmptyText as a match.
func (e *EmptyTextError) Is(target error) bool { return target == ErrEmptyText }
