package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSearchWhileBatchesAreInserted runs searches while batches that edit
// documents are inserted into the graphs, which no longer happens under
// the collection's lock (applyIndexes stages, then publishes). Every hit
// of a current search must be a version valid now, every hit of an as-of
// search valid at that time, and after each acknowledged ingest its new
// paragraphs must be found: a staged node is never returned, and a hot id
// reused from a deleted node is never mapped to the deleted node's row.
// The edits close enough rows that the hot graph's repairs hand freed ids
// back to new inserts.
func TestSearchWhileBatchesAreInserted(t *testing.T) {
	ctx := context.Background()
	// Checkpoints every 4 batches are written in the background while
	// searches and the next batches run.
	k, err := Open(ctx, t.TempDir(), Options{CheckpointEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	docs, batches := 40, 30
	if testing.Short() {
		docs, batches = 20, 12
	}
	para := func(d, b, p int) string {
		return fmt.Sprintf("Document %d paragraph %d as written by batch %d, words w%dx%d and v%dx%dx%d here.", d, p, b, d, b, d, p, b)
	}
	docText := func(d, b int) string {
		return para(d, b, 0) + "\n\n" + para(d, b, 1) + "\n\n" + para(d, 0, 2) // paragraph 2 never changes
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var in []DocInput
	for d := range docs {
		in = append(in, DocInput{DocID: fmt.Sprintf("d%d.md", d), Text: docText(d, 0)})
	}
	if _, err := k.Ingest(ctx, in, t0); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	var searches atomic.Int64
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for !stop.Load() {
				d, b := r.IntN(docs), r.IntN(batches+1)
				q := para(d, b, r.IntN(2))
				hits, err := k.Search(ctx, q, SearchOptions{K: 10})
				if err != nil {
					errs <- err
					return
				}
				for _, h := range hits {
					if h.ValidTo != nil {
						errs <- fmt.Errorf("current search returned %s row %d, valid until %v", h.DocID, h.Row, h.ValidTo)
						return
					}
				}
				at := t0.Add(time.Duration(r.IntN(batches+1)) * time.Hour).Add(time.Minute)
				hits, err = k.Search(ctx, q, SearchOptions{K: 10, AsOf: &at})
				if err != nil {
					errs <- err
					return
				}
				for _, h := range hits {
					if h.ValidFrom.After(at) || (h.ValidTo != nil && !h.ValidTo.After(at)) {
						errs <- fmt.Errorf("as-of %v search returned %s row %d valid [%v, %v)", at, h.DocID, h.Row, h.ValidFrom, h.ValidTo)
						return
					}
				}
				searches.Add(2)
			}
		}()
	}
	for b := 1; b <= batches && len(errs) == 0; b++ {
		in = in[:0]
		for d := range docs {
			if (d+b)%2 == 0 { // half the documents change in each batch
				in = append(in, DocInput{DocID: fmt.Sprintf("d%d.md", d), Text: docText(d, b)})
			}
		}
		if _, err := k.Ingest(ctx, in, t0.Add(time.Duration(b)*time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Acknowledged means visible: the batch's new paragraphs are found.
		for _, di := range in[:min(3, len(in))] {
			var d int
			fmt.Sscanf(di.DocID, "d%d.md", &d)
			want := para(d, b, 1)
			hits, err := k.Search(ctx, want, SearchOptions{K: 1})
			if err != nil || len(hits) != 1 || !strings.Contains(hits[0].Text, fmt.Sprintf("batch %d,", b)) || hits[0].DocID != di.DocID {
				t.Fatalf("after batch %d: search for %q: %+v %v", b, want, hits, err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if searches.Load() == 0 {
		t.Fatal("no search ran during the ingests")
	}
	if st := k.Stats(); st.Current != 3*docs {
		t.Fatalf("%d current chunks, want %d", st.Current, 3*docs)
	}
	if problems, err := k.Verify(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", err, problems)
	}
	t.Logf("%d searches ran during %d batches", searches.Load(), batches)
}
