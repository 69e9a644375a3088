package lake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	icebergio "github.com/apache/iceberg-go/io"
)

// S3Options are the object store settings for s3:// URIs (Parquet files,
// Iceberg warehouses). The zero value means AWS with the SDK's default
// region and credential chains.
type S3Options struct {
	// Endpoint is the base URL of an S3-compatible server
	// ("http://127.0.0.1:9000"). Empty: AWS, resolved from Region.
	Endpoint string
	// Region of the bucket. Empty: the AWS SDK's default chain
	// (AWS_REGION, shared config), then "us-east-1".
	Region string
	// AccessKeyID and SecretAccessKey are static credentials. Both empty:
	// the AWS SDK's default credential chain.
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken goes with temporary credentials. Optional.
	SessionToken string
	// VirtualHosted selects virtual-hosted-style addressing
	// (bucket.host/key). Default false: path-style when Endpoint is set
	// (what MinIO, versitygw and gofakes3 need), virtual-hosted on AWS.
	VirtualHosted bool
	// ConnectTimeout bounds establishing one connection. Zero: 3 s. With
	// 3 attempts per request (Storage's retry policy), an unreachable
	// server fails in about 10 s at most, connection refused in about 1 s.
	// Also passed to iceberg-go's S3 IO as s3.connect-timeout.
	ConnectTimeout time.Duration
}

const (
	defaultConnectTimeout = 3 * time.Second
	s3MaxAttempts         = 3
	s3MaxBackoff          = 500 * time.Millisecond
	// s3HeaderTimeout bounds the wait for a response's headers (not its
	// body, which may be large).
	s3HeaderTimeout = 30 * time.Second
)

func (o S3Options) connectTimeout() time.Duration {
	if o.ConnectTimeout > 0 {
		return o.ConnectTimeout
	}
	return defaultConnectTimeout
}

// IcebergProps returns the s3.* properties of iceberg-go's S3 file IO for
// these options: the set ones, s3.force-virtual-addressing when
// VirtualHosted, and s3.connect-timeout.
func (o S3Options) IcebergProps() map[string]string {
	props := map[string]string{}
	for k, v := range map[string]string{
		icebergio.S3EndpointURL:     o.Endpoint,
		icebergio.S3Region:          o.Region,
		icebergio.S3AccessKeyID:     o.AccessKeyID,
		icebergio.S3SecretAccessKey: o.SecretAccessKey,
		icebergio.S3SessionToken:    o.SessionToken,
	} {
		if v != "" {
			props[k] = v
		}
	}
	if o.VirtualHosted {
		// Unset, iceberg-go picks what S3Options documents: path-style
		// with an Endpoint, virtual-hosted on AWS. (Setting "false"
		// would force path-style on AWS too.)
		props[icebergio.S3ForceVirtualAddressing] = "true"
	}
	props[icebergio.S3ConnectTimeout] = o.connectTimeout().String()
	return props
}

// newS3Client builds the client of a Storage: path-style unless
// VirtualHosted, bounded connect time, 3 attempts with short backoff and
// no client-side retry quota (a dead server must fail fast, not be
// retried for minutes).
func newS3Client(ctx context.Context, o S3Options) (*s3.Client, error) {
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		return nil, errors.New("s3: access key id and secret access key must be set together")
	}
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = o.connectTimeout() }).
		WithTransportOptions(func(t *http.Transport) {
			t.ResponseHeaderTimeout = s3HeaderTimeout
			t.TLSHandshakeTimeout = 10 * time.Second
			t.MaxIdleConnsPerHost = 16
		})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = s3MaxAttempts
				so.MaxBackoff = s3MaxBackoff
				so.RateLimiter = ratelimit.None
			})
		}),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, o.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = !o.VirtualHosted
		}
		// Checksum validation of ranged reads is not possible (the
		// object checksum covers the whole object); only compute request
		// checksums when an operation requires them.
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}

// s3Error classifies an error of the S3 client: the sentinel it wraps
// tells the caller what to fix.
func s3Error(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchBucket":
			return fmt.Errorf("%w: %v", ErrNoBucket, err)
		case "NoSuchKey":
			return fmt.Errorf("%w: %v", ErrNoObject, err)
		case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled":
			return fmt.Errorf("%w: %v", ErrAccessDenied, err)
		case "PreconditionFailed":
			return fmt.Errorf("%w: %v", ErrChanged, err)
		}
	}
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %v", ErrNoObject, err)
		case http.StatusForbidden, http.StatusUnauthorized:
			return fmt.Errorf("%w: %v", ErrAccessDenied, err)
		case http.StatusPreconditionFailed:
			return fmt.Errorf("%w: %v", ErrChanged, err)
		}
	}
	return err
}

// s3File reads one object with ranged GETs, through a read-ahead window:
// parquet-go reads in 4 KiB steps, which must not become 4 KiB requests.
// The window starts at minWindow and doubles while reads stay sequential,
// up to maxWindow; a read that is not served from the window (a seek)
// resets it. When the reader knows which byte ranges it will read (hints:
// Storage.ReadVectors gives the vector column's chunks and the footer), a
// fetch never extends past the end of the hinted range it starts in, so
// the bytes of other columns are not downloaded. Every GET carries the ETag seen by HeadObject (If-Match) and
// the response's ETag is checked too, so an object replaced mid-read is
// ErrChanged, not a mix of two files.
type s3File struct {
	ctx    context.Context
	cl     *s3.Client
	uri    string
	bucket string
	key    string
	size   int64
	etag   string

	mu     sync.Mutex // guards the fields below; held across a fetch
	buf    []byte     // the window: object bytes [bufOff, bufOff+len(buf))
	bufOff int64
	window int64    // size of the next fetch
	hints  []extent // sorted, disjoint byte ranges the reader will read
	tail   []byte   // pinned: object bytes [size-len(tail), size) (the footer)
}

// extent is the byte range [off, end) of an object.
type extent struct{ off, end int64 }

const (
	minWindow = 64 << 10
	maxWindow = 8 << 20
)

// setHints records the byte ranges the reader will read (see s3File).
func (f *s3File) setHints(h []extent) {
	h = slices.Clone(h)
	slices.SortFunc(h, func(a, b extent) int { return cmp.Compare(a.off, b.off) })
	f.mu.Lock()
	f.hints = h
	f.mu.Unlock()
}

// limitLocked returns where a fetch starting at pos must stop: the end of
// the hinted range holding pos, else the object's end.
func (f *s3File) limitLocked(pos int64) int64 {
	i, _ := slices.BinarySearchFunc(f.hints, pos, func(e extent, p int64) int { return cmp.Compare(e.off, p+1) })
	if i > 0 && pos < f.hints[i-1].end {
		return min(f.hints[i-1].end, f.size)
	}
	return f.size
}

func (f *s3File) Size() int64 { return f.size }
func (f *s3File) Close() error {
	f.mu.Lock()
	f.buf, f.tail = nil, nil
	f.mu.Unlock()
	return nil
}

func (f *s3File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &StorageError{Op: "read", URI: f.uri, Err: fmt.Errorf("negative offset %d", off)}
	}
	if off >= f.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	tailOff := f.size - int64(len(f.tail))
	for n < len(p) && off+int64(n) < f.size {
		pos := off + int64(n)
		if f.tail != nil && pos >= tailOff {
			n += copy(p[n:], f.tail[pos-tailOff:])
			continue
		}
		if pos >= f.bufOff && pos < f.bufOff+int64(len(f.buf)) {
			n += copy(p[n:], f.buf[pos-f.bufOff:])
			continue
		}
		sequential := f.buf != nil && pos == f.bufOff+int64(len(f.buf))
		switch {
		case f.window == 0 || !sequential:
			f.window = minWindow
		case f.window < maxWindow:
			f.window *= 2
		}
		need := min(int64(len(p)-n), f.size-pos)
		want := max(need, min(f.window, f.limitLocked(pos)-pos))
		if err := f.fetchLocked(pos, want); err != nil {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// pinTail reads the last n bytes of the object (at least; n is clipped
// to the size) into the pinned tail buffer, where the Parquet footer is:
// one GET serves the footer length, the footer, and every later read of
// them, whatever other reads happen in between.
func (f *s3File) pinTail(n int64) error {
	n = min(n, f.size)
	f.mu.Lock()
	defer f.mu.Unlock()
	if int64(len(f.tail)) >= n {
		return nil
	}
	b, err := f.getLocked(f.size-n, n, nil)
	if err != nil {
		return err
	}
	f.tail = b
	return nil
}

// fetchLocked loads object bytes [off, off+n) into the window.
func (f *s3File) fetchLocked(off, n int64) error {
	b, err := f.getLocked(off, n, f.buf)
	if err != nil {
		f.buf = nil
		return err
	}
	f.buf, f.bufOff = b, off
	return nil
}

// getLocked GETs object bytes [off, off+n), into buf when it is large
// enough.
func (f *s3File) getLocked(off, n int64, buf []byte) ([]byte, error) {
	if n <= 0 {
		return buf[:0], nil
	}
	in := &s3.GetObjectInput{
		Bucket: aws.String(f.bucket),
		Key:    aws.String(f.key),
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1)),
	}
	if f.etag != "" {
		in.IfMatch = aws.String(f.etag)
	}
	out, err := f.cl.GetObject(f.ctx, in)
	if err != nil {
		return nil, &StorageError{Op: "read", URI: f.uri, Err: s3Error(err)}
	}
	defer out.Body.Close()
	if f.etag != "" && out.ETag != nil && *out.ETag != f.etag {
		return nil, &StorageError{Op: "read", URI: f.uri, Err: fmt.Errorf("%w: etag %s, was %s", ErrChanged, *out.ETag, f.etag)}
	}
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(out.Body, buf); err != nil {
		return nil, &StorageError{Op: "read", URI: f.uri, Err: fmt.Errorf("range %d+%d: %w", off, n, s3Error(err))}
	}
	return buf, nil
}

// openS3 checks the object exists (HeadObject: size and ETag) and returns
// a reader of it. No byte of the object is read yet.
func (s *Storage) openS3(ctx context.Context, uri string, u s3URI) (File, error) {
	cl, err := s.client(ctx)
	if err != nil {
		return nil, &StorageError{Op: "open", URI: uri, Err: err}
	}
	if u.key == "" {
		return nil, &StorageError{Op: "open", URI: uri, Err: errors.New("no object key")}
	}
	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(u.bucket), Key: aws.String(u.key)})
	if err != nil {
		return nil, &StorageError{Op: "open", URI: uri, Err: s.notFound(ctx, cl, u.bucket, s3Error(err))}
	}
	f := &s3File{ctx: ctx, cl: cl, uri: uri, bucket: u.bucket, key: u.key, etag: aws.ToString(head.ETag)}
	if head.ContentLength == nil {
		return nil, &StorageError{Op: "open", URI: uri, Err: errors.New("HeadObject gave no size")}
	}
	f.size = *head.ContentLength
	return f, nil
}

// notFound refines a 404 of HeadObject (whose reply has no body, so no
// error code) into ErrNoBucket when the bucket is what is missing.
func (s *Storage) notFound(ctx context.Context, cl *s3.Client, bucket string, err error) error {
	if !errors.Is(err, ErrNoObject) {
		return err
	}
	_, herr := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if herr == nil {
		return err
	}
	herr = s3Error(herr)
	if errors.Is(herr, ErrNoObject) || errors.Is(herr, ErrNoBucket) {
		return fmt.Errorf("%w: bucket %s", ErrNoBucket, bucket)
	}
	return err
}

// listS3 lists the Parquet objects under a prefix, or matching a glob.
func (s *Storage) listS3(ctx context.Context, src string, u s3URI) ([]Object, error) {
	cl, err := s.client(ctx)
	if err != nil {
		return nil, &StorageError{Op: "list", URI: src, Err: err}
	}
	scheme := u.scheme
	if hasGlob(u.key) {
		prefix := u.key[:strings.IndexAny(u.key, globChars)]
		if _, err := pathMatch(u.key, ""); err != nil {
			return nil, &StorageError{Op: "list", URI: src, Err: err}
		}
		var out []Object
		err := s.eachS3(ctx, cl, u.bucket, prefix, func(key string, o Object) {
			if ok, _ := pathMatch(u.key, key); ok {
				o.URI = scheme + "://" + u.bucket + "/" + key
				out = append(out, o)
			}
		})
		if err != nil {
			return nil, &StorageError{Op: "list", URI: src, Err: err}
		}
		return out, nil
	}
	if strings.HasSuffix(u.key, parquetExt) {
		f, err := s.openS3(ctx, src, u)
		if err != nil {
			return nil, err
		}
		sf := f.(*s3File)
		return []Object{{URI: src, Size: sf.size, ETag: sf.etag}}, nil
	}
	prefix := u.key
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var out []Object
	err = s.eachS3(ctx, cl, u.bucket, prefix, func(key string, o Object) {
		if !strings.HasSuffix(key, parquetExt) || hiddenBelow(key[len(prefix):]) {
			return
		}
		o.URI = scheme + "://" + u.bucket + "/" + key
		out = append(out, o)
	})
	if err != nil {
		return nil, &StorageError{Op: "list", URI: src, Err: err}
	}
	return out, nil
}

// eachS3 calls fn for every object under prefix (ListObjectsV2, all pages).
func (s *Storage) eachS3(ctx context.Context, cl *s3.Client, bucket, prefix string, fn func(key string, o Object)) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	p := s3.NewListObjectsV2Paginator(cl, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return s3Error(err)
		}
		for _, obj := range page.Contents {
			o := Object{Size: aws.ToInt64(obj.Size), ETag: aws.ToString(obj.ETag)}
			if obj.LastModified != nil {
				o.MTime = obj.LastModified.UnixNano()
			}
			fn(aws.ToString(obj.Key), o)
		}
	}
	return nil
}
