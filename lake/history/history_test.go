package history

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// testRows returns n deterministic rows for batch, with unicode text,
// special float values and a few nil embeddings.
func testRows(seed uint64, batch uint64, n int) []Row {
	rng := rand.New(rand.NewPCG(seed, batch))
	texts := []string{"hello", "héllo wörld", "日本語のテキスト", "emoji 🚀🧪", "Ελληνικά ς", "", "tab\tnew\nline", "\u200b zero width"}
	rows := make([]Row, n)
	for i := range rows {
		text := texts[rng.IntN(len(texts))] + fmt.Sprintf(" #%d/%d", batch, i)
		emb := make([]float32, 8)
		for j := range emb {
			emb[j] = rng.Float32()*2 - 1
		}
		switch i % 5 {
		case 1:
			emb[0] = float32(math.Copysign(0, -1))    // -0
			emb[1] = math.Float32frombits(0x7fc00001) // NaN with a payload
			emb[2] = float32(math.Inf(-1))
			emb[3] = math.Float32frombits(1) // smallest subnormal
		case 2:
			emb = nil
		}
		ev := EventOpen
		if i%3 == 2 {
			ev = EventClose
		}
		rows[i] = Row{
			DocID:     fmt.Sprintf("doc-%d-ü", rng.IntN(4)),
			ChunkKey:  uint32(rng.Uint64()), // spans ≥ 2^31
			Parent:    uint32(i % 2 * 7),
			Position:  int32(i) - 1,
			Hash:      sha256.Sum256([]byte(text)),
			Text:      text,
			Embedding: emb,
			Event:     ev,
			At:        1_700_000_000_000 + int64(batch)*1000 + int64(i) - 5_000_000_000_000*int64(i%7/6), // some before 1970
		}
	}
	return rows
}

// key renders a row exactly (float bits included) for multiset comparison.
func key(r Row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q|%d|%d|%d|%x|%q|%s|%d|%d|", r.DocID, r.ChunkKey, r.Parent, r.Position, r.Hash, r.Text, r.Event, r.At, r.CommitSeq)
	if r.Embedding == nil {
		b.WriteString("nil")
	}
	for _, f := range r.Embedding {
		fmt.Fprintf(&b, "%08x,", math.Float32bits(f))
	}
	return b.String()
}

func wantKeys(batches map[uint64][]Row) []string {
	var out []string
	for id, rows := range batches {
		for _, r := range rows {
			r.CommitSeq = id
			out = append(out, key(r))
		}
	}
	slices.Sort(out)
	return out
}

func scanKeys(t *testing.T, tb *Table) []string {
	t.Helper()
	var out []string
	if err := tb.Scan(t.Context(), func(r Row) error { out = append(out, key(r)); return nil }); err != nil {
		t.Fatalf("scan: %v", err)
	}
	slices.Sort(out)
	return out
}

func checkRows(t *testing.T, tb *Table, batches map[uint64][]Row) {
	t.Helper()
	got, want := scanKeys(t, tb), wantKeys(batches)
	if !slices.Equal(got, want) {
		t.Fatalf("scan returned %d rows, want %d; first differences:\n%s", len(got), len(want), diff(got, want))
	}
}

func diff(got, want []string) string {
	var b strings.Builder
	for i := 0; i < max(len(got), len(want)) && b.Len() < 2000; i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			fmt.Fprintf(&b, "got  %s\nwant %s\n", g, w)
		}
	}
	return b.String()
}

func openTest(t *testing.T, cfg Config) *Table {
	t.Helper()
	tb, err := OpenTable(t.Context(), cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { tb.Close() })
	return tb
}

func TestCommitScanIdempotentReopen(t *testing.T) {
	ctx := t.Context()
	cfg := DefaultConfig(t.TempDir())
	tb := openTest(t, cfg)

	if got, err := tb.Batches(ctx); err != nil || len(got) != 0 {
		t.Fatalf("new table batches = %v, %v", got, err)
	}
	batches := map[uint64][]Row{}
	snaps := map[uint64]int64{}
	for _, b := range []struct {
		id uint64
		n  int
	}{{7, 5}, {8, 0}, {1 << 63, 23}} { // an empty batch; a batch id past int64
		rows := testRows(1, b.id, b.n)
		id, err := tb.Commit(ctx, b.id, rows)
		if err != nil {
			t.Fatalf("commit %d: %v", b.id, err)
		}
		batches[b.id], snaps[b.id] = rows, id
	}
	if got, err := tb.Batches(ctx); err != nil || !slices.Equal(got, []uint64{7, 8, 1 << 63}) {
		t.Fatalf("batches = %v, %v", got, err)
	}
	if len(map[int64]bool{snaps[7]: true, snaps[8]: true, snaps[1<<63]: true}) != 3 {
		t.Fatalf("snapshot ids not distinct: %v", snaps)
	}
	for id, s := range snaps {
		got, found, err := tb.FindBatch(ctx, id)
		if err != nil || !found || got != s {
			t.Fatalf("FindBatch(%d) = %d, %v, %v; want %d", id, got, found, err, s)
		}
	}
	if _, found, err := tb.FindBatch(ctx, 9); err != nil || found {
		t.Fatalf("FindBatch(9) found=%v err=%v", found, err)
	}
	tbl, err := tb.load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tbl.Metadata().Snapshots()); n != 3 {
		t.Fatalf("%d snapshots, want 3", n)
	}
	for _, s := range tbl.Metadata().Snapshots() {
		id, ok := batchOf(&s)
		if !ok || snaps[id] != s.SnapshotID {
			t.Fatalf("snapshot %d summary %v: batch id %d, %v", s.SnapshotID, s.Summary.Properties, id, ok)
		}
	}
	checkRows(t, tb, batches)

	// A retry of batch 8 (even with other rows) writes nothing.
	cur, _ := tb.SnapshotID(ctx)
	again, err := tb.Commit(ctx, 8, testRows(2, 8, 4))
	if err != nil || again != snaps[8] {
		t.Fatalf("re-commit 8 = %d, %v; want %d", again, err, snaps[8])
	}
	if now, _ := tb.SnapshotID(ctx); now != cur {
		t.Fatalf("re-commit moved the current snapshot %d -> %d", cur, now)
	}
	checkRows(t, tb, batches)

	// Reopen, as a new process would.
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Commit(ctx, 99, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("commit after close: %v, want ErrClosed", err)
	}
	tb2 := openTest(t, cfg)
	checkRows(t, tb2, batches)
	if got, _ := tb2.Batches(ctx); !slices.Equal(got, []uint64{7, 8, 1 << 63}) {
		t.Fatalf("batches after reopen = %v", got)
	}
	if got, found, _ := tb2.FindBatch(ctx, 7); !found || got != snaps[7] {
		t.Fatalf("FindBatch(7) after reopen = %d, %v", got, found)
	}
	if id, err := tb2.Commit(ctx, 7, batches[7]); err != nil || id != snaps[7] {
		t.Fatalf("re-commit 7 after reopen = %d, %v", id, err)
	}
}

func TestCommitRejectsBadRows(t *testing.T) {
	ctx := t.Context()
	tb := openTest(t, DefaultConfig(t.TempDir()))
	good := testRows(3, 5, 3)
	for name, mut := range map[string]func(*Row){
		"event":      func(r *Row) { r.Event = "opened" },
		"doc id":     func(r *Row) { r.DocID = "" },
		"utf8 text":  func(r *Row) { r.Text = "bad \xff" },
		"utf8 doc":   func(r *Row) { r.DocID = "\xc3" },
		"commit seq": func(r *Row) { r.CommitSeq = 6 },
		"at range":   func(r *Row) { r.At = math.MaxInt64 },
	} {
		rows := slices.Clone(good)
		mut(&rows[1])
		_, err := tb.Commit(ctx, 5, rows)
		if err == nil {
			t.Errorf("%s: commit accepted a bad row", name)
			continue
		}
		if !strings.Contains(err.Error(), "row 1") || !strings.Contains(err.Error(), "batch 5") {
			t.Errorf("%s: error does not name the batch and row: %v", name, err)
		}
	}
	if b, _ := tb.Batches(ctx); len(b) != 0 {
		t.Fatalf("bad rows committed batches %v", b)
	}
	// CommitSeq equal to the batch id is fine.
	rows := slices.Clone(good)
	rows[0].CommitSeq = 5
	if _, err := tb.Commit(ctx, 5, rows); err != nil {
		t.Fatal(err)
	}
	checkRows(t, tb, map[uint64][]Row{5: good})
}

func TestCompactKeepsRows(t *testing.T) {
	ctx := t.Context()
	tb := openTest(t, DefaultConfig(t.TempDir()))
	batches := map[uint64][]Row{}
	for id := uint64(1); id <= 6; id++ {
		rows := testRows(4, id, 3+int(id))
		if _, err := tb.Commit(ctx, id, rows); err != nil {
			t.Fatal(err)
		}
		batches[id] = rows
	}
	before, after, err := tb.Compact(ctx)
	if err != nil {
		t.Fatalf("compact: %v", err)
	}
	if before != 6 || after != 1 {
		t.Fatalf("compact files %d -> %d, want 6 -> 1", before, after)
	}
	checkRows(t, tb, batches)
	if got, _ := tb.Batches(ctx); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("batches after compact = %v", got)
	}
	// Idempotency survives compaction.
	s3, _, _ := tb.FindBatch(ctx, 3)
	if id, err := tb.Commit(ctx, 3, batches[3]); err != nil || id != s3 {
		t.Fatalf("re-commit after compact = %d, %v", id, err)
	}
	if before, after, err = tb.Compact(ctx); err != nil || before != 1 || after != 1 {
		t.Fatalf("second compact %d -> %d, %v; want 1 -> 1", before, after, err)
	}
	// Appends after a compaction still work.
	batches[7] = testRows(4, 7, 2)
	if _, err := tb.Commit(ctx, 7, batches[7]); err != nil {
		t.Fatal(err)
	}
	checkRows(t, tb, batches)
}

func TestConcurrentWriters(t *testing.T) {
	ctx := t.Context()
	cfg := DefaultConfig(t.TempDir())
	a, b := openTest(t, cfg), openTest(t, cfg)
	batches := map[uint64][]Row{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w, tb := range []*Table{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				id := uint64(100*(w+1) + i)
				rows := testRows(5, id, 4)
				if _, err := tb.Commit(ctx, id, rows); err != nil {
					t.Errorf("writer %d commit %d: %v", w, id, err)
					return
				}
				mu.Lock()
				batches[id] = rows
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	got, err := a.Batches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []uint64{100, 101, 102, 200, 201, 202}) {
		t.Fatalf("batches = %v", got)
	}
	checkRows(t, b, batches)
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()

	t.Run("config", func(t *testing.T) {
		err := Config{DataDir: "rel/dir", Warehouse: "ftp://x/y", CatalogURI: "postgres://db", Name: "a.b",
			S3: S3Options{AccessKeyID: "k"}}.Validate()
		for _, want := range []string{"not absolute", "unsupported scheme \"ftp\"", "unsupported scheme \"postgres\"", "table name", "secret access key"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Validate error %v does not mention %q", err, want)
			}
		}
		if _, err := OpenTable(ctx, Config{}); err == nil {
			t.Error("OpenTable accepted an empty config")
		}
	})

	t.Run("corrupt catalog", func(t *testing.T) {
		dir := t.TempDir()
		cat := filepath.Join(dir, "catalog.db")
		if err := os.WriteFile(cat, []byte(strings.Repeat("not a database ", 500)), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := OpenTable(ctx, DefaultConfig(dir))
		if err == nil || !strings.Contains(err.Error(), cat) || !strings.Contains(err.Error(), "lakevec.chunk_history") {
			t.Fatalf("err = %v; want an error naming the table and %s", err, cat)
		}
	})

	t.Run("catalog is a directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "catalog.db"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenTable(ctx, DefaultConfig(dir)); err == nil {
			t.Fatal("opened a catalog that is a directory")
		}
	})

	t.Run("warehouse removed", func(t *testing.T) {
		dir := t.TempDir()
		tb := openTest(t, DefaultConfig(dir))
		if _, err := tb.Commit(ctx, 1, testRows(6, 1, 2)); err != nil {
			t.Fatal(err)
		}
		tb.Close()
		if err := os.RemoveAll(filepath.Join(dir, "warehouse")); err != nil {
			t.Fatal(err)
		}
		_, err := OpenTable(ctx, DefaultConfig(dir))
		if err == nil || !strings.Contains(err.Error(), "metadata") || !strings.Contains(err.Error(), "no such file") {
			t.Fatalf("err = %v; want a missing metadata file error", err)
		}
	})

	t.Run("warehouse not writable", func(t *testing.T) {
		dir := t.TempDir()
		blocker := filepath.Join(dir, "file")
		if err := os.WriteFile(blocker, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig(dir)
		cfg.Warehouse = "file://" + blocker + "/warehouse"
		_, err := OpenTable(ctx, cfg)
		if err == nil || !strings.Contains(err.Error(), "warehouse") {
			t.Fatalf("err = %v; want a warehouse error", err)
		}
	})

	t.Run("s3 unreachable", func(t *testing.T) {
		cfg := DefaultConfig(t.TempDir())
		cfg.Warehouse = "s3://bucket/wh"
		cfg.S3 = S3Options{Endpoint: "http://127.0.0.1:1", Region: "us-east-1", AccessKeyID: "k", SecretAccessKey: "s"}
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		_, err := OpenTable(ctx, cfg)
		if err == nil || !strings.Contains(err.Error(), "s3://bucket/wh") {
			t.Fatalf("err = %v; want an error naming the warehouse", err)
		}
	})

	t.Run("wrong schema", func(t *testing.T) {
		dir := t.TempDir()
		tb := openTest(t, DefaultConfig(dir))
		tbl, err := tb.load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx := tbl.NewTransaction()
		if err := tx.UpdateSchema(true, true).DeleteColumn([]string{colEvent}).Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		tb.Close()
		_, err = OpenTable(ctx, DefaultConfig(dir))
		if err == nil || !strings.Contains(err.Error(), "column event is missing") {
			t.Fatalf("err = %v; want the missing column named", err)
		}
	})
}

// TestCrashBeforeCatalogCommit: a process that wrote the data files of a
// batch and died before the catalog commit leaves orphan files only; the
// redo commits the batch once and the orphans are never read.
func TestCrashBeforeCatalogCommit(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	tb := openTest(t, DefaultConfig(dir))
	rows := testRows(8, 3, 6)
	filled, _ := validateRows(3, rows)
	tbl, err := tb.load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	asc, _ := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	recs, err := encodeRows(asc, filled)
	if err != nil {
		t.Fatal(err)
	}
	rdr, _ := array.NewRecordReader(asc, recs)
	tx := tbl.NewTransaction()
	if err := tx.Append(ctx, rdr, iceberg.Properties{BatchIDKey: "3"}); err != nil {
		t.Fatal(err)
	}
	// "Crash": the transaction is dropped without Commit.
	orphans, _ := filepath.Glob(filepath.Join(dir, "warehouse", "*", "*", "data", "*.parquet"))
	if len(orphans) == 0 {
		t.Fatal("the interrupted append wrote no data file")
	}
	if _, found, _ := tb.FindBatch(ctx, 3); found {
		t.Fatal("an uncommitted batch is found")
	}
	if _, err := tb.Commit(ctx, 3, rows); err != nil {
		t.Fatal(err)
	}
	checkRows(t, tb, map[uint64][]Row{3: rows})
}

// TestCompactDuringCommits: compactions racing appends of another handle
// lose no row and no batch id.
func TestCompactDuringCommits(t *testing.T) {
	ctx := t.Context()
	cfg := DefaultConfig(t.TempDir())
	w, c := openTest(t, cfg), openTest(t, cfg)
	batches := map[uint64][]Row{}
	for id := uint64(1); id <= 3; id++ {
		batches[id] = testRows(9, id, 3)
		if _, err := w.Commit(ctx, id, batches[id]); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		for id := uint64(4); id <= 8; id++ {
			if _, err := w.Commit(ctx, id, testRows(9, id, 3)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 3 {
		if _, _, err := c.Compact(ctx); err != nil {
			t.Errorf("compact: %v", err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("commit during compaction: %v", err)
	}
	for id := uint64(4); id <= 8; id++ {
		batches[id] = testRows(9, id, 3)
	}
	checkRows(t, c, batches)
	if got, _ := c.Batches(ctx); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("batches = %v", got)
	}
}

// TestCompactRefusesDeleteFiles: someone ran a merge-on-read delete on the
// table; rewriting would resurrect the deleted rows (iceberg-go#2042), so
// Compact refuses and changes nothing.
func TestCompactRefusesDeleteFiles(t *testing.T) {
	ctx := t.Context()
	tb := openTest(t, DefaultConfig(t.TempDir()))
	for id := uint64(1); id <= 2; id++ {
		rows := testRows(10, id, 4)
		rows[0].DocID = "victim"
		if _, err := tb.Commit(ctx, id, rows); err != nil {
			t.Fatal(err)
		}
	}
	tbl, err := tb.load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(iceberg.Properties{table.WriteDeleteModeKey: table.WriteModeMergeOnRead}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete(ctx, iceberg.EqualTo(iceberg.Reference(colDocID), "victim"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := tb.SnapshotID(ctx)
	_, _, err = tb.Compact(ctx)
	if err == nil || !strings.Contains(err.Error(), "2042") {
		t.Fatalf("compact with delete files: %v", err)
	}
	if after, _ := tb.SnapshotID(ctx); after != before {
		t.Fatal("a refused compaction committed a snapshot")
	}
}

// TestSnapshotsExpire: past twice retainSnapshots commits, older
// snapshots are expired, so the metadata stops growing; every row stays
// and the recent batches are still found by id.
func TestSnapshotsExpire(t *testing.T) {
	if testing.Short() {
		t.Skip("commits 2×retainSnapshots batches")
	}
	ctx := t.Context()
	dir := t.TempDir()
	tb := openTest(t, DefaultConfig(dir))
	batches := map[uint64][]Row{}
	n := 2*retainSnapshots + 3
	for b := 1; b <= n; b++ {
		rows := testRows(1, uint64(b), 2)
		if _, err := tb.Commit(ctx, uint64(b), rows); err != nil {
			t.Fatalf("commit %d: %v", b, err)
		}
		batches[uint64(b)] = rows
	}
	if tb.expireErr != nil {
		t.Fatal(tb.expireErr)
	}
	tbl, err := tb.load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(tbl.Metadata().Snapshots()); got >= 2*retainSnapshots || got < retainSnapshots {
		t.Fatalf("%d snapshots after %d commits, want %d..%d", got, n, retainSnapshots, 2*retainSnapshots-1)
	}
	// Manifests are merged: the current snapshot does not name one per
	// batch; and the catalog keeps only the recent metadata files.
	fio, err := tbl.FS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mans, err := tbl.CurrentSnapshot().Manifests(fio)
	if err != nil {
		t.Fatal(err)
	}
	if len(mans) > minMergeManifests {
		t.Fatalf("current snapshot names %d manifests after %d commits, want at most %d", len(mans), n, minMergeManifests)
	}
	metas, _ := filepath.Glob(filepath.Join(strings.TrimPrefix(tbl.Location(), "file://"), "metadata", "*.metadata.json"))
	if len(metas) == 0 {
		t.Fatalf("no metadata files found under %s", tbl.Location())
	}
	if len(metas) > keptMetadataFiles+1 {
		t.Fatalf("%d metadata files kept after %d commits, want at most %d", len(metas), n, keptMetadataFiles+1)
	}
	if got, want := scanKeys(t, tb), wantKeys(batches); !slices.Equal(got, want) {
		t.Fatalf("rows after expiry: %d, want %d", len(got), len(want))
	}
	for _, b := range []uint64{uint64(n), uint64(n - retainSnapshots + 1)} {
		if _, found, err := tb.FindBatch(ctx, b); err != nil || !found {
			t.Fatalf("recent batch %d not found: %v", b, err)
		}
	}
	// A commit by another writer in between: the cached table conflicts,
	// is reloaded, and the commit goes through.
	other := openTest(t, DefaultConfig(dir))
	if _, err := other.Commit(ctx, 9000, testRows(1, 9000, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Commit(ctx, 9001, testRows(1, 9001, 1)); err != nil {
		t.Fatalf("commit after another writer's: %v", err)
	}
	if _, found, _ := tb.FindBatch(ctx, 9000); !found {
		t.Fatal("the other writer's batch is gone")
	}
}

// A copied data directory's catalog still names the original's files; the
// copy is refused instead of committing into (and expiring files of) the
// original, which stays intact. The original opened through a symlinked
// path is the same directory and opens.
func TestCopiedDataDirRefused(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	orig := filepath.Join(root, "orig")
	tb := openTest(t, DefaultConfig(orig))
	batches := map[uint64][]Row{}
	for id := uint64(1); id <= 3; id++ {
		batches[id] = testRows(3, id, 4)
		if _, err := tb.Commit(ctx, id, batches[id]); err != nil {
			t.Fatal(err)
		}
	}
	tb.Close()
	cp := filepath.Join(root, "copy")
	if err := os.CopyFS(cp, os.DirFS(orig)); err != nil {
		t.Fatal(err)
	}
	_, err := OpenTable(ctx, DefaultConfig(cp))
	if err == nil || !strings.Contains(err.Error(), "copied or moved") || !strings.Contains(err.Error(), orig) {
		t.Fatalf("opening a copied data directory: %v, want a refusal naming the original's files", err)
	}
	other := DefaultConfig(orig)
	other.Warehouse = "file://" + filepath.ToSlash(filepath.Join(root, "elsewhere"))
	if _, err := OpenTable(ctx, other); err == nil || !strings.Contains(err.Error(), "outside the warehouse") {
		t.Fatalf("opening with another warehouse: %v, want a refusal", err)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(orig, link); err != nil {
		t.Fatal(err)
	}
	checkRows(t, openTest(t, DefaultConfig(link)), batches)
	checkRows(t, openTest(t, DefaultConfig(orig)), batches)
}
