package lake

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// integrationS3 returns the options of the real S3 server started by
// scripts/ci-s3.sh, and a fresh key prefix in its bucket; it skips the
// test when none is configured.
func integrationS3(t *testing.T) (S3Options, string, string) {
	t.Helper()
	endpoint, bucket := os.Getenv("LAKEVEC_TEST_S3_ENDPOINT"), os.Getenv("LAKEVEC_TEST_S3_BUCKET")
	if endpoint == "" || bucket == "" {
		t.Skip("LAKEVEC_TEST_S3_ENDPOINT / LAKEVEC_TEST_S3_BUCKET not set (source scripts/ci-s3.sh to start versitygw): real S3 server not tested")
	}
	opts := S3Options{
		Endpoint:        endpoint,
		Region:          cmpOr(os.Getenv("AWS_REGION"), "us-east-1"),
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
	}
	prefix := fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	return opts, bucket, prefix
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func realPut(t *testing.T, st *Storage, bucket, key string, data []byte) {
	t.Helper()
	cl, err := st.client(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// TestS3Integration: Parquet reads, listing and errors against a real S3
// server.
func TestS3Integration(t *testing.T) {
	ctx := t.Context()
	opts, bucket, prefix := integrationS3(t)
	st := NewStorage(opts)
	files := map[string][]byte{
		"a.parquet":            sampleFile(t, 1),
		"sub/b.parquet":        sampleFile(t, 2),
		"_temporary/c.parquet": sampleFile(t, 3),
		"readme.txt":           []byte("hi"),
	}
	for k, v := range files {
		realPut(t, st, bucket, prefix+"/"+k, v)
	}
	base := "s3://" + bucket + "/" + prefix
	for _, c := range []struct {
		src  string
		want []string
	}{
		{base, []string{base + "/a.parquet", base + "/sub/b.parquet"}},
		{base + "/*.parquet", []string{base + "/a.parquet"}},
		{base + "/sub/b.parquet", []string{base + "/sub/b.parquet"}},
	} {
		objs, err := st.List(ctx, c.src)
		if err != nil {
			t.Fatalf("list %s: %v", c.src, err)
		}
		if got := uris(objs); !slices.Equal(got, c.want) {
			t.Fatalf("list %s = %v, want %v", c.src, got, c.want)
		}
		for _, o := range objs {
			if o.Size != int64(len(files[strings.TrimPrefix(o.URI, base+"/")])) || o.ETag == "" {
				t.Fatalf("list %s: %+v", c.src, o)
			}
		}
	}
	for _, k := range []string{"a.parquet", "sub/b.parquet"} {
		want, _, err := readAll(t, files[k], VectorOptions{Column: "embedding"})
		if err != nil {
			t.Fatal(err)
		}
		sameVectors(t, k, collect(t, st, base+"/"+k), want)
	}

	// Replaced under an open file: the real server refuses the If-Match GET.
	f, err := st.Open(ctx, base+"/a.parquet")
	if err != nil {
		t.Fatal(err)
	}
	realPut(t, st, bucket, prefix+"/a.parquet", sampleFile(t, 9))
	if _, err := f.ReadAt(make([]byte, 10), 0); !errors.Is(err, ErrChanged) {
		t.Fatalf("read of a replaced object: %v", err)
	}
	f.Close()

	_, err = st.Open(ctx, base+"/missing.parquet")
	if !errors.Is(err, ErrNoObject) {
		t.Fatalf("missing key: %v", err)
	}
	_, err = st.Open(ctx, "s3://"+bucket+"-missing/a.parquet")
	if !errors.Is(err, ErrNoBucket) {
		t.Fatalf("missing bucket: %v", err)
	}
	if _, err := st.List(ctx, "s3://"+bucket+"-missing/x"); !errors.Is(err, ErrNoBucket) {
		t.Fatalf("list of a missing bucket: %v", err)
	}
	bad := opts
	bad.SecretAccessKey += "-wrong"
	if _, err := NewStorage(bad).Open(ctx, base+"/sub/b.parquet"); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("wrong secret: %v", err)
	}
}

// TestS3IntegrationIceberg: an Iceberg table on an s3:// warehouse of a
// real S3 server, opened through its SQLite catalog and its metadata file.
func TestS3IntegrationIceberg(t *testing.T) {
	ctx := t.Context()
	opts, bucket, prefix := integrationS3(t)
	catPath := filepath.Join(t.TempDir(), "cat.db")
	cat := openSQLiteCatalog(t, catPath, "s3://"+bucket+"/"+prefix+"/wh", opts.IcebergProps())
	tt := createTestTable(ctx, t, cat, table.Identifier{"shop", "items"})
	tt.append(ctx, 0, 60)
	tt.append(ctx, 60, 90)
	st := NewStorage(opts)
	tb, err := OpenIceberg(ctx, IcebergSource{Catalog: "sqlite://" + catPath, Table: "shop.items", S3: opts})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	checkTable(t, tb, st, "s3", 2, 90)
	tt.append(ctx, 90, 100)
	if err := tb.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	checkTable(t, tb, st, "s3", 3, 100)
	mt, err := OpenIceberg(ctx, IcebergSource{Table: tt.tbl.MetadataLocation(), S3: opts})
	if err != nil {
		t.Fatal(err)
	}
	defer mt.Close()
	checkTable(t, mt, st, "s3", 3, 100)
}
