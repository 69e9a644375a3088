package history

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// BenchmarkCommitAfterManyBatches times one batch commit (40 rows; the
// snapshot expiry every retainSnapshots commits included) on a table that
// already holds LAKEVEC_BENCH_BATCHES batches (default 1000), with the
// table properties lakevec sets (merged manifests, old metadata files
// deleted) and, as the peer in the same run, with those two switched off:
// one manifest per batch, as iceberg-go's fast append leaves them. The
// slowest commit (one that runs the snapshot expiry) is reported too.
//
//	go test ./lake/history -run '^$' -bench CommitAfterManyBatches -benchtime 200x
func BenchmarkCommitAfterManyBatches(b *testing.B) {
	for _, merged := range []bool{true, false} {
		name := "merged"
		if !merged {
			name = "unmerged"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			tb, err := OpenTable(ctx, DefaultConfig(b.TempDir()))
			if err != nil {
				b.Fatal(err)
			}
			defer tb.Close()
			if !merged {
				tbl, err := tb.load(ctx)
				if err != nil {
					b.Fatal(err)
				}
				tx := tbl.NewTransaction()
				if err := tx.SetProperties(iceberg.Properties{table.ManifestMergeEnabledKey: "false", table.MetadataDeleteAfterCommitEnabledKey: "false"}); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
			pre := benchBatches(b)
			for batch := 1; batch <= pre; batch++ {
				if _, err := tb.Commit(ctx, uint64(batch), testRows(1, uint64(batch), 40)); err != nil {
					b.Fatalf("commit %d: %v", batch, err)
				}
			}
			var slowest time.Duration
			b.ResetTimer()
			for i := range b.N {
				batch := uint64(pre + 1 + i)
				start := time.Now()
				if _, err := tb.Commit(ctx, batch, testRows(1, batch, 40)); err != nil {
					b.Fatal(err)
				}
				slowest = max(slowest, time.Since(start))
			}
			b.StopTimer()
			b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-ms")
			if tb.expireErr != nil {
				b.Fatal(tb.expireErr)
			}
			tbl, err := tb.load(ctx)
			if err != nil {
				b.Fatal(err)
			}
			fio, _ := tbl.FS(ctx)
			mans, err := tbl.CurrentSnapshot().Manifests(fio)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(mans)), "manifests")
		})
	}
}

func benchBatches(b *testing.B) int {
	n := 1000
	if s := os.Getenv("LAKEVEC_BENCH_BATCHES"); s != "" {
		if _, err := fmt.Sscan(s, &n); err != nil || n < 0 {
			b.Fatalf("LAKEVEC_BENCH_BATCHES=%q: want a count", s)
		}
	}
	return n
}
