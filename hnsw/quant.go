package hnsw

import "github.com/lakevec/lakevec/hnsw/vec"

// Int8 codes.
//
// Every stored vector also has an int8 code (vec.QuantizeInt8: one scale
// per vector, codes padded to vec.Int8Stride(dim) bytes), and every graph
// walk — the greedy descent, the beam search of queries and of inserts, and
// the neighbour-selection heuristic — compares codes, not float32 vectors:
// a code is a quarter of the bytes, so a walk over an index larger than the
// CPU caches moves a quarter of the memory, and the integer kernel is
// faster than the float one even in cache. A query's ef results are then
// re-ranked with the exact float32 distance, so the distances returned are
// exact and the approximation only decides which nodes the walk visits.
// The exact scan (PlanExact) reads float32 only.
//
// Codes are derived from the vectors (on insert, on update and when an
// index is loaded), so the file format does not store them.

// qcode is a vector's int8 code with its scale and, under L2, the squared
// norm of the float32 vector.
type qcode struct {
	c     []int8
	scale float32
	sq    float32
}

// codeLocked returns the stored code of id. mu must be held.
func (x *Index) codeLocked(id uint32) qcode {
	return qcode{c: x.codes.at(id), scale: x.cscale[id], sq: x.csq[id]}
}

// setCodeLocked encodes the stored vector v of id. The caller either owns
// id (not yet published) or holds mu exclusively.
func (x *Index) setCodeLocked(id uint32, v []float32) {
	x.cscale[id] = vec.QuantizeInt8(x.codes.at(id), v)
	if x.metric == L2 {
		x.csq[id] = vec.Dot(v, v)
	}
}

// encodeQuery returns the code of the prepared query q in s's buffer.
func (x *Index) encodeQuery(s *searchScratch, q []float32) qcode {
	if cap(s.qc) < x.cstride {
		s.qc = make([]int8, x.cstride)
	}
	s.qc = s.qc[:x.cstride]
	qc := qcode{c: s.qc, scale: vec.QuantizeInt8(s.qc, q)}
	if x.metric == L2 {
		qc.sq = vec.Dot(q, q)
	}
	return qc
}

// qdist is the approximate distance between a code and the code of id,
// on the scale of distance: 1 - dot for cosine and inner product, the
// squared distance ‖a‖² + ‖b‖² - 2·dot for L2.
func (x *Index) qdist(a qcode, id uint32) float32 {
	dot := float32(vec.DotInt8(a.c, x.codes.at(id))) * a.scale * x.cscale[id]
	if x.metric == L2 {
		return a.sq + x.csq[id] - 2*dot
	}
	return 1 - dot
}

// rerankLocked replaces the approximate distances of items with exact
// ones (to the prepared float32 query q) and sorts them ascending, ties by
// id.
func (x *Index) rerankLocked(q []float32, items []item) {
	for i := range items {
		items[i].d = x.distance(q, x.vecLocked(items[i].id))
	}
	sortItems(items)
}
