// Command lakevec makes a data lake searchable by meaning.
//
// main stays tiny: every subcommand lives in its own file of this package
// and writes to the writers it is given, so tests can run the whole CLI
// in-process and check its output.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
