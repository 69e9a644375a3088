package history

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/lakevec/lakevec/lake"
)

// Config says where the history table lives. Zero fields take the default
// stated on each; DefaultConfig fills them for a data directory.
type Config struct {
	// DataDir is the local directory that holds the default warehouse and
	// catalog. Required unless both Warehouse and CatalogURI are set. Must
	// be absolute.
	DataDir string

	// Warehouse is the root location of table files: "file:///abs/dir" or
	// "s3://bucket/prefix". Default: "file://<DataDir>/warehouse".
	Warehouse string

	// CatalogURI names the Iceberg SQL catalog: "sqlite:///abs/file.db" or
	// an absolute path to a SQLite file (created if missing, with its
	// directory). Default: "<DataDir>/catalog.db". Other schemes are
	// rejected by Validate.
	CatalogURI string

	// CatalogName is the catalog_name column of the SQL catalog, so several
	// catalogs can share one database. Default: "lakevec".
	CatalogName string

	// Namespace of the table. Default: "lakevec".
	Namespace string

	// Name of the table. Default: "chunk_history".
	Name string

	// S3 configures the object store when Warehouse is s3://. Ignored
	// otherwise.
	S3 S3Options

	// CommitRetries is how many times a commit that lost an optimistic
	// concurrency race is refreshed and replayed (iceberg-go's own default
	// is 0). Stored as the table property commit.retry.num-retries.
	// Default: 4 (the Java reference's value); negative means no retries.
	CommitRetries int

	// CompactTargetFileBytes is the data file size Compact aims for; files
	// under 3/4 of it are "small". Default: 128 MiB.
	CompactTargetFileBytes int64
}

// S3Options are the object store settings for an s3:// warehouse: the
// same type as lake.S3Options (defined there, so the Parquet reader and
// the history table share one configuration). ConnectTimeout is not used
// by the history table yet.
type S3Options = lake.S3Options

const (
	defaultCatalogName   = "lakevec"
	defaultNamespace     = "lakevec"
	defaultName          = "chunk_history"
	defaultCommitRetries = 4
	defaultCompactTarget = 128 << 20
)

// DefaultConfig returns the configuration of the history table kept under
// dataDir: a file:// warehouse and a SQLite catalog there.
func DefaultConfig(dataDir string) Config {
	c := Config{DataDir: dataDir}
	return c.withDefaults()
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Warehouse == "" && c.DataDir != "" {
		c.Warehouse = (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(c.DataDir, "warehouse"))}).String()
	}
	if c.CatalogURI == "" && c.DataDir != "" {
		c.CatalogURI = filepath.Join(c.DataDir, "catalog.db")
	}
	if c.CatalogName == "" {
		c.CatalogName = defaultCatalogName
	}
	if c.Namespace == "" {
		c.Namespace = defaultNamespace
	}
	if c.Name == "" {
		c.Name = defaultName
	}
	if c.CommitRetries == 0 {
		c.CommitRetries = defaultCommitRetries
	} else if c.CommitRetries < 0 {
		c.CommitRetries = 0
	}
	if c.CompactTargetFileBytes <= 0 {
		c.CompactTargetFileBytes = defaultCompactTarget
	}
	return c
}

// Validate reports every problem of c (after defaults) at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.DataDir != "" && !filepath.IsAbs(c.DataDir) {
		errs = append(errs, fmt.Errorf("data dir %q is not absolute", c.DataDir))
	}
	if c.Warehouse == "" {
		errs = append(errs, errors.New("warehouse is empty and there is no data dir to default it"))
	} else if _, err := warehouseScheme(c.Warehouse); err != nil {
		errs = append(errs, err)
	}
	if c.CatalogURI == "" {
		errs = append(errs, errors.New("catalog uri is empty and there is no data dir to default it"))
	} else if _, err := sqlitePath(c.CatalogURI); err != nil {
		errs = append(errs, err)
	}
	for _, f := range []struct{ what, v string }{{"namespace", c.Namespace}, {"table name", c.Name}, {"catalog name", c.CatalogName}} {
		if strings.ContainsAny(f.v, "./\\\x00") || strings.TrimSpace(f.v) != f.v {
			errs = append(errs, fmt.Errorf("%s %q: must not contain '.', '/', '\\', NUL or surrounding spaces", f.what, f.v))
		}
	}
	if (c.S3.AccessKeyID == "") != (c.S3.SecretAccessKey == "") {
		errs = append(errs, errors.New("s3: access key id and secret access key must be set together"))
	}
	return errors.Join(errs...)
}

// warehouseScheme returns "file" or "s3" for a supported warehouse URL.
func warehouseScheme(w string) (string, error) {
	u, err := url.Parse(w)
	if err != nil {
		return "", fmt.Errorf("warehouse %q: %w", w, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("warehouse %q: file urls must be file:///abs/dir", w)
		}
		if !strings.HasPrefix(u.Path, "/") {
			return "", fmt.Errorf("warehouse %q: path is not absolute", w)
		}
		return "file", nil
	case "s3", "s3a", "s3n":
		if u.Host == "" {
			return "", fmt.Errorf("warehouse %q: no bucket", w)
		}
		return "s3", nil
	case "":
		return "", fmt.Errorf("warehouse %q: not a url (want file:///abs/dir or s3://bucket/prefix)", w)
	default:
		return "", fmt.Errorf("warehouse %q: unsupported scheme %q (want file or s3)", w, u.Scheme)
	}
}

// sqlitePath returns the SQLite file named by a catalog URI.
func sqlitePath(uri string) (string, error) {
	p := uri
	if rest, ok := strings.CutPrefix(uri, "sqlite://"); ok {
		p = rest
	} else if i := strings.Index(uri, "://"); i >= 0 {
		return "", fmt.Errorf("catalog uri %q: unsupported scheme %q (want sqlite:///abs/file.db or a path)", uri, uri[:i])
	}
	if p == "" || !filepath.IsAbs(p) {
		return "", fmt.Errorf("catalog uri %q: sqlite path is not absolute", uri)
	}
	if strings.ContainsAny(p, "?#") {
		return "", fmt.Errorf("catalog uri %q: '?' and '#' are not allowed in the sqlite path", uri)
	}
	return filepath.Clean(p), nil
}
