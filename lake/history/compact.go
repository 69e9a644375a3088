package history

import (
	"context"
	"fmt"
	"strconv"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"
)

// Compact (`lakevec optimize`) rewrites the table's small data files into
// fewer, larger ones in one replace snapshot (no batch id: Batches skips
// it). The rows are unchanged: Compact checks the row count of the staged
// result before committing and the committed snapshot's summary after.
// It returns the number of data files before and after; equal numbers mean
// there was nothing worth rewriting.
//
// The history table is append-only, so it never has delete files; if one
// appears (someone ran a delete on the table), Compact refuses: iceberg-go
// v0.7.0's rewrites ignore delete files already applied to a rewritten file
// and would bring deleted rows back (apache/iceberg-go#2042).
//
// A rewrite that loses a race with a concurrent commit is planned again
// from the fresh state, up to Config.CommitRetries times.
func (t *Table) Compact(ctx context.Context) (filesBefore, filesAfter int, err error) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.last = nil // the compaction commits a new state: the next commit loads it
	for attempt := 0; ; attempt++ {
		filesBefore, filesAfter, err = t.compactOnce(ctx)
		if err == nil || attempt >= t.retries || !isConflict(err) {
			return filesBefore, filesAfter, err
		}
		if err := sleepBackoff(ctx, attempt); err != nil {
			return 0, 0, fmt.Errorf("compact history table %s: %w", t.name, err)
		}
	}
}

func (t *Table) compactOnce(ctx context.Context) (filesBefore, filesAfter int, err error) {
	fail := func(err error) (int, int, error) {
		return 0, 0, fmt.Errorf("compact history table %s: %w", t.name, err)
	}
	tbl, err := t.load(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("compact: %w", err)
	}
	if tbl.CurrentSnapshot() == nil {
		return 0, 0, nil
	}
	files, rows, err := countFiles(ctx, tbl.Scan())
	if err != nil {
		return fail(err)
	}
	cfg := compaction.DefaultConfig()
	cfg.TargetFileSizeBytes = t.compactTarget
	cfg.MinFileSizeBytes = t.compactTarget * 3 / 4
	cfg.MaxFileSizeBytes = t.compactTarget * 9 / 5
	cfg.MinInputFiles = 2
	plan, err := compaction.Analyze(ctx, tbl, cfg)
	if err != nil {
		return fail(fmt.Errorf("plan: %w", err))
	}
	if len(plan.Groups) == 0 {
		return files, files, nil
	}
	groups := make([]table.CompactionTaskGroup, len(plan.Groups))
	for i, g := range plan.Groups {
		groups[i] = table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes}
	}
	tx := tbl.NewTransaction()
	if _, err := tx.RewriteDataFiles(ctx, groups, table.RewriteDataFilesOptions{
		SnapshotProps: iceberg.Properties{operationKey: "compact"},
	}); err != nil {
		return fail(fmt.Errorf("rewrite data files: %w", err))
	}
	staged, err := tx.StagedTable()
	if err != nil {
		return fail(err)
	}
	// A staged table cannot be scanned: check the totals iceberg-go computed
	// for the staged snapshot from its manifests.
	if err := checkTotals(staged.CurrentSnapshot(), rows); err != nil {
		return fail(fmt.Errorf("staged rewrite: %w; not committed", err))
	}
	newTbl, err := tx.Commit(ctx)
	if err != nil {
		return fail(fmt.Errorf("commit rewrite: %w", err))
	}
	// A concurrent append replayed under the rewrite adds rows; the rewrite
	// itself must add exactly what it removes.
	if s := newTbl.CurrentSnapshot(); s != nil && s.Summary != nil {
		added, _ := strconv.ParseInt(s.Summary.Properties["added-records"], 10, 64)
		deleted, _ := strconv.ParseInt(s.Summary.Properties["deleted-records"], 10, 64)
		if added != deleted {
			return fail(fmt.Errorf("committed snapshot %d added %d records and deleted %d", s.SnapshotID, added, deleted))
		}
	}
	if err := t.syncWarehouse(); err != nil {
		return fail(err)
	}
	after, _, err := countFiles(ctx, newTbl.Scan())
	if err != nil {
		return fail(err)
	}
	return files, after, nil
}

// countFiles plans scan and returns its data files and rows, refusing
// delete files (see Compact).
func countFiles(ctx context.Context, scan *table.Scan) (files int, rows int64, err error) {
	defer scan.Close()
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("plan files: %w", err)
	}
	for _, task := range tasks {
		if n := len(task.DeleteFiles) + len(task.EqualityDeleteFiles) + len(task.DeletionVectorFiles); n > 0 {
			return 0, 0, fmt.Errorf("data file %s has %d delete files: the history table is append-only and "+
				"iceberg-go v0.7.0 would resurrect deleted rows when rewriting it (apache/iceberg-go#2042)",
				task.File.FilePath(), n)
		}
		rows += task.File.Count()
	}
	return len(tasks), rows, nil
}

// checkTotals compares a snapshot's summary totals with the expected row
// count and refuses delete files.
func checkTotals(s *table.Snapshot, rows int64) error {
	if s == nil || s.Summary == nil {
		return fmt.Errorf("no snapshot summary")
	}
	p := s.Summary.Properties
	total, err := strconv.ParseInt(p["total-records"], 10, 64)
	if err != nil {
		return fmt.Errorf("snapshot %d: total-records %q: %w", s.SnapshotID, p["total-records"], err)
	}
	if total != rows {
		return fmt.Errorf("snapshot %d has %d rows, want %d", s.SnapshotID, total, rows)
	}
	if d := p["total-delete-files"]; d != "" && d != "0" {
		return fmt.Errorf("snapshot %d has %s delete files", s.SnapshotID, d)
	}
	return nil
}
