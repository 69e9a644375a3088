package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lakevec/lakevec/engine"
	"github.com/lakevec/lakevec/engine/embed"
)

// kbFlags are the flags of every command that opens the documents
// collection of a data directory.
type kbFlags struct {
	data, collection string
	json             bool
	emb              embedFlags
	lake             engine.LakeOptions
	// logger receives the engine's recovery and checkpoint messages; set
	// by serve (its JSON log). Commands default to warnings on stderr.
	logger *slog.Logger
}

func addKBFlags(f *pflag.FlagSet, fl *kbFlags, withEmbedder bool) {
	f.StringVar(&fl.data, "data", "lakevec-data", "data directory")
	f.StringVar(&fl.collection, "collection", "docs", "documents collection")
	f.BoolVar(&fl.json, "json", false, "print JSON")
	f.StringVar(&fl.lake.Warehouse, "warehouse", "", "where the history table's files live: file:///abs/dir or s3://bucket/prefix (default under --data)")
	f.StringVar(&fl.lake.S3.Endpoint, "s3-endpoint", "", "S3-compatible endpoint for an s3:// warehouse, e.g. http://127.0.0.1:9000 (path-style; credentials from the AWS environment)")
	f.StringVar(&fl.lake.S3.Region, "s3-region", "", "region of an s3:// warehouse")
	if withEmbedder {
		addEmbedderFlags(f, &fl.emb)
	}
}

// openKB opens the knowledge base the flags name, with the lake history
// table under the data directory.
func openKB(ctx context.Context, cmd *cobra.Command, fl kbFlags, stderr io.Writer) (*engine.KB, error) {
	// Only the commands that add documents create a data directory; a
	// search of a mistyped --data must not answer "no results" from a
	// fresh empty one.
	switch cmd.Name() {
	case "ingest", "import-history", "demo", "serve":
	default:
		if _, err := os.Stat(filepath.Join(fl.data, "store")); err != nil {
			return nil, fmt.Errorf("no lakevec data directory at %s (ingest documents first, or give --data)", fl.data)
		}
	}
	e, err := openEmbedder(ctx, cmd, fl.emb, stderr)
	if err != nil {
		return nil, err
	}
	if fl.logger == nil {
		fl.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return openKBWith(ctx, fl, e)
}

// openEmbedder builds the embedder the flags choose, saying on stderr when
// it is the lexical default.
func openEmbedder(ctx context.Context, cmd *cobra.Command, fl embedFlags, stderr io.Writer) (embed.Embedder, error) {
	cfg, notice, err := embedConfig(cmd, fl)
	if err != nil {
		return nil, usageError{err}
	}
	e, err := embed.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if notice {
		fmt.Fprintln(stderr, lexicalNotice)
	}
	return e, nil
}

// openKBWith opens the knowledge base with an embedder already built
// (commands that use it before opening, like rebuild, load it once).
func openKBWith(ctx context.Context, fl kbFlags, e embed.Embedder) (*engine.KB, error) {
	hist, err := openLakeHistory(ctx, fl)
	if err != nil {
		return nil, err
	}
	k, err := engine.Open(ctx, fl.data, engine.Options{Collection: fl.collection, Embedder: e, History: hist, Logger: fl.logger})
	if err != nil {
		hist.Close()
		return nil, err
	}
	return k, nil
}

// parseTime reads an RFC 3339 instant or a date (UTC midnight).
func parseTime(flag, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usagef("%s %q: want an RFC 3339 time (2024-03-12T09:30:00Z) or a date (2024-03-12)", flag, s)
}

// openLakeHistory opens the Iceberg history table of a collection under
// the data directory.
func openLakeHistory(ctx context.Context, fl kbFlags) (*engine.LakeHistory, error) {
	if err := validCollection(fl.collection); err != nil {
		return nil, err
	}
	return engine.OpenLakeHistoryWith(ctx, fl.data, fl.collection, fl.lake)
}

func validCollection(c string) error {
	if c == "" || len(c) > 64 {
		return usagef("--collection %q: want 1 to 64 characters", c)
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return usagef("--collection %q: only lower-case letters, digits and '_'", c)
		}
	}
	return nil
}

// parseFromTo reads the --from and --to times of compare and diff.
func parseFromTo(command, from, to string) (time.Time, time.Time, error) {
	if from == "" || to == "" {
		return time.Time{}, time.Time{}, usagef("%s needs --from and --to", command)
	}
	t1, err := parseTime("--from", from)
	if err != nil {
		return t1, t1, err
	}
	t2, err := parseTime("--to", to)
	return t1, t2, err
}
