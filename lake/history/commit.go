package history

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// Commit appends rows as ONE Iceberg snapshot whose summary carries
// BatchIDKey=batchID, and returns its id. It is idempotent by batch id: if
// the current branch already has a snapshot with batchID (a retry after a
// crash or a lost acknowledgement), Commit returns that snapshot and writes
// nothing. An empty rows still commits an (empty) snapshot, so the batch id
// is recorded.
//
// Rows are validated before any I/O; a row's CommitSeq must be 0 (filled
// with batchID) or batchID.
//
// A commit that loses an optimistic-concurrency race (another writer or a
// compaction moved the branch) is retried up to Config.CommitRetries times
// with backoff, looking the batch id up before each attempt. When Commit
// returns an error the commit may or may not have happened (the catalog
// may have committed and the reply been lost): Commit looks the batch up
// before giving up, and calling Commit again with the same batch id is
// always safe. One writer per table is the contract: two processes
// committing the same batch id at the very same moment can both succeed.
func (t *Table) Commit(ctx context.Context, batchID uint64, rows []Row) (int64, error) {
	rows, err := validateRows(batchID, rows)
	if err != nil {
		return 0, fmt.Errorf("commit batch %d to history table %s: %w", batchID, t.name, err)
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	for attempt := 0; ; attempt++ {
		id, err := t.commitOnce(ctx, batchID, rows)
		if err == nil {
			t.expire(ctx)
			return id, nil
		}
		t.last = nil
		if attempt >= t.retries || !isConflict(err) {
			return 0, fmt.Errorf("commit batch %d to history table %s: %w", batchID, t.name, err)
		}
		if err := sleepBackoff(ctx, attempt); err != nil {
			return 0, fmt.Errorf("commit batch %d to history table %s: %w", batchID, t.name, err)
		}
	}
}

// commitOnce is one attempt: reload, look the batch up, append, commit.
func (t *Table) commitOnce(ctx context.Context, batchID uint64, rows []Row) (int64, error) {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return 0, ErrClosed
	}
	tbl := t.last
	if tbl == nil {
		var err error
		if tbl, err = t.load(ctx); err != nil {
			return 0, err
		}
	}
	if id, ok := findBatch(tbl, batchID); ok {
		return id, nil
	}
	asc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		return 0, err
	}
	recs, err := encodeRows(asc, rows)
	if err != nil {
		return 0, err
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	rdr, err := array.NewRecordReader(asc, recs)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()

	tx := tbl.NewTransaction()
	if err := tx.Append(ctx, rdr, iceberg.Properties{BatchIDKey: strconv.FormatUint(batchID, 10)}); err != nil {
		// Nothing is committed: data files already written stay as orphans
		// (harmless; removable by an orphan cleanup that reads the catalog).
		return 0, fmt.Errorf("write data files: %w", err)
	}
	newTbl, err := tx.Commit(ctx)
	if err != nil {
		// Commit state unknown: the catalog may have committed. Look.
		if ctx.Err() == nil {
			if again, lerr := t.load(ctx); lerr == nil {
				if id, ok := findBatch(again, batchID); ok {
					return id, t.syncWarehouse()
				}
			}
		}
		return 0, err
	}
	id, ok := findBatch(newTbl, batchID)
	if !ok {
		return 0, fmt.Errorf("committed, but no snapshot carries %s=%d", BatchIDKey, batchID)
	}
	if err := t.syncWarehouse(); err != nil {
		return 0, err
	}
	t.last = newTbl
	return id, nil
}

// Snapshot expiry. Every commit adds a snapshot, and the table metadata
// lists them all: left alone it grows without bound, and every commit
// parses and rewrites it (at 480 snapshots, 350 KB twice per commit).
// lakevec needs only the current snapshot (it holds every row) and the
// recent ones (a batch being recovered is found by its batch id among
// them), so once a table holds twice retainSnapshots, the older ones are
// expired; their manifest lists, and data files no snapshot still needs
// (those a compaction replaced), are deleted after the expiry commits.
const retainSnapshots = 64

// expire runs the expiry when due. writeMu is held. Errors are kept in
// expireErr, not returned: the batch is committed either way.
func (t *Table) expire(ctx context.Context) {
	tbl := t.last
	if tbl == nil || len(tbl.Metadata().Snapshots()) < 2*retainSnapshots {
		return
	}
	tx := tbl.NewTransaction()
	err := tx.ExpireSnapshots(table.WithRetainLast(retainSnapshots), table.WithOlderThan(0))
	var newTbl *table.Table
	if err == nil {
		newTbl, err = tx.Commit(ctx)
	}
	if err != nil {
		t.expireErr, t.last = fmt.Errorf("expire snapshots of %s: %w", t.name, err), nil
		return
	}
	t.expireErr, t.last = nil, newTbl
}

// isConflict reports whether err means another commit moved the table
// under us, so that redoing the commit on the fresh state may succeed.
// iceberg-go v0.7.0's SQL catalog wraps only the final compare-and-swap
// race in table.ErrCommitFailed; a branch that moved before that (checked
// by the "requirement failed: branch ... has changed / was created
// concurrently" validation) comes back as a plain error, so iceberg-go's
// own retry loop never sees it.
func isConflict(err error) bool {
	if errors.Is(err, table.ErrCommitFailed) || errors.Is(err, table.ErrCommitDiverged) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "requirement failed:") &&
		(strings.Contains(msg, "has changed") || strings.Contains(msg, "created concurrently"))
}

// sleepBackoff waits before retry attempt+1: 50 ms doubling up to 2 s,
// with jitter so two writers do not collide again.
func sleepBackoff(ctx context.Context, attempt int) error {
	d := 50 * time.Millisecond << min(attempt, 5)
	d = min(d, 2*time.Second)
	d = d/2 + rand.N(d/2+1)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-timer.C:
		return nil
	}
}

// syncWarehouse flushes a file:// warehouse's file system to stable
// storage. iceberg-go writes local data, manifest and metadata files
// without fsync; without this a power loss shortly after an acknowledged
// commit could leave the catalog pointing at a truncated metadata file.
// The window between the catalog commit and this sync remains (see the
// package doc). Object stores acknowledge durable PUTs and need nothing.
func (t *Table) syncWarehouse() error {
	if t.local == "" {
		return nil
	}
	if err := syncFS(t.local); err != nil {
		return fmt.Errorf("sync warehouse %s: %w", t.local, err)
	}
	return nil
}
