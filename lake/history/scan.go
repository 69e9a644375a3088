package history

import (
	"context"
	"fmt"

	"github.com/apache/iceberg-go/table"
)

// Scan calls fn for every row of the current snapshot, file by file, in no
// promised order. It reads one data file at a time, so memory stays
// bounded by the largest file's decoded batches. An error from fn stops
// the scan and is returned as is.
func (t *Table) Scan(ctx context.Context, fn func(Row) error) error {
	tbl, err := t.load(ctx)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if tbl.CurrentSnapshot() == nil {
		return nil
	}
	return scanTable(ctx, t.name, tbl, fn)
}

func scanTable(ctx context.Context, name string, tbl *table.Table, fn func(Row) error) error {
	scan := tbl.Scan()
	defer scan.Close()
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return fmt.Errorf("scan history table %s: plan files: %w", name, err)
	}
	for _, task := range tasks {
		if err := scanTask(ctx, name, scan, task, fn); err != nil {
			return err
		}
	}
	return nil
}

type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }
func (e callbackError) Unwrap() error { return e.err }

func scanTask(ctx context.Context, name string, scan *table.Scan, task table.FileScanTask, fn func(Row) error) error {
	file := task.File.FilePath()
	_, it, err := scan.ReadTasks(ctx, []table.FileScanTask{task})
	if err != nil {
		return fmt.Errorf("scan history table %s: file %s: %w", name, file, err)
	}
	d := decoder{file: "history table " + name + ": file " + file}
	for rec, err := range it {
		if err != nil {
			return fmt.Errorf("scan history table %s: file %s: %w", name, file, err)
		}
		derr := d.decode(rec, func(r Row) error {
			if err := fn(r); err != nil {
				return callbackError{err}
			}
			return nil
		})
		rec.Release()
		if ce, ok := derr.(callbackError); ok {
			return ce.err
		}
		if derr != nil {
			return fmt.Errorf("scan: %w", derr)
		}
	}
	return nil
}
