package lake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	icebergio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // registers the s3:// scheme of table files
	"github.com/apache/iceberg-go/table"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx" of PostgreSQL SQL catalogs
	_ "modernc.org/sqlite"             // driver "sqlite" of SQLite SQL catalogs
)

// IcebergSource names an Iceberg table lakevec reads.
type IcebergSource struct {
	// Catalog is where the table is registered:
	//
	//   - a SQLite SQL catalog: a path, or sqlite:///abs/path (opened
	//     read-only);
	//   - a PostgreSQL SQL catalog: postgres://... or postgresql://... (a
	//     pgx DSN);
	//   - a REST catalog: http://... or https://... (its base URI, without
	//     /v1);
	//   - empty: Table is the location of a metadata JSON file.
	//
	// SQL catalogs key tables by catalog name; the one the writer used for
	// this table is looked up (Props["catalog-name"] overrides).
	Catalog string
	// Table is "namespace.table" (nested namespaces "a.b.table"), or, when
	// Catalog is empty, a metadata file location (a local path, file://
	// or s3:// URI ending in .metadata.json).
	Table string
	// S3 configures the object store of s3:// table files. Its settings
	// become iceberg-go's s3.* properties; a REST catalog's vended
	// credentials and table config override them.
	S3 S3Options
	// Props are extra catalog and file IO properties, applied last. REST
	// catalogs read "credential" (client_id:secret), "token", "prefix" and
	// "warehouse" from here.
	Props map[string]string
	// Guard, optional, vets every file of the table before it is read: the
	// metadata JSON a SQL catalog or Table names (before iceberg-go loads
	// it, at open and at each Refresh), and manifest lists and manifests
	// (through the table's file IO, which then also refuses to remove
	// anything). A server confines attached tables to its roots with it.
	Guard func(uri string) error
}

// OpenIceberg loads the table src names. Close the table when done.
func OpenIceberg(ctx context.Context, src IcebergSource) (*IcebergTable, error) {
	props := iceberg.Properties(src.S3.IcebergProps())
	maps.Copy(props, src.Props)
	cat := src.Catalog
	var (
		t   *IcebergTable
		err error
	)
	switch {
	case cat == "":
		t, err = openMetadataLocation(ctx, src.Table, props, src.Guard)
	case strings.HasPrefix(cat, "http://") || strings.HasPrefix(cat, "https://"):
		t, err = openREST(ctx, cat, src.Table, props)
	case strings.HasPrefix(cat, "postgres://") || strings.HasPrefix(cat, "postgresql://"):
		t, err = openSQL(ctx, cat, src.Table, sqlcat.Postgres, props, src.Guard)
	case strings.HasPrefix(cat, "sqlite://") || !strings.Contains(cat, "://"):
		t, err = openSQL(ctx, cat, src.Table, sqlcat.SQLite, props, src.Guard)
	default:
		return nil, fmt.Errorf("iceberg catalog %s: unsupported (want a SQLite path or sqlite://, postgres://, http(s):// for REST, or no catalog and a metadata JSON location)", redact(cat))
	}
	if err != nil {
		return nil, err
	}
	t.guard = src.Guard
	return t, nil
}

// splitIdent parses "namespace.table".
func splitIdent(ident string) (table.Identifier, error) {
	parts := strings.Split(ident, ".")
	if len(parts) < 2 || slicesContainsEmpty(parts) {
		return nil, fmt.Errorf("iceberg table %q: want namespace.table", ident)
	}
	return table.Identifier(parts), nil
}

func slicesContainsEmpty(s []string) bool {
	for _, p := range s {
		if p == "" {
			return true
		}
	}
	return false
}

// redact hides the password of a DSN in messages.
func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.User == nil {
		return uri
	}
	return u.Redacted()
}

// openSQL opens a table of a SQL catalog on SQLite or PostgreSQL.
func openSQL(ctx context.Context, uri, ident string, dialect sqlcat.SupportedDialect, props iceberg.Properties, guard func(string) error) (*IcebergTable, error) {
	id, err := splitIdent(ident)
	if err != nil {
		return nil, err
	}
	var db *sql.DB
	shown := redact(uri)
	if dialect == sqlcat.SQLite {
		p := strings.TrimPrefix(uri, "sqlite://")
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("iceberg catalog %s: %w", uri, err)
		}
		dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: filepath.ToSlash(p), RawQuery: "_pragma=busy_timeout(10000)&mode=ro"}).String()
		db, err = sql.Open("sqlite", dsn)
	} else {
		db, err = sql.Open("pgx", uri)
	}
	if err != nil {
		return nil, fmt.Errorf("iceberg catalog %s: %w", shown, err)
	}
	catName := props["catalog-name"]
	if catName == "" {
		// The SQL catalog keys tables by catalog name; take the one the
		// writer used for this table.
		q := "SELECT catalog_name FROM iceberg_tables WHERE table_namespace = ? AND table_name = ? LIMIT 1"
		if dialect == sqlcat.Postgres {
			q = "SELECT catalog_name FROM iceberg_tables WHERE table_namespace = $1 AND table_name = $2 LIMIT 1"
		}
		ns, name := strings.Join(id[:len(id)-1], "."), id[len(id)-1]
		err = db.QueryRowContext(ctx, q, ns, name).Scan(&catName)
		if errors.Is(err, sql.ErrNoRows) {
			db.Close()
			return nil, fmt.Errorf("iceberg table %s: not in the catalog %s", ident, shown)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("iceberg catalog %s: %w", shown, err)
		}
	}
	// lakevec only reads: never create or migrate the catalog's tables.
	props["init_catalog_tables"] = "false"
	c, err := sqlcat.NewCatalog(catName, db, dialect, props)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("iceberg catalog %s: %w", shown, err)
	}
	var vet func(context.Context) error
	if guard != nil {
		// The metadata file the catalog names now is vetted before
		// iceberg-go reads it, at every load.
		q := "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?"
		if dialect == sqlcat.Postgres {
			q = "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3"
		}
		ns, name := strings.Join(id[:len(id)-1], "."), id[len(id)-1]
		vet = func(ctx context.Context) error {
			var loc sql.NullString
			if err := db.QueryRowContext(ctx, q, catName, ns, name).Scan(&loc); err != nil {
				return fmt.Errorf("iceberg table %s in %s: metadata location: %w", ident, shown, err)
			}
			if err := guard(loc.String); err != nil {
				return fmt.Errorf("iceberg table %s in %s: metadata file: %w", ident, shown, err)
			}
			return nil
		}
	}
	t, err := newCatalogTable(ctx, c, id, ident, shown, vet)
	if err != nil {
		db.Close()
		return nil, err
	}
	t.closers = append(t.closers, db.Close)
	return t, nil
}

// openREST opens a table of a REST catalog.
func openREST(ctx context.Context, uri, ident string, props iceberg.Properties) (*IcebergTable, error) {
	id, err := splitIdent(ident)
	if err != nil {
		return nil, err
	}
	var opts []rest.Option
	extra := iceberg.Properties{}
	for k, v := range props {
		switch k {
		case "credential":
			opts = append(opts, rest.WithCredential(v))
		case "token":
			opts = append(opts, rest.WithOAuthToken(v))
		case "prefix":
			opts = append(opts, rest.WithPrefix(v))
		case "warehouse":
			opts = append(opts, rest.WithWarehouseLocation(v))
		default:
			extra[k] = v
		}
	}
	opts = append(opts, rest.WithAdditionalProps(extra))
	c, err := rest.NewCatalog(ctx, "rest", uri, opts...)
	if err != nil {
		return nil, fmt.Errorf("iceberg catalog %s: %w", redact(uri), err)
	}
	t, err := newCatalogTable(ctx, c, id, ident, redact(uri), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	t.closers = append(t.closers, c.Close)
	return t, nil
}

// newCatalogTable loads a table of a catalog; Refresh loads it again.
// vet, if not nil, runs before every load.
func newCatalogTable(ctx context.Context, c catalog.Catalog, id table.Identifier, ident, shown string, vet func(context.Context) error) (*IcebergTable, error) {
	load := func(ctx context.Context) (*table.Table, error) {
		if vet != nil {
			if err := vet(ctx); err != nil {
				return nil, err
			}
		}
		t, err := c.LoadTable(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("iceberg table %s in %s: %w", ident, shown, err)
		}
		return t, nil
	}
	tbl, err := load(ctx)
	if err != nil {
		return nil, err
	}
	return &IcebergTable{tbl: tbl, ident: ident, load: load}, nil
}

// openMetadataLocation opens a table from its metadata JSON file, with no
// catalog. Refresh re-reads the same file (a new commit writes a new
// metadata file: to follow a table, open it through its catalog).
func openMetadataLocation(ctx context.Context, loc string, props iceberg.Properties, guard func(string) error) (*IcebergTable, error) {
	if !strings.HasSuffix(loc, ".metadata.json") {
		return nil, fmt.Errorf("iceberg table %q: with no catalog, the table must be a metadata file location ending in .metadata.json", loc)
	}
	if !strings.Contains(loc, "://") {
		abs, err := filepath.Abs(loc)
		if err != nil {
			return nil, fmt.Errorf("iceberg table %s: %w", loc, err)
		}
		loc = abs
	}
	// The identifier is only a name: the table's directory (…/<table>/metadata/x.metadata.json).
	name := path.Base(path.Dir(path.Dir(filepath.ToSlash(loc))))
	id := table.Identifier{name}
	load := func(ctx context.Context) (*table.Table, error) {
		if guard != nil {
			if err := guard(loc); err != nil {
				return nil, fmt.Errorf("iceberg table %s: %w", loc, err)
			}
		}
		t, err := table.NewFromLocation(ctx, id, loc, icebergio.LoadFSFunc(props, loc), nil)
		if err != nil {
			return nil, fmt.Errorf("iceberg table %s: %w", loc, err)
		}
		return t, nil
	}
	tbl, err := load(ctx)
	if err != nil {
		return nil, err
	}
	return &IcebergTable{tbl: tbl, ident: loc, load: load}, nil
}
