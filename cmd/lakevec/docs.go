package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/engine"
)

func newHistoryCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	cmd := &cobra.Command{
		Use:     "history DOC_ID",
		Short:   "List the versions of a document with their times and change counts",
		Example: `  lakevec history terms.md`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := openKB(cmd.Context(), cmd, fl, stderr)
			if err != nil {
				return err
			}
			defer k.Close()
			vs, err := k.History(args[0])
			if err != nil {
				return err
			}
			return printHistory(stdout, vs, fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	return cmd
}

func newShowCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	var asOf string
	cmd := &cobra.Command{
		Use:     "show DOC_ID [--as-of TIME]",
		Short:   "Print a document as it was at a time, rebuilt from its stored chunks",
		Example: `  lakevec show terms.md --as-of 2021-03-12`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var at *time.Time
			if asOf != "" {
				t, err := parseTime("--as-of", asOf)
				if err != nil {
					return err
				}
				at = &t
			}
			k, err := openKB(cmd.Context(), cmd, fl, stderr)
			if err != nil {
				return err
			}
			defer k.Close()
			text, err := k.Show(args[0], at)
			if err != nil {
				return err
			}
			return printShow(stdout, args[0], text, fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	cmd.Flags().StringVar(&asOf, "as-of", "", "time (default now)")
	return cmd
}

func newDiffCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	var from, to string
	cmd := &cobra.Command{
		Use:     "diff DOC_ID --from TIME --to TIME",
		Short:   "Paragraph diff of a document between two times",
		Example: `  lakevec diff terms.md --from 2020-01-01 --to 2024-01-01`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t1, t2, err := parseFromTo(cmd.Name(), from, to)
			if err != nil {
				return err
			}
			k, err := openKB(cmd.Context(), cmd, fl, stderr)
			if err != nil {
				return err
			}
			defer k.Close()
			d, err := k.Diff(args[0], t1, t2)
			if err != nil {
				return err
			}
			return printDiff(stdout, d, fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	cmd.Flags().StringVar(&from, "from", "", "first time")
	cmd.Flags().StringVar(&to, "to", "", "second time")
	return cmd
}

func printHistory(w io.Writer, vs []engine.VersionInfo, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(vs)
	}
	for _, v := range vs {
		c := v.Counts
		fmt.Fprintf(w, "%s  batch %-5d %-6s chunks %3d  +%d -%d ~%d moved %d\n", v.At.Format(time.RFC3339Nano), v.Seq, v.Op, v.Chunks,
			c["added"], c["removed"], c["modified"], c["moved"])
	}
	return nil
}

func printShow(w io.Writer, docID, text string, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]string{"doc_id": docID, "text": text})
	}
	_, err := fmt.Fprintln(w, text)
	return err
}

func printDiff(w io.Writer, d []engine.DiffLine, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(d)
	}
	for _, l := range d {
		for i, line := range strings.Split(l.Text, "\n") {
			op := l.Op
			if op == "=" {
				op = " "
			}
			if i > 0 && l.Op == "=" {
				op = " "
			}
			fmt.Fprintf(w, "%s %s\n", op, line)
		}
	}
	return nil
}
