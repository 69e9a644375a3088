package engine

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// HistoryLine is one line of a history import file (JSON Lines, optionally
// gzipped): a document version at a time.
type HistoryLine struct {
	DocID string `json:"doc_id"`
	TS    string `json:"ts"` // RFC 3339
	Op    string `json:"op"` // "upsert" or "delete"
	Text  string `json:"text"`
}

// ImportReport summarises an import.
type ImportReport struct {
	Lines       int `json:"lines"`
	Batches     int `json:"batches"`
	Chunks      int `json:"chunks"`       // chunks of every version read
	NewVersions int `json:"new_versions"` // chunk versions created
	Embedded    int `json:"embedded"`     // embeddings computed
	// FullReembed is what re-embedding every chunk of every version would
	// have cost: the figure the cache and the alignment save.
	FullReembed int `json:"full_reembed"`
}

// ImportHistoryFile imports a .jsonl or .jsonl.gz history file.
func (k *KB) ImportHistoryFile(ctx context.Context, path string, progress func(ImportReport)) (ImportReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return ImportReport{}, fmt.Errorf("import %s: %w", path, err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return ImportReport{}, fmt.Errorf("import %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	rep, err := k.ImportHistory(ctx, r, progress)
	if err != nil {
		return rep, fmt.Errorf("import %s: %w", path, err)
	}
	return rep, nil
}

// ImportHistory ingests every version of a history stream at its time, in
// order: consecutive lines with the same time form one batch. Lines must
// be in non-decreasing time order. A bad line stops the import with an
// error naming it; batches before it stay committed.
func (k *KB) ImportHistory(ctx context.Context, r io.Reader, progress func(ImportReport)) (ImportReport, error) {
	var rep ImportReport
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var pending []DocInput
	var pendingAt time.Time
	lineNo := 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		br, err := k.Ingest(ctx, pending, pendingAt)
		if err != nil {
			return err
		}
		rep.Batches++
		rep.Chunks += br.Chunks
		rep.FullReembed += br.Chunks
		rep.NewVersions += br.NewVersions
		rep.Embedded += br.Embedded
		pending = pending[:0]
		if progress != nil {
			progress(rep)
		}
		return nil
	}
	for sc.Scan() {
		lineNo++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l HistoryLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return rep, fmt.Errorf("line %d: %w", lineNo, err)
		}
		at, err := time.Parse(time.RFC3339Nano, l.TS)
		if err != nil {
			return rep, fmt.Errorf("line %d: ts %q: %w", lineNo, l.TS, err)
		}
		if l.DocID == "" {
			return rep, fmt.Errorf("line %d: empty doc_id", lineNo)
		}
		if l.Op != "upsert" && l.Op != "delete" {
			return rep, fmt.Errorf("line %d: op %q (want upsert or delete)", lineNo, l.Op)
		}
		if len(pending) > 0 && at.Before(pendingAt) {
			return rep, fmt.Errorf("line %d: ts %s is before the previous line's %s: lines must be in time order", lineNo, l.TS, pendingAt.Format(time.RFC3339))
		}
		dup := false
		for _, p := range pending {
			dup = dup || p.DocID == l.DocID
		}
		if len(pending) > 0 && (!at.Equal(pendingAt) || dup) {
			if err := flush(); err != nil {
				return rep, fmt.Errorf("line %d: %w", lineNo, err)
			}
		}
		pendingAt = at
		pending = append(pending, DocInput{DocID: l.DocID, Text: l.Text, Delete: l.Op == "delete"})
		rep.Lines++
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	return rep, flush()
}
