package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/lakevec/lakevec/bench/gen"
	"github.com/lakevec/lakevec/bench/texmex"
)

// Files written by GenerateToDir.
const (
	GenBaseFile  = "base.fvecs"
	GenQueryFile = "query.fvecs"
	GenGTFile    = "groundtruth.ivecs"
	GenMetaFile  = "meta.json"
)

// GenMeta describes a generated data set; it is meta.json. It depends only
// on the spec, so the same spec writes the same file.
type GenMeta struct {
	Generator string  `json:"generator"` // gen.Version
	N         int     `json:"n"`
	Dim       int     `json:"dim"`
	Queries   int     `json:"queries"`
	Seed      uint64  `json:"seed"`
	K         int     `json:"k"` // ground-truth depth
	Clusters  int     `json:"clusters"`
	Topics    int     `json:"topics"`
	LatentDim int     `json:"latent_dim"`
	Spread    float64 `json:"spread"`
	Noise     float64 `json:"noise"`
	// Metric of the ground truth. Vectors are unit length, so ip, cosine
	// and l2 give the same neighbours.
	Metric string `json:"metric"`
	// RelativeContrast10 is mean cosine distance / cosine distance of the
	// 10th neighbour (ratio of means over all queries); see
	// gen.RelativeContrast. Absent when k < 10.
	RelativeContrast10 float64 `json:"relative_contrast_at_10,omitempty"`
	Base               string  `json:"base"`
	Query              string  `json:"query"`
	GroundTruth        string  `json:"groundtruth"`
}

// GenerateToDir generates the data set of spec (defaults applied) and
// writes it to dir, creating dir if needed. Each file is replaced
// atomically. Progress goes to progress.
func GenerateToDir(spec gen.Spec, dir string, progress io.Writer) (GenMeta, error) {
	if dir == "" {
		return GenMeta{}, inputErrorf("--out is required")
	}
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return GenMeta{}, inputErrorf("invalid data set: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return GenMeta{}, fmt.Errorf("create output directory: %w", err)
	}
	fmt.Fprintf(progress, "gen: %d base and %d query vectors of dim %d, seed %d\n", spec.N, spec.Queries, spec.Dim, spec.Seed)
	start := time.Now()
	ds, err := gen.GenerateSpec(spec)
	if err != nil {
		return GenMeta{}, &InputError{err}
	}
	fmt.Fprintf(progress, "gen: generated with exact top-%d ground truth in %.2f s\n", ds.Spec.K, time.Since(start).Seconds())
	s := ds.Spec
	meta := GenMeta{
		Generator: gen.Version, N: s.N, Dim: s.Dim, Queries: s.Queries, Seed: s.Seed, K: s.K,
		Clusters: s.Clusters, Topics: s.Topics, LatentDim: s.LatentDim, Spread: s.Spread, Noise: s.Noise,
		Metric: "cosine", Base: GenBaseFile, Query: GenQueryFile, GroundTruth: GenGTFile,
	}
	if s.K >= 10 {
		rc, err := gen.RelativeContrast(ds.Base, ds.Query, ds.GT, 10)
		if err != nil {
			return GenMeta{}, err
		}
		meta.RelativeContrast10 = float64(int(rc*1000+0.5)) / 1000
		fmt.Fprintf(progress, "gen: relative contrast at k=10: %.3f (sentence embeddings: about 1.3 to 1.6)\n", rc)
	}
	if err := texmex.WriteFvecs(filepath.Join(dir, GenBaseFile), ds.Base); err != nil {
		return GenMeta{}, err
	}
	if err := texmex.WriteFvecs(filepath.Join(dir, GenQueryFile), ds.Query); err != nil {
		return GenMeta{}, err
	}
	if err := texmex.WriteIvecs(filepath.Join(dir, GenGTFile), ds.GT); err != nil {
		return GenMeta{}, err
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return GenMeta{}, err
	}
	if err := texmex.WriteAtomic(filepath.Join(dir, GenMetaFile), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}); err != nil {
		return GenMeta{}, err
	}
	fmt.Fprintf(progress, "gen: wrote %s, %s, %s, %s in %s\n", GenBaseFile, GenQueryFile, GenGTFile, GenMetaFile, dir)
	return meta, nil
}
