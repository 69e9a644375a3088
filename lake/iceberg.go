package lake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/iceberg-go"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	_ "modernc.org/sqlite" // the SQL catalog's driver

	"github.com/lakevec/lakevec/snapshot"
)

// IcebergTable is an Iceberg table lakevec reads (it never writes it),
// opened through a SQL catalog on SQLite. Its data files must be on a
// file:// warehouse for now.
type IcebergTable struct {
	db    *sql.DB
	tbl   *table.Table
	ident string
}

// DataFile is a live data file of a table snapshot.
type DataFile struct {
	Path    string // local path
	Size    int64
	Records int64
}

// OpenIcebergTable loads table ident ("namespace.table") from the SQLite
// catalog at uri (a path, or sqlite:///path).
func OpenIcebergTable(ctx context.Context, uri, ident string) (*IcebergTable, error) {
	path := strings.TrimPrefix(uri, "sqlite://")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("iceberg catalog %s: %w", uri, err)
	}
	parts := strings.Split(ident, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("iceberg table %q: want namespace.table", ident)
	}
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: filepath.ToSlash(path), RawQuery: "_pragma=busy_timeout(10000)&mode=ro"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("iceberg catalog %s: %w", uri, err)
	}
	// The SQL catalog keys tables by catalog name; take the one the
	// writer used for this table.
	var catName string
	ns, name := strings.Join(parts[:len(parts)-1], "."), parts[len(parts)-1]
	err = db.QueryRowContext(ctx, "SELECT catalog_name FROM iceberg_tables WHERE table_namespace = ? AND table_name = ? LIMIT 1", ns, name).Scan(&catName)
	if errors.Is(err, sql.ErrNoRows) {
		db.Close()
		return nil, fmt.Errorf("iceberg table %s: not in the catalog %s", ident, uri)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("iceberg catalog %s: %w", uri, err)
	}
	cat, err := sqlcat.NewCatalog(catName, db, sqlcat.SQLite, iceberg.Properties{})
	if err == nil {
		var t *table.Table
		if t, err = cat.LoadTable(ctx, table.Identifier(parts)); err == nil {
			return &IcebergTable{db: db, tbl: t, ident: ident}, nil
		}
	}
	db.Close()
	return nil, fmt.Errorf("iceberg table %s in %s: %w", ident, uri, err)
}

// Close releases the catalog.
func (t *IcebergTable) Close() error { return t.db.Close() }

// CurrentDataFiles returns the current snapshot's id and live data files.
// A table with delete files (merge-on-read deletes) is refused: applying
// them is not built yet, and ignoring them would return deleted rows.
func (t *IcebergTable) CurrentDataFiles(ctx context.Context) (int64, []DataFile, error) {
	snap := t.tbl.CurrentSnapshot()
	if snap == nil {
		return 0, nil, nil
	}
	fs, err := t.tbl.FS(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("iceberg table %s: %w", t.ident, err)
	}
	st, err := snapshot.ReadState(ctx, fs, t.tbl.Metadata(), snap.SnapshotID)
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
		p, ok := strings.CutPrefix(f.Path, "file://")
		if !ok {
			return 0, nil, fmt.Errorf("iceberg table %s: data file %s: only file:// warehouses can be attached yet", t.ident, f.Path)
		}
		out = append(out, DataFile{Path: p, Size: f.Size, Records: f.Records})
	}
	if deletes > 0 {
		return 0, nil, fmt.Errorf("iceberg table %s: snapshot %d has %d delete files (merge-on-read deletes): not supported yet", t.ident, snap.SnapshotID, deletes)
	}
	return snap.SnapshotID, out, nil
}
