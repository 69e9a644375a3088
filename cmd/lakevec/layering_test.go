package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestLayering keeps imports pointing downward (ARCHITECTURE.md): the index
// knows nothing of the lake, the lake nothing of the index, and the log
// nothing of either.
func TestLayering(t *testing.T) {
	const mod = "github.com/lakevec/lakevec/"
	forbidden := map[string][]string{
		"hnsw":     {"lake", "engine", "snapshot", "wal", "bench", "cmd", "github.com/parquet-go", "github.com/apache/iceberg-go", "github.com/dgraph-io/badger"},
		"lake":     {"hnsw", "engine", "wal", "bench", "cmd"},
		"snapshot": {"hnsw", "engine", "wal", "bench", "cmd"},
		"wal":      {"hnsw", "lake", "engine", "snapshot", "bench", "cmd"},
		"engine":   {"bench", "cmd"},
	}
	out, err := exec.Command("go", "list", "-deps=false", "-json", "./../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, mod)
		top, _, _ := strings.Cut(rel, "/")
		rules, ok := forbidden[top]
		if !ok {
			continue
		}
		checked++
		for _, imp := range p.Imports {
			for _, f := range rules {
				target := f
				if !strings.Contains(f, ".") {
					target = mod + f
				}
				if imp == target || strings.HasPrefix(imp, target+"/") {
					t.Errorf("%s imports %s: %s/ must not depend on %s", p.ImportPath, imp, top, f)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no packages checked: the go list pattern is wrong")
	}
}
