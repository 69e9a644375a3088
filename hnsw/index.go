package hnsw

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/lakevec/lakevec/hnsw/vec"
)

// Node states. A node is reachable through links once its state is above
// stateEmpty; only stateLive nodes are returned by searches.
const (
	stateEmpty     uint32 = 0 // slot never used
	stateInserting uint32 = 1 // vector written, links being built
	stateLive      uint32 = 2
	stateDeleted   uint32 = 3 // tombstone: still routes searches, never returned
)

// lockStripes is the number of link-list mutexes. A node's list is guarded
// by stripe id%lockStripes; code holds at most one stripe at a time, so
// striping cannot deadlock.
const lockStripes = 4096

// Index is an HNSW graph over float32 vectors addressed by dense uint32 ids.
// All methods are safe for concurrent use.
type Index struct {
	// Immutable after New/Load.
	dim, m, m0, efC int
	cstride         int // bytes per int8 code: dim padded to vec.Int8Block
	metric          Metric
	seed            uint64
	levelMult       float64 // mL = 1/ln(M)
	exactFactor     float64
	repairFraction  float64

	// wmu orders writers against Save: Insert, Add, Delete and Repair
	// hold it shared, Save exclusively, so a save sees no write in
	// progress while searches (which never take it) go on.
	wmu sync.RWMutex

	// mu guards the slabs' identity: Insert and Search hold it shared;
	// growing the slabs and rewriting the vector of an existing id hold it
	// exclusively. Lock order: wmu, mu, then at most one stripe of linkLocks,
	// then allocMu. Helpers named ...Locked expect mu held (shared).
	mu     sync.RWMutex
	cap    int
	vecs   slab[float32] // dim per node (slab.go)
	codes  slab[int8]    // cstride per node: int8 codes of vecs (quant.go)
	cscale []float32     // per node: the code's scale
	csq    []float32     // per node, L2 only: squared norm of the vector
	links0 slab[uint32]  // m0+1 per node: a count then m0 ids
	upper  [][]uint32    // per node, layers 1..level: (m+1) words each
	levels []uint8
	state  []uint32 // atomic

	linkLocks [lockStripes]sync.Mutex

	entry atomic.Uint64 // (level+1)<<32 | id; 0 = empty graph
	live  atomic.Int64  // nodes in stateLive
	slots atomic.Uint32 // 1 + highest id ever inserted

	allocMu sync.Mutex
	next    uint32   // lowest id never handed out
	free    []uint32 // repaired slots Add may reuse (may be stale: re-checked)

	tombstones atomic.Int64 // deleted nodes not yet unlinked by repair
	repairMu   sync.Mutex   // one repair pass at a time

	scratch sync.Pool // *searchScratch
}

// New returns an empty index.
func New(o Options) (*Index, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.setDefaults()
	x := &Index{
		dim:            o.Dim,
		cstride:        vec.Int8Stride(o.Dim),
		m:              o.M,
		m0:             2 * o.M,
		efC:            o.EfConstruction,
		metric:         o.Metric,
		seed:           o.Seed,
		levelMult:      1 / math.Log(float64(o.M)),
		exactFactor:    o.ExactSearchFactor,
		repairFraction: o.RepairFraction,
	}
	x.allocSlabs(max(o.Capacity, 1))
	return x, nil
}

// Dim returns the dimension of the index.
func (x *Index) Dim() int { return x.dim }

// Metric returns the distance of the index.
func (x *Index) Metric() Metric { return x.metric }

// M returns the per-layer neighbour count (layer 0 keeps 2*M).
func (x *Index) M() int { return x.m }

// EfConstruction returns the beam width used while inserting.
func (x *Index) EfConstruction() int { return x.efC }

// Len returns the number of live (inserted, not deleted) vectors.
func (x *Index) Len() int { return int(x.live.Load()) }

// Slots returns one more than the highest id ever inserted.
func (x *Index) Slots() int { return int(x.slots.Load()) }

// Contains reports whether id is live.
func (x *Index) Contains(id uint32) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return int(id) < x.cap && atomic.LoadUint32(&x.state[id]) == stateLive
}

// Vector returns a copy of the stored vector of a live id (normalised under
// cosine).
func (x *Index) Vector(id uint32) ([]float32, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if int(id) >= x.cap || atomic.LoadUint32(&x.state[id]) != stateLive {
		return nil, fmt.Errorf("vector of id %d: %w", id, ErrNotFound)
	}
	return append([]float32(nil), x.vecLocked(id)...), nil
}

// MemoryBytes returns the bytes held by vectors, links and per-node state,
// counted at allocated capacity (see Options.Capacity).
func (x *Index) MemoryBytes() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	b := x.vecs.elems()*4 + x.links0.elems()*4 + int64(len(x.levels)) + int64(len(x.state))*4
	b += x.codes.elems() + int64(len(x.cscale))*4 + int64(len(x.csq))*4
	b += int64(len(x.upper)) * 24 // slice headers
	n := int(x.slots.Load())
	for i := 0; i < n && i < len(x.upper); i++ {
		b += int64(cap(x.upper[i])) * 4
	}
	return b
}

// allocSlabs sizes an empty index for c ids.
func (x *Index) allocSlabs(c int) {
	x.vecs.width, x.codes.width, x.links0.width = x.dim, x.cstride, x.m0+1
	x.resizeLocked(c)
}

// resizeLocked grows every per-node array to c ids: the segmented slabs
// append segments, the small per-node arrays are copied.
func (x *Index) resizeLocked(c int) {
	x.cap = c
	x.vecs.resize(c)
	x.codes.resize(c)
	x.links0.resize(c)
	x.state = extend(x.state, c)
	x.levels = extend(x.levels, c)
	x.upper = extend(x.upper, c)
	x.cscale = extend(x.cscale, c)
	x.csq = extend(x.csq, c)
}

// extend returns s with zero values appended up to length c.
func extend[T any](s []T, c int) []T { return append(s, make([]T, c-len(s))...) }

// grow makes room for ids below want. It takes mu exclusively, so the
// caller must not hold it.
func (x *Index) grow(want int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if want <= x.cap {
		return
	}
	x.resizeLocked(min(capFor(x.cap, want), MaxID+1))
}

// vecLocked returns the stored vector of id. mu must be held.
func (x *Index) vecLocked(id uint32) []float32 { return x.vecs.at(id) }

// linksLocked returns the link list of id on layer l: word 0 is the count,
// the rest neighbour ids. Elements must be read and written atomically.
func (x *Index) linksLocked(id uint32, l int) []uint32 {
	if l == 0 {
		return x.links0.at(id)
	}
	o := (l - 1) * (x.m + 1)
	return x.upper[id][o : o+x.m+1 : o+x.m+1]
}

func (x *Index) maxLinks(l int) int {
	if l == 0 {
		return x.m0
	}
	return x.m
}

// distance between two stored or prepared vectors.
func (x *Index) distance(a, b []float32) float32 {
	if x.metric == L2 {
		return vec.L2Squared(a, b)
	}
	return 1 - vec.Dot(a, b)
}

func (x *Index) lockLinks(id uint32)   { x.linkLocks[id%lockStripes].Lock() }
func (x *Index) unlockLinks(id uint32) { x.linkLocks[id%lockStripes].Unlock() }

func encodeEntry(id uint32, level int) uint64 { return uint64(level+1)<<32 | uint64(id) }

func decodeEntry(e uint64) (id uint32, level int, ok bool) {
	if e == 0 {
		return 0, 0, false
	}
	return uint32(e), int(e>>32) - 1, true
}

// levelFor draws the level of id: floor(-ln(U) * mL) with U uniform in
// (0,1] derived from (seed, id), so a rebuild reproduces the graph.
func (x *Index) levelFor(id uint32) int {
	h := splitmix64(x.seed ^ (uint64(id) * 0x9E3779B97F4A7C15))
	u := (float64(h>>11) + 1) / (1 << 53) // (0,1]
	l := int(-math.Log(u) * x.levelMult)
	return min(l, maxLevel)
}

func splitmix64(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// prepare validates v and returns the form stored and compared: a copy,
// normalised under cosine.
func (x *Index) prepare(v []float32, dst []float32) ([]float32, error) {
	if len(v) != x.dim {
		return nil, fmt.Errorf("%w: got %d, want %d", ErrDimension, len(v), x.dim)
	}
	if i := vec.FirstNonFinite(v); i >= 0 {
		return nil, fmt.Errorf("%w: component %d is %v", ErrNonFinite, i, v[i])
	}
	dst = append(dst[:0], v...)
	if x.metric == Cosine && !vec.Normalize(dst) {
		return nil, ErrZeroVector
	}
	return dst, nil
}
