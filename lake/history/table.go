package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	icebergio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // registers the s3:// scheme
	"github.com/apache/iceberg-go/table"
	_ "modernc.org/sqlite" // registers the cgo-free "sqlite" driver
)

// BatchIDKey is the snapshot summary property that carries lakevec's batch
// id (the WAL sequence number) of the commit that wrote the snapshot.
const BatchIDKey = "lakevec.batch-id"

// operationKey marks snapshots lakevec writes for its own maintenance.
const operationKey = "lakevec.operation"

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("history table is closed")

// Table is the managed history table of one documents collection. Its
// methods are safe for concurrent use; commits and compactions of one
// Table value run one at a time. Every method reloads the table from the
// catalog, so a Table sees commits made by other processes.
type Table struct {
	ident table.Identifier
	name  string // "namespace.name", for errors
	db    *sql.DB
	cat   *sqlcat.Catalog
	local string // warehouse directory when the warehouse is file://, else ""

	compactTarget int64
	retries       int // lakevec-level commit attempts after the first

	writeMu sync.Mutex // serialises Commit and Compact
	// last is the table as this process last committed it (writeMu held):
	// the next commit starts from it instead of loading and parsing the
	// metadata again. A commit that fails forgets it, so a conflict with
	// another writer reloads.
	last *table.Table
	// expireErr is the last error of the snapshot expiry that follows
	// commits (maintenance: it never fails a commit).
	expireErr error

	mu     sync.Mutex // guards closed
	closed bool
}

// OpenTable opens the history table named by cfg, creating the catalog,
// the namespace and the table when missing. An existing table must have
// the history schema (extra columns are allowed).
func OpenTable(ctx context.Context, cfg Config) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("open history table: %w", err)
	}
	cfg = cfg.withDefaults()
	t := &Table{
		ident: table.Identifier{cfg.Namespace, cfg.Name},
		name:  cfg.Namespace + "." + cfg.Name,

		compactTarget: cfg.CompactTargetFileBytes,
		retries:       cfg.CommitRetries,
	}
	fail := func(err error) (*Table, error) {
		t.closeQuiet()
		return nil, fmt.Errorf("open history table %s: %w", t.name, err)
	}
	if scheme, _ := warehouseScheme(cfg.Warehouse); scheme == "file" {
		u, _ := url.Parse(cfg.Warehouse)
		t.local = filepath.FromSlash(u.Path)
	}
	if err := t.openCatalog(ctx, cfg); err != nil {
		return fail(err)
	}
	ns := table.Identifier{cfg.Namespace}
	if err := t.cat.CreateNamespace(ctx, ns, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return fail(fmt.Errorf("create namespace %s: %w", cfg.Namespace, err))
	}
	tbl, err := t.cat.LoadTable(ctx, t.ident)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		props := tableProperties(cfg)
		props[table.PropertyFormatVersion] = "2"
		tbl, err = t.cat.CreateTable(ctx, t.ident, tableSchema(), catalog.WithProperties(props))
		if errors.Is(err, catalog.ErrTableAlreadyExists) { // lost a race with another process
			tbl, err = t.cat.LoadTable(ctx, t.ident)
		} else if err != nil {
			err = fmt.Errorf("create table in warehouse %s: %w", cfg.Warehouse, err)
		}
	} else if err != nil {
		err = fmt.Errorf("load table: %w", err)
	}
	if err != nil {
		return fail(err)
	}
	if err := checkLocation(cfg, tbl.Location()); err != nil {
		return fail(err)
	}
	if err := checkSchema(t.name, tbl.Schema()); err != nil {
		t.closeQuiet()
		return nil, err
	}
	if err := t.ensureProperties(ctx, tbl, cfg); err != nil {
		return fail(err)
	}
	return t, nil
}

// checkLocation refuses a table whose files are not under the configured
// warehouse. Iceberg metadata holds absolute paths, so the catalog of a
// copied or moved data directory still points at the original's files:
// its commits would write there and its snapshot expiry delete files the
// original needs. A warehouse changed after the table was created is
// refused the same way. A file warehouse is compared by directory
// identity, so a path through a symlink still matches.
func checkLocation(cfg Config, loc string) error {
	scheme, _ := warehouseScheme(cfg.Warehouse)
	if scheme == "file" {
		lu, lerr := url.Parse(loc)
		wu, werr := url.Parse(cfg.Warehouse)
		if lerr == nil && werr == nil && lu.Scheme == "file" {
			// <warehouse>/<namespace>.db/<table>
			li, lerr := os.Stat(filepath.Dir(filepath.Dir(filepath.FromSlash(lu.Path))))
			wi, werr := os.Stat(filepath.FromSlash(wu.Path))
			if lerr == nil && werr == nil && os.SameFile(li, wi) {
				return nil
			}
		}
	} else if strings.HasPrefix(loc, strings.TrimSuffix(cfg.Warehouse, "/")+"/") {
		return nil
	}
	return fmt.Errorf("the catalog %s places the table's files at %s, outside the warehouse %s: "+
		"a data directory that was copied or moved still points at the original's files (Iceberg metadata holds absolute paths) "+
		"and must be opened at its original path; a warehouse cannot be changed after the table is created",
		cfg.CatalogURI, loc, cfg.Warehouse)
}

// openCatalog opens (creating if needed) the SQLite catalog database.
func (t *Table) openCatalog(ctx context.Context, cfg Config) error {
	path, err := sqlitePath(cfg.CatalogURI)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("catalog %s: %w", path, err)
	}
	// WAL lets readers run beside a writer; busy_timeout makes a second
	// process wait for the write lock instead of failing; synchronous FULL
	// makes a catalog commit survive a power loss in WAL mode.
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: filepath.ToSlash(path),
		RawQuery: "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("catalog %s: %w", path, err)
	}
	t.db = db
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("catalog %s: %w", path, err)
	}
	props := iceberg.Properties{"warehouse": cfg.Warehouse}
	if scheme, _ := warehouseScheme(cfg.Warehouse); scheme == "s3" {
		for k, v := range map[string]string{
			icebergio.S3EndpointURL:     cfg.S3.Endpoint,
			icebergio.S3Region:          cfg.S3.Region,
			icebergio.S3AccessKeyID:     cfg.S3.AccessKeyID,
			icebergio.S3SecretAccessKey: cfg.S3.SecretAccessKey,
			icebergio.S3SessionToken:    cfg.S3.SessionToken,
		} {
			if v != "" {
				props[k] = v
			}
		}
		props[icebergio.S3ForceVirtualAddressing] = strconv.FormatBool(cfg.S3.VirtualHosted)
	}
	cat, err := sqlcat.NewCatalog(cfg.CatalogName, db, sqlcat.SQLite, props)
	if err != nil {
		return fmt.Errorf("catalog %s: %w", path, err)
	}
	t.cat = cat
	return nil
}

// Table properties lakevec relies on. Every batch appends one data file
// with its own manifest; left alone, each snapshot's manifest list names
// every manifest ever written (each commit rewrites it, and the snapshot
// expiry reads them all: seconds at a few thousand batches), and every
// commit leaves one more metadata JSON behind. So appends merge manifests
// once minMergeManifests accumulate, and the catalog keeps only the last
// keptMetadataFiles metadata files, deleting older ones after a commit
// (the snapshots, which time travel uses, are all in the current one).
const (
	minMergeManifests = 32
	keptMetadataFiles = 16
)

func tableProperties(cfg Config) iceberg.Properties {
	return iceberg.Properties{
		table.CommitNumRetriesKey:                 strconv.Itoa(cfg.CommitRetries),
		table.ManifestMergeEnabledKey:             "true",
		table.ManifestMinMergeCountKey:            strconv.Itoa(minMergeManifests),
		table.MetadataDeleteAfterCommitEnabledKey: "true",
		table.MetadataPreviousVersionsMaxKey:      strconv.Itoa(keptMetadataFiles),
	}
}

// ensureProperties sets the table properties lakevec relies on when an
// existing table lacks them or has other values (no snapshot is created).
func (t *Table) ensureProperties(ctx context.Context, tbl *table.Table, cfg Config) error {
	want := tableProperties(cfg)
	set := iceberg.Properties{}
	for k, v := range want {
		if tbl.Properties()[k] != v {
			set[k] = v
		}
	}
	if len(set) == 0 {
		return nil
	}
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(set); err != nil {
		return fmt.Errorf("set table properties: %w", err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("set table properties: %w", err)
	}
	return nil
}

// load returns the table as the catalog has it now.
func (t *Table) load(ctx context.Context) (*table.Table, error) {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	tbl, err := t.cat.LoadTable(ctx, t.ident)
	if err != nil {
		return nil, fmt.Errorf("load history table %s: %w", t.name, err)
	}
	return tbl, nil
}

// lineage returns the snapshots of the table's main branch, oldest first.
func lineage(tbl *table.Table) []table.Snapshot {
	cur := tbl.CurrentSnapshot()
	if cur == nil {
		return nil
	}
	snaps := table.AncestorsOf(cur.SnapshotID, tbl.Metadata().SnapshotByID)
	slices.Reverse(snaps)
	return snaps
}

// batchOf returns the batch id a snapshot carries, if any.
func batchOf(s *table.Snapshot) (uint64, bool) {
	if s.Summary == nil {
		return 0, false
	}
	v, ok := s.Summary.Properties[BatchIDKey]
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(v, 10, 64)
	return id, err == nil
}

// findBatch returns the snapshot of the main branch that carries batchID.
func findBatch(tbl *table.Table, batchID uint64) (int64, bool) {
	cur := tbl.CurrentSnapshot()
	if cur == nil {
		return 0, false
	}
	for _, s := range table.AncestorsOf(cur.SnapshotID, tbl.Metadata().SnapshotByID) {
		if id, ok := batchOf(&s); ok && id == batchID {
			return s.SnapshotID, true
		}
	}
	return 0, false
}

// FindBatch reports the snapshot that committed batchID, looking at the
// current branch's snapshots (a batch whose snapshot was expired or rolled
// back is not found).
func (t *Table) FindBatch(ctx context.Context, batchID uint64) (int64, bool, error) {
	tbl, err := t.load(ctx)
	if err != nil {
		return 0, false, err
	}
	id, ok := findBatch(tbl, batchID)
	return id, ok, nil
}

// Batches returns the batch ids of the current branch's snapshots in commit
// order. Snapshots without a batch id (compactions, commits by other
// tools) are skipped.
func (t *Table) Batches(ctx context.Context) ([]uint64, error) {
	tbl, err := t.load(ctx)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, s := range lineage(tbl) {
		if id, ok := batchOf(&s); ok {
			out = append(out, id)
		}
	}
	return out, nil
}

// SnapshotID returns the current snapshot id, 0 when the table has none.
func (t *Table) SnapshotID(ctx context.Context) (int64, error) {
	tbl, err := t.load(ctx)
	if err != nil {
		return 0, err
	}
	if s := tbl.CurrentSnapshot(); s != nil {
		return s.SnapshotID, nil
	}
	return 0, nil
}

// Location returns the table's root location in the warehouse.
func (t *Table) Location(ctx context.Context) (string, error) {
	tbl, err := t.load(ctx)
	if err != nil {
		return "", err
	}
	return tbl.Location(), nil
}

// Name returns "namespace.name".
func (t *Table) Name() string { return t.name }

// Close releases the catalog. Further calls return ErrClosed.
func (t *Table) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	t.writeMu.Lock() // wait for a running commit
	defer t.writeMu.Unlock()
	return t.closeQuiet()
}

func (t *Table) closeQuiet() error {
	var errs []error
	if t.cat != nil {
		errs = append(errs, t.cat.Close())
	}
	if t.db != nil {
		errs = append(errs, t.db.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close history table %s: %w", t.name, err)
	}
	return nil
}
