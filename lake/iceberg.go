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

	guard func(uri string) error // IcebergSource.Guard

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
// With a guard, every Open is vetted first and Remove is refused.
func (t *IcebergTable) FS(ctx context.Context) (icebergio.IO, error) {
	fs, err := t.current().FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg table %s: %w", t.ident, err)
	}
	if t.guard != nil {
		return guardedIO{IO: fs, guard: t.guard}, nil
	}
	return fs, nil
}

// guardedIO is the file IO of a table whose files must pass a guard. Only
// the IO interface is exposed (an optional ReadFile could bypass Open).
type guardedIO struct {
	icebergio.IO
	guard func(uri string) error
}

func (g guardedIO) Open(name string) (icebergio.File, error) {
	if err := g.guard(name); err != nil {
		return nil, err
	}
	return g.IO.Open(name)
}

func (g guardedIO) Remove(name string) error {
	return fmt.Errorf("remove %s: lakevec does not write the tables it reads", name)
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
