package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/bench/texmex"
	"github.com/lakevec/lakevec/engine"
	"github.com/lakevec/lakevec/hnsw"
)

func newAttachCmd(stdout, stderr io.Writer) *cobra.Command {
	var fl kbFlags
	var parquetSrc, icebergCat, icebergTable, column, metric string
	cmd := &cobra.Command{
		Use:   "attach NAME (--parquet DIR|GLOB | --iceberg CATALOG --table NS.TABLE) --vector-column COL",
		Short: "Index the vector column of a Parquet dataset in place",
		Long: `attach registers a Parquet dataset you own as a collection: lakevec reads the
vector column of every file (list<float>, list<double> or packed float32
binary; nulls skipped and counted), builds its HNSW index, and from then on
'lakevec refresh NAME' reads only files that appeared or changed. Results name
the file and the row in it. An Iceberg table is read through its SQLite
catalog: the current snapshot's data files are indexed, and a refresh reads
the files the new snapshot added and drops those it removed (appends,
copy-on-write deletes, overwrites, compaction). Not yet: s3:// warehouses,
merge-on-read delete files (refused with an error), other catalogs.`,
		Example: `  lakevec attach products --parquet ./lake/products --vector-column embedding
  lakevec attach items --iceberg ./catalog.db --table shop.items --vector-column embedding`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validCollection(args[0]); err != nil {
				return err
			}
			if (parquetSrc == "") == (icebergCat == "") || column == "" || (icebergCat != "") != (icebergTable != "") {
				return usagef("attach needs --vector-column and either --parquet, or --iceberg with --table")
			}
			m, err := hnsw.ParseMetric(metric)
			if err != nil {
				return usagef("--metric: %v", err)
			}
			x, rep, err := engine.Attach(cmd.Context(), fl.data, engine.ExternalOptions{Name: args[0], Parquet: parquetSrc,
				IcebergCatalog: icebergCat, IcebergTable: icebergTable, VectorColumn: column, Metric: m})
			if err != nil {
				return err
			}
			defer x.Close()
			return printRefresh(stdout, args[0], rep, fl.json)
		},
	}
	addKBFlags(cmd.Flags(), &fl, false)
	cmd.Flags().StringVar(&parquetSrc, "parquet", "", "dataset: a directory (every *.parquet below it) or a glob")
	cmd.Flags().StringVar(&icebergCat, "iceberg", "", "Iceberg SQL catalog on SQLite (a path or sqlite:///path)")
	cmd.Flags().StringVar(&icebergTable, "table", "", "Iceberg table, namespace.table")
	cmd.Flags().StringVar(&column, "vector-column", "", "column holding the vectors (dotted path for nested columns)")
	cmd.Flags().StringVar(&metric, "metric", "cosine", "l2, ip or cosine")
	return cmd
}

func printRefresh(w io.Writer, name string, rep engine.RefreshReport, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(rep)
	}
	fmt.Fprintf(w, "%s: %d files, %d read, %d removed; %d rows added, %d removed; %d null vectors skipped; %.2f s\n",
		name, rep.FilesTotal, rep.FilesRead, rep.FilesRemoved, rep.RowsAdded, rep.RowsRemoved, rep.NullVectors, rep.Seconds)
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
			rep, err := x.Refresh(cmd.Context())
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
				infos = append(infos, x.Info())
				x.Close()
			}
			if fl.json {
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
				fmt.Fprintf(stdout, "%s  %s %s  column %s  %v files  %v rows  dim %v  refreshed %v\n",
					in["name"], in["kind"], in["source"], in["vector_column"], in["files"], in["rows"], in["dim"], in["refreshed"])
			}
			return nil
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

// searchExternal answers `search --collection NAME --vector-file F` for an
// attached collection: one result list per query vector.
func searchExternal(cmd *cobra.Command, fl kbFlags, vectorFile string, k int, stdout io.Writer) error {
	x, err := engine.OpenExternal(cmd.Context(), fl.data, fl.collection)
	if err != nil {
		return err
	}
	defer x.Close()
	if vectorFile == "" {
		return usagef("collection %s is an attached dataset without an embedder: give --vector-file", fl.collection)
	}
	qs, err := readQueryVectors(vectorFile)
	if err != nil {
		return usageError{err}
	}
	var all [][]engine.VectorHit
	for i, q := range qs {
		hits, err := x.Search(q, k, max(64, 4*k))
		if err != nil {
			if errors.Is(err, hnsw.ErrDimension) || errors.Is(err, hnsw.ErrNonFinite) || errors.Is(err, hnsw.ErrZeroVector) {
				return usagef("query vector %d of %s: %v", i, vectorFile, err)
			}
			return err
		}
		all = append(all, hits)
	}
	if fl.json {
		return json.NewEncoder(stdout).Encode(all)
	}
	for i, hits := range all {
		fmt.Fprintf(stdout, "query %d\n", i)
		for j, h := range hits {
			fmt.Fprintf(stdout, "  %d. %s row %d  score %.4f\n", j+1, h.File, h.Row, h.Score)
		}
	}
	return nil
}
