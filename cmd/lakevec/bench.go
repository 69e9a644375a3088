package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/lakevec/lakevec/bench"
	"github.com/lakevec/lakevec/bench/gen"
)

// newBenchCmd is `lakevec bench`: recall and speed against peers, and
// synthetic data sets. The logic lives in package bench.
func newBenchCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark the HNSW index against peers; generate test data",
		// Runnable so that cobra rejects unknown subcommands (exit 2)
		// instead of printing help and exiting 0.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	// --cpuprofile wraps every bench subcommand, so a figure in the notes
	// can be profiled with the same command line that measured it.
	var cpuprofile string
	var profFile *os.File
	cmd.PersistentFlags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	cmd.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if cpuprofile == "" {
			return nil
		}
		f, err := os.Create(cpuprofile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		profFile = f
		return nil
	}
	cmd.PersistentPostRunE = func(cmd *cobra.Command, _ []string) error {
		if profFile == nil {
			return nil
		}
		pprof.StopCPUProfile()
		return profFile.Close()
	}
	cmd.AddCommand(newBenchANNCmd(stdout, stderr), newBenchGenCmd(stdout, stderr), newBenchAsOfCmd(stdout, stderr), newBenchBEIRCmd(stdout, stderr), newBenchRefreshCmd(stdout, stderr), newBenchServeCmd(stdout, stderr))
	return cmd
}

func newBenchANNCmd(stdout, stderr io.Writer) *cobra.Command {
	c := bench.DefaultANNConfig()
	efs := "10,20,40,80,160"
	cmd := &cobra.Command{
		Use:   "ann [--base FILE --query FILE --gt FILE] [flags]",
		Short: "Measure recall@10, latency and build time on TEXMEX files",
		Long: `ann builds lakevec's HNSW index (and each --peer) on base[skip:], keeping the
original row numbers as ids, then runs every query single-threaded at each
--ef. It prints one JSON object per (system, ef) on stdout with the keys
system, ef, recall_at_10, qps, p50_ms, p99_ms, build_s, threads, n, dim,
bytes_per_vector, and a table on stderr. Without --base, --query and --gt it
generates the default data set of 'lakevec bench gen' (20k x 384, seed 1) in
a temporary directory and measures cosine on it.

Peers: coder (github.com/coder/hnsw, built on one thread) and hnswlib
(Debian's python3-hnswlib under /usr/bin/python3; install it with
apt-get install -y python3-hnswlib python3-numpy).`,
		Example: `  lakevec bench ann                       # generated 20k x 384 set, cosine
  lakevec bench gen --out /tmp/gen20k
  lakevec bench ann --base /tmp/gen20k/base.fvecs --query /tmp/gen20k/query.fvecs \
    --gt /tmp/gen20k/groundtruth.ivecs --metric cosine --peer hnswlib,coder
  lakevec bench ann --base bigann10k_base.bvecs --query bigann10k_query.bvecs \
    --gt bigann10k_groundtruth_excl_queries.ivecs --skip 100 --metric l2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if c.Efs, err = bench.ParseIntList("--ef", efs); err != nil {
				return usageError{err}
			}
			if c.Base == "" && c.Query == "" && c.GT == "" {
				// No files: the embedded default, a generated 20k x 384
				// clustered set, so the benchmark runs on a bare machine.
				dir, err := os.MkdirTemp("", "lakevec-bench-*")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				spec := gen.Spec{N: 20000, Dim: 384, Queries: 1000, Seed: 1, K: 100}
				fmt.Fprintf(stderr, "no --base/--query/--gt: generating the default data set (lakevec bench gen --n %d --dim %d --queries %d --seed %d)\n",
					spec.N, spec.Dim, spec.Queries, spec.Seed)
				if _, err := bench.GenerateToDir(spec, dir, stderr); err != nil {
					return benchError(err)
				}
				c.Base, c.Query, c.GT = filepath.Join(dir, "base.fvecs"), filepath.Join(dir, "query.fvecs"), filepath.Join(dir, "groundtruth.ivecs")
				if !cmd.Flags().Changed("metric") {
					c.Metric = "cosine"
				}
			}
			c.Bar = benchBar(cmd, stderr)
			_, err = bench.RunANN(cmd.Context(), c, stdout, stderr)
			return benchError(err)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Base, "base", "", "base vectors, .fvecs or .bvecs (all three files, or none for the generated default)")
	f.StringVar(&c.Query, "query", "", "query vectors, .fvecs or .bvecs")
	f.StringVar(&c.GT, "gt", "", "ground truth .ivecs: per query, base ids nearest first, at least 10")
	f.StringVar(&c.Metric, "metric", c.Metric, "distance: l2, ip or cosine")
	f.IntVar(&c.M, "m", c.M, "HNSW M: links per node (2·M on layer 0)")
	f.IntVar(&c.EfConstruction, "ef-construction", c.EfConstruction, "beam width while building")
	f.StringVar(&efs, "ef", efs, "comma-separated search beam widths, one result line each")
	f.IntVar(&c.K, "k", c.K, "results asked per query (at least 10; recall is measured on the first 10)")
	f.IntVar(&c.Threads, "threads", c.Threads, "build threads (coder-hnsw always builds on 1)")
	f.IntVar(&c.Skip, "skip", c.Skip, "index base[skip:] only, keeping the original ids")
	f.StringSliceVar(&c.Peers, "peer", nil, "also run a peer: coder, hnswlib (repeatable or comma-separated)")
	f.DurationVar(&c.MinTime, "min-time", c.MinTime, "per ef, repeat passes over the queries for at least this long")
	f.IntVar(&c.MinPasses, "min-passes", c.MinPasses, "per ef, at least this many passes over the queries")
	f.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the level assignment of every system")
	f.StringVar(&c.Python, "python", c.Python, "python interpreter with hnswlib and numpy, for --peer hnswlib")
	return cmd
}

func newBenchGenCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		spec = gen.Spec{N: 20000, Dim: 384, Queries: 1000, Seed: 1, K: 100}
		out  string
	)
	cmd := &cobra.Command{
		Use:   "gen --out DIR [flags]",
		Short: "Write a seeded synthetic data set that looks like sentence embeddings",
		Long: `gen writes DIR/base.fvecs, DIR/query.fvecs, DIR/groundtruth.ivecs (exact top-k
by inner product; vectors are unit length, so use --metric cosine, ip or l2)
and DIR/meta.json, which it also prints on stdout. The data are clusters in a
low-dimensional latent space projected to --dim dimensions plus noise, tuned
so that HNSW finds them about as hard as real MiniLM embeddings. The same
flags always write the same bytes.`,
		Example: `  lakevec bench gen --n 20000 --dim 384 --queries 1000 --seed 1 --out /tmp/gen20k`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			meta, err := bench.GenerateToDir(spec, out, stderr)
			if err != nil {
				return benchError(err)
			}
			b, err := json.Marshal(meta)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "%s\n", b)
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&spec.N, "n", spec.N, "base vectors")
	f.IntVar(&spec.Dim, "dim", spec.Dim, "dimension")
	f.IntVar(&spec.Queries, "queries", spec.Queries, "query vectors (drawn apart from the base vectors)")
	f.Uint64Var(&spec.Seed, "seed", spec.Seed, "random seed")
	f.IntVar(&spec.K, "k", spec.K, "ground-truth neighbours per query")
	f.StringVar(&out, "out", "", "output directory, created if missing (required)")
	return cmd
}

// benchError turns bench's input errors into usage errors (exit code 2).
func benchError(err error) error {
	var ie *bench.InputError
	if errors.As(err, &ie) {
		return usageError{err}
	}
	return err
}

func newBenchAsOfCmd(stdout, stderr io.Writer) *cobra.Command {
	var c bench.AsOfConfig
	efs := "32,64,128"
	cmd := &cobra.Command{
		Use:   "asof [--current N] [--historical N]",
		Short: "Measure as-of (time-travel) search against exact as-of search",
		Long: `asof builds one history graph over --current + --historical chunk versions
with validity intervals on a 1000-day timeline, and measures as-of search
(validity filter, planner) at random times against exact search over the
versions valid then; it also compares current search on a hot graph of
current versions with the history graph filtered to "valid now". One JSON
line per (mode, ef) on stdout, a table on stderr.`,
		Example: `  lakevec bench asof --current 100000 --historical 100000`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if c.Efs, err = bench.ParseIntList("--ef", efs); err != nil {
				return usageError{err}
			}
			_, err = bench.RunAsOf(cmd.Context(), c, stdout, stderr)
			return benchError(err)
		},
	}
	f := cmd.Flags()
	f.IntVar(&c.Current, "current", 100000, "chunk versions valid now")
	f.IntVar(&c.Historical, "historical", 100000, "chunk versions closed in the past")
	f.IntVar(&c.Dim, "dim", 384, "dimension")
	f.IntVar(&c.Queries, "queries", 200, "queries, each at a random time")
	f.IntVar(&c.K, "k", 10, "results per query")
	f.StringVar(&efs, "ef", efs, "comma-separated beam widths")
	f.Uint64Var(&c.Seed, "seed", 1, "seed")
	f.IntVar(&c.Threads, "threads", 0, "build threads (default all cores)")
	return cmd
}

func newBenchBEIRCmd(stdout, stderr io.Writer) *cobra.Command {
	var c bench.BEIRConfig
	var fl embedFlags
	cmd := &cobra.Command{
		Use:   "beir --dataset DIR [--embedder ...]",
		Short: "Retrieval quality (nDCG@10, Recall@100) on a BEIR collection, exact and HNSW",
		Example: `  lakevec bench beir --dataset ../shared/data/ir/scifact
  lakevec bench beir --dataset scifact --embedder bert --model-dir ~/models/all-MiniLM-L6-v2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.Dataset == "" {
				return usagef("--dataset is required")
			}
			e, err := openEmbedder(cmd.Context(), cmd, fl, stderr)
			if err != nil {
				return err
			}
			c.Embedder = e
			_, err = bench.RunBEIR(cmd.Context(), c, stdout, stderr)
			return benchError(err)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Dataset, "dataset", "", "BEIR directory (corpus.jsonl, queries.jsonl, qrels/)")
	f.StringVar(&c.Split, "split", "test", "qrels split")
	f.IntVar(&c.Ef, "ef", 400, "HNSW beam width (100 results are asked)")
	addEmbedderFlags(f, &fl)
	return cmd
}

func newBenchRefreshCmd(stdout, stderr io.Writer) *cobra.Command {
	var c bench.RefreshConfig
	cmd := &cobra.Command{
		Use:     "refresh [--n 100000] [--dim 384] [--files 20] [--append-percent 1]",
		Short:   "Refresh of an attached Parquet dataset against a full build and a rebuild",
		Example: `  lakevec bench refresh --n 100000 --dim 384`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := bench.RunRefresh(cmd.Context(), c, stdout, stderr)
			return benchError(err)
		},
	}
	f := cmd.Flags()
	f.IntVar(&c.N, "n", 100000, "rows before the append")
	f.IntVar(&c.Dim, "dim", 384, "dimension")
	f.IntVar(&c.Files, "files", 20, "files the rows are written in")
	f.IntVar(&c.Queries, "queries", 200, "queries for recall")
	f.Float64Var(&c.AppendPercent, "append-percent", 1, "size of the appended file, percent of n")
	f.Uint64Var(&c.Seed, "seed", 1, "seed")
	return cmd
}
