package main

import (
	"github.com/spf13/cobra"
)

// Examples of the commands whose files define none (the root, the bench
// group, collections). Every command shows an Example in --help; a test
// keeps it so.
var fallbackExamples = map[string]string{
	"lakevec": `  lakevec demo
  lakevec ingest ./policies --at 2024-03-12
  lakevec search "how long is data kept" --as-of 2021-03-12
  lakevec search "how long is data kept" --server http://127.0.0.1:7700`,
	"lakevec bench": `  lakevec bench ann
  lakevec bench serve --chunks 100000 --clients 8 --duration 10s`,
	"lakevec collections": `  lakevec collections --data ./lakevec-data
  lakevec collections --json`,
}

// installConsistency fills missing Examples, and gives the bench commands,
// whose results are always JSON lines on stdout, a --json flag that says
// so, so that every command that prints results accepts --json.
func installConsistency(root *cobra.Command) {
	visitCommands(root, func(c *cobra.Command) {
		if c.Example == "" {
			c.Example = fallbackExamples[c.CommandPath()]
		}
		if p := c.Parent(); p != nil && p.Name() == "bench" && c.Flags().Lookup("json") == nil {
			c.Flags().Bool("json", false, "accepted for consistency: results are always JSON lines on stdout (a table goes to stderr)")
		}
	})
}
