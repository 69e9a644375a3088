package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakevec/lakevec/engine"
)

// TestAutomaticRefresh: with a refresh interval, a file added to an
// attached dataset becomes searchable without a request, the lag and the
// rows show in /metrics, and shutdown stops the loop.
func TestAutomaticRefresh(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, ds := newDataset(t)
	data := t.TempDir()
	x, _, err := engine.Attach(ctx, data, engine.ExternalOptions{Name: "items", Parquet: ds, VectorColumn: "embedding"})
	if err != nil {
		t.Fatal(err)
	}
	x.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	srv, err := New(Options{Addr: ln.Addr().String(), DataDir: data, RefreshInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(ctx, ln, func(ctx context.Context) (KB, error) { return engine.Open(ctx, data, engine.Options{}) })
	}()
	stopped := false
	t.Cleanup(func() { // before the temporary directories go, also when the test fails
		if !stopped {
			cancel()
			<-done
		}
	})
	get := func(path string) string {
		res, err := http.Get(base + path)
		if err != nil {
			return ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for i := 0; !ok(); i++ {
			if i > 250 {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("rows in /metrics", func() bool {
		return strings.Contains(get("/metrics"), `lakevec_collection_rows{collection="items"} 50`)
	})
	writeVectors(t, filepath.Join(ds, "part-1.parquet"), 50, 80)
	waitFor("the new file indexed", func() bool {
		return strings.Contains(get("/metrics"), `lakevec_collection_rows{collection="items"} 80`)
	})
	m := get("/metrics")
	for _, want := range []string{`lakevec_collection_lag_files{collection="items"} 0`, `lakevec_collection_lag_snapshots{collection="items"} 0`,
		`lakevec_collection_refreshes_total{result="ok"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The last report is the refresh that found the file (idle rounds do
	// not replace it).
	if body := get("/api/v1/collections/items"); !strings.Contains(body, `"rows":80`) || !strings.Contains(body, `"rows_added":30`) {
		t.Fatalf("status after the automatic refresh: %s", body)
	}
	cancel()
	stopped = true
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("shutdown did not stop the refresh loop")
	}
}
