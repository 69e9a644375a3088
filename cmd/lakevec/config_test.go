package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// reset without --yes names the data directory it would delete, which
// shows where --data came from without touching anything.
func resetTarget(t *testing.T, args ...string) string {
	t.Helper()
	code, _, errOut := cli(t, append([]string{"reset"}, args...)...)
	if code != exitUsage {
		t.Fatalf("reset %v: exit %d, want %d: %s", args, code, exitUsage, errOut)
	}
	_, rest, ok := strings.Cut(errOut, "reset deletes ")
	if !ok {
		t.Fatalf("reset %v: %s", args, errOut)
	}
	dir, _, _ := strings.Cut(rest, " entirely")
	return dir
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lakevec.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigPrecedence(t *testing.T) {
	t.Setenv("LAKEVEC_DATA", "")
	os.Unsetenv("LAKEVEC_DATA")
	cfg := writeConfig(t, "# every command\ndata: from-file\n")
	if got := resetTarget(t); got != "lakevec-data" {
		t.Errorf("default: %q", got)
	}
	if got := resetTarget(t, "--config", cfg); got != "from-file" {
		t.Errorf("config file: %q", got)
	}
	t.Setenv("LAKEVEC_CONFIG", cfg)
	if got := resetTarget(t); got != "from-file" {
		t.Errorf("LAKEVEC_CONFIG: %q", got)
	}
	t.Setenv("LAKEVEC_DATA", "from-env")
	if got := resetTarget(t); got != "from-env" {
		t.Errorf("env over file: %q", got)
	}
	if got := resetTarget(t, "--data", "from-flag"); got != "from-flag" {
		t.Errorf("flag over env: %q", got)
	}
}

func TestConfigSections(t *testing.T) {
	cfg := writeConfig(t, "data: top\nreset:\n  data: for-reset\nsearch:\n  k: 7\n")
	if got := resetTarget(t, "--config", cfg); got != "for-reset" {
		t.Errorf("section: %q", got)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name, file string
		env        map[string]string
		args       []string
		want       []string
	}{
		{name: "unknown key", file: "data: x\ndta: y\n", args: []string{"reset"},
			want: []string{"lakevec.yaml:2", `unknown key "dta"`, `did you mean "data"`}},
		{name: "unknown command section", file: "serch:\n  k: 3\n", args: []string{"reset"},
			want: []string{"lakevec.yaml:1", `unknown key "serch"`}},
		{name: "unknown key in section", file: "search:\n  addr: x\n", args: []string{"reset"},
			want: []string{"lakevec.yaml:2", `unknown key "search.addr"`, "not a flag of lakevec search"}},
		{name: "bad value in file", file: "k: many\n", args: []string{"search", "x", "--data", "nowhere"},
			want: []string{"config file ", "lakevec.yaml:1: k:", `"many"`}},
		{name: "bad value in env", env: map[string]string{"LAKEVEC_K": "many"}, args: []string{"search", "x", "--data", "nowhere"},
			want: []string{`LAKEVEC_K="many" (environment): --k:`}},
		{name: "yes only on the command line", file: "yes: true\n", args: []string{"reset"},
			want: []string{`key "yes"`, "only be given on the command line"}},
		{name: "missing explicit file", args: []string{"reset", "--config", "/nonexistent/lakevec.yaml"},
			want: []string{"config file", "no such file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.file != "" {
				args = append(args, "--config", writeConfig(t, c.file))
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, _, errOut := cli(t, args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d: %s", code, exitUsage, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("error %q lacks %q", errOut, w)
				}
			}
		})
	}
}

// A key read from a file beats the same key from the environment, as
// before: LAKEVEC_API_KEY must not collide with --api-key-file.
func TestConfigFileSiblingWins(t *testing.T) {
	t.Setenv("LAKEVEC_API_KEY", "from-env")
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte("from-file\n"), 0o600)
	code, _, errOut := cli(t, "serve", "--api-key-file", keyFile, "--addr", "bad address", "--data", t.TempDir())
	if strings.Contains(errOut, "not both") {
		t.Fatalf("env key collided with --api-key-file (exit %d): %s", code, errOut)
	}
}

func TestHelpNamesEnv(t *testing.T) {
	code, out, errOut := cli(t, "search", "--help")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"(env LAKEVEC_DATA)", "(env LAKEVEC_K)", "(env LAKEVEC_MODEL_DIR)", "--config"} {
		if !strings.Contains(out, w) {
			t.Errorf("search --help lacks %q:\n%s", w, out)
		}
	}
}

// TestEveryCommandConsistent: every command has an Example in --help, and
// every command that prints results takes --json.
func TestEveryCommandConsistent(t *testing.T) {
	noResults := map[string]bool{"lakevec": true, "lakevec bench": true, "lakevec serve": true, "lakevec demo": true}
	visitCommands(newRootCmd(io.Discard, io.Discard), func(c *cobra.Command) {
		if c.Example == "" {
			t.Errorf("%s: no Example", c.CommandPath())
		}
		if !noResults[c.CommandPath()] && c.Flags().Lookup("json") == nil {
			t.Errorf("%s: no --json", c.CommandPath())
		}
	})
}
