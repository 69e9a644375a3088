package lake

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"
)

// Errors of Storage, matched with errors.Is through *StorageError.
var (
	// ErrNoBucket: the s3 bucket does not exist.
	ErrNoBucket = errors.New("no such bucket")
	// ErrNoObject: the object or local file does not exist.
	ErrNoObject = errors.New("no such object")
	// ErrAccessDenied: the credentials are refused or lack permission.
	ErrAccessDenied = errors.New("access denied")
	// ErrUnreachable: the object store could not be reached (connection
	// refused, timeout, DNS), after Storage's short retry policy.
	ErrUnreachable = errors.New("object store unreachable")
	// ErrChanged: the object was replaced while being read (its ETag
	// changed between HeadObject and a ranged GET).
	ErrChanged = errors.New("object changed while being read")
)

// StorageError says which operation on which URI failed.
type StorageError struct {
	Op  string // "open", "read", "list"
	URI string // as given
	Err error  // wraps one of the Err* sentinels when the cause is known
}

func (e *StorageError) Error() string { return e.Op + " " + e.URI + ": " + e.Err.Error() }
func (e *StorageError) Unwrap() error { return e.Err }

// File is an open object or local file: random access by ReadAt (safe for
// concurrent use), its size fixed at Open.
type File interface {
	io.ReaderAt
	Size() int64
	Close() error
}

// Object is one file of a dataset, as listed.
type Object struct {
	// URI opens the object with Storage.Open: an absolute local path, or
	// s3://bucket/key.
	URI  string
	Size int64
	// ETag is the object store's entity tag, as the server sends it
	// (quoted). Empty for local files.
	ETag string
	// MTime is the modification time in Unix nanoseconds (0 if unknown).
	MTime int64
}

// Storage opens and lists Parquet files on the local disk or an S3
// compatible object store. URIs:
//
//   - a local path ("data/x.parquet", "/abs/x.parquet") or file:///abs/path;
//   - s3://bucket/key (s3a:// and s3n:// are read as s3://).
//
// A Storage is safe for concurrent use. Its S3 client is built on first
// use (so a Storage that only sees local paths needs no AWS
// configuration).
type Storage struct {
	opts S3Options

	mu  sync.Mutex
	cl  *s3.Client
	err error // a failed client build is not retried
}

// NewStorage returns a Storage whose s3:// URIs use o.
func NewStorage(o S3Options) *Storage { return &Storage{opts: o} }

// client returns the S3 client, building it on first use.
func (s *Storage) client(ctx context.Context) (*s3.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == nil && s.err == nil {
		s.cl, s.err = newS3Client(ctx, s.opts)
	}
	return s.cl, s.err
}

// Open opens uri for random access. For s3:// it checks the object exists
// and records its size and ETag (HeadObject); reads are ranged GETs made
// with ctx, so cancelling ctx aborts reads of the returned File too.
func (s *Storage) Open(ctx context.Context, uri string) (File, error) {
	loc, err := parseLocation(uri)
	if err != nil {
		return nil, &StorageError{Op: "open", URI: uri, Err: err}
	}
	if loc.s3 != nil {
		return s.openS3(ctx, uri, *loc.s3)
	}
	f, err := os.Open(loc.path)
	if err != nil {
		return nil, &StorageError{Op: "open", URI: uri, Err: localError(err)}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &StorageError{Op: "open", URI: uri, Err: localError(err)}
	}
	if st.IsDir() {
		f.Close()
		return nil, &StorageError{Op: "open", URI: uri, Err: errors.New("is a directory")}
	}
	return &localFile{File: f, size: st.Size()}, nil
}

// List returns the Parquet files of a dataset, sorted by URI:
//
//   - a local directory: every *.parquet file below it (recursively);
//   - a local glob ("data/*.parquet", filepath.Match syntax): the regular
//     files it matches;
//   - a local file: itself;
//   - s3://bucket/prefix: every object under prefix/ whose key ends in
//     .parquet (ListObjectsV2, all pages);
//   - s3://bucket/prefix/*.parquet: the keys matching the glob (path.Match
//     syntax: '*' does not cross '/'); only the part before the first
//     glob character is sent to the server as a prefix;
//   - s3://bucket/key.parquet: that one object.
//
// In directory and prefix listings, files and directories whose name
// starts with '.' or '_' are skipped (_SUCCESS, _temporary/, .crc: the
// convention of Spark, Hive and Arrow datasets). An empty listing is not
// an error; a missing directory or bucket is.
func (s *Storage) List(ctx context.Context, src string) ([]Object, error) {
	loc, err := parseLocation(src)
	if err != nil {
		return nil, &StorageError{Op: "list", URI: src, Err: err}
	}
	var out []Object
	if loc.s3 != nil {
		out, err = s.listS3(ctx, src, *loc.s3)
	} else {
		out, err = listLocal(src, loc.path)
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out, nil
}

// ReadVectors is ReadVectors on the file at uri (see Open). A failure to
// open is a *VectorError wrapping the *StorageError.
func (s *Storage) ReadVectors(ctx context.Context, uri string, opts VectorOptions, fn func(*VectorBatch) error) (VectorStats, error) {
	f, err := s.Open(ctx, uri)
	if err != nil {
		return VectorStats{}, &VectorError{File: uri, Column: opts.Column, Row: -1, Err: err}
	}
	defer f.Close()
	if sf, ok := f.(*s3File); ok {
		if err := sf.prepareParquet(opts.Column); err != nil {
			return VectorStats{}, &VectorError{File: uri, Column: opts.Column, Row: -1, Err: err}
		}
	}
	return ReadVectors(ctx, f, f.Size(), uri, opts, fn)
}

// footerGuess is how much of a Parquet file's end is read at once: the
// footer of most files fits (one more GET when it does not).
const footerGuess = 64 << 10

// prepareParquet gets an object ready for ReadVectors: the footer pinned
// in memory (one or two GETs), and hints so that reads of the vector
// column never fetch bytes of other columns.
func (f *s3File) prepareParquet(column string) error {
	if err := f.pinTail(footerGuess); err != nil {
		return err
	}
	f.setHints([]extent{{0, 4}}) // parquet-go checks the leading magic
	var tail [8]byte
	if _, err := f.ReadAt(tail[:], f.size-8); err == nil {
		if n := int64(binary.LittleEndian.Uint32(tail[:4])) + 8; n > footerGuess && n <= f.size {
			if err := f.pinTail(n); err != nil {
				return err
			}
		}
	}
	f.setHints(append(vectorExtents(f, f.size, column), extent{0, 4}))
	return nil
}

// vectorExtents returns the byte ranges ReadVectors reads of a Parquet
// file: the footer and the chunks of the vector column. Nil when the file
// cannot be parsed (ReadVectors then reports why).
func vectorExtents(src io.ReaderAt, size int64, column string) (ext []extent) {
	defer func() {
		if recover() != nil {
			ext = nil
		}
	}()
	dataEnd, err := checkFooter(src, size)
	if err != nil {
		return nil
	}
	pf, err := parquet.OpenFile(src, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil
	}
	sh, err := resolveShape(pf.Schema(), strings.Split(column, "."))
	if err != nil {
		return nil
	}
	ext = append(ext, extent{dataEnd, size})
	for _, rg := range pf.Metadata().RowGroups {
		if sh.column >= len(rg.Columns) {
			return nil
		}
		cm := rg.Columns[sh.column].MetaData
		start := cm.DataPageOffset
		if cm.DictionaryPageOffset != 0 {
			start = cm.DictionaryPageOffset
		}
		if start < 0 || cm.TotalCompressedSize < 0 || start > dataEnd || cm.TotalCompressedSize > dataEnd-start {
			return nil
		}
		ext = append(ext, extent{start, start + cm.TotalCompressedSize})
	}
	return ext
}

const (
	parquetExt = ".parquet"
	globChars  = "*?[\\"
)

// location is a parsed URI: a local path or an s3 object/prefix.
type location struct {
	path string
	s3   *s3URI
}

type s3URI struct {
	scheme string // as written: s3, s3a or s3n
	bucket string
	key    string // no leading '/'
}

// parseLocation parses a Storage URI.
func parseLocation(uri string) (location, error) {
	if uri == "" {
		return location{}, errors.New("empty uri")
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return location{path: uri}, nil
	}
	switch strings.ToLower(scheme) {
	case "file":
		u, err := url.Parse(uri)
		if err != nil {
			return location{}, err
		}
		if u.Host != "" && u.Host != "localhost" {
			return location{}, errors.New("file uris must be file:///abs/path")
		}
		if u.Path == "" {
			return location{}, errors.New("file uri has no path")
		}
		return location{path: filepath.FromSlash(u.Path)}, nil
	case "s3", "s3a", "s3n":
		bucket, key, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return location{}, errors.New("no bucket")
		}
		return location{s3: &s3URI{scheme: scheme, bucket: bucket, key: key}}, nil
	default:
		return location{}, fmt.Errorf("unsupported scheme %q (want a local path, file:// or s3://)", scheme)
	}
}

// localError wraps ErrNoObject / ErrAccessDenied around os errors.
func localError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", ErrNoObject, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: %w", ErrAccessDenied, err)
	}
	return err
}

type localFile struct {
	*os.File
	size int64
}

func (f *localFile) Size() int64 { return f.size }

func hasGlob(p string) bool { return strings.ContainsAny(p, globChars) }

// pathMatch is path.Match (exposed for the syntax check with name "").
func pathMatch(pattern, name string) (bool, error) { return path.Match(pattern, name) }

// hiddenBelow reports whether a relative slash path has a component
// starting with '.' or '_'.
func hiddenBelow(rel string) bool {
	for c := range strings.SplitSeq(rel, "/") {
		if strings.HasPrefix(c, ".") || strings.HasPrefix(c, "_") {
			return true
		}
	}
	return false
}

func listLocal(src, p string) ([]Object, error) {
	fail := func(err error) ([]Object, error) {
		return nil, &StorageError{Op: "list", URI: src, Err: localError(err)}
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return fail(err)
	}
	object := func(path string, info fs.FileInfo) Object {
		return Object{URI: path, Size: info.Size(), MTime: info.ModTime().UnixNano()}
	}
	if hasGlob(p) {
		matches, err := filepath.Glob(abs)
		if err != nil {
			return fail(err)
		}
		var out []Object
		for _, m := range matches {
			info, err := os.Stat(m)
			if err != nil {
				return fail(err)
			}
			if info.Mode().IsRegular() {
				out = append(out, object(m, info))
			}
		}
		return out, nil
	}
	info, err := os.Stat(abs)
	if err != nil {
		return fail(err)
	}
	if !info.IsDir() {
		return []Object{object(abs, info)}, nil
	}
	var out []Object
	err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != abs && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), parquetExt) {
			return nil
		}
		info, err := os.Stat(path) // follows symlinks
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			out = append(out, object(path, info))
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return out, nil
}
