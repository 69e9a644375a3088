package lake

import (
	"context"
	"errors"
	"fmt"
	"sync"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
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
