package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func checkpointSeq(t *testing.T, dir string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index", "CHECKPOINT"))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var cp checkpointFile
	if err := json.Unmarshal(b, &cp); err != nil {
		t.Fatal(err)
	}
	return cp.Seq
}

// A checkpoint made due by a batch is written after that batch is
// acknowledged, covers exactly the applied batches, and a restart loads it
// and replays only what came after; Close with a checkpoint still pending
// writes the final one and returns.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k, err := Open(ctx, dir, Options{CheckpointEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	try := func(k *KB, i int) error {
		text := fmt.Sprintf("Paragraph of version %d, long enough to be a chunk of its own, with word w%d.", i, i)
		_, err := k.Ingest(ctx, []DocInput{{DocID: fmt.Sprintf("d%d.md", i%4), Text: text}}, t0.Add(time.Duration(i)*time.Hour))
		return err
	}
	ingest := func(k *KB, i int) {
		t.Helper()
		if err := try(k, i); err != nil {
			t.Fatal(err)
		}
	}
	// The checkpoint is held back until the ingest that made it due has
	// returned: written inline, the ingest would never return.
	release := make(chan struct{})
	k.ckptHook = func() { <-release }
	for i := 1; i <= 2; i++ {
		ingest(k, i)
	}
	returned := make(chan error, 1)
	go func() { returned <- try(k, 3) }()
	select {
	case err := <-returned:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the ingest that made a checkpoint due waited for it")
	}
	if got := checkpointSeq(t, dir); got != 0 {
		t.Fatalf("checkpoint of batch %d written before the ingest returned", got)
	}
	close(release)
	k.ckptWG.Wait()
	k.ckptHook = nil
	if got := checkpointSeq(t, dir); got != 3 {
		t.Fatalf("after 3 batches with CheckpointEvery 3 the checkpoint covers batch %d, want 3", got)
	}
	if k.sinceCheckpoint != 0 {
		t.Fatalf("batches since the checkpoint %d, want 0", k.sinceCheckpoint)
	}
	for i := 4; i <= 6; i++ { // the sixth makes one due; Close may find it pending
		ingest(k, i)
	}
	stats := k.Stats()
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if got := checkpointSeq(t, dir); got != 6 {
		t.Fatalf("after Close the checkpoint covers batch %d, want 6", got)
	}
	if err := k.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	k, err = Open(ctx, dir, Options{CheckpointEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if got := k.Stats(); got != stats {
		t.Fatalf("after restart %+v, before %+v", got, stats)
	}
	for i := 3; i <= 6; i++ {
		q := fmt.Sprintf("Paragraph of version %d, long enough to be a chunk of its own, with word w%d.", i, i)
		hits, err := k.Search(ctx, q, SearchOptions{K: 1})
		if err != nil || len(hits) != 1 || hits[0].Text != q {
			t.Fatalf("version %d after restart: %+v %v", i, hits, err)
		}
	}
}
