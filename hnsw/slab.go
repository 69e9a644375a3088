package hnsw

// Segmented slabs.
//
// The per-node records that dominate memory — vectors, int8 codes and
// layer-0 link lists — live in slabs of fixed-width records split into
// segments of segNodes nodes. Growing a slab past one segment appends
// segments and never copies the ones it has, so the index can grow by a
// segment in a few milliseconds instead of copying (and zeroing a doubled
// copy of) every vector while searches wait on the exclusive lock. Below
// one segment the single segment doubles like a plain slice, so small
// indexes stay small. A loaded index's segments are views of the file
// buffer; only a partial last segment is copied when the index grows.

const (
	segShift = 14 // 16,384 nodes per segment (24 MiB of 384-d float32)
	segNodes = 1 << segShift
	segMask  = segNodes - 1
)

// slab is a per-node array of width elements per node.
type slab[T any] struct {
	width int
	segs  [][]T
}

// at returns the record of id; id must be below the slab's capacity.
func (s *slab[T]) at(id uint32) []T {
	seg := s.segs[id>>segShift]
	o := int(id&segMask) * s.width
	return seg[o : o+s.width : o+s.width]
}

// resize makes room for c nodes, keeping the records below the old
// capacity: c <= segNodes reallocates the single segment; otherwise c must
// be a multiple of segNodes, the last segment is made full if it was
// partial, and new segments are appended.
func (s *slab[T]) resize(c int) {
	if c <= segNodes {
		seg := make([]T, c*s.width)
		if len(s.segs) > 0 {
			copy(seg, s.segs[0])
		}
		s.segs = [][]T{seg}
		return
	}
	segs := make([][]T, len(s.segs), c/segNodes)
	copy(segs, s.segs)
	if n := len(segs); n > 0 && len(segs[n-1]) < segNodes*s.width {
		full := make([]T, segNodes*s.width)
		copy(full, segs[n-1])
		segs[n-1] = full
	}
	for len(segs)*segNodes < c {
		segs = append(segs, make([]T, segNodes*s.width))
	}
	s.segs = segs
}

// view makes the slab use flat (records of nodes 0..c-1, len c*width) as
// its memory, split into segments without copying.
func (s *slab[T]) view(flat []T, c int) {
	s.segs = s.segs[:0]
	for i := 0; i < c; i += segNodes {
		end := min(i+segNodes, c) * s.width
		s.segs = append(s.segs, flat[i*s.width:end:end])
	}
}

// prefix returns the records of nodes 0..n-1 as one contiguous run per
// segment, in order.
func (s *slab[T]) prefix(n int) [][]T {
	var runs [][]T
	for i := 0; i < n; i += segNodes {
		runs = append(runs, s.segs[i>>segShift][:(min(i+segNodes, n)-i)*s.width])
	}
	return runs
}

// elems returns the elements held, counted at capacity.
func (s *slab[T]) elems() int64 {
	var n int64
	for _, seg := range s.segs {
		n += int64(len(seg))
	}
	return n
}

// capFor returns the capacity grow allocates for want ids when the index
// holds cur: doubling (from 1,024) up to one segment, whole segments past it.
func capFor(cur, want int) int {
	if want <= segNodes {
		return min(segNodes, max(want, 2*cur, 1024))
	}
	return (want + segMask) / segNodes * segNodes
}
