package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/engine"
)

// With --server URL (or LAKEVEC_SERVER) the commands below talk to a
// running `lakevec serve` through its JSON API instead of opening the data
// directory, and print exactly what they print locally: the same printers
// read the same engine types, decoded from the API's responses.

// remoteRunners are the commands that can run against a server.
var remoteRunners = map[string]func(c *remoteClient, cmd *cobra.Command, args []string) error{
	"search":      remoteSearch,
	"compare":     remoteCompare,
	"ingest":      remoteIngest,
	"delete":      remoteDelete,
	"history":     remoteHistory,
	"show":        remoteShow,
	"diff":        remoteDiff,
	"verify":      remoteVerify,
	"refresh":     remoteRefresh,
	"collections": remoteCollections,
}

// localOnly are flags that mean nothing to a server: it has its own data
// directory, lake and embedder.
var localOnly = []string{"data", "warehouse", "s3-endpoint", "s3-region", "embedder", "model-dir", "openai-url", "openai-model"}

// installRemote adds --server and --api-key to the commands the API
// answers, and runs them remotely when --server is set.
func installRemote(root *cobra.Command) {
	for name, runner := range remoteRunners {
		c := findSub(root, name)
		if c == nil || c.RunE == nil {
			continue
		}
		c.Flags().String("server", "", "talk to a running `lakevec serve` at this URL (http://127.0.0.1:7700) instead of opening --data")
		c.Flags().String("api-key", "", "bearer key for --server")
		local, runner := c.RunE, runner
		c.RunE = func(cmd *cobra.Command, args []string) error {
			srv, _ := cmd.Flags().GetString("server")
			if srv == "" {
				return local(cmd, args)
			}
			rc, err := newRemoteClient(cmd, srv)
			if err != nil {
				return err
			}
			return runner(rc, cmd, args)
		}
	}
}

// remoteClient calls one lakevec server.
type remoteClient struct {
	base   *url.URL
	key    string
	hc     *http.Client
	stdout io.Writer
	stderr io.Writer
	json   bool
}

func newRemoteClient(cmd *cobra.Command, server string) (*remoteClient, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--server %q: want http://HOST:PORT or https://HOST:PORT", server)
	}
	for _, name := range localOnly {
		if onCommandLine(cmd, name) {
			return nil, usagef("--%s: not used with --server (the server has its own)", name)
		}
	}
	key, _ := cmd.Flags().GetString("api-key")
	asJSON, _ := cmd.Flags().GetBool("json")
	c := &remoteClient{base: u, key: key, hc: &http.Client{Timeout: 10 * time.Minute},
		stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(), json: asJSON}
	if onCommandLine(cmd, "collection") {
		// The server serves one documents collection.
		coll, _ := cmd.Flags().GetString("collection")
		var st engine.Stats
		if err := c.call(cmd.Context(), "GET", "/api/v1/stats", nil, nil, &st); err != nil {
			return nil, err
		}
		if st.Collection != coll && cmd.Name() != "refresh" && cmd.Name() != "search" {
			return nil, usagef("--collection %s: the server at %s serves collection %s", coll, server, st.Collection)
		}
	}
	return c, nil
}

// remoteError is an error answer of the server.
type remoteError struct {
	status int
	msg    string
	server string
}

func (e *remoteError) Error() string {
	switch e.status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("server %s refused the request (401 unauthorized: %s): give its key with --api-key or LAKEVEC_API_KEY", e.server, e.msg)
	case http.StatusForbidden:
		return fmt.Sprintf("server %s refused the request (403 forbidden: %s): this needs the server's admin key", e.server, e.msg)
	}
	return fmt.Sprintf("server %s: %s (HTTP %d)", e.server, e.msg, e.status)
}

// docPath is an API path ending in a document id, which may hold slashes.
func docPath(prefix, id string) string {
	parts := strings.Split(id, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return prefix + strings.Join(parts, "/")
}

// call sends one request (body as JSON when not nil) and decodes the JSON
// answer into out. Error answers become remoteError; a 400 is a usage
// error (exit 2), as the same mistake is locally.
func (c *remoteClient) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	u := c.base.String() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("server %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("server %s: read the answer: %w", c.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(b))
			if len(eb.Error) > 200 {
				eb.Error = eb.Error[:200] + "…"
			}
		}
		re := &remoteError{status: resp.StatusCode, msg: eb.Error, server: c.base.String()}
		if resp.StatusCode == http.StatusBadRequest {
			return usageError{re}
		}
		return re
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("server %s: %s %s: unexpected answer: %w", c.base, method, path, err)
	}
	return nil
}

func flagString(cmd *cobra.Command, name string) string {
	v, _ := cmd.Flags().GetString(name)
	return v
}
func flagInt(cmd *cobra.Command, name string) int   { v, _ := cmd.Flags().GetInt(name); return v }
func flagBool(cmd *cobra.Command, name string) bool { v, _ := cmd.Flags().GetBool(name); return v }

// timeParam checks a time flag like the local command, and sends it as
// RFC 3339 (the server reads the same forms).
func timeParam(q url.Values, key, flag, v string) error {
	if v == "" {
		return nil
	}
	t, err := parseTime(flag, v)
	if err != nil {
		return err
	}
	q.Set(key, t.Format(time.RFC3339Nano))
	return nil
}

func remoteSearch(c *remoteClient, cmd *cobra.Command, args []string) error {
	k := flagInt(cmd, "k")
	if k < 1 || k > 1000 {
		return usagef("--k %d: want 1..1000", k)
	}
	if coll := flagString(cmd, "collection"); onCommandLine(cmd, "collection") {
		var st engine.Stats
		if err := c.call(cmd.Context(), "GET", "/api/v1/stats", nil, nil, &st); err != nil {
			return err
		}
		if coll != st.Collection {
			return remoteSearchCollection(c, cmd, coll, args)
		}
	}
	if flagString(cmd, "vector-file") != "" || flagString(cmd, "filter") != "" || onCommandLine(cmd, "snapshot") || len(flagStrings(cmd, "fetch")) > 0 {
		return usagef("--vector-file, --filter, --snapshot and --fetch apply to attached tables; the server's documents collection is searched with text")
	}
	if len(args) != 1 {
		return usagef("search needs the query TEXT")
	}
	q := url.Values{"q": {args[0]}, "k": {strconv.Itoa(k)}}
	if err := timeParam(q, "as_of", "--as-of", flagString(cmd, "as-of")); err != nil {
		return err
	}
	var resp struct {
		Hits []engine.Hit `json:"hits"`
	}
	if err := c.call(cmd.Context(), "GET", "/api/v1/search", q, nil, &resp); err != nil {
		return err
	}
	return printHits(c.stdout, resp.Hits, c.json)
}

// remoteSearchCollection searches an attached table of the server: one
// request per query vector, or one for a text query.
func remoteSearchCollection(c *remoteClient, cmd *cobra.Command, name string, args []string) error {
	vf := flagString(cmd, "vector-file")
	if (vf == "") == (len(args) == 0) {
		return usagef("collection %s is an attached table: give query TEXT or --vector-file, not both", name)
	}
	k := flagInt(cmd, "k")
	req := map[string]any{"k": k} // ef: the server's default, within its own limit
	if f := flagString(cmd, "filter"); f != "" {
		req["filter"] = f
	}
	if onCommandLine(cmd, "snapshot") {
		n, _ := cmd.Flags().GetInt64("snapshot")
		req["snapshot"] = strconv.FormatInt(n, 10)
	}
	if a := flagString(cmd, "as-of"); a != "" {
		t, err := parseTime("--as-of", a)
		if err != nil {
			return err
		}
		req["as_of"] = t.Format(time.RFC3339Nano)
	}
	if f := flagStrings(cmd, "fetch"); len(f) > 0 {
		req["fetch"] = f
	}
	var queries [][]float32
	if vf != "" {
		qs, err := readQueryVectors(vf)
		if err != nil {
			return usageError{err}
		}
		queries = qs
	} else {
		req["query"] = args[0]
		queries = [][]float32{nil}
	}
	var all [][]engine.VectorHit
	for _, q := range queries {
		if q != nil {
			req["vector"] = q
		}
		var resp struct {
			Hits []engine.VectorHit `json:"hits"`
		}
		if err := c.call(cmd.Context(), "POST", "/api/v1/collections/"+url.PathEscape(name)+"/search", nil, req, &resp); err != nil {
			return err
		}
		all = append(all, resp.Hits)
	}
	return printVectorHits(c.stdout, all, c.json)
}

func flagStrings(cmd *cobra.Command, name string) []string {
	v, _ := cmd.Flags().GetStringSlice(name)
	return v
}

func remoteCompare(c *remoteClient, cmd *cobra.Command, args []string) error {
	t1, t2, err := parseFromTo(cmd.Name(), flagString(cmd, "from"), flagString(cmd, "to"))
	if err != nil {
		return err
	}
	q := url.Values{"q": {args[0]}, "k": {strconv.Itoa(flagInt(cmd, "k"))},
		"from": {t1.Format(time.RFC3339Nano)}, "to": {t2.Format(time.RFC3339Nano)}}
	var resp struct {
		Entries []engine.CompareEntry `json:"entries"`
	}
	if err := c.call(cmd.Context(), "GET", "/api/v1/compare", q, nil, &resp); err != nil {
		return err
	}
	if len(resp.Entries) == 0 {
		resp.Entries = nil // local compare encodes an empty result as null
	}
	return printCompare(c.stdout, resp.Entries, c.json)
}

// remoteDoc is a document of an ingest request.
type remoteDoc struct {
	DocID  string `json:"doc_id"`
	Text   string `json:"text,omitempty"`
	Delete bool   `json:"delete,omitempty"`
}

type remoteIngestRequest struct {
	At        string      `json:"at,omitempty"`
	Sync      bool        `json:"sync,omitempty"`
	Documents []remoteDoc `json:"documents"`
}

func atParam(at string) (string, error) {
	if at == "" {
		return "", nil
	}
	t, err := parseTime("--at", at)
	if err != nil {
		return "", err
	}
	return t.Format(time.RFC3339Nano), nil
}

func remoteIngest(c *remoteClient, cmd *cobra.Command, args []string) error {
	at, err := atParam(flagString(cmd, "at"))
	if err != nil {
		return err
	}
	docs, err := collectDocs(args, c.stderr)
	if err != nil {
		return err
	}
	req := remoteIngestRequest{At: at, Sync: flagBool(cmd, "sync"), Documents: []remoteDoc{}}
	for _, d := range docs {
		req.Documents = append(req.Documents, remoteDoc{DocID: d.DocID, Text: d.Text})
	}
	var rep engine.Report
	if err := c.call(cmd.Context(), "POST", "/api/v1/documents", nil, req, &rep); err != nil {
		return err
	}
	return printReport(c.stdout, rep, c.json)
}

// remoteDelete deletes every id in one batch, like the local command (the
// API's DELETE route takes one document per batch).
func remoteDelete(c *remoteClient, cmd *cobra.Command, args []string) error {
	at, err := atParam(flagString(cmd, "at"))
	if err != nil {
		return err
	}
	req := remoteIngestRequest{At: at}
	for _, id := range args {
		req.Documents = append(req.Documents, remoteDoc{DocID: id, Delete: true})
	}
	var rep engine.Report
	if err := c.call(cmd.Context(), "POST", "/api/v1/documents", nil, req, &rep); err != nil {
		return err
	}
	return printDeleteReport(c.stdout, c.stderr, rep, len(args), c.json)
}

func remoteHistory(c *remoteClient, cmd *cobra.Command, args []string) error {
	var resp struct {
		Versions []engine.VersionInfo `json:"versions"`
	}
	if err := c.call(cmd.Context(), "GET", docPath("/api/v1/history/", args[0]), nil, nil, &resp); err != nil {
		return err
	}
	return printHistory(c.stdout, resp.Versions, c.json)
}

func remoteShow(c *remoteClient, cmd *cobra.Command, args []string) error {
	q := url.Values{}
	if err := timeParam(q, "as_of", "--as-of", flagString(cmd, "as-of")); err != nil {
		return err
	}
	var resp struct {
		Text string `json:"text"`
	}
	if err := c.call(cmd.Context(), "GET", docPath("/api/v1/documents/", args[0]), q, nil, &resp); err != nil {
		return err
	}
	return printShow(c.stdout, args[0], resp.Text, c.json)
}

func remoteDiff(c *remoteClient, cmd *cobra.Command, args []string) error {
	t1, t2, err := parseFromTo(cmd.Name(), flagString(cmd, "from"), flagString(cmd, "to"))
	if err != nil {
		return err
	}
	q := url.Values{"from": {t1.Format(time.RFC3339Nano)}, "to": {t2.Format(time.RFC3339Nano)}}
	var resp struct {
		Lines []engine.DiffLine `json:"lines"`
	}
	if err := c.call(cmd.Context(), "GET", docPath("/api/v1/diff/", args[0]), q, nil, &resp); err != nil {
		return err
	}
	return printDiff(c.stdout, resp.Lines, c.json)
}

func remoteVerify(c *remoteClient, cmd *cobra.Command, args []string) error {
	var v struct {
		Problems []string `json:"problems"`
	}
	if err := c.call(cmd.Context(), "POST", "/api/v1/verify", nil, struct{}{}, &v); err != nil {
		return err
	}
	var st engine.Stats
	if err := c.call(cmd.Context(), "GET", "/api/v1/stats", nil, nil, &st); err != nil {
		return err
	}
	return printVerify(c.stdout, st, v.Problems, c.json)
}

func remoteRefresh(c *remoteClient, cmd *cobra.Command, args []string) error {
	var rep engine.RefreshReport
	err := c.call(cmd.Context(), "POST", "/api/v1/collections/"+url.PathEscape(args[0])+"/refresh", nil, struct{}{}, &rep)
	var re *remoteError
	if errors.As(err, &re) && re.status == http.StatusNotFound && strings.Contains(re.msg, "no route") {
		return fmt.Errorf("server %s has no refresh endpoint (an older lakevec serve)", c.base)
	}
	if err != nil {
		return err
	}
	return printRefresh(c.stdout, args[0], rep, c.json)
}

// remoteCollections lists the server's collections in the local command's
// form: the API's fields are mapped back to the engine's info keys (the
// API names a few of them differently and keeps the rest under "extra"),
// so the text is the same as a local listing of that data directory.
// An attached collection the server cannot open is listed with its error.
func remoteCollections(c *remoteClient, cmd *cobra.Command, args []string) error {
	var raw json.RawMessage
	if err := c.call(cmd.Context(), "GET", "/api/v1/collections", nil, nil, &raw); err != nil {
		return err
	}
	var resp struct {
		Collections []map[string]any `json:"collections"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // counts and snapshot ids print as sent, never as 1e+06
	if err := dec.Decode(&resp); err != nil {
		return fmt.Errorf("server %s: collections: %w", c.base, err)
	}
	infos := make([]map[string]any, 0, len(resp.Collections))
	for _, in := range resp.Collections {
		m := map[string]any{}
		for k, v := range in {
			switch k {
			case "extra":
				if ex, ok := v.(map[string]any); ok {
					for k2, v2 := range ex {
						m[k2] = v2
					}
				}
			case "served":
			case "snapshot":
				// The API sends snapshot ids as strings (JSON numbers lose
				// precision past 2^53); the local listing has numbers.
				if str, ok := v.(string); ok && isInteger(str) {
					m[k] = json.Number(str)
				} else {
					m[k] = v
				}
			case "last_change":
				m["last_at"] = v
			case "last_refresh":
				m["refreshed"] = v
			case "last_refresh_report":
				m["last_refresh"] = v
			case "lag":
				b, err := json.Marshal(v)
				var l engine.Lag
				if err == nil && json.Unmarshal(b, &l) == nil {
					m["lag"] = l
				}
			default:
				m[k] = v
			}
		}
		infos = append(infos, m)
	}
	return printCollections(c.stdout, infos, c.json)
}

func isInteger(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}
