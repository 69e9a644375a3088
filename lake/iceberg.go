package lake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/lakevec/lakevec/snapshot"
)

// IcebergTable is an Iceberg table lakevec reads (it never writes it),
// opened by OpenIceberg through a SQL (SQLite, PostgreSQL) or REST
// catalog, or from its metadata file. Its files may be on file:// or
// s3:// warehouses. Safe for concurrent use; Refresh swaps the metadata
// atomically.
type IcebergTable struct {
	ident   string
	load    func(context.Context) (*table.Table, error) // the current table, from the catalog
	closers []func() error

	mu  sync.Mutex
	tbl *table.Table
}

// DataFile is a live data file of a table snapshot.
type DataFile struct {
	// Path is a local path for file:// data files, and the URI as the
	// table has it for any other scheme (s3://bucket/key): open it with
	// Storage.
	Path    string
	Size    int64
	Records int64
}

// OpenIcebergTable loads table ident ("namespace.table") from the SQLite
// catalog at uri (a path, or sqlite:///path). It is OpenIceberg with
// IcebergSource{Catalog: uri, Table: ident}.
func OpenIcebergTable(ctx context.Context, uri, ident string) (*IcebergTable, error) {
	if strings.Contains(uri, "://") && !strings.HasPrefix(uri, "sqlite://") {
		return nil, fmt.Errorf("iceberg catalog %s: not a SQLite catalog (use OpenIceberg)", redact(uri))
	}
	return OpenIceberg(ctx, IcebergSource{Catalog: uri, Table: ident})
}

// current returns the table as last loaded.
func (t *IcebergTable) current() *table.Table {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tbl
}

// Metadata returns the table metadata as last loaded (by Open or Refresh).
func (t *IcebergTable) Metadata() table.Metadata { return t.current().Metadata() }

// FS returns the file IO of the table's files (manifests, data files), as
// configured by the catalog and IcebergSource.S3 / Props.
func (t *IcebergTable) FS(ctx context.Context) (icebergio.IO, error) {
	fs, err := t.current().FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg table %s: %w", t.ident, err)
	}
	return fs, nil
}

// Refresh reloads the table's current metadata from its catalog (a table
// opened from a metadata file re-reads that file). On error the table
// keeps its previous metadata.
func (t *IcebergTable) Refresh(ctx context.Context) error {
	tbl, err := t.load(ctx)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.tbl = tbl
	t.mu.Unlock()
	return nil
}

// Close releases the catalog.
func (t *IcebergTable) Close() error {
	var errs []error
	for _, c := range t.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// CurrentDataFiles returns the current snapshot's id and live data files.
// A table with delete files (merge-on-read deletes) is refused: applying
// them is not built yet, and ignoring them would return deleted rows.
func (t *IcebergTable) CurrentDataFiles(ctx context.Context) (int64, []DataFile, error) {
	tbl := t.current()
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return 0, nil, nil
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("iceberg table %s: %w", t.ident, err)
	}
	st, err := snapshot.ReadState(ctx, fs, tbl.Metadata(), snap.SnapshotID)
	if err != nil {
		return 0, nil, fmt.Errorf("iceberg table %s: %w", t.ident, err)
	}
	var out []DataFile
	deletes := 0
	for _, f := range st.Files {
		if f.Kind != snapshot.Data {
			deletes++
			continue
		}
		p := f.Path
		if local, ok := strings.CutPrefix(p, "file://"); ok {
			p = local
		}
		out = append(out, DataFile{Path: p, Size: f.Size, Records: f.Records})
	}
	if deletes > 0 {
		return 0, nil, fmt.Errorf("iceberg table %s: snapshot %d has %d delete files (merge-on-read deletes): not supported yet", t.ident, snap.SnapshotID, deletes)
	}
	return snap.SnapshotID, out, nil
}
