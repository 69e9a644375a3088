package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/bench/texmex"
	"github.com/lakevec/lakevec/engine"
	"github.com/lakevec/lakevec/engine/filter"
	"github.com/lakevec/lakevec/hnsw"
	"github.com/lakevec/lakevec/lake"
)

func newAttachCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	var parquetSrc, icebergCat, icebergTable, column, metric, idColumn string
	var columns []string
	var fromSnapshot int64
	var allSnapshots bool
	cmd := &cobra.Command{
		Use:   "attach NAME (--parquet DIR|GLOB | --iceberg CATALOG --table NS.TABLE) --vector-column COL",
		Short: "Index the vector column of a Parquet dataset or an Iceberg table in place",
		Long: `attach registers a table you own as a collection: lakevec reads the vector
column of every data file (list<float>, list<double> or packed float32 binary;
nulls skipped and counted), builds its HNSW index, and from then on
'lakevec refresh NAME' reads only what changed. Results name the file and the
row in it.

An Iceberg table is read through its catalog (SQLite, PostgreSQL or REST), or
directly from a metadata JSON file; data files on local disk or s3:// (with
--s3-endpoint for MinIO-like servers; credentials from the AWS environment).
The collection's history starts at the current snapshot, or earlier with
--from-snapshot ID or --all-snapshots. Each snapshot committed
after the attach becomes a version of the collection, applied whole:
appends, copy-on-write deletes, overwrites, compaction, merge-on-read position
deletes and equality deletes. Rows removed by a snapshot stay searchable as of
the snapshots they were live in (search --snapshot ID or --as-of TIME). A
Parquet dataset gets a version per refresh that found a change.

--columns keeps scalar columns beside each vector: they come back with every
result and can be filtered on (search --filter). --id-column names a column
that identifies a row across files, so a compaction or rewrite that moves rows
unchanged only remaps them. --embedder (and its flags) records the model that
made the vectors, so the collection can be searched with text.`,
		Example: `  lakevec attach products --parquet ./lake/products --vector-column embedding
  lakevec attach passages --iceberg ./catalog.db --table kb.passages --vector-column embedding \
      --id-column id --columns lang,year,title --embedder bert --model-dir ./all-MiniLM-L6-v2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validCollection(args[0]); err != nil {
				return err
			}
			metaJSON := icebergCat == "" && strings.HasSuffix(icebergTable, ".metadata.json")
			if (parquetSrc == "") == (icebergCat == "" && !metaJSON) || column == "" || (icebergCat != "" && icebergTable == "") {
				return usagef("attach needs --vector-column and one of --parquet, --iceberg with --table, or --table METADATA.json")
			}
			m, err := hnsw.ParseMetric(metric)
			if err != nil {
				return usagef("--metric: %v", err)
			}
			o := engine.ExternalOptions{Name: args[0], Parquet: parquetSrc, IcebergCatalog: icebergCat, IcebergTable: icebergTable,
				VectorColumn: column, Metric: m, IDColumn: idColumn, Columns: columns, S3: fl.lake.S3, FromSnapshot: fromSnapshot}
			if allSnapshots {
				if fromSnapshot != 0 {
					return usagef("give --all-snapshots or --from-snapshot, not both")
				}
				o.FromSnapshot = -1
			}
			if o.FromSnapshot != 0 && icebergCat == "" && !metaJSON {
				return usagef("--all-snapshots and --from-snapshot apply to Iceberg tables")
			}
			if f := cmd.Flags(); f.Changed("embedder") || f.Changed("model-dir") || f.Changed("openai-url") || f.Changed("openai-model") {
				cfg, _, err := embedConfig(cmd, fl.emb)
				if err != nil {
					return usageError{err}
				}
				o.Embedder = &cfg
			}
			prog, clear := refreshProgress(cmd, stderr, args[0])
			o.Progress = prog
			x, rep, err := engine.Attach(cmd.Context(), fl.data, o)
			clear()
			if err != nil {
				return err
			}
			defer x.Close()
			return printRefresh(stdout, args[0], rep, fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, true)
	cmd.Flags().StringVar(&parquetSrc, "parquet", "", "dataset: a directory (every *.parquet below it), a glob, or s3://bucket/prefix")
	cmd.Flags().StringVar(&icebergCat, "iceberg", "", "Iceberg catalog: SQLite (a path or sqlite:///path), postgres://…, or a REST catalog's http(s):// URI")
	cmd.Flags().StringVar(&icebergTable, "table", "", "Iceberg table: namespace.table, or (without --iceberg) the location of its metadata JSON file")
	cmd.Flags().StringVar(&column, "vector-column", "", "column holding the vectors (dotted path for nested columns)")
	cmd.Flags().StringVar(&metric, "metric", "cosine", "l2, ip or cosine")
	cmd.Flags().StringVar(&idColumn, "id-column", "", "scalar column identifying a row across files (rewrites remap instead of re-indexing)")
	cmd.Flags().Int64Var(&fromSnapshot, "from-snapshot", 0, "Iceberg: start the collection's history at this snapshot (an ancestor of the current one); default the current snapshot")
	cmd.Flags().BoolVar(&allSnapshots, "all-snapshots", false, "Iceberg: index the table's whole history, from the oldest snapshot it still lists (their data files must still exist)")
	cmd.Flags().StringSliceVar(&columns, "columns", nil, "scalar columns to keep with each vector: returned with results, usable in --filter")
	return cmd
}

func printRefresh(w io.Writer, name string, rep engine.RefreshReport, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(rep)
	}
	fmt.Fprintf(w, "%s: %d snapshots applied; %d files, %d read, %d removed, %d delete files read; %d rows added, %d removed, %d remapped; %d null vectors skipped; %.2f s\n",
		name, rep.Snapshots, rep.FilesTotal, rep.FilesRead, rep.FilesRemoved, rep.DeleteFilesRead, rep.RowsAdded, rep.RowsRemoved, rep.RowsRemapped, rep.NullVectors, rep.Seconds)
	return nil
}

func newRefreshCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	cmd := &cobra.Command{
		Use:     "refresh NAME",
		Short:   "Bring an attached collection up to its dataset, reading only changed files",
		Example: `  lakevec refresh products`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			x, err := engine.OpenExternal(cmd.Context(), fl.data, args[0])
			if err != nil {
				return err
			}
			defer x.Close()
			prog, clear := refreshProgress(cmd, stderr, args[0])
			rep, err := x.RefreshWith(cmd.Context(), prog)
			clear()
			if err != nil {
				return err
			}
			return printRefresh(stdout, args[0], rep, fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, false)
	return cmd
}

func newCollectionsCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	cmd := &cobra.Command{
		Use:   "collections",
		Short: "List the collections of the data directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := engine.ExternalNames(fl.data)
			if err != nil {
				return err
			}
			infos, err := engine.DocumentCollections(fl.data)
			if err != nil {
				return err
			}
			for _, n := range names {
				x, err := engine.OpenExternal(cmd.Context(), fl.data, n)
				if err != nil {
					return err
				}
				info := x.Info()
				if lag, err := x.Lag(cmd.Context()); err != nil {
					info["lag_error"] = err.Error()
				} else {
					info["lag"] = lag
				}
				infos = append(infos, info)
				x.Close()
			}
			return printCollections(stdout, infos, fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, false)
	return cmd
}

// readQueryVectors reads query vectors from a .fvecs file or JSON: one
// array per line, or one array of arrays.
func readQueryVectors(path string) ([][]float32, error) {
	if strings.HasSuffix(strings.ToLower(path), ".fvecs") {
		v, err := texmex.ReadVectors(path)
		if err != nil {
			return nil, err
		}
		out := make([][]float32, v.Len())
		for i := range out {
			out[i] = v.Row(i)
		}
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var many [][]float32
	if err := json.Unmarshal(b, &many); err == nil {
		return many, nil
	}
	var out [][]float32
	for i, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var v []float32
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			return nil, fmt.Errorf("%s line %d: want a JSON array of numbers: %v", path, i+1, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no vectors", path)
	}
	return out, nil
}

// externalSearch is what `search --collection NAME` asks of an attached
// collection.
type externalSearch struct {
	vectorFile, text string
	q                engine.ExternalQuery
}

// searchExternal answers `search --collection NAME` for an attached
// collection: query vectors from --vector-file (one result list each) or
// a text embedded with the collection's embedder.
func searchExternal(cmd *cobra.Command, fl kbFlags, s externalSearch, stdout io.Writer) error {
	if (s.vectorFile == "") == (s.text == "") {
		return usagef("collection %s is an attached table: give query TEXT or --vector-file, not both", fl.collection)
	}
	x, err := engine.OpenExternal(cmd.Context(), fl.data, fl.collection)
	if err != nil {
		return err
	}
	defer x.Close()
	var all [][]engine.VectorHit
	badQuery := func(err error) bool {
		var fe *filter.Error
		return errors.Is(err, hnsw.ErrDimension) || errors.Is(err, hnsw.ErrNonFinite) || errors.Is(err, hnsw.ErrZeroVector) ||
			errors.As(err, &fe) || errors.Is(err, engine.ErrNotIndexed) || errors.Is(err, engine.ErrNoEmbedder) ||
			errors.Is(err, lake.ErrNoColumn) || errors.Is(err, lake.ErrNotScalar)
	}
	if s.text != "" {
		hits, err := x.QueryText(cmd.Context(), s.text, s.q)
		if err != nil {
			if badQuery(err) {
				return usageError{err}
			}
			return err
		}
		all = append(all, hits)
	} else {
		qs, err := readQueryVectors(s.vectorFile)
		if err != nil {
			return usageError{err}
		}
		for i, q := range qs {
			hits, err := x.Query(cmd.Context(), q, s.q)
			if err != nil {
				if badQuery(err) {
					return usagef("query vector %d of %s: %v", i, s.vectorFile, err)
				}
				return err
			}
			all = append(all, hits)
		}
	}
	return printVectorHits(stdout, all, fl.json)
}

// printVectorHits prints the result lists of an attached-table search, one
// per query.
func printVectorHits(stdout io.Writer, all [][]engine.VectorHit, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(stdout).Encode(all)
	}
	for i, hits := range all {
		fmt.Fprintf(stdout, "query %d\n", i)
		for j, h := range hits {
			fmt.Fprintf(stdout, "  %d. %s row %d  score %.4f  added %s", j+1, h.File, h.Row, h.Score, h.AddedAt.Format(time.RFC3339))
			if h.RemovedAt != nil {
				fmt.Fprintf(stdout, "  removed %s", h.RemovedAt.Format(time.RFC3339))
			}
			fmt.Fprintln(stdout)
			if len(h.Columns) > 0 {
				names := make([]string, 0, len(h.Columns))
				for n := range h.Columns {
					names = append(names, n)
				}
				sort.Strings(names)
				var parts []string
				for _, n := range names {
					parts = append(parts, fmt.Sprintf("%s=%v", n, h.Columns[n]))
				}
				fmt.Fprintf(stdout, "     %s\n", strings.Join(parts, "  "))
			}
			if h.FetchError != "" {
				fmt.Fprintf(stdout, "     (columns not fetched: %s)\n", h.FetchError)
			}
		}
	}
	return nil
}

// printCollections prints the collection listing: one line each, or the
// infos as one JSON array. Shared by the local command and --server.
func printCollections(stdout io.Writer, infos []map[string]any, asJSON bool) error {
	if asJSON {
		if infos == nil {
			infos = []map[string]any{}
		}
		return json.NewEncoder(stdout).Encode(infos)
	}
	if len(infos) == 0 {
		fmt.Fprintln(stdout, "no collections")
	}
	for _, in := range infos {
		if in["kind"] == "documents" {
			fmt.Fprintf(stdout, "%s  documents  model %v (dim %v)  %v chunk versions  %v batches  last version %v\n",
				in["name"], in["model_id"], in["dim"], in["chunk_versions"], in["batches"], in["last_at"])
			continue
		}
		if e, ok := in["error"]; ok {
			fmt.Fprintf(stdout, "%s  %v\n", in["name"], e)
			continue
		}
		lag := "lag unknown"
		if l, ok := in["lag"].(engine.Lag); ok {
			lag = fmt.Sprintf("lag %d snapshots %.0f s", l.Snapshots, l.Seconds)
			if in["kind"] == "parquet" {
				lag = fmt.Sprintf("lag %d files", l.Files)
			}
		} else if e, ok := in["lag_error"]; ok {
			lag = fmt.Sprintf("lag unknown (%v)", e)
		}
		snap := ""
		if s, ok := in["snapshot"]; ok {
			snap = fmt.Sprintf("  snapshot %v", s)
		}
		fmt.Fprintf(stdout, "%s  %s %s%s  column %s  %v files  %v rows  dim %v  %v versions  refreshed %v  %s\n",
			in["name"], in["kind"], in["source"], snap, in["vector_column"], in["files"], in["rows"], in["dim"], in["versions"], in["refreshed"], lag)
	}
	return nil
}
