package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lakevec/lakevec/bench"
	"github.com/lakevec/lakevec/engine"
)

// bar is a progress bar on stderr for a long build, ingest or refresh. It
// is off (every method a no-op) when stderr is not a terminal, so tests,
// pipes and logs never see it, and with --quiet. A nil *bar is valid.
type bar struct{ pb *progressbar.ProgressBar }

// barsOn reports whether cmd may draw progress bars on stderr.
func barsOn(cmd *cobra.Command, stderr io.Writer) bool {
	if q, err := cmd.Flags().GetBool("quiet"); err == nil && q {
		return false
	}
	f, ok := stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func barOptions(stderr io.Writer, desc string) []progressbar.Option {
	return []progressbar.Option{
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	}
}

// barsMu guards active: the bar drawn now, cleared before anything is
// written to stdout so results never share a line with a bar.
var (
	barsMu sync.Mutex
	active *bar
)

func track(b *bar) *bar {
	barsMu.Lock()
	if active != nil && active != b {
		active.pb.Finish()
	}
	active = b
	barsMu.Unlock()
	return b
}

// clearBarsWriter finishes the active bar before each write.
type clearBarsWriter struct{ w io.Writer }

func (c clearBarsWriter) Write(p []byte) (int, error) {
	barsMu.Lock()
	if active != nil {
		active.pb.Finish()
		active = nil
	}
	barsMu.Unlock()
	return c.w.Write(p)
}

// newBar starts a bar of total steps (items counted with OptionShowCount).
func newBar(cmd *cobra.Command, stderr io.Writer, total int64, desc string) *bar {
	if !barsOn(cmd, stderr) {
		return nil
	}
	return track(&bar{progressbar.NewOptions64(total, append(barOptions(stderr, desc), progressbar.OptionShowCount(), progressbar.OptionShowIts())...)})
}

// newBytesBar starts a bar over total bytes.
func newBytesBar(cmd *cobra.Command, stderr io.Writer, total int64, desc string) *bar {
	if !barsOn(cmd, stderr) {
		return nil
	}
	return track(&bar{progressbar.NewOptions64(total, append(barOptions(stderr, desc), progressbar.OptionShowBytes(true))...)})
}

// newSpinner starts an indeterminate bar (a spinner with the elapsed time)
// for work that reports no progress.
func newSpinner(cmd *cobra.Command, stderr io.Writer, desc string) *bar {
	if !barsOn(cmd, stderr) {
		return nil
	}
	return track(&bar{progressbar.NewOptions64(-1, append(barOptions(stderr, desc), progressbar.OptionSpinnerType(14))...)})
}

func (b *bar) set(n int64) {
	if b != nil {
		b.pb.Set64(n)
	}
}

func (b *bar) add(n int64) {
	if b != nil {
		b.pb.Add64(n)
	}
}

func (b *bar) describe(desc string) {
	if b != nil {
		b.pb.Describe(desc)
	}
}

// done finishes the bar (clearing its line); further calls do nothing.
func (b *bar) done() {
	if b == nil {
		return
	}
	barsMu.Lock()
	if active == b {
		active = nil
	}
	barsMu.Unlock()
	if !b.pb.IsFinished() {
		b.pb.Finish()
	}
}

// reader counts bytes read through r on the bar.
func (b *bar) reader(r io.Reader) io.Reader {
	if b == nil {
		return r
	}
	return io.TeeReader(r, barWriter{b})
}

type barWriter struct{ b *bar }

func (w barWriter) Write(p []byte) (int, error) { w.b.add(int64(len(p))); return len(p), nil }

// spin runs fn with a spinner named desc.
func spin[T any](cmd *cobra.Command, stderr io.Writer, desc string, fn func() (T, error)) (T, error) {
	b := newSpinner(cmd, stderr, desc)
	defer b.done()
	return fn()
}

// benchBar is the progress display of bench builds: a bar when bars are
// on, else nil (bench prints its periodic lines).
func benchBar(cmd *cobra.Command, stderr io.Writer) bench.BarFunc {
	if !barsOn(cmd, stderr) {
		return nil
	}
	return func(name string, total int) (func(int64), func()) {
		b := newBar(cmd, stderr, int64(total), name+": build")
		return b.set, b.done
	}
}

// refreshProgress returns an engine progress hook drawing one bar per
// phase of an attach or refresh (files read, then rows indexed), and the
// function that clears the last bar. Nil hook when bars are off.
func refreshProgress(cmd *cobra.Command, stderr io.Writer, name string) (engine.Progress, func()) {
	if !barsOn(cmd, stderr) {
		return nil, func() {}
	}
	var cur *bar
	var phase string
	var total int64
	return func(p string, done, n int64) {
			if p != phase || n != total {
				cur.done()
				desc := name + ": read files"
				if p == "index" {
					desc = name + ": index rows"
				}
				cur, phase, total = newBar(cmd, stderr, n, desc), p, n
			}
			cur.set(done)
		}, func() {
			cur.done()
		}
}
