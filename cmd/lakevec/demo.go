package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/engine"
)

// demoVersion is one step of the demo corpus's history.
type demoVersion struct {
	at   string
	docs []engine.DocInput
}

const (
	demoRetention90 = "# Data retention\n\nWe keep account data while the account is active and delete it within 90 days after the account is closed."
	demoRetention30 = "# Data retention\n\nWe keep account data while the account is active and delete it within 30 days after the account is closed."
	demoAppeals     = "## Appeals\n\nIf your account is suspended you may appeal by writing to the support team within thirty days of the notice."
	demoCookies     = "Cookies are small files stored by your browser. We use them to keep you signed in and to remember your preferences."
	demoSecurity    = "We report security incidents that affect your data to you and to the regulator within seventy-two hours of finding them."
)

var demoHistory = []demoVersion{
	{"2023-01-15T09:00:00Z", []engine.DocInput{{DocID: "privacy.md", Text: demoRetention90}, {DocID: "cookies.md", Text: demoCookies}}},
	{"2023-09-01T09:00:00Z", []engine.DocInput{{DocID: "privacy.md", Text: demoRetention90 + "\n\n" + demoAppeals}}},
	{"2024-05-20T09:00:00Z", []engine.DocInput{{DocID: "privacy.md", Text: demoRetention30 + "\n\n" + demoAppeals}, {DocID: "security.md", Text: demoSecurity}}},
	{"2025-02-01T09:00:00Z", []engine.DocInput{{DocID: "cookies.md", Delete: true}}},
}

func newDemoCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Ingest a small versioned corpus and search it now and in the past",
		Long: `demo needs nothing but this binary: it ingests four versions of a small policy
corpus (2023-2025) into a fresh data directory, then runs a current search
and the same search as of a past date, and shows a document's history and a
diff. Afterwards, explore the data directory with the commands it prints.`,
		Example: `  lakevec demo
  lakevec demo --data ./demo-data   # keep it, then: lakevec search "appeal a suspension" --data ./demo-data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if !onCommandLine(cmd, "data") {
				dir, err := os.MkdirTemp("", "lakevec-demo-*")
				if err != nil {
					return err
				}
				fl.data = dir
				if !keep {
					defer os.RemoveAll(dir)
				}
			}
			k, err := openKB(ctx, cmd, fl, stderr)
			if err != nil {
				return err
			}
			defer k.Close()
			fmt.Fprintf(stdout, "data directory: %s\n\n", fl.data)
			for _, v := range demoHistory {
				at, _ := time.Parse(time.RFC3339, v.at)
				rep, err := k.Ingest(ctx, v.docs, at)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "== ingest at %s\n", v.at)
				if err := printReport(stdout, rep, false); err != nil {
					return err
				}
			}
			q := "how long is account data kept after closing"
			fmt.Fprintf(stdout, "\n== search %q (now)\n", q)
			hits, err := k.Search(ctx, q, engine.SearchOptions{K: 2})
			if err != nil {
				return err
			}
			printHits(stdout, hits, false)
			past := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)
			fmt.Fprintf(stdout, "\n== search %q as of %s\n", q, past.Format("2006-01-02"))
			if hits, err = k.Search(ctx, q, engine.SearchOptions{K: 2, AsOf: &past}); err != nil {
				return err
			}
			printHits(stdout, hits, false)
			fmt.Fprintf(stdout, "\n== search %q as of 2024-01-01 (cookies.md was deleted in 2025)\n", "cookies browser")
			then := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			if hits, err = k.Search(ctx, "cookies browser", engine.SearchOptions{K: 1, AsOf: &then}); err != nil {
				return err
			}
			printHits(stdout, hits, false)
			fmt.Fprintln(stdout, "\n== history privacy.md")
			vs, err := k.History("privacy.md")
			if err != nil {
				return err
			}
			for _, v := range vs {
				fmt.Fprintf(stdout, "%s  %s  %d chunks  %v\n", v.At.Format(time.RFC3339), v.Op, v.Chunks, v.Counts)
			}
			fmt.Fprintln(stdout, "\n== diff privacy.md 2023-01-15 .. 2024-06-01")
			d, err := k.Diff("privacy.md", time.Date(2023, 1, 15, 12, 0, 0, 0, time.UTC), time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
			if err != nil {
				return err
			}
			for _, l := range d {
				fmt.Fprintf(stdout, "%s %s\n", l.Op, snippet(l.Text, 120))
			}
			if problems, err := k.Verify(ctx); err != nil || len(problems) > 0 {
				return fmt.Errorf("demo: verify found %d problems: %v", len(problems), err)
			}
			fmt.Fprintln(stdout, "\nlake, store and indexes agree (lakevec verify).")
			if keep || onCommandLine(cmd, "data") {
				fmt.Fprintf(stdout, "explore it: lakevec search \"appeal a suspension\" --data %s\n", fl.data)
				fmt.Fprintf(stdout, "or in the web UI: lakevec serve --data %s, then open http://127.0.0.1:7700/\n", fl.data)
			} else {
				fmt.Fprintln(stdout, "to explore it in the web UI: lakevec demo --data ./demo-data, then lakevec serve --data ./demo-data and open http://127.0.0.1:7700/")
			}
			return nil
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary data directory")
	return cmd
}
