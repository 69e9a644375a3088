package history

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// TestS3Warehouse runs the table on an in-process fake S3 (path-style,
// static keys). gofakes3 is a fake: the behaviour that matters for
// durability must also be checked against a real server (MinIO,
// versitygw) in an integration run.
func TestS3Warehouse(t *testing.T) {
	ctx := t.Context()
	backend := s3mem.New()
	if err := backend.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()

	cfg := DefaultConfig(t.TempDir())
	cfg.Warehouse = "s3://lake/warehouse"
	cfg.S3 = S3Options{Endpoint: srv.URL, Region: "us-east-1", AccessKeyID: "test-key", SecretAccessKey: "test-secret"}
	tb := openTest(t, cfg)
	batches := map[uint64][]Row{}
	for id := uint64(1); id <= 3; id++ {
		batches[id] = testRows(7, id, 4)
		if _, err := tb.Commit(ctx, id, batches[id]); err != nil {
			t.Fatalf("commit %d: %v", id, err)
		}
	}
	checkRows(t, tb, batches)
	loc, err := tb.Location(ctx)
	if err != nil || !strings.HasPrefix(loc, "s3://lake/warehouse/") {
		t.Fatalf("location = %q, %v", loc, err)
	}
	if before, after, err := tb.Compact(ctx); err != nil || before != 3 || after != 1 {
		t.Fatalf("compact %d -> %d, %v", before, after, err)
	}
	s2, _, _ := tb.FindBatch(ctx, 2)
	if id, err := tb.Commit(ctx, 2, batches[2]); err != nil || id != s2 {
		t.Fatalf("re-commit = %d, %v; want %d", id, err, s2)
	}
	// Past minMergeManifests and keptMetadataFiles commits, manifests are
	// merged and old metadata objects deleted through the S3 IO too.
	n := uint64(minMergeManifests + 8)
	for id := uint64(4); id <= n; id++ {
		batches[id] = testRows(7, id, 2)
		if _, err := tb.Commit(ctx, id, batches[id]); err != nil {
			t.Fatalf("commit %d: %v", id, err)
		}
	}
	tb.Close()
	tb2 := openTest(t, cfg)
	checkRows(t, tb2, batches)
	objs, err := backend.ListBucket("lake", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil || len(objs.Contents) == 0 {
		t.Fatalf("no objects in the fake bucket: %v", err)
	}
	metas := 0
	for _, o := range objs.Contents {
		if strings.HasSuffix(o.Key, ".metadata.json") {
			metas++
		}
	}
	if metas == 0 || metas > keptMetadataFiles+1 {
		t.Fatalf("%d metadata objects after %d commits, want 1..%d", metas, n, keptMetadataFiles+1)
	}
}
