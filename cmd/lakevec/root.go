package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // bad flags or arguments
)

// usageError marks errors caused by how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// newRootCmd builds the command tree. stdout receives results (JSON lines,
// tables meant for scripts); stderr receives progress and human summaries.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	stdout = clearBarsWriter{stdout} // a progress bar never shares a line with results (progress.go)
	// The root's hook (env and config file) and a group's own hook
	// (bench --cpuprofile) both run, parent first.
	cobra.EnableTraverseRunHooks = true
	root := &cobra.Command{
		Use:   "lakevec",
		Short: "Search a data lake by meaning, with every version kept",
		Long: `lakevec indexes the embeddings of a data lake (Parquet files, Iceberg tables)
in its own HNSW index, keeps every version of what it indexed, and never
re-does work it has already done.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{err}
	})
	root.AddCommand(newBenchCmd(stdout, stderr))
	root.AddCommand(newIngestCmd(stdout, stderr), newDeleteCmd(stdout, stderr), newImportHistoryCmd(stdout, stderr))
	root.AddCommand(newSearchCmd(stdout, stderr), newCompareCmd(stdout, stderr))
	root.AddCommand(newHistoryCmd(stdout, stderr), newShowCmd(stdout, stderr), newDiffCmd(stdout, stderr))
	root.AddCommand(newVerifyCmd(stdout, stderr), newResetCmd(stdout, stderr), newDemoCmd(stdout, stderr))
	root.AddCommand(newRebuildCmd(stdout, stderr), newOptimizeCmd(stdout, stderr), newReembedCmd(stdout, stderr))
	root.AddCommand(newAttachCmd(stdout, stderr), newRefreshCmd(stdout, stderr), newCollectionsCmd(stdout, stderr))
	root.AddCommand(newEmbedCmd(stdout, stderr))
	root.AddCommand(newServeCmd(stdout, stderr))
	installRemote(root)      // --server on the commands the HTTP API answers (remote.go)
	installConsistency(root) // Examples and --json everywhere (consistency.go)
	installConfig(root)      // env and config file for every flag (config.go)
	return root
}

// run executes the CLI with args and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "lakevec: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsageError(err) {
		return exitUsage
	}
	return exitError
}

// isCobraUsageError recognises cobra's own argument errors (unknown command,
// wrong number of arguments), which are plain errors.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "accepts ", "requires at least", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
