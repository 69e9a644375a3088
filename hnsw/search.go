package hnsw

import (
	"github.com/lakevec/lakevec/hnsw/vec"
	"math"
	"sync/atomic"
)

// Result is one search hit: an id and its distance to the query (smaller
// is closer; for cosine 1-cos, for ip 1-dot, for l2 the squared distance).
type Result struct {
	ID       uint32
	Distance float32
}

// Plan says how a search is answered.
type Plan uint8

const (
	// PlanAuto lets the planner choose: the graph, or an exact scan when a
	// filter lets few ids through.
	PlanAuto Plan = iota
	// PlanGraph walks the graph (falling back to exact search only when the
	// walk finds fewer than k results).
	PlanGraph
	// PlanExact scans every live id.
	PlanExact
)

func (p Plan) String() string {
	switch p {
	case PlanGraph:
		return "graph"
	case PlanExact:
		return "exact"
	}
	return "auto"
}

// SearchStats tells how a search was answered.
type SearchStats struct {
	Plan Plan // PlanGraph or PlanExact
	// EstimatedAllowed is the planner's estimate of the ids the filter
	// lets through (the live count when there is no filter).
	EstimatedAllowed int
	// Distances is the number of distance computations: int8 code
	// distances on a graph walk (the exact re-rank of the ef results is
	// not counted), float32 distances on an exact scan.
	Distances int
	// Fallback is true when a graph walk found fewer than k results and
	// the search was redone exactly.
	Fallback bool
}

// Search returns the k nearest live vectors to q, closest first, searching
// the graph with beam width ef (raised to k if smaller). allow, if not nil,
// restricts results to ids for which it returns true; it is called from the
// searching goroutine and must be cheap. See SearchPlan for the planner.
func (x *Index) Search(q []float32, k, ef int, allow func(id uint32) bool) ([]Result, error) {
	r, _, err := x.SearchPlan(q, k, ef, allow, PlanAuto)
	return r, err
}

// SearchPlan is Search with the plan chosen by the caller (PlanAuto for the
// planner) and statistics about how the answer was found.
//
// The planner estimates how many ids allow lets through by evaluating it on
// a sample of live ids. When that count c is small (c² ≤ factor·ef·2M·live,
// see Options.ExactSearchFactor) it scans the allowed ids exactly, which is
// cheaper than a graph walk that must step over many rejected nodes and
// gives perfect recall. Otherwise it walks the graph, traversing rejected
// and deleted nodes but admitting only allowed live ones to the results.
func (x *Index) SearchPlan(q []float32, k, ef int, allow func(id uint32) bool, plan Plan) ([]Result, SearchStats, error) {
	var st SearchStats
	if k <= 0 {
		return nil, st, ErrBadK
	}
	ef = max(ef, k)
	s := x.getScratch()
	defer x.putScratch(s)
	qv, err := x.prepare(q, s.q)
	if err != nil {
		return nil, st, err
	}
	s.q = qv

	x.mu.RLock()
	defer x.mu.RUnlock()
	live := int(x.live.Load())
	if live == 0 {
		return nil, st, ErrEmpty
	}
	st.EstimatedAllowed = live
	if plan == PlanAuto {
		plan = PlanGraph
		if allow != nil {
			est, sampledLive := x.estimateAllowedLocked(allow, live)
			st.EstimatedAllowed = est
			switch {
			case sampledLive == 0:
				plan = PlanExact
			case x.exactFactor < 0:
			case float64(est)*float64(est) <= x.exactFactor*float64(ef)*float64(x.m0)*float64(live):
				plan = PlanExact
			}
		}
	}
	st.Plan = plan
	if plan == PlanExact {
		return x.exactLocked(s, qv, k, allow, &st), st, nil
	}

	qc := x.encodeQuery(s, qv)
	epID, epLevel, _ := decodeEntry(x.entry.Load())
	cur := item{x.qdist(qc, epID), epID}
	st.Distances++
	for l := epLevel; l > 0; l-- {
		cur = x.greedyLocked(qc, cur, l, noExclude, &st.Distances)
	}
	s.eps = append(s.eps[:0], cur)
	st.Distances += x.searchLayerLocked(s, qc, s.eps, ef, 0, admitQuery, allow, noExclude)
	s.sorted = s.res.sortedAsc(s.sorted)
	// The walk compared int8 codes; the ef results are ordered by the
	// exact distance before the k best are taken.
	x.rerankLocked(qv, s.sorted)
	if len(s.sorted) < k && len(s.sorted) < st.EstimatedAllowed {
		// The walk could not reach k admitted nodes (a very selective filter
		// or many tombstones around the query): answer exactly instead.
		st.Fallback = true
		st.Plan = PlanExact
		return x.exactLocked(s, qv, k, allow, &st), st, nil
	}
	n := min(k, len(s.sorted))
	out := make([]Result, n)
	for i := range out {
		out[i] = Result{ID: s.sorted[i].id, Distance: s.sorted[i].d}
	}
	return out, st, nil
}

// estimateAllowedLocked evaluates allow on up to planSample live ids spread
// over the id space and scales the allowed share to the live count. It also
// returns how many live ids were sampled.
func (x *Index) estimateAllowedLocked(allow func(uint32) bool, live int) (est, sampledLive int) {
	const planSample = 512
	n := int(x.slots.Load())
	step := max(n/planSample, 1)
	allowed := 0
	for i := step / 2; i < n; i += step {
		id := uint32(i)
		if atomic.LoadUint32(&x.state[id]) != stateLive {
			continue
		}
		sampledLive++
		if allow(id) {
			allowed++
		}
	}
	if sampledLive == 0 {
		return 0, 0
	}
	return int(math.Ceil(float64(allowed) / float64(sampledLive) * float64(live))), sampledLive
}

// exactLocked scans every live id that allow accepts.
func (x *Index) exactLocked(s *searchScratch, q []float32, k int, allow func(uint32) bool, st *SearchStats) []Result {
	s.res = s.res[:0]
	n := int(x.slots.Load())
	for i := 0; i < n; i++ {
		id := uint32(i)
		if atomic.LoadUint32(&x.state[id]) != stateLive || (allow != nil && !allow(id)) {
			continue
		}
		d := x.distance(q, x.vecLocked(id))
		st.Distances++
		if len(s.res) < k {
			s.res.push(item{d, id})
		} else if d < s.res.top().d {
			s.res.pop()
			s.res.push(item{d, id})
		}
	}
	s.sorted = s.res.sortedAsc(s.sorted)
	out := make([]Result, len(s.sorted))
	for i, it := range s.sorted {
		out[i] = Result{ID: it.id, Distance: it.d}
	}
	return out
}

const noExclude = math.MaxUint32

// greedyLocked walks layer l from cur to a local minimum of the distance to
// q (beam width 1), never stepping onto exclude.
func (x *Index) greedyLocked(q qcode, cur item, l int, exclude uint32, dists *int) item {
	max := uint32(x.maxLinks(l))
	for changed := true; changed; {
		changed = false
		ls := x.linksLocked(cur.id, l)
		n := min(atomic.LoadUint32(&ls[0]), max)
		for i := uint32(1); i <= n; i++ {
			nb := atomic.LoadUint32(&ls[i])
			if nb == exclude {
				continue
			}
			d := x.qdist(q, nb)
			*dists++
			if d < cur.d {
				cur = item{d, nb}
				changed = true
			}
		}
	}
	return cur
}

// admission modes of searchLayerLocked.
const (
	admitQuery = iota // live nodes only
	admitBuild        // live and still-inserting nodes
)

// admitted reports whether id may enter the results of a layer search.
func (x *Index) admitted(id uint32, mode int, allow func(uint32) bool, exclude uint32) bool {
	st := atomic.LoadUint32(&x.state[id])
	if st != stateLive && (mode != admitBuild || st != stateInserting) || id == exclude {
		return false
	}
	return allow == nil || allow(id)
}

// searchLayerLocked is the beam search of the paper (Algorithm 2) on layer
// l from eps with beam width ef. Every reachable node is traversed, but only
// admitted nodes (by mode, allow and exclude) enter the results, which are
// left in s.res (at most ef). The walk ends when the closest unexpanded
// candidate is farther than the worst of ef results. It returns the number
// of distance computations.
func (x *Index) searchLayerLocked(s *searchScratch, q qcode, eps []item, ef, l, mode int, allow func(uint32) bool, exclude uint32) int {
	s.vis.reset(x.cap)
	s.cand = s.cand[:0]
	s.res = s.res[:0]
	lower := float32(math.Inf(1))
	for _, ep := range eps {
		if s.vis.visit(ep.id) {
			continue
		}
		s.cand.push(ep)
		if x.admitted(ep.id, mode, allow, exclude) {
			s.res.push(ep)
			if len(s.res) > ef {
				s.res.pop()
			}
			lower = s.res.top().d
		}
	}
	maxL := uint32(x.maxLinks(l))
	dists := 0
	for len(s.cand) > 0 {
		c := s.cand.pop()
		if c.d > lower && len(s.res) >= ef {
			break
		}
		ls := x.linksLocked(c.id, l)
		n := min(atomic.LoadUint32(&ls[0]), maxL)
		// Two passes: collect the unvisited neighbours and prefetch their
		// codes, then compute the distances while the reads are in flight.
		s.nbs = s.nbs[:0]
		for i := uint32(1); i <= n; i++ {
			nb := atomic.LoadUint32(&ls[i])
			if s.vis.visit(nb) {
				continue
			}
			s.nbs = append(s.nbs, nb)
			vec.PrefetchInt8(x.codes.at(nb))
		}
		for _, nb := range s.nbs {
			d := x.qdist(q, nb)
			dists++
			if len(s.res) < ef || d < lower {
				s.cand.push(item{d, nb})
				if x.admitted(nb, mode, allow, exclude) {
					s.res.push(item{d, nb})
					if len(s.res) > ef {
						s.res.pop()
					}
					lower = s.res.top().d
				}
			}
		}
	}
	return dists
}
