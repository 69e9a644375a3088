package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/cmd/lakevec/server"
	"github.com/lakevec/lakevec/cmd/lakevec/server/ui"
)

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	o := server.DefaultOptions()
	var apiKeyFile, adminKeyFile string
	var noUI bool
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:7700] [--data DIR]",
		Short: "Serve the knowledge base over HTTP (JSON API, OpenAPI, metrics)",
		Long: `serve opens the documents collection once and answers the HTTP API under
/api/v1 (search now and as of a time, compare, ingest, delete, show, history,
diff, stats, timeline, verify; collections: list, attach, refresh, vector
search), /openapi.json, /metrics, /healthz and /readyz, and the web UI at /
(search now or as of a time, document versions and diffs, collections; open
http://127.0.0.1:7700/ in a browser). Attached collections
are opened on first use and stay open; attaching over the API is allowed only
under --attach-root directories.

Security: it listens on 127.0.0.1 unless told otherwise and refuses a
non-loopback address without a key. Keys are bearer tokens: the read-only key
(--api-key, env LAKEVEC_API_KEY, or --api-key-file) and the admin key that may
also write (--admin-key, env LAKEVEC_ADMIN_KEY, or --admin-key-file). Prefer the
environment or a file: flags are visible to other users in the process list.
Logs are JSON lines on stderr. SIGINT/SIGTERM drain in-flight requests, then
close the collection (writing the index checkpoint).`,
		Example: `  lakevec serve --data ./lakevec-data
  LAKEVEC_ADMIN_KEY=$(openssl rand -hex 24) lakevec serve --addr 0.0.0.0:7700 --tls-cert c.pem --tls-key k.pem
  curl 'http://127.0.0.1:7700/api/v1/search?q=data+retention&as_of=2021-03-12'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.APIKey, err = keyFrom(o.APIKey, apiKeyFile, "LAKEVEC_API_KEY"); err != nil {
				return err
			}
			if o.AdminKey, err = keyFrom(o.AdminKey, adminKeyFile, "LAKEVEC_ADMIN_KEY"); err != nil {
				return err
			}
			if err := validCollection(fl.collection); err != nil {
				return err
			}
			o.DataDir = fl.data
			if !noUI {
				o.UI = ui.Handler()
			}
			o.Logger = slog.New(slog.NewJSONHandler(stderr, nil))
			fl.logger = o.Logger
			srv, err := server.New(o)
			if err != nil {
				return usageError{err}
			}
			return srv.Run(cmd.Context(), func(ctx context.Context) (server.KB, error) {
				return openKB(ctx, cmd, fl, stderr)
			})
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", o.Addr, "listen address; a non-loopback address needs a key")
	f.StringVar(&o.APIKey, "api-key", "", "read-only bearer key (env LAKEVEC_API_KEY)")
	f.StringVar(&o.AdminKey, "admin-key", "", "admin bearer key, may also write (env LAKEVEC_ADMIN_KEY)")
	f.StringVar(&apiKeyFile, "api-key-file", "", "file holding the read-only key (first line)")
	f.StringVar(&adminKeyFile, "admin-key-file", "", "file holding the admin key (first line)")
	f.Int64Var(&o.MaxBodyBytes, "max-body-bytes", o.MaxBodyBytes, "largest request body")
	f.IntVar(&o.MaxK, "max-k", o.MaxK, "largest k a search may ask for")
	f.IntVar(&o.MaxEf, "max-ef", o.MaxEf, "largest ef a search may ask for")
	f.StringSliceVar(&o.CORSOrigins, "cors-origin", nil, "origin allowed to call the API from a browser (repeatable; * for any); default none")
	f.BoolVar(&noUI, "no-ui", false, "do not serve the web UI at /")
	f.DurationVar(&o.RefreshInterval, "refresh-interval", 0, "refresh every attached collection on this interval (e.g. 1m) and export their lag in /metrics; 0: only on request")
	f.StringSliceVar(&o.AttachRoots, "attach-root", nil, "directory under which POST /api/v1/collections may attach Parquet datasets and Iceberg catalogs (repeatable); default none: attaching over the API is refused")
	f.StringSliceVar(&o.AllowedHosts, "allowed-host", nil, "extra Host name a loopback server answers (behind a local proxy); repeatable")
	f.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key serves HTTPS")
	f.StringVar(&o.TLSKey, "tls-key", "", "TLS private key (PEM)")
	f.StringVar(&o.DebugAddr, "debug-addr", "", "serve pprof on this loopback address (default off)")
	f.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", o.ShutdownTimeout, "how long in-flight requests may finish on shutdown")
	return cmd
}

// keyFrom picks a key from its flag, else its file, else its environment
// variable. Giving both a flag and a file is an error.
func keyFrom(flag, file, env string) (string, error) {
	if flag != "" && file != "" {
		return "", usagef("give a key by flag or by file, not both")
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usagef("read key file: %v", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if k := strings.TrimSpace(line); k != "" {
			return k, nil
		}
		return "", usagef("key file %s is empty", file)
	}
	if flag != "" {
		return flag, nil
	}
	return os.Getenv(env), nil
}
