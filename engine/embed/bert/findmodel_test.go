package bert

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mkModel(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "model.safetensors"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindModelDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HUGGINGFACE_HUB_CACHE", "")
	t.Setenv("HF_HOME", filepath.Join(home, "hf"))
	t.Setenv("SENTENCE_TRANSFORMERS_HOME", filepath.Join(home, "st"))
	repo := filepath.Join(home, "hf", "hub", "models--sentence-transformers--all-MiniLM-L6-v2")

	_, err := FindModelDir("sentence-transformers/all-MiniLM-L6-v2")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(repo, "snapshots")) || !strings.Contains(err.Error(), filepath.Join(home, "st")) {
		t.Fatalf("empty cache: %v", err)
	}

	// Two snapshots, no refs/main: the newest wins.
	old, newer := filepath.Join(repo, "snapshots", "aaa"), filepath.Join(repo, "snapshots", "bbb")
	mkModel(t, old)
	mkModel(t, newer)
	past := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(old, "model.safetensors"), past, past)
	if d, err := FindModelDir("all-MiniLM-L6-v2"); err != nil || d != newer {
		t.Fatalf("got %q, %v; want %s", d, err, newer)
	}
	// refs/main names the snapshot to use.
	os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte("aaa\n"), 0o644)
	if d, err := FindModelDir("sentence-transformers/all-MiniLM-L6-v2"); err != nil || d != old {
		t.Fatalf("got %q, %v; want %s", d, err, old)
	}
	// An incomplete snapshot is skipped.
	os.Remove(filepath.Join(old, "model.safetensors"))
	if d, err := FindModelDir("sentence-transformers/all-MiniLM-L6-v2"); err != nil || d != newer {
		t.Fatalf("got %q, %v; want %s", d, err, newer)
	}
	// HF_HUB_CACHE takes precedence over HF_HOME.
	hub2 := filepath.Join(home, "hub2")
	snap := filepath.Join(hub2, "models--org--m", "snapshots", "r1")
	mkModel(t, snap)
	t.Setenv("HF_HUB_CACHE", hub2)
	if d, err := FindModelDir("org/m"); err != nil || d != snap {
		t.Fatalf("HF_HUB_CACHE: got %q, %v", d, err)
	}
	// The old sentence-transformers cache.
	stDir := filepath.Join(home, "st", "org_other")
	mkModel(t, stDir)
	if d, err := FindModelDir("org/other"); err != nil || d != stDir {
		t.Fatalf("sentence-transformers cache: got %q, %v", d, err)
	}
	if _, err := FindModelDir("../x"); err == nil {
		t.Fatal("accepted ../x")
	}
	if got := modelName(filepath.Join(repo, "snapshots", "bbb")); got != "all-MiniLM-L6-v2" {
		t.Fatalf("modelName = %q", got)
	}
}
