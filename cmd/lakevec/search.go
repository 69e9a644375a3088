package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/engine"
)

func newSearchCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	var asOf, vectorFile, filterExpr string
	var k int
	var snapshotID int64
	var fetch []string
	cmd := &cobra.Command{
		Use:   `search "TEXT" [--as-of TIME] [--k 5] | search --collection NAME (--vector-file F | "TEXT") [--filter EXPR] [--snapshot ID | --as-of TIME]`,
		Short: "Search the documents by meaning, now or as of a past time",
		Long: `search embeds TEXT and returns the closest chunks of the documents valid now,
or with --as-of the chunk versions valid at that instant (valid_from <= T <
valid_to: a version is visible from exactly its own time). Each result shows
the document, the chunk's validity interval, its score (cosine similarity)
and its text.`,
		Example: `  lakevec search "how long is data kept"
  lakevec search "how long is data kept" --as-of 2021-03-12 --k 10 --json
  lakevec search --collection passages --vector-file q.json --filter "lang = 'en' AND year >= 2020" --fetch title
  lakevec search --collection passages --vector-file q.json --snapshot 4926374685077994373`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := engine.SearchOptions{K: k}
			if k < 1 || k > 1000 {
				return usagef("--k %d: want 1..1000", k)
			}
			if names, _ := engine.ExternalNames(fl.data); slices.Contains(names, fl.collection) {
				s := externalSearch{vectorFile: vectorFile, q: engine.ExternalQuery{K: k, Ef: max(64, 4*k), Filter: filterExpr, Snapshot: snapshotID, Fetch: fetch}}
				if len(args) == 1 {
					s.text = args[0]
				}
				if asOf != "" {
					t, err := parseTime("--as-of", asOf)
					if err != nil {
						return err
					}
					s.q.AsOf = t
				}
				return searchExternal(cmd, fl, s, stdout)
			}
			if vectorFile != "" || filterExpr != "" || snapshotID != 0 || len(fetch) > 0 {
				return usagef("--vector-file, --filter, --snapshot and --fetch apply to attached tables; collection %s holds documents", fl.collection)
			}
			if len(args) != 1 {
				return usagef("search needs the query TEXT")
			}
			if asOf != "" {
				t, err := parseTime("--as-of", asOf)
				if err != nil {
					return err
				}
				o.AsOf = &t
			}
			kb, err := openKB(cmd.Context(), cmd, fl, stderr)
			if err != nil {
				return err
			}
			defer kb.Close()
			hits, err := kb.Search(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			return printHits(stdout, hits, fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	cmd.Flags().StringVar(&asOf, "as-of", "", "search the versions valid at this time (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().IntVar(&k, "k", 5, "number of results")
	cmd.Flags().StringVar(&vectorFile, "vector-file", "", "attached table: query vectors (JSON arrays or .fvecs), one result list each")
	cmd.Flags().StringVar(&filterExpr, "filter", "", "attached table: filter on kept columns, e.g. \"lang = 'en' AND year >= 2020\"")
	cmd.Flags().Int64Var(&snapshotID, "snapshot", 0, "attached Iceberg table: search the rows live in this snapshot")
	cmd.Flags().StringSliceVar(&fetch, "fetch", nil, "attached table: columns to read from the lake by row position for each result")
	return cmd
}

func printHits(w io.Writer, hits []engine.Hit, asJSON bool) error {
	if asJSON {
		if hits == nil {
			hits = []engine.Hit{}
		}
		return json.NewEncoder(w).Encode(hits)
	}
	if len(hits) == 0 {
		fmt.Fprintln(w, "no results")
	}
	for i, h := range hits {
		to := "now"
		if h.ValidTo != nil {
			to = h.ValidTo.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%d. %s  score %.4f  valid %s .. %s\n   %s\n", i+1, h.DocID, h.Score, h.ValidFrom.Format(time.RFC3339), to, snippet(h.Text, 240))
	}
	return nil
}

func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func newCompareCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	var from, to string
	var k int
	cmd := &cobra.Command{
		Use:     `compare "TEXT" --from TIME --to TIME`,
		Short:   "Search at two times and mark results added, removed or changed",
		Example: `  lakevec compare "data retention" --from 2020-01-01 --to 2024-01-01`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t1, t2, err := parseFromTo(cmd.Name(), from, to)
			if err != nil {
				return err
			}
			kb, err := openKB(cmd.Context(), cmd, fl, stderr)
			if err != nil {
				return err
			}
			defer kb.Close()
			c, err := kb.Compare(cmd.Context(), args[0], t1, t2, k)
			if err != nil {
				return err
			}
			return printCompare(stdout, c, fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	cmd.Flags().StringVar(&from, "from", "", "first time")
	cmd.Flags().StringVar(&to, "to", "", "second time")
	cmd.Flags().IntVar(&k, "k", 10, "results per time")
	return cmd
}

func printCompare(w io.Writer, c []engine.CompareEntry, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(c)
	}
	for _, e := range c {
		fmt.Fprintf(w, "%-9s %s chunk %d  %s\n", e.Mark, e.DocID, e.ChunkKey, snippet(e.Text, 160))
	}
	return nil
}
