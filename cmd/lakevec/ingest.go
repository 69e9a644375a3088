package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/engine"
)

// ingestible are the file types ingest reads.
var ingestible = map[string]bool{".txt": true, ".md": true, ".markdown": true}

func newIngestCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	var at string
	var sync bool
	cmd := &cobra.Command{
		Use:   "ingest PATH... [--at TIME] [--sync]",
		Short: "Add or update documents (.txt, .md) as one versioned batch",
		Long: `ingest reads files and directories (recursively) and stores each document as a
new version valid from --at (default now). A document's id is its path
relative to the directory given (a file given directly: its name). Only
chunks whose content is new are embedded; unchanged documents make no new
version. With --sync a directory is a full snapshot: documents of the
collection missing from it are deleted as of --at. Files other than .txt and
.md are reported as unsupported and skipped.`,
		Example: `  lakevec ingest ./policies --at 2024-03-12T09:00:00Z
  lakevec ingest ./policies --sync --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			when := time.Now().UTC()
			if at != "" {
				var err error
				if when, err = parseTime("--at", at); err != nil {
					return err
				}
			}
			docs, err := collectDocs(args, stderr)
			if err != nil {
				return err
			}
			k, err := openKB(cmd.Context(), cmd, fl, stderr)
			if err != nil {
				return err
			}
			defer k.Close()
			if sync {
				have := map[string]bool{}
				for _, d := range docs {
					have[d.DocID] = true
				}
				present, err := k.Docs()
				if err != nil {
					return err
				}
				for _, id := range present {
					if !have[id] {
						docs = append(docs, engine.DocInput{DocID: id, Delete: true})
					}
				}
			}
			rep, err := k.Ingest(cmd.Context(), docs, when)
			if err != nil {
				return err
			}
			return printReport(stdout, rep, fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	cmd.Flags().StringVar(&at, "at", "", "valid time of this version (RFC 3339 or YYYY-MM-DD; default now)")
	cmd.Flags().BoolVar(&sync, "sync", false, "treat the directories as a full snapshot: delete documents missing from them")
	return cmd
}

// collectDocs reads the files under paths. It fails on a path that does
// not exist; unsupported files are reported and skipped.
func collectDocs(paths []string, stderr io.Writer) ([]engine.DocInput, error) {
	var docs []engine.DocInput
	seen := map[string]string{}
	add := func(id, file string) error {
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if prev, ok := seen[id]; ok {
			return usagef("document id %q comes from both %s and %s", id, prev, file)
		}
		seen[id] = file
		docs = append(docs, engine.DocInput{DocID: id, Text: string(b)})
		return nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, usagef("%v", err)
		}
		if !st.IsDir() {
			if !ingestible[strings.ToLower(filepath.Ext(p))] {
				return nil, usagef("%s: unsupported file type (lakevec ingests .txt and .md)", p)
			}
			if err := add(filepath.Base(p), p); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if !ingestible[strings.ToLower(filepath.Ext(path))] {
				fmt.Fprintf(stderr, "skipped %s: unsupported file type (lakevec ingests .txt and .md)\n", path)
				return nil
			}
			rel, err := filepath.Rel(p, path)
			if err != nil {
				return err
			}
			return add(filepath.ToSlash(rel), path)
		})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].DocID < docs[j].DocID })
	return docs, nil
}

func printReport(w io.Writer, rep engine.Report, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(rep)
	}
	for _, d := range rep.Docs {
		fmt.Fprintf(w, "%-9s %s  (+%d -%d =%d moved %d modified %d, embedded %d)\n",
			d.Op, d.DocID, d.Added, d.Removed, d.Unchanged, d.Moved, d.Modified, d.Embedded)
	}
	share := 0.0
	if rep.Chunks > 0 {
		share = 100 * float64(rep.Embedded) / float64(rep.Chunks)
	}
	if rep.Seq == 0 {
		fmt.Fprintf(w, "nothing changed: %d documents, %d chunks\n", len(rep.Docs), rep.Chunks)
		return nil
	}
	fmt.Fprintf(w, "batch %d at %s: %d documents, %d chunks, %d new chunk versions, %d embedded (%.1f%% of the chunks; a full re-embed would embed %d)\n",
		rep.Seq, rep.At.Format(time.RFC3339Nano), len(rep.Docs), rep.Chunks, rep.NewVersions, rep.Embedded, share, rep.Chunks)
	return nil
}

func newDeleteCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	var at string
	cmd := &cobra.Command{
		Use:     "delete DOC_ID... [--at TIME]",
		Short:   "Delete documents as of a time (their history stays searchable)",
		Example: `  lakevec delete terms.md --at 2025-01-01`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			when := time.Now().UTC()
			if at != "" {
				var err error
				if when, err = parseTime("--at", at); err != nil {
					return err
				}
			}
			k, err := openKB(cmd.Context(), cmd, fl, stderr)
			if err != nil {
				return err
			}
			defer k.Close()
			var docs []engine.DocInput
			for _, id := range args {
				docs = append(docs, engine.DocInput{DocID: id, Delete: true})
			}
			rep, err := k.Ingest(cmd.Context(), docs, when)
			if err != nil {
				return err
			}
			return printDeleteReport(stdout, stderr, rep, len(args), fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	cmd.Flags().StringVar(&at, "at", "", "time of the deletion (default now)")
	return cmd
}

func newImportHistoryCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	cmd := &cobra.Command{
		Use:   "import-history FILE.jsonl[.gz]",
		Short: "Ingest a document history: every version at its own time",
		Long: `import-history reads JSON Lines {"doc_id","ts","op":"upsert"|"delete","text"},
in time order, and ingests every version at its ts: lines with the same ts
form one batch. It reports the embeddings computed beside what re-embedding
every version in full would have cost.`,
		Example: `  lakevec import-history versions.jsonl.gz`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := openKB(cmd.Context(), cmd, fl, stderr)
			if err != nil {
				return err
			}
			defer k.Close()
			rep, err := importHistory(cmd, k, args[0], stderr)
			if err != nil {
				return err
			}
			if fl.json {
				return json.NewEncoder(stdout).Encode(rep)
			}
			fmt.Fprintf(stdout, "imported %d versions in %d batches: %d chunks read, %d new chunk versions, %d embeddings computed (a full re-embed would compute %d: %.1f%%)\n",
				rep.Lines, rep.Batches, rep.Chunks, rep.NewVersions, rep.Embedded, rep.FullReembed, 100*float64(rep.Embedded)/float64(max(rep.FullReembed, 1)))
			return nil
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	return cmd
}

// importHistory imports a .jsonl[.gz] history file with a progress bar over
// its bytes on a terminal, else a line on stderr every 2 s.
func importHistory(cmd *cobra.Command, k *engine.KB, path string, stderr io.Writer) (engine.ImportReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return engine.ImportReport{}, fmt.Errorf("import %s: %w", path, err)
	}
	defer f.Close()
	var size int64 = -1
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		// One more than the file: the reader runs ahead of the batches, and
		// the bar must stay up (counting them) until the last one commits.
		size = st.Size() + 1
	}
	b := newBytesBar(cmd, stderr, size, "import "+filepath.Base(path))
	defer b.done()
	var r io.Reader = bufio.NewReader(b.reader(f))
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return engine.ImportReport{}, fmt.Errorf("import %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	last := time.Now()
	rep, err := k.ImportHistory(cmd.Context(), r, func(r engine.ImportReport) {
		if b != nil {
			b.describe(fmt.Sprintf("import %s: %d versions, %d batches", filepath.Base(path), r.Lines, r.Batches))
			return
		}
		if time.Since(last) > 2*time.Second {
			fmt.Fprintf(stderr, "imported %d lines, %d batches\n", r.Lines, r.Batches)
			last = time.Now()
		}
	})
	if err != nil {
		return rep, fmt.Errorf("import %s: %w", path, err)
	}
	return rep, nil
}

// printDeleteReport prints delete's batch report, naming on stderr the
// documents that were not there; it fails when any was missing.
func printDeleteReport(stdout, stderr io.Writer, rep engine.Report, asked int, asJSON bool) error {
	missing := 0
	for _, d := range rep.Docs {
		if d.Op == "missing" {
			missing++
			fmt.Fprintf(stderr, "no document %q\n", d.DocID)
		}
	}
	if err := printReport(stdout, rep, asJSON); err != nil {
		return err
	}
	if missing > 0 {
		return fmt.Errorf("%d of %d documents not found", missing, asked)
	}
	return nil
}
