package hnsw

import (
	"errors"
	"fmt"
	"strings"
)

// Metric is the distance an index orders results by. Smaller is closer for
// every metric.
type Metric uint8

const (
	// L2 is the squared Euclidean distance.
	L2 Metric = 1
	// InnerProduct is 1 - <a,b>; vectors are stored as given.
	InnerProduct Metric = 2
	// Cosine is 1 - cos(a,b); vectors are normalised on insert and query,
	// so zero vectors are rejected.
	Cosine Metric = 3
)

// String returns the name ParseMetric accepts.
func (m Metric) String() string {
	switch m {
	case L2:
		return "l2"
	case InnerProduct:
		return "ip"
	case Cosine:
		return "cosine"
	}
	return fmt.Sprintf("metric(%d)", uint8(m))
}

func (m Metric) valid() bool { return m == L2 || m == InnerProduct || m == Cosine }

// ParseMetric parses "l2", "ip" (or "dot", "inner_product") and "cosine".
func ParseMetric(s string) (Metric, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "l2", "euclidean":
		return L2, nil
	case "ip", "dot", "inner_product", "innerproduct":
		return InnerProduct, nil
	case "cosine", "cos":
		return Cosine, nil
	}
	return 0, fmt.Errorf("unknown metric %q (want l2, ip or cosine)", s)
}

// Options configure an index. The zero value of a field means its default.
type Options struct {
	// Dim is the dimension of every vector. Required; 1..65536.
	Dim int
	// Metric is the distance. Required.
	Metric Metric
	// M is the number of neighbours a node keeps on layers above 0; layer 0
	// keeps 2*M. Default 16; 2..128.
	M int
	// EfConstruction is the beam width used while inserting. Default 200;
	// at least M.
	EfConstruction int
	// Seed makes level assignment reproducible: a node's level is a function
	// of (Seed, id), so the same inserts in the same order build the same
	// graph. Default 0 (a fixed seed, not a random one).
	Seed uint64
	// Capacity pre-allocates room for this many ids. The index grows by
	// doubling when an id beyond it is inserted. Default 1024.
	Capacity int
	// ExactSearchFactor tunes the filtered-search planner: a filtered query
	// is answered by exact search when the estimated number of allowed ids
	// c satisfies c*c <= ExactSearchFactor * ef * 2M * live, the point where
	// scanning c vectors costs about what a filtered graph walk visits.
	// Default 1; 0 means the default, negative means never plan exact
	// search (graph only, still falling back when the graph finds too few).
	ExactSearchFactor float64
	// RepairFraction sets when Delete runs a repair pass (see Repair): once
	// the tombstones not yet unlinked exceed this fraction of the live
	// vectors (and at least 64 of them). Default 0.05; negative means never
	// automatically, the caller calls Repair.
	RepairFraction float64
}

// DefaultOptions returns the defaults for vectors of dimension dim under
// metric m: M=16, EfConstruction=200.
func DefaultOptions(dim int, m Metric) Options {
	return Options{Dim: dim, Metric: m, M: 16, EfConstruction: 200, Capacity: 1024, ExactSearchFactor: 1, RepairFraction: 0.05}
}

const (
	maxDim   = 1 << 16
	maxM     = 128
	maxLevel = 15 // P(level > 15) = M^-16: never reached in practice
	// MaxID is the largest id an index accepts.
	MaxID = 1<<31 - 1
)

func (o *Options) setDefaults() {
	if o.M == 0 {
		o.M = 16
	}
	if o.EfConstruction == 0 {
		o.EfConstruction = 200
	}
	if o.Capacity == 0 {
		o.Capacity = 1024
	}
	if o.ExactSearchFactor == 0 {
		o.ExactSearchFactor = 1
	}
	if o.RepairFraction == 0 {
		o.RepairFraction = 0.05
	}
}

// Validate reports every problem with o at once. Zero fields are read as
// their defaults.
func (o Options) Validate() error {
	o.setDefaults()
	var errs []error
	if o.Dim <= 0 || o.Dim > maxDim {
		errs = append(errs, fmt.Errorf("dimension %d out of range 1..%d", o.Dim, maxDim))
	}
	if !o.Metric.valid() {
		errs = append(errs, fmt.Errorf("metric %v: want l2, ip or cosine", o.Metric))
	}
	if o.M < 2 || o.M > maxM {
		errs = append(errs, fmt.Errorf("M %d out of range 2..%d", o.M, maxM))
	}
	if o.EfConstruction < o.M {
		errs = append(errs, fmt.Errorf("efConstruction %d below M %d", o.EfConstruction, o.M))
	}
	if o.Capacity < 0 || o.Capacity > MaxID {
		errs = append(errs, fmt.Errorf("capacity %d out of range 0..%d", o.Capacity, MaxID))
	}
	if len(errs) > 0 {
		return fmt.Errorf("hnsw options: %w", errors.Join(errs...))
	}
	return nil
}
