// Package lake is lakevec's side of the data lake: everything that reads or
// writes Parquet and Iceberg lives under this folder, so iceberg-go and
// parquet-go churn stays here. It knows nothing of indexes (a layering test
// forbids importing hnsw, engine, wal, bench or cmd).
//
// # Packages
//
//   - lake (this package): the Parquet vector column reader.
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
// # Not yet
//
// Reading key columns next to the vector (the caller gets row positions,
// which with the file path address a row), Iceberg field-id based column
// resolution (the column is found by name), object-store readers (any
// io.ReaderAt works; lake/history's FileIO is not yet exposed for this).
package lake
