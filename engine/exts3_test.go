package engine

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/parquet-go/parquet-go"

	"github.com/lakevec/lakevec/bench/gen"
	"github.com/lakevec/lakevec/lake"
)

// s3Target is an S3 server for a test: the real one scripts/ci-s3.sh
// starts (LAKEVEC_TEST_S3_ENDPOINT), else an in-process fake.
func s3Target(t *testing.T) (lake.S3Options, string, string, *s3.Client) {
	t.Helper()
	opts := lake.S3Options{Region: "us-east-1", AccessKeyID: "test-key", SecretAccessKey: "test-secret"}
	bucket := os.Getenv("LAKEVEC_TEST_S3_BUCKET")
	if ep := os.Getenv("LAKEVEC_TEST_S3_ENDPOINT"); ep != "" && bucket != "" {
		t.Logf("real S3 server at %s", ep)
		opts.Endpoint, opts.AccessKeyID, opts.SecretAccessKey = ep, os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if r := os.Getenv("AWS_REGION"); r != "" {
			opts.Region = r
		}
	} else {
		t.Log("in-process fake S3 (set LAKEVEC_TEST_S3_ENDPOINT for a real server)")
		bucket = "lake"
		backend := s3mem.New()
		if err := backend.CreateBucket(bucket); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(gofakes3.New(backend).Server())
		t.Cleanup(srv.Close)
		opts.Endpoint = srv.URL
	}
	cl := s3.New(s3.Options{Region: opts.Region, BaseEndpoint: aws.String(opts.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, "")})
	prefix := fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	return opts, bucket, prefix, cl
}

// TestExternalParquetOnS3 attaches a Parquet dataset under an s3://
// prefix, follows an added object, fetches columns by position over
// ranged reads, and fails clearly on an unreachable endpoint without
// touching the collection.
func TestExternalParquetOnS3(t *testing.T) {
	ctx := context.Background()
	opts, bucket, prefix, cl := s3Target(t)
	ds, err := gen.GenerateSpec(gen.Spec{N: 900, Dim: 16, Queries: 1, K: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	vecs := make([][]float32, 900)
	for i := range vecs {
		vecs[i] = ds.Base.Row(i)
	}
	put := func(name string, from, to int) {
		rows := make([]vecRow, 0, to-from)
		for i := from; i < to; i++ {
			rows = append(rows, vecRow{ID: int64(i), Title: fmt.Sprintf("row %d", i), Embedding: vecs[i]})
		}
		var buf bytes.Buffer
		if err := parquet.Write(&buf, rows); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + "/" + name), Body: bytes.NewReader(buf.Bytes())}); err != nil {
			t.Fatal(err)
		}
	}
	put("a.parquet", 0, 300)
	put("b.parquet", 300, 600)
	src := "s3://" + bucket + "/" + prefix
	data := t.TempDir()
	// Credentials come from the AWS default chain after the attach.
	t.Setenv("AWS_ACCESS_KEY_ID", opts.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", opts.SecretAccessKey)
	x, rep, err := Attach(ctx, data, ExternalOptions{Name: "s3items", Parquet: src, VectorColumn: "embedding", Columns: []string{"id"}, S3: opts})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FilesRead != 2 || rep.RowsAdded != 600 {
		t.Fatalf("attach: %+v", rep)
	}
	put("c.parquet", 600, 900)
	x.Close()
	y, err := OpenExternal(ctx, data, "s3items")
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if rep, err = y.Refresh(ctx); err != nil || rep.FilesRead != 1 || rep.RowsAdded != 300 {
		t.Fatalf("refresh: %+v %v", rep, err)
	}
	hits, err := y.Query(ctx, vecs[700], ExternalQuery{K: 1, Ef: 64, Fetch: []string{"title"}})
	if err != nil || len(hits) != 1 || hits[0].Columns["title"] != "row 700" || !strings.HasSuffix(hits[0].File, "/c.parquet") || hits[0].Row != 100 {
		t.Fatalf("search: %+v %v", hits, err)
	}
	if strings.HasPrefix(hits[0].File, "s3://") == false {
		t.Fatalf("hit file %q is not an s3:// URI", hits[0].File)
	}

	// An unreachable endpoint: a clear error, the collection unchanged.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	bad := opts
	bad.Endpoint = dead
	if _, _, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "dead", Parquet: src, VectorColumn: "embedding", S3: bad}); err == nil || !strings.Contains(err.Error(), src) {
		t.Fatalf("attach through an unreachable endpoint: %v", err)
	}
	if _, _, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "none", Parquet: "s3://" + bucket + "/no-such-prefix", VectorColumn: "embedding", S3: opts}); err == nil {
		t.Fatal("attach of an empty prefix succeeded")
	}
}

// TestExternalIcebergOnS3: an Iceberg table whose warehouse is s3://
// (written by iceberg-go through the same server), attached through its
// SQLite catalog; a merge-on-read delete and an append are followed, and
// the snapshot before them is still searchable.
func TestExternalIcebergOnS3(t *testing.T) {
	ctx := context.Background()
	opts, bucket, prefix, _ := s3Target(t)
	t.Setenv("AWS_ACCESS_KEY_ID", opts.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", opts.SecretAccessKey)
	t.Setenv("AWS_REGION", opts.Region)
	f := newIcebergFixtureAt(t, "s3://"+bucket+"/"+prefix, opts.IcebergProps())
	s1 := f.appendRows(0, 120)
	x, rep, err := Attach(ctx, t.TempDir(), ExternalOptions{Name: "s3t", IcebergCatalog: f.catPath, IcebergTable: "kb.passages",
		VectorColumn: "embedding", IDColumn: "id", Columns: []string{"lang"}, S3: opts})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if rep.RowsAdded != 120 {
		t.Fatalf("attach: %+v", rep)
	}
	s2 := f.deleteRange(table.WriteModeMergeOnRead, 0, 10)
	s3 := f.appendRows(120, 150)
	if rep, err = x.Refresh(ctx); err != nil || rep.Snapshots != 2 || rep.RowsRemoved != 10 || rep.RowsAdded != 30 {
		t.Fatalf("refresh: %+v %v", rep, err)
	}
	f.check(x, s1, ExternalQuery{Snapshot: s1})
	f.check(x, s2, ExternalQuery{Snapshot: s2})
	f.check(x, s3, ExternalQuery{})
	hits, err := x.Query(ctx, f.vec(130), ExternalQuery{K: 1, Fetch: []string{"title"}})
	if err != nil || hits[0].Columns["title"] != "passage 130" || !strings.HasPrefix(hits[0].File, "s3://") {
		t.Fatalf("fetch over S3: %+v %v", hits, err)
	}
}
