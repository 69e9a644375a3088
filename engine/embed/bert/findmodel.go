package bert

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FindModelDir finds a downloaded model in the local Hugging Face cache
// (no network). model is a hub id such as
// "sentence-transformers/all-MiniLM-L6-v2"; a bare name gets the
// "sentence-transformers/" owner. The hub cache is $HF_HUB_CACHE, else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub; the snapshot named by refs/main is preferred,
// then the newest snapshot that has model.safetensors and config.json.
// sentence-transformers' older cache ($SENTENCE_TRANSFORMERS_HOME, else
// ~/.cache/torch/sentence_transformers/<owner>_<name>) is tried last. The
// error lists every place looked at.
func FindModelDir(model string) (string, error) {
	model = strings.Trim(model, "/")
	if model == "" || strings.Contains(model, "..") {
		return "", fmt.Errorf("bert: bad model id %q", model)
	}
	if !strings.Contains(model, "/") {
		model = "sentence-transformers/" + model
	}
	var looked []string
	for _, hub := range hubCacheDirs() {
		repo := filepath.Join(hub, "models--"+strings.ReplaceAll(model, "/", "--"))
		snaps := filepath.Join(repo, "snapshots")
		if ref, err := os.ReadFile(filepath.Join(repo, "refs", "main")); err == nil {
			d := filepath.Join(snaps, strings.TrimSpace(string(ref)))
			if isModelDir(d) {
				return d, nil
			}
			looked = append(looked, d+" (refs/main)")
		}
		entries, err := os.ReadDir(snaps)
		if err != nil {
			looked = append(looked, snaps+"/*")
			continue
		}
		type cand struct {
			dir string
			mod int64
		}
		var cands []cand
		for _, e := range entries {
			d := filepath.Join(snaps, e.Name())
			if !isModelDir(d) {
				continue
			}
			var mod int64
			if st, err := os.Stat(filepath.Join(d, "model.safetensors")); err == nil {
				mod = st.ModTime().UnixNano()
			}
			cands = append(cands, cand{d, mod})
		}
		if len(cands) > 0 {
			sort.Slice(cands, func(i, j int) bool {
				if cands[i].mod != cands[j].mod {
					return cands[i].mod > cands[j].mod
				}
				return cands[i].dir > cands[j].dir
			})
			return cands[0].dir, nil
		}
		looked = append(looked, snaps+"/* (no snapshot with model.safetensors and config.json)")
	}
	st := os.Getenv("SENTENCE_TRANSFORMERS_HOME")
	if st == "" {
		if home, err := os.UserHomeDir(); err == nil {
			st = filepath.Join(home, ".cache", "torch", "sentence_transformers")
		}
	}
	if st != "" {
		d := filepath.Join(st, strings.ReplaceAll(model, "/", "_"))
		if isModelDir(d) {
			return d, nil
		}
		looked = append(looked, d)
	}
	return "", fmt.Errorf("bert: model %s not found in the local Hugging Face cache (no download is attempted); looked in: %s",
		model, strings.Join(looked, ", "))
}

// hubCacheDirs returns the hub cache directories to search, most specific
// first, without duplicates.
func hubCacheDirs() []string {
	var dirs []string
	add := func(d string) {
		if d == "" {
			return
		}
		for _, x := range dirs {
			if x == d {
				return
			}
		}
		dirs = append(dirs, d)
	}
	add(os.Getenv("HF_HUB_CACHE"))
	add(os.Getenv("HUGGINGFACE_HUB_CACHE")) // older name
	if h := os.Getenv("HF_HOME"); h != "" {
		add(filepath.Join(h, "hub"))
	} else if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		add(filepath.Join(x, "huggingface", "hub"))
	} else if home, err := os.UserHomeDir(); err == nil {
		add(filepath.Join(home, ".cache", "huggingface", "hub"))
	}
	return dirs
}

func isModelDir(d string) bool {
	for _, f := range []string{"config.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(d, f)); err != nil {
			return false
		}
	}
	return true
}
