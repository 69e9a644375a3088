// Package gen generates seeded synthetic data sets that look like sentence
// embeddings, with exact ground truth, for ANN benchmarks and recall tests.
//
// The model (version [Version]): topics and, inside each topic, clusters
// of varied size and spread live in a low-dimensional latent space; every
// cluster is also stretched along its own latent axes. A random Gaussian
// matrix projects latent points to Dim dimensions, isotropic noise is
// added and the result is L2-normalised. Queries come from the same
// distribution (independent draws, never copies of base vectors).
//
// Key types: [Spec] (parameters, see [DefaultSpec]), [Dataset] (base,
// queries, ground truth). [GroundTruth] is an exact brute-force top-k by
// inner product on all cores; [RelativeContrast] measures how hard a set
// is.
//
// Output is a pure function of the Spec: the random streams are split per
// block of rows, so the number of goroutines does not change a single bit.
//
// Difficulty of the defaults, measured at n=20,000, dim=384, 1,000
// queries, seeds 1–3: relative contrast at k=10 (mean cosine distance /
// cosine distance of the 10th neighbour) 1.52–1.60, and hnswlib (M=16,
// efConstruction=200) reaches recall@10 0.963–0.970 at ef=64, in the
// range of real MiniLM embeddings. At dim=768: 1.52 and 0.989. Larger n is
// harder, smaller n easier (n=2,000, dim=32: about 1.9 and 0.99+).
package gen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"

	"github.com/lakevec/lakevec/bench/texmex"
)

// Version names the generative model. Change it whenever a Spec stops
// producing the same bytes.
const Version = "lakevec-gen-v1"

// Stream ids of the PCG generators; never renumber.
const (
	streamModel uint64 = 1       // centres, spreads, projection
	streamBase  uint64 = 1 << 32 // + block index
	streamQuery uint64 = 2 << 32 // + block index
)

// rowsPerBlock is the unit of parallel generation and of random streams.
const rowsPerBlock = 1024

// maxValues bounds N×Dim (and Queries×Dim): 2^31 float32 values = 8 GiB.
const maxValues = 1 << 31

// Spec describes a data set. The zero value of an optional field means
// "use the default of DefaultSpec".
type Spec struct {
	N       int    // base vectors, required
	Dim     int    // output dimension, required, 1..texmex.MaxDim
	Queries int    // query vectors, required
	Seed    uint64 // seed of every random stream
	K       int    // ground-truth depth; default 100, capped at N

	Clusters  int     // mixture components; default max(1, N/200)
	Topics    int     // groups of clusters; default max(1, Clusters/8)
	LatentDim int     // latent dimension; default clamp(Dim/10, 24, 48), at most Dim
	Spread    float64 // mean within-cluster standard deviation per latent axis; default 0.55
	Noise     float64 // norm of the isotropic noise relative to the signal; default 1.2
}

// DefaultSpec returns the spec Generate uses.
func DefaultSpec(n, dim, queries int, seed uint64) Spec {
	return Spec{N: n, Dim: dim, Queries: queries, Seed: seed}.WithDefaults()
}

// WithDefaults fills the zero optional fields.
func (s Spec) WithDefaults() Spec {
	if s.K == 0 {
		s.K = 100
	}
	if s.N > 0 && s.K > s.N {
		s.K = s.N
	}
	if s.Clusters == 0 {
		s.Clusters = max(1, s.N/200)
	}
	if s.Topics == 0 {
		s.Topics = max(1, s.Clusters/8)
	}
	if s.LatentDim == 0 {
		s.LatentDim = min(max(s.Dim/10, 24), 48)
	}
	if s.Dim > 0 && s.LatentDim > s.Dim {
		s.LatentDim = s.Dim
	}
	if s.Spread == 0 {
		s.Spread = 0.55
	}
	if s.Noise == 0 {
		s.Noise = 1.2
	}
	return s
}

// Validate reports every problem of a spec (after defaults) at once.
func (s Spec) Validate() error {
	var errs []error
	if s.N < 1 || s.N > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("n %d out of range 1..%d", s.N, math.MaxInt32))
	}
	if s.Dim < 1 || s.Dim > texmex.MaxDim {
		errs = append(errs, fmt.Errorf("dim %d out of range 1..%d", s.Dim, texmex.MaxDim))
	}
	if s.Queries < 1 || s.Queries > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("queries %d out of range 1..%d", s.Queries, math.MaxInt32))
	}
	if s.N > 0 && s.Dim > 0 && int64(s.N)*int64(s.Dim) > maxValues {
		errs = append(errs, fmt.Errorf("n×dim = %d values is more than %d", int64(s.N)*int64(s.Dim), int64(maxValues)))
	}
	if s.Queries > 0 && s.Dim > 0 && int64(s.Queries)*int64(s.Dim) > maxValues {
		errs = append(errs, fmt.Errorf("queries×dim = %d values is more than %d", int64(s.Queries)*int64(s.Dim), int64(maxValues)))
	}
	if s.K < 1 || s.K > texmex.MaxDim {
		errs = append(errs, fmt.Errorf("k %d out of range 1..%d", s.K, texmex.MaxDim))
	}
	if s.Clusters < 1 || s.Clusters > max(1, s.N) {
		errs = append(errs, fmt.Errorf("clusters %d out of range 1..n", s.Clusters))
	}
	if s.Topics < 1 || s.Topics > s.Clusters {
		errs = append(errs, fmt.Errorf("topics %d out of range 1..clusters", s.Topics))
	}
	if s.LatentDim < 1 || (s.Dim > 0 && s.LatentDim > s.Dim) {
		errs = append(errs, fmt.Errorf("latent dim %d out of range 1..dim", s.LatentDim))
	}
	if !(s.Spread > 0 && s.Spread < 100) {
		errs = append(errs, fmt.Errorf("spread %v out of range (0, 100)", s.Spread))
	}
	if !(s.Noise >= 0 && s.Noise < 100) {
		errs = append(errs, fmt.Errorf("noise %v out of range [0, 100)", s.Noise))
	}
	return errors.Join(errs...)
}

// Dataset is a generated data set. All vectors are unit length, so inner
// product, cosine and L2 rank neighbours the same way.
type Dataset struct {
	Spec  Spec
	Base  texmex.Vectors
	Query texmex.Vectors
	GT    texmex.IDs // per query, Spec.K base ids by decreasing inner product
}

// Generate builds the data set of DefaultSpec(n, dim, queries, seed) with
// its exact top-100 ground truth.
func Generate(n, dim, queries int, seed uint64) (*Dataset, error) {
	return GenerateSpec(DefaultSpec(n, dim, queries, seed))
}

// GenerateSpec builds the data set described by s.
func GenerateSpec(s Spec) (*Dataset, error) {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	m := newModel(s)
	ds := &Dataset{
		Spec:  s,
		Base:  m.sample(s.N, streamBase),
		Query: m.sample(s.Queries, streamQuery),
	}
	ds.GT = GroundTruth(ds.Base, ds.Query, s.K)
	return ds, nil
}

// model holds the mixture: cluster centres and shapes in latent space and
// the projection to the output space.
type model struct {
	s       Spec
	cum     []float64   // cumulative cluster weights, last = 1
	centre  [][]float64 // per cluster, LatentDim
	scale   [][]float64 // per cluster, per latent axis standard deviation
	proj    []float64   // Dim × LatentDim, row-major
	noiseSD float64     // per output component
}

func newModel(s Spec) *model {
	rng := rand.New(rand.NewPCG(s.Seed, streamModel))
	L := s.LatentDim
	m := &model{s: s}

	// Topics spread widely; clusters sit near their topic, so neighbouring
	// clusters overlap a little as related sentences do.
	topics := make([][]float64, s.Topics)
	for t := range topics {
		topics[t] = gaussVec(rng, L, 1)
	}
	m.centre = make([][]float64, s.Clusters)
	m.scale = make([][]float64, s.Clusters)
	w := make([]float64, s.Clusters)
	var meanSignal float64
	for c := range m.centre {
		t := topics[rng.IntN(s.Topics)]
		m.centre[c] = gaussVec(rng, L, 0.7)
		for j := range L {
			m.centre[c][j] += t[j]
		}
		// Sizes: log-normal weights, a few big clusters and a long tail.
		w[c] = math.Exp(rng.NormFloat64())
		// Spread: varies ×/÷ 1.5 between clusters and ×/÷ 2 between axes.
		sd := s.Spread * math.Exp(0.4*rng.NormFloat64())
		m.scale[c] = make([]float64, L)
		for j := range L {
			m.scale[c][j] = sd * math.Exp(0.7*rng.NormFloat64())
		}
	}
	var total float64
	for _, x := range w {
		total += x
	}
	m.cum = make([]float64, s.Clusters)
	var acc float64
	for c, x := range w {
		acc += x / total
		m.cum[c] = acc
		// Expected squared norm of a latent point of this cluster.
		var e float64
		for j := range L {
			e += m.centre[c][j]*m.centre[c][j] + m.scale[c][j]*m.scale[c][j]
		}
		meanSignal += x / total * e
	}
	m.cum[s.Clusters-1] = 1

	// Columns of proj have unit expected norm, so |proj·z| ≈ |z|.
	m.proj = make([]float64, s.Dim*L)
	sd := 1 / math.Sqrt(float64(s.Dim))
	for i := range m.proj {
		m.proj[i] = rng.NormFloat64() * sd
	}
	m.noiseSD = s.Noise * math.Sqrt(meanSignal/float64(s.Dim))
	return m
}

func gaussVec(rng *rand.Rand, n int, sd float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64() * sd
	}
	return v
}

// sample draws n unit vectors; block b uses the stream stream+b.
func (m *model) sample(n int, stream uint64) texmex.Vectors {
	out := texmex.Vectors{Dim: m.s.Dim, Data: make([]float32, n*m.s.Dim)}
	blocks := (n + rowsPerBlock - 1) / rowsPerBlock
	parallel(blocks, func(b int) {
		rng := rand.New(rand.NewPCG(m.s.Seed, stream+uint64(b)))
		L, D := m.s.LatentDim, m.s.Dim
		z := make([]float64, L)
		y := make([]float64, D)
		for i := b * rowsPerBlock; i < min(n, (b+1)*rowsPerBlock); i++ {
			c := sort.SearchFloat64s(m.cum, rng.Float64())
			c = min(c, len(m.cum)-1)
			for j := range L {
				z[j] = m.centre[c][j] + m.scale[c][j]*rng.NormFloat64()
			}
			var norm float64
			for d := range D {
				row := m.proj[d*L : (d+1)*L]
				var acc float64
				for j, zj := range z {
					acc += row[j] * zj
				}
				acc += m.noiseSD * rng.NormFloat64()
				y[d] = acc
				norm += acc * acc
			}
			dst := out.Row(i)
			if norm == 0 { // practically impossible; keep the vector unit anyway
				y[0], norm = 1, 1
			}
			inv := 1 / math.Sqrt(norm)
			for d := range D {
				dst[d] = float32(y[d] * inv)
			}
		}
	})
	return out
}

// parallel runs fn(0..n-1) on runtime.GOMAXPROCS(0) goroutines.
func parallel(n int, fn func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// queryBlock is how many queries share one pass over the base vectors.
const queryBlock = 8

// GroundTruth returns, for every query, the ids of the k base vectors with
// the largest inner product, best first; ties go to the smaller id. It is
// exact brute force, run on all cores. k is capped at base.Len().
func GroundTruth(base, query texmex.Vectors, k int) texmex.IDs {
	k = min(k, base.Len())
	if k <= 0 || query.Len() == 0 {
		return texmex.IDs{K: max(k, 0)}
	}
	gt := texmex.IDs{K: k, Data: make([]int32, query.Len()*k)}
	nq := query.Len()
	parallel((nq+queryBlock-1)/queryBlock, func(b int) {
		lo, hi := b*queryBlock, min(nq, (b+1)*queryBlock)
		heaps := make([]topK, hi-lo)
		for i := range heaps {
			heaps[i] = topK{k: k, items: make([]scored, 0, k)}
		}
		for id := range base.Len() {
			row := base.Row(id)
			for qi := lo; qi < hi; qi++ {
				heaps[qi-lo].push(scored{Dot(query.Row(qi), row), int32(id)})
			}
		}
		for qi := lo; qi < hi; qi++ {
			heaps[qi-lo].sortedIDs(gt.Row(qi))
		}
	})
	return gt
}

type scored struct {
	s  float32
	id int32
}

// worse orders by score, then prefers the smaller id.
func (a scored) worse(b scored) bool {
	return a.s < b.s || (a.s == b.s && a.id > b.id)
}

// topK keeps the k best items in a min-heap whose root is the worst kept.
type topK struct {
	k     int
	items []scored
}

func (h *topK) push(x scored) {
	if len(h.items) < h.k {
		h.items = append(h.items, x)
		for i := len(h.items) - 1; i > 0; {
			p := (i - 1) / 2
			if !h.items[i].worse(h.items[p]) {
				break
			}
			h.items[i], h.items[p] = h.items[p], h.items[i]
			i = p
		}
		return
	}
	if !h.items[0].worse(x) {
		return
	}
	h.items[0] = x
	for i, n := 0, len(h.items); ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.items[l].worse(h.items[m]) {
			m = l
		}
		if r < n && h.items[r].worse(h.items[m]) {
			m = r
		}
		if m == i {
			return
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

func (h *topK) sortedIDs(dst []int32) {
	sort.Slice(h.items, func(i, j int) bool { return h.items[j].worse(h.items[i]) })
	for i, x := range h.items {
		dst[i] = x.id
	}
}

// Dot is the inner product used for ground truth: float32 with four
// accumulators.
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// RelativeContrast returns mean cosine distance / mean cosine distance to
// the k-th nearest neighbour (He, Kumar, Chang 2012, with the k-th instead
// of the 1st neighbour), averaged as a ratio of means over the queries.
// Distances are 1 - cos, so all vectors must be unit length; gt must be
// the inner-product ground truth of query, at least k deep. Higher is
// easier; real sentence-embedding sets sit around 1.3 to 1.6 at k = 10.
func RelativeContrast(base, query texmex.Vectors, gt texmex.IDs, k int) (float64, error) {
	if k < 1 || k > gt.K || gt.Len() < query.Len() || base.Dim != query.Dim || base.Len() == 0 {
		return 0, fmt.Errorf("relative contrast: need base, queries and ground truth at least %d deep", k)
	}
	mean := make([]float64, base.Dim)
	for i := range base.Len() {
		for j, x := range base.Row(i) {
			mean[j] += float64(x)
		}
	}
	for j := range mean {
		mean[j] /= float64(base.Len())
	}
	var sumMean, sumK float64
	for qi := range query.Len() {
		q := query.Row(qi)
		var qm float64
		for j, x := range q {
			qm += float64(x) * mean[j]
		}
		sumMean += 1 - qm
		id := gt.Row(qi)[k-1]
		if id < 0 || int(id) >= base.Len() {
			return 0, fmt.Errorf("relative contrast: ground truth row %d holds id %d, outside the %d base vectors", qi, id, base.Len())
		}
		sumK += 1 - float64(Dot(q, base.Row(int(id))))
	}
	if sumK <= 0 {
		return math.Inf(1), nil
	}
	return sumMean / sumK, nil
}
