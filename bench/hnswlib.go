package bench

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed peers/hnswlib_peer.py
var hnswlibScript []byte

// hnswlibInstall is the fix for a missing interpreter or module.
const hnswlibInstall = "apt-get install -y python3-hnswlib python3-numpy"

// exitMissingModule is the script's exit code when an import fails.
const exitMissingModule = 3

func writeHnswlibScript(dir string) (string, error) {
	p := filepath.Join(dir, "hnswlib_peer.py")
	if err := os.WriteFile(p, hnswlibScript, 0o600); err != nil {
		return "", fmt.Errorf("hnswlib peer: write script: %w", err)
	}
	return p, nil
}

// pythonCmd runs the script in isolated mode (-I: no user site, no
// PYTHON* variables) with single-threaded numerical libraries.
func pythonCmd(ctx context.Context, python, script string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, python, append([]string{"-I", script}, args...)...)
	cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1")
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// checkHnswlib fails with an install hint when the interpreter or its
// hnswlib / numpy modules are missing.
func checkHnswlib(ctx context.Context, python, script string) error {
	if _, err := os.Stat(python); err != nil {
		return fmt.Errorf("hnswlib peer: python interpreter %s: %w; install the peer with: %s", python, err, hnswlibInstall)
	}
	out, err := pythonCmd(ctx, python, script, "--check").CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() == exitMissingModule:
		return fmt.Errorf("hnswlib peer: %s cannot import its modules (%s); install them with: %s",
			python, strings.TrimSpace(string(out)), hnswlibInstall)
	default:
		return fmt.Errorf("hnswlib peer: run %s: %w: %s", python, err, strings.TrimSpace(string(out)))
	}
}

// runHnswlib runs the script on the same files and flags, forwards its
// stderr, and emits each JSON line it prints after checking it.
func runHnswlib(ctx context.Context, c *ANNConfig, script string, d *annData, stderr io.Writer, emit func(Result) error) error {
	efs := make([]string, len(c.Efs))
	for i, ef := range c.Efs {
		efs[i] = strconv.Itoa(ef)
	}
	cmd := pythonCmd(ctx, c.Python, script,
		"--base", c.Base, "--query", c.Query, "--gt", c.GT,
		"--metric", c.Metric,
		"--m", strconv.Itoa(c.M),
		"--ef-construction", strconv.Itoa(c.EfConstruction),
		"--ef", strings.Join(efs, ","),
		"--threads", strconv.Itoa(c.Threads),
		"--skip", strconv.Itoa(c.Skip),
		"--k", strconv.Itoa(c.K),
		"--min-time", strconv.FormatFloat(c.MinTime.Seconds(), 'f', -1, 64),
		"--min-passes", strconv.Itoa(c.MinPasses),
		"--seed", strconv.FormatUint(c.Seed%(1<<31), 10),
	)
	var errTail tailWriter
	cmd.Stderr = io.MultiWriter(stderr, &errTail)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("hnswlib peer: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("hnswlib peer: start %s: %w", c.Python, err)
	}
	var (
		got     []int
		emitErr error
	)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if emitErr != nil || len(line) == 0 {
			continue // drain so the script can finish
		}
		if line[0] != '{' {
			fmt.Fprintf(stderr, "hnswlib: %s\n", line)
			continue
		}
		r, err := ParseResult(line)
		switch {
		case err != nil:
			emitErr = fmt.Errorf("hnswlib peer: %w", err)
		case (r.System != SystemHnswlib && r.System != SystemHnswlibBatch) || !slices.Contains(c.Efs, r.Ef) || r.N != d.n() || r.Dim != d.base.Dim:
			emitErr = fmt.Errorf("hnswlib peer: unexpected result %s", line)
		default:
			if r.System == SystemHnswlib {
				got = append(got, r.Ef)
			}
			emitErr = emit(r)
		}
	}
	if err := sc.Err(); err != nil && emitErr == nil {
		emitErr = fmt.Errorf("hnswlib peer: read output: %w", err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("hnswlib peer: %w", ctx.Err())
	case errors.As(err, &ee) && ee.ExitCode() == exitMissingModule:
		return fmt.Errorf("hnswlib peer: %s cannot import its modules; install them with: %s", c.Python, hnswlibInstall)
	case err != nil:
		return fmt.Errorf("hnswlib peer: %w: %s", err, errTail.last())
	case emitErr != nil:
		return emitErr
	case len(got) != len(c.Efs):
		return fmt.Errorf("hnswlib peer: printed %d results, want %d", len(got), len(c.Efs))
	}
	return nil
}

// lockedWriter serialises writes to stderr, which the goroutine exec
// starts to copy the script's stderr shares with RunANN.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tailWriter keeps the last bytes written, for error messages.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
}

const tailBytes = 2048

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailBytes {
		t.buf = t.buf[len(t.buf)-tailBytes:]
	}
	return len(p), nil
}

// last returns the last non-empty line written.
func (t *tailWriter) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	return lines[len(lines)-1]
}
