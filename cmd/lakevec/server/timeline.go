package server

import (
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/lakevec/lakevec/engine"
)

// The timeline is what a client needs to move through the collection's
// history: the valid times at which documents changed, oldest first. The
// web UI's "as of" slider steps through them.

type timelineChange struct {
	At time.Time `json:"at"`
	// Docs is how many documents got a version (or were deleted) then.
	Docs int `json:"docs"`
}

type timelineResponse struct {
	Collection string     `json:"collection"`
	First      *time.Time `json:"first,omitempty"` // absent: no versions yet
	Last       *time.Time `json:"last,omitempty"`
	// Changes are the distinct change times, oldest first, of the
	// documents present now (the engine lists no deleted documents; see
	// the package doc).
	Changes []timelineChange `json:"changes"`
}

// timelineCache keeps the last timeline, valid while the collection's
// batch count is unchanged (every ingest or delete adds a batch).
type timelineCache struct {
	mu      sync.Mutex
	batches uint64
	coll    string
	resp    *timelineResponse
}

func (s *Server) timelineOf(r *http.Request, kb KB) (any, error) {
	st := kb.Stats()
	c := &s.timeline
	c.mu.Lock()
	defer c.mu.Unlock() // one computation at a time; the others wait for it
	if c.resp != nil && c.batches == st.Batches && c.coll == st.Collection {
		return *c.resp, nil
	}
	ids, err := kb.Docs()
	if err != nil {
		return nil, err
	}
	byAt := map[int64]int{}
	for _, id := range ids {
		if err := r.Context().Err(); err != nil {
			return nil, err
		}
		vs, err := kb.History(id)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			byAt[v.At.UnixMilli()]++
		}
	}
	resp := timelineResponse{Collection: st.Collection, Changes: []timelineChange{}}
	for ms, n := range byAt {
		resp.Changes = append(resp.Changes, timelineChange{At: time.UnixMilli(ms).UTC(), Docs: n})
	}
	sort.Slice(resp.Changes, func(i, j int) bool { return resp.Changes[i].At.Before(resp.Changes[j].At) })
	if n := len(resp.Changes); n > 0 {
		first, last := resp.Changes[0].At, resp.Changes[n-1].At
		resp.First, resp.Last = &first, &last
	}
	c.batches, c.coll, c.resp = st.Batches, st.Collection, &resp
	return resp, nil
}

// historyVersion is one version of a document with its change size.
type historyVersion struct {
	Seq    uint64         `json:"seq"`
	At     time.Time      `json:"at"`
	Op     string         `json:"op"` // create, update, delete
	Chunks int            `json:"chunks"`
	Counts map[string]int `json:"counts"` // chunks added, removed, modified, moved, unchanged
	// Changed is how many chunks this version added, removed, modified or
	// moved: the size of the change (every other count but "unchanged").
	Changed int `json:"changed"`
}

func historyVersions(vs []engine.VersionInfo) []historyVersion {
	out := make([]historyVersion, 0, len(vs))
	for _, v := range vs {
		h := historyVersion{Seq: v.Seq, At: v.At, Op: v.Op, Chunks: v.Chunks, Counts: v.Counts}
		if h.Counts == nil {
			h.Counts = map[string]int{}
		}
		for k, n := range v.Counts {
			if k != "unchanged" {
				h.Changed += n
			}
		}
		out = append(out, h)
	}
	return out
}
