package engine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// crashDoc is the text of document d in batch b: every batch edits one
// paragraph of every document and adds a new document.
func crashDoc(d, b int) string {
	return fmt.Sprintf("Document %d keeps a stable first paragraph that no batch ever edits, long enough.\n\n"+
		"Document %d paragraph edited by batch %d with words alpha%d beta%d gamma%d for the search.", d, d, b, b, d, b)
}

func crashBatch(b int) []DocInput {
	var docs []DocInput
	for d := 0; d <= b; d++ {
		docs = append(docs, DocInput{DocID: fmt.Sprintf("doc-%d.md", d), Text: crashDoc(d, b)})
	}
	return docs
}

var crashBase = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// TestCrashAtEveryFailpoint kills a real child process (SIGKILL, as kill
// -9) at each step of the commit protocol of batch 3, then reopens the
// data directory with the real Iceberg history table and checks: every
// acknowledged batch is there, the interrupted batch is there completely
// (it reached the log, so recovery completes it), and lake, store and
// indexes agree.
func TestCrashAtEveryFailpoint(t *testing.T) {
	if dir := os.Getenv("LAKEVEC_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("builds Iceberg tables in child processes; run without -short")
	}
	for _, fp := range []string{"after-wal", "after-lake", "after-store", "after-index"} {
		t.Run(fp, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashAtEveryFailpoint$")
			cmd.Env = append(os.Environ(), "LAKEVEC_CRASH_CHILD="+dir, "LAKEVEC_FAILPOINT="+fp+":3")
			out, _ := cmd.StdoutPipe()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acked := 0
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if s, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
					acked, _ = strconv.Atoi(s)
				}
			}
			err := cmd.Wait()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ProcessState.String() != "signal: killed" {
				t.Fatalf("child was not killed at %s: %v\n%s", fp, err, stderr.String())
			}
			if acked != 2 {
				t.Fatalf("child acknowledged %d batches before the failpoint in batch 3, want 2", acked)
			}
			ctx := context.Background()
			hist, err := OpenLakeHistory(ctx, dir, "docs")
			if err != nil {
				t.Fatal(err)
			}
			k, err := Open(ctx, dir, Options{History: hist})
			if err != nil {
				t.Fatalf("reopen after kill -9 at %s: %v", fp, err)
			}
			defer k.Close()
			if problems, err := k.Verify(ctx); err != nil || len(problems) > 0 {
				t.Fatalf("after kill -9 at %s: verify: %v %v", fp, err, problems)
			}
			if st := k.Stats(); st.Batches != 3 {
				t.Fatalf("after kill -9 at %s: %d batches applied, want 3 (the logged batch is completed)", fp, st.Batches)
			}
			// Every document has its batch-3 text now, and its batch-2 text
			// as of batch 2's time.
			for d := 0; d <= 3; d++ {
				id := fmt.Sprintf("doc-%d.md", d)
				text, err := k.Show(id, nil)
				if err != nil || !strings.Contains(text, fmt.Sprintf("edited by batch 3 ")) {
					t.Fatalf("%s now: %q %v", id, text, err)
				}
				if d <= 2 {
					at := crashBase.Add(2 * time.Hour)
					text, err = k.Show(id, &at)
					if err != nil || !strings.Contains(text, "edited by batch 2 ") {
						t.Fatalf("%s as of batch 2: %q %v", id, text, err)
					}
				}
			}
			hits, err := k.Search(ctx, "alpha3 beta3 gamma3", SearchOptions{K: 1})
			if err != nil || len(hits) != 1 || hits[0].DocID != "doc-3.md" {
				t.Fatalf("search for batch 3's new document: %+v %v", hits, err)
			}
		})
	}
}

func crashChild(dir string) {
	ctx := context.Background()
	hist, err := OpenLakeHistory(ctx, dir, "docs")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	k, err := Open(ctx, dir, Options{History: hist})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for b := 1; b <= 5; b++ {
		if _, err := k.Ingest(ctx, crashBatch(b), crashBase.Add(time.Duration(b)*time.Hour)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("acked %d\n", b)
	}
	os.Exit(0)
}
