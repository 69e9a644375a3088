// Package lake is lakevec's side of the data lake: everything that reads or
// writes Parquet and Iceberg lives under this folder, so iceberg-go and
// parquet-go churn stays here. It knows nothing of indexes (a layering test
// forbids importing hnsw, engine, wal, bench or cmd).
//
// # Packages
//
//   - lake (this package): the Parquet vector column reader, object
//     storage (Storage: local files and S3), and Iceberg tables read
//     through any catalog (OpenIceberg).
//   - lake/history: the managed, append-only Iceberg history table of a
//     documents collection (one snapshot per batch, idempotent by batch id).
//   - snapshot (top level): what changed between two states of an Iceberg
//     table, from its manifests.
//
// # Vector column reader
//
// ReadVectors / ReadVectorsFile read one vector column of a Parquet file:
// only that column's chunks are read, page by page, row group by row group,
// and vectors are delivered in batches (VectorBatch: file row positions,
// row-major float32 values) whose buffers are reused, so memory is bounded
// by one page plus one batch whatever the file size. Supported shapes:
// list<float>, list<double> (narrowed to float32, range-checked), legacy
// 2-level and bare repeated lists, and fixed_len_byte_array / byte_array of
// packed little-endian float32 (DecodeFloat32LE). Any codec and encoding
// parquet-go reads (none, snappy, gzip, zstd, ...; plain, dictionary, byte
// stream split), data pages v1 and v2.
//
// Null vectors (or null groups above them) and empty lists are skipped and
// counted (VectorStats). A null element, a ragged dimension, a wrong type or
// a damaged file is a *VectorError naming the file, the column and the row
// position; errors.Is matches ErrNoColumn, ErrWrongType, ErrDim,
// ErrBadValue or ErrCorrupt.
//
// # Hostile files
//
// parquet-go v0.32.0 trusts the sizes a file declares: a 12-byte file can
// make it allocate 4 GiB for the footer, a few-KiB file 2 GiB for a page.
// Before handing a column chunk to parquet-go, ReadVectors checks the footer
// length against the file size, the chunk's extent against the pages area,
// and walks the chunk's page headers itself (a small Thrift compact decoder,
// pagescan.go) checking each page's sizes against the chunk and fixed
// limits (256 MiB uncompressed, 2^27 values per page). Panics inside
// parquet-go are recovered and reported as ErrCorrupt. Fuzz targets:
// FuzzReadVectors (whole files), FuzzDecodePageHeader, FuzzDecodeFloat32LE.
//
// # Object storage
//
// Storage (NewStorage(S3Options)) opens and lists Parquet files by URI: a
// local path, file:///abs/path, or s3://bucket/key (s3a, s3n accepted).
// Open returns a File (io.ReaderAt, Size, Close); Storage.ReadVectors is
// ReadVectors on a URI. List gives a dataset's Parquet files (Object: URI,
// size, ETag, mtime): a local directory (recursive), a glob, a prefix
// (ListObjectsV2, paginated) or a key glob; names starting with '.' or
// '_' are skipped in directory and prefix listings.
//
// S3 (aws-sdk-go-v2, s3.go): HeadObject at Open gives the size and ETag;
// reads are ranged GETs carrying If-Match with that ETag, so an object
// replaced mid-read is ErrChanged, never a mix of two files. Nothing is
// downloaded whole: parquet-go's 4 KiB reads go through a read-ahead
// window (64 KiB doubling to 8 MiB while sequential), and Storage.
// ReadVectors first pins the file's last 64 KiB (the footer; a second GET
// if the footer is longer) and hints the vector column's chunk extents so
// a window never runs into other columns: a 2 MiB file with a large text
// column costs 12 GETs and 4% of its bytes. Endpoint + path-style for
// MinIO-like servers; static keys or the SDK's default chain. Retry
// policy: 3 attempts, backoff at most 0.5 s, connect timeout 3 s
// (S3Options.ConnectTimeout), no retry quota: a closed port fails in
// about 1 s, a black hole in about 10 s. Errors are *StorageError{Op,
// URI, Err} and match ErrNoBucket, ErrNoObject, ErrAccessDenied,
// ErrUnreachable or ErrChanged with errors.Is. S3Options is shared with
// lake/history (history.S3Options is an alias).
//
// # Iceberg tables
//
// OpenIceberg(IcebergSource{Catalog, Table, S3, Props}) loads a table lakevec
// only reads, from a SQLite SQL catalog (path or sqlite://; the catalog
// name the writer used is looked up), a PostgreSQL SQL catalog
// (postgres://, pgx), a REST catalog (http(s)://) or, with no catalog, a
// metadata JSON location (local or s3://). Catalogs are opened read-only
// (init_catalog_tables=false). Warehouses on file:// and s3:// (the
// S3Options become iceberg-go's s3.* properties). An *IcebergTable gives
// Metadata, FS (iceberg-go's IO), Refresh (reload the current metadata
// from the catalog), and what a reader following the table needs
// (iceberg_changes.go): Current and Snapshot(s) from the snapshot log,
// State (a snapshot's live data and delete files) and Changes (what each
// snapshot since a given one did), both from package snapshot's walk of
// the manifests, and ColumnName for equality delete field ids. File URIs
// (file:// or s3://) are opened with a Storage.
//
// Tests: storage_test.go and catalog_test.go run against gofakes3 in
// process (plus a minimal test-only REST catalog server);
// s3_integration_test.go runs the same paths against a real server
// (versitygw, started by scripts/ci-s3.sh) when LAKEVEC_TEST_S3_ENDPOINT
// is set, and the PostgreSQL catalog test when LAKEVEC_TEST_POSTGRES is.
//
// # Not yet
//
// Reading key columns next to the vector (the caller gets row positions,
// which with the file path address a row), Iceberg field-id based column
// resolution (the column is found by name), gs:// and abfs:// object
// stores, REST catalog vended credentials for data files read through
// Storage (Storage uses its own S3Options), following a table opened by
// its metadata file (Refresh re-reads the same file).
package lake
