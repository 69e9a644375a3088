package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lakevec/lakevec/lake/history"
)

// LakeHistory is the History of a documents collection kept as an Iceberg
// table (package lake/history): by default a file:// warehouse and a
// SQLite catalog under the data directory.
type LakeHistory struct{ t *history.Table }

// LakeOptions place the history table elsewhere than the default
// file:// warehouse under the data directory. The catalog (SQLite) stays
// in the data directory.
type LakeOptions struct {
	// Warehouse is "file:///abs/dir" or "s3://bucket/prefix"; empty for the
	// default.
	Warehouse string
	// S3 configures an s3:// warehouse: endpoint (for MinIO-like servers,
	// path-style), region, static credentials (empty: the AWS default
	// chain, e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
	S3 history.S3Options
}

// OpenLakeHistory opens (creating if needed) the history table of
// collection in the data directory dir.
func OpenLakeHistory(ctx context.Context, dir, collection string) (*LakeHistory, error) {
	return OpenLakeHistoryWith(ctx, dir, collection, LakeOptions{})
}

// OpenLakeHistoryWith is OpenLakeHistory with the table placed by o.
func OpenLakeHistoryWith(ctx context.Context, dir, collection string, o LakeOptions) (*LakeHistory, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, err
	}
	cfg := history.DefaultConfig(abs)
	cfg.Name = collection + "_chunks"
	if o.Warehouse != "" {
		cfg.Warehouse = o.Warehouse
	}
	cfg.S3 = o.S3
	t, err := history.OpenTable(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open the history table of %s: %w", collection, err)
	}
	return &LakeHistory{t: t}, nil
}

// Commit implements History.
func (h *LakeHistory) Commit(ctx context.Context, batchID uint64, rows []HistoryRow) (int64, error) {
	rs := make([]history.Row, len(rows))
	for i, r := range rows {
		rs[i] = history.Row(r)
	}
	return h.t.Commit(ctx, batchID, rs)
}

// FindBatch implements History.
func (h *LakeHistory) FindBatch(ctx context.Context, batchID uint64) (int64, bool, error) {
	return h.t.FindBatch(ctx, batchID)
}

// Scan implements History.
func (h *LakeHistory) Scan(ctx context.Context, fn func(HistoryRow) error) error {
	return h.t.Scan(ctx, func(r history.Row) error { return fn(HistoryRow(r)) })
}

// Compact rewrites the table's small files (lakevec optimize).
func (h *LakeHistory) Compact(ctx context.Context) (before, after int, err error) {
	return h.t.Compact(ctx)
}

// Close implements History.
func (h *LakeHistory) Close() error { return h.t.Close() }
