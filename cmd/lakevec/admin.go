package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/engine"
)

func newVerifyCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that the lake, the store and the indexes agree",
		Long: `verify compares every chunk version in the lake's history table with the
store (same validity interval), and the store with the indexes (every version
in the history index, exactly the current ones in the hot index). It prints
each disagreement and exits 1 if there is any.`,
		Example: `  lakevec verify --data ./lakevec-data
  lakevec verify --server http://127.0.0.1:7700 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := openKB(cmd.Context(), cmd, fl, stderr)
			if err != nil {
				return err
			}
			defer k.Close()
			problems, err := k.Verify(cmd.Context())
			if err != nil {
				return err
			}
			return printVerify(stdout, k.Stats(), problems, fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	return cmd
}

func newResetCmd(stdout, stderr io.Writer) *cobra.Command {
	var data string
	var yes, asJSON bool
	cmd := &cobra.Command{
		Use:   "reset --data DIR --yes",
		Short: "Delete a data directory, all or nothing",
		Long: `reset removes everything lakevec keeps in the data directory: the store, the
indexes and the lake tables under it. It first renames the directory aside
(atomic), then deletes it, so an interrupted reset never leaves half a data
directory behind. It refuses without --yes, and refuses a directory that is
not a lakevec data directory.`,
		Example: `  lakevec reset --data /tmp/lakevec-scratch --yes`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return usagef("reset deletes %s entirely; add --yes", data)
			}
			if _, err := os.Stat(filepath.Join(data, "store")); err != nil {
				return fmt.Errorf("reset %s: not a lakevec data directory (no store/)", data)
			}
			aside := filepath.Clean(data) + ".deleting"
			if err := os.Rename(data, aside); err != nil {
				return fmt.Errorf("reset %s: %w", data, err)
			}
			if err := os.RemoveAll(aside); err != nil {
				return fmt.Errorf("reset %s: removing %s: %w", data, aside, err)
			}
			if asJSON {
				return json.NewEncoder(stdout).Encode(map[string]string{"removed": data})
			}
			fmt.Fprintf(stdout, "removed %s\n", data)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "lakevec-data", "data directory")
	cmd.Flags().BoolVar(&yes, "yes", false, "really delete")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newRebuildCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the store and the indexes from the lake history table alone",
		Long: `rebuild reads every chunk version and document layout from the collection's
Iceberg history table and writes a new store from them, then rebuilds the
indexes. Use it when the store is damaged or lost: the lake is the record.
Give the same embedder flags the collection was built with (its model id
keys the embeddings, which come from the lake, not the embedder).`,
		Example: `  lakevec rebuild --data ./lakevec-data
  lakevec rebuild --data ./lakevec-data --model-dir ~/models/all-MiniLM-L6-v2 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := openEmbedder(ctx, cmd, fl.emb, stderr)
			if err != nil {
				return err
			}
			hist, err := openLakeHistory(ctx, fl)
			if err != nil {
				return err
			}
			rep, err := spin(cmd, stderr, "rebuild: reading the lake history", func() (engine.RebuildReport, error) {
				return engine.Rebuild(ctx, fl.data, engine.Options{Collection: fl.collection, Embedder: e, History: hist})
			})
			hist.Close()
			if err != nil {
				return err
			}
			k, err := spin(cmd, stderr, "rebuild: building the indexes", func() (*engine.KB, error) {
				return openKBWith(ctx, fl, e)
			})
			if err != nil {
				return err
			}
			defer k.Close()
			problems, err := spin(cmd, stderr, "rebuild: verifying", func() ([]string, error) { return k.Verify(ctx) })
			if err != nil {
				return err
			}
			if fl.json {
				return json.NewEncoder(stdout).Encode(map[string]any{"rebuilt": rep, "problems": problems})
			}
			fmt.Fprintf(stdout, "rebuilt %d documents, %d chunk versions, %d document versions from %d batches; verify: %d problems\n",
				rep.Docs, rep.Rows, rep.Versions, rep.Batches, len(problems))
			return nil
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	return cmd
}

func newOptimizeCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	cmd := &cobra.Command{
		Use:     "optimize",
		Short:   "Compact the small files of the collection's history table",
		Example: `  lakevec optimize --data ./lakevec-data`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := openLakeHistory(cmd.Context(), fl)
			if err != nil {
				return err
			}
			defer h.Close()
			before, after, err := h.Compact(cmd.Context())
			if err != nil {
				return err
			}
			if fl.json {
				return json.NewEncoder(stdout).Encode(map[string]int{"files_before": before, "files_after": after})
			}
			fmt.Fprintf(stdout, "history table: %d data files before, %d after\n", before, after)
			return nil
		},
	}
	addKBFlags(cmd.Flags(), &fl, false)
	return cmd
}

func newReembedCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	cmd := &cobra.Command{
		Use:   "reembed --embedder ... [--model-dir DIR]",
		Short: "Switch a collection to another embedder, re-embedding every chunk version",
		Long: `reembed embeds every distinct chunk text of every version, current and
historical, with the embedder the flags choose, switches the collection's
model id, and rebuilds the indexes. Documents, versions and validity
intervals do not change.`,
		Example: `  lakevec reembed --embedder bert --model-dir ~/models/all-MiniLM-L6-v2`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := openEmbedder(ctx, cmd, fl.emb, stderr)
			if err != nil {
				return err
			}
			var b *bar
			rep, err := engine.ReembedProgress(ctx, fl.data, engine.Options{Collection: fl.collection, Embedder: e}, func(done, total int) {
				if b == nil {
					b = newBar(cmd, stderr, int64(total), "reembed: texts")
				}
				b.set(int64(done))
			})
			b.done()
			if err != nil {
				return err
			}
			k, err := spin(cmd, stderr, "reembed: building the indexes", func() (*engine.KB, error) {
				return openKBWith(ctx, fl, e) // builds the indexes with the new vectors
			})
			if err != nil {
				return err
			}
			defer k.Close()
			if fl.json {
				return json.NewEncoder(stdout).Encode(rep)
			}
			fmt.Fprintf(stdout, "re-embedded %d distinct texts of %d chunk versions: %s -> %s\n", rep.Texts, rep.Versions, rep.From, rep.To)
			return nil
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	return cmd
}

// printVerify prints verify's findings; it fails when there are any.
func printVerify(w io.Writer, st engine.Stats, problems []string, asJSON bool) error {
	if problems == nil {
		problems = []string{}
	}
	if asJSON {
		if err := json.NewEncoder(w).Encode(map[string]any{"stats": st, "problems": problems}); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			fmt.Fprintln(w, p)
		}
		fmt.Fprintf(w, "%s: %d chunk versions, %d current, %d batches: %d problems\n", st.Collection, st.Rows, st.Current, st.Batches, len(problems))
	}
	if len(problems) > 0 {
		return fmt.Errorf("verify: %d disagreements", len(problems))
	}
	return nil
}
