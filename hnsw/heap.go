package hnsw

// item is a node id with its distance to the query.
type item struct {
	d  float32
	id uint32
}

// minHeap pops the closest item first. Hand-written rather than
// container/heap: no interface calls and no allocation on the hot path.
type minHeap []item

func (h *minHeap) push(it item) {
	*h = append(*h, it)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].d <= it.d {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = it
}

func (h *minHeap) pop() item {
	s := *h
	top := s[0]
	n := len(s) - 1
	last := s[n]
	s = s[:n]
	*h = s
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && s[c+1].d < s[c].d {
			c++
		}
		if last.d <= s[c].d {
			break
		}
		s[i] = s[c]
		i = c
	}
	s[i] = last
	return top
}

// maxHeap pops the farthest item first; it keeps the best ef results.
type maxHeap []item

func (h *maxHeap) push(it item) {
	*h = append(*h, it)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].d >= it.d {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = it
}

func (h *maxHeap) pop() item {
	s := *h
	top := s[0]
	n := len(s) - 1
	last := s[n]
	s = s[:n]
	*h = s
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && s[c+1].d > s[c].d {
			c++
		}
		if last.d >= s[c].d {
			break
		}
		s[i] = s[c]
		i = c
	}
	s[i] = last
	return top
}

func (h maxHeap) top() item { return h[0] }

// sortedAsc empties h into dst in ascending distance order.
func (h *maxHeap) sortedAsc(dst []item) []item {
	n := len(*h)
	if cap(dst) < n {
		dst = make([]item, n)
	}
	dst = dst[:n]
	for i := n - 1; i >= 0; i-- {
		dst[i] = h.pop()
	}
	return dst
}

// visited is a generation-stamped set sized to the index capacity: clearing
// it is a counter increment, not a memset.
type visited struct {
	marks []uint16
	gen   uint16
}

func (v *visited) reset(n int) {
	if len(v.marks) < n {
		v.marks = make([]uint16, n+n/4)
		v.gen = 0
	}
	v.gen++
	if v.gen == 0 { // wrapped: stale marks could collide
		clear(v.marks)
		v.gen = 1
	}
}

// visit marks id and reports whether it was already marked.
func (v *visited) visit(id uint32) bool {
	if v.marks[id] == v.gen {
		return true
	}
	v.marks[id] = v.gen
	return false
}

// searchScratch holds everything one search or insert needs, pooled so a
// query allocates nothing but its result slice.
type searchScratch struct {
	vis    visited
	cand   minHeap
	res    maxHeap
	eps    []item // entry points of the next layer
	sorted []item // res in ascending order
	sel    []item // neighbours chosen for the node being linked
	nbTmp  []item // a neighbour's candidate list while re-selecting it
	nbSel  []item
	ids    []uint32
	nbs    []uint32 // unvisited neighbours of the node being expanded
	q      []float32
	qc     []int8 // the query's int8 code
}

func (x *Index) getScratch() *searchScratch {
	if s, ok := x.scratch.Get().(*searchScratch); ok {
		return s
	}
	return &searchScratch{}
}

func (x *Index) putScratch(s *searchScratch) { x.scratch.Put(s) }
