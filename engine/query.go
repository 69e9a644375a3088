package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/lakevec/lakevec/hnsw"
)

// Hit is one search result: a chunk version and its validity interval.
type Hit struct {
	DocID     string     `json:"doc_id"`
	ChunkKey  uint32     `json:"chunk_key"`
	Row       uint32     `json:"row"`
	Position  int        `json:"position"`
	Text      string     `json:"text"`
	Score     float32    `json:"score"` // cosine similarity
	ValidFrom time.Time  `json:"valid_from"`
	ValidTo   *time.Time `json:"valid_to,omitempty"` // nil while valid
}

// SearchOptions configure Search.
type SearchOptions struct {
	K int // default 5
	// Ef is the graph beam width; default max(64, 4k).
	Ef int
	// AsOf, if set, searches the chunk versions valid at that instant:
	// valid_from <= AsOf < valid_to. A version becomes visible at exactly
	// its valid time.
	AsOf *time.Time
	// Exact scans instead of walking a graph (ground truth for tests).
	Exact bool
}

// ErrBadQuery is returned for an empty query or k < 1.
var ErrBadQuery = errors.New("bad query")

// Search embeds query and returns the closest chunks: of the current
// versions (the hot index), or of the versions valid at AsOf (the history
// index, filtered by validity, with the planner's exact search when few
// versions were valid then).
func (k *KB) Search(ctx context.Context, query string, o SearchOptions) ([]Hit, error) {
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("%w: empty query text", ErrBadQuery)
	}
	// The query goes through the same embedding as chunks, including the
	// content-hash direction of a text the embedder finds no word in, so a
	// chunk of only symbols is found by its own text.
	vs, err := k.embedTexts(ctx, []string{query})
	if err != nil {
		return nil, fmt.Errorf("search: embed query: %w", err)
	}
	return k.SearchVector(ctx, vs[0], o)
}

// SearchVector is Search with the query already embedded.
func (k *KB) SearchVector(ctx context.Context, q []float32, o SearchOptions) ([]Hit, error) {
	if o.K == 0 {
		o.K = 5
	}
	if o.K < 0 {
		return nil, fmt.Errorf("%w: k = %d", ErrBadQuery, o.K)
	}
	if o.Ef == 0 {
		o.Ef = max(64, 4*o.K)
	}
	plan := hnsw.PlanAuto
	if o.Exact {
		plan = hnsw.PlanExact
	}
	k.mu.RLock()
	var rows []uint32
	var scores []float32
	if o.AsOf == nil {
		// Ids a batch has staged but not yet published (see applyIndexes)
		// map to no row and are skipped; if they took places among the k
		// best, the search is redone asking for that many more.
		for kk := o.K; ; {
			res, _, err := k.hot.SearchPlan(q, kk, max(o.Ef, kk), nil, plan)
			if err != nil && !errors.Is(err, hnsw.ErrEmpty) {
				k.mu.RUnlock()
				return nil, fmt.Errorf("search: %w", err)
			}
			rows, scores = rows[:0], scores[:0]
			skipped := 0
			for _, r := range res {
				if int(r.ID) >= len(k.hotRow) || k.hotRow[r.ID] == noRow {
					skipped++
					continue
				}
				if len(rows) < o.K {
					rows, scores = append(rows, k.hotRow[r.ID]), append(scores, 1-r.Distance)
				}
			}
			if skipped == 0 || len(rows) >= o.K || len(res) < kk {
				break
			}
			kk += skipped
		}
	} else {
		t := o.AsOf.UTC().UnixMilli()
		from, to := k.from, k.to
		allow := func(row uint32) bool { return int(row) < len(from) && from[row] <= t && t < to[row] }
		res, _, err := k.histIdx.SearchPlan(q, o.K, o.Ef, allow, plan)
		if err != nil && !errors.Is(err, hnsw.ErrEmpty) {
			k.mu.RUnlock()
			return nil, fmt.Errorf("search: %w", err)
		}
		for _, r := range res {
			rows, scores = append(rows, r.ID), append(scores, 1-r.Distance)
		}
	}
	// A hit's validity interval is the one the search saw, from the
	// published arrays: the store may already hold a later batch that
	// closed the row (it is written before the batch is published).
	// Everything else of a row version never changes.
	ivs := make([][2]int64, len(rows))
	for i, row := range rows {
		ivs[i] = [2]int64{k.from[row], k.to[row]}
	}
	k.mu.RUnlock()
	hits := make([]Hit, 0, len(rows))
	err := k.db.View(func(txn *badger.Txn) error {
		for i, row := range rows {
			var cv chunkVersion
			ok, err := getRecord(txn, rowKey(k.coll, row), kindRow, &cv)
			if err != nil {
				return err
			}
			if !ok {
				return &CorruptStoreError{Key: string(rowKey(k.coll, row)), Reason: "indexed row missing from the store"}
			}
			cv.From, cv.To = ivs[i][0], ivs[i][1]
			hits = append(hits, hitOf(cv, scores[i]))
		}
		return nil
	})
	return hits, err
}

func hitOf(cv chunkVersion, score float32) Hit {
	h := Hit{DocID: cv.DocID, ChunkKey: cv.Key, Row: cv.Row, Position: cv.Position, Text: cv.Text, Score: score,
		ValidFrom: time.UnixMilli(cv.From).UTC()}
	if cv.To != openEnd {
		t := time.UnixMilli(cv.To).UTC()
		h.ValidTo = &t
	}
	return h
}

// VersionInfo is one version of a document.
type VersionInfo struct {
	Seq    uint64         `json:"seq"`
	At     time.Time      `json:"at"`
	Op     string         `json:"op"`
	Chunks int            `json:"chunks"`
	Counts map[string]int `json:"counts"`
}

// ErrNoDocument is returned for a document id the collection never held
// (or did not hold at the time asked).
var ErrNoDocument = errors.New("no such document")

// History lists the versions of a document, oldest first.
func (k *KB) History(docID string) ([]VersionInfo, error) {
	var out []VersionInfo
	err := k.db.View(func(txn *badger.Txn) error {
		return scanRecords(txn, docVerPrefix(k.coll, docID), nil, kindDocVer, func(_ []byte, v *docVersion) error {
			out = append(out, VersionInfo{Seq: v.Seq, At: time.UnixMilli(v.At).UTC(), Op: v.Op, Chunks: len(v.Chunks), Counts: v.Counts})
			return nil
		})
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("%w: %q", ErrNoDocument, docID)
	}
	return out, err
}

// versionAt returns the version of docID in force at t (nil: latest).
func (k *KB) versionAt(txn *badger.Txn, docID string, t *time.Time) (*docVersion, error) {
	var cur *docVersion
	err := scanRecords(txn, docVerPrefix(k.coll, docID), nil, kindDocVer, func(_ []byte, v *docVersion) error {
		if t != nil && v.At > t.UTC().UnixMilli() {
			return errStop
		}
		cur = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cur == nil || cur.Op == "delete" {
		when := "now"
		if t != nil {
			when = "at " + t.UTC().Format(time.RFC3339)
		}
		return nil, fmt.Errorf("%w: %q %s", ErrNoDocument, docID, when)
	}
	return cur, nil
}

// Show rebuilds the text of a document as of t (nil: now) from its stored
// chunks. It equals the normalised text that was ingested.
func (k *KB) Show(docID string, t *time.Time) (string, error) {
	var out strings.Builder
	err := k.db.View(func(txn *badger.Txn) error {
		v, err := k.versionAt(txn, docID, t)
		if err != nil {
			return err
		}
		for _, c := range v.Chunks {
			var cv chunkVersion
			ok, err := getRecord(txn, rowKey(k.coll, c.Row), kindRow, &cv)
			if err != nil {
				return err
			}
			if !ok {
				return &CorruptStoreError{Key: string(rowKey(k.coll, c.Row)), Reason: "row of a document version is missing"}
			}
			out.WriteString(cv.Text)
			out.WriteString(c.Sep)
		}
		return nil
	})
	return out.String(), err
}

// Stats describes the collection.
type Stats struct {
	Collection string `json:"collection"`
	ModelID    string `json:"model_id"`
	Dim        int    `json:"dim"`
	Rows       int    `json:"rows"`    // chunk versions ever
	Current    int    `json:"current"` // chunk versions valid now
	Batches    uint64 `json:"batches"`
	LastAt     string `json:"last_at,omitempty"`
}

// WALBacklog returns how many logged batches are not yet marked done: 0
// when idle, 1 while a batch commits; more means batches wait for
// recovery (a lake the commit could not reach).
func (k *KB) WALBacklog() (int, error) {
	recs, err := k.log.Pending()
	return len(recs), err
}

// Stats returns counts for the collection.
func (k *KB) Stats() Stats {
	k.mu.RLock()
	defer k.mu.RUnlock()
	s := Stats{Collection: k.coll, ModelID: k.meta.ModelID, Dim: k.meta.Dim, Rows: len(k.from), Current: len(k.rowHot), Batches: k.meta.AppliedSeq}
	if k.meta.LastAt != 0 {
		s.LastAt = fmtMs(k.meta.LastAt)
	}
	return s
}

// Verify checks that the lake, the store and the indexes agree: every
// chunk version of the store is in the lake with the same interval, and
// the reverse; every row is in the history index and exactly the rows
// valid now are in the hot index. It returns one line per disagreement.
func (k *KB) Verify(ctx context.Context) ([]string, error) {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	var problems []string
	type iv struct{ from, to int64 }
	lake := map[string]iv{} // doc\x00key\x00hash -> interval
	err := k.hist.Scan(ctx, func(r HistoryRow) error {
		if r.Event != "open" && r.Event != "close" {
			return nil
		}
		id := fmt.Sprintf("%s\x00%d\x00%x", r.DocID, r.ChunkKey, r.Hash)
		v, ok := lake[id]
		if !ok {
			v = iv{to: openEnd}
		}
		if r.Event == "open" {
			v.from = r.At
		} else {
			v.to = r.At
		}
		lake[id] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: scan the lake: %w", err)
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	seen := 0
	err = k.db.View(func(txn *badger.Txn) error {
		return scanRecords(txn, rowPrefix(k.coll), nil, kindRow, func(_ []byte, cv *chunkVersion) error {
			seen++
			id := fmt.Sprintf("%s\x00%d\x00%s", cv.DocID, cv.Key, cv.Hash)
			if v, ok := lake[id]; !ok {
				problems = append(problems, fmt.Sprintf("row %d (%s chunk %d) is in the store but not in the lake", cv.Row, cv.DocID, cv.Key))
			} else if v.from != cv.From || v.to != cv.To {
				problems = append(problems, fmt.Sprintf("row %d (%s chunk %d): store says [%s, %s), lake says [%s, %s)", cv.Row, cv.DocID, cv.Key, fmtMs(cv.From), fmtMs(cv.To), fmtMs(v.from), fmtMs(v.to)))
			}
			delete(lake, id)
			if !k.histIdx.Contains(cv.Row) {
				problems = append(problems, fmt.Sprintf("row %d is not in the history index", cv.Row))
			}
			_, inHot := k.rowHot[cv.Row]
			if inHot != (cv.To == openEnd) {
				problems = append(problems, fmt.Sprintf("row %d: valid now %v, in the hot index %v", cv.Row, cv.To == openEnd, inHot))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	for id := range lake {
		parts := strings.SplitN(id, "\x00", 3)
		problems = append(problems, fmt.Sprintf("%s chunk %s is in the lake but not in the store", parts[0], parts[1]))
	}
	if k.histIdx.Len() != seen {
		problems = append(problems, fmt.Sprintf("history index holds %d rows, the store %d", k.histIdx.Len(), seen))
	}
	return problems, nil
}

// Docs returns the ids of the documents present now, sorted.
func (k *KB) Docs() ([]string, error) {
	var out []string
	err := k.db.View(func(txn *badger.Txn) error {
		return scanRecords(txn, docPrefix(k.coll), nil, kindDoc, func(_ []byte, st *docState) error {
			if !st.Deleted {
				out = append(out, st.DocID)
			}
			return nil
		})
	})
	return out, err
}

// DiffLine is one paragraph of a diff between two versions.
type DiffLine struct {
	Op   string `json:"op"` // "=", "+", "-"
	Text string `json:"text"`
}

// Diff compares the chunks of a document at two times, in order: "="
// for chunks in both, "-" only at from, "+" only at to.
func (k *KB) Diff(docID string, from, to time.Time) ([]DiffLine, error) {
	a, errA := k.chunkTexts(docID, &from)
	b, errB := k.chunkTexts(docID, &to)
	if errA != nil && errB != nil {
		return nil, errA
	}
	// LCS over chunk texts.
	n, m := len(a), len(b)
	dp := make([][]int, n+1)
	for i := range dp {
		dp[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	var out []DiffLine
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out = append(out, DiffLine{"=", a[i]})
			i++
			j++
		case i < n && (j == m || dp[i+1][j] >= dp[i][j+1]):
			out = append(out, DiffLine{"-", a[i]})
			i++
		default:
			out = append(out, DiffLine{"+", b[j]})
			j++
		}
	}
	return out, nil
}

func (k *KB) chunkTexts(docID string, t *time.Time) ([]string, error) {
	var out []string
	err := k.db.View(func(txn *badger.Txn) error {
		v, err := k.versionAt(txn, docID, t)
		if err != nil {
			return err
		}
		for _, c := range v.Chunks {
			var cv chunkVersion
			if _, err := getRecord(txn, rowKey(k.coll, c.Row), kindRow, &cv); err != nil {
				return err
			}
			out = append(out, cv.Text)
		}
		return nil
	})
	return out, err
}

// CompareEntry is one result of Compare.
type CompareEntry struct {
	Mark     string `json:"mark"` // "same", "added", "removed", "changed"
	DocID    string `json:"doc_id"`
	ChunkKey uint32 `json:"chunk_key"`
	Text     string `json:"text"`
	Before   *Hit   `json:"before,omitempty"`
	After    *Hit   `json:"after,omitempty"`
}

// Compare searches as of two times. A result at the second time is "same"
// when the same chunk version was returned at the first, "changed" when a
// version of the same chunk lineage (its parent) was, else "added"; a
// result only at the first time is "removed".
func (k *KB) Compare(ctx context.Context, query string, t1, t2 time.Time, n int) ([]CompareEntry, error) {
	a, err := k.Search(ctx, query, SearchOptions{K: n, AsOf: &t1})
	if err != nil {
		return nil, err
	}
	b, err := k.Search(ctx, query, SearchOptions{K: n, AsOf: &t2})
	if err != nil {
		return nil, err
	}
	byRow := map[uint32]*Hit{}
	for i := range a {
		byRow[a[i].Row] = &a[i]
	}
	used := map[uint32]bool{}
	var out []CompareEntry
	for i := range b {
		h := &b[i]
		e := CompareEntry{DocID: h.DocID, ChunkKey: h.ChunkKey, Text: h.Text, After: h, Mark: "added"}
		if p, ok := byRow[h.Row]; ok {
			e.Mark, e.Before = "same", p
			used[h.Row] = true
		} else {
			for j := range a {
				if !used[a[j].Row] && a[j].DocID == h.DocID && k.isAncestor(a[j].Row, h.Row) {
					e.Mark, e.Before = "changed", &a[j]
					used[a[j].Row] = true
					break
				}
			}
		}
		out = append(out, e)
	}
	for i := range a {
		if !used[a[i].Row] {
			out = append(out, CompareEntry{Mark: "removed", DocID: a[i].DocID, ChunkKey: a[i].ChunkKey, Text: a[i].Text, Before: &a[i]})
		}
	}
	return out, nil
}

// isAncestor reports whether row old is on the parent chain of row cur:
// a modified chunk names the key it replaced, and a key names one version
// within its document.
func (k *KB) isAncestor(old, cur uint32) bool {
	found := false
	k.db.View(func(txn *badger.Txn) error {
		var o, c chunkVersion
		if ok, err := getRecord(txn, rowKey(k.coll, old), kindRow, &o); !ok || err != nil {
			return err
		}
		if ok, err := getRecord(txn, rowKey(k.coll, cur), kindRow, &c); !ok || err != nil || c.DocID != o.DocID {
			return err
		}
		rowOfKey := map[uint32]uint32{}
		if err := scanRecords(txn, docVerPrefix(k.coll, c.DocID), nil, kindDocVer, func(_ []byte, v *docVersion) error {
			for _, ch := range v.Chunks {
				rowOfKey[ch.Key] = ch.Row
			}
			return nil
		}); err != nil {
			return err
		}
		for steps := 0; c.Parent != 0 && steps < len(rowOfKey); steps++ {
			if c.Parent == o.Key {
				found = true
				return nil
			}
			row, ok := rowOfKey[c.Parent]
			if !ok {
				return nil
			}
			if ok, err := getRecord(txn, rowKey(k.coll, row), kindRow, &c); !ok || err != nil {
				return err
			}
		}
		return nil
	})
	return found
}
