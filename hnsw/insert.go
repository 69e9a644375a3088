package hnsw

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
)

// Add inserts v under a free id (a slot freed by Repair first, otherwise
// the next unused one) and returns the id.
func (x *Index) Add(v []float32) (uint32, error) {
	x.wmu.RLock()
	defer x.wmu.RUnlock()
	s := x.getScratch()
	defer x.putScratch(s)
	qv, err := x.prepare(v, s.q)
	if err != nil {
		return 0, err
	}
	s.q = qv
	for {
		x.allocMu.Lock()
		var id uint32
		if n := len(x.free); n > 0 {
			id = x.free[n-1]
			x.free = x.free[:n-1]
		} else {
			if x.next > MaxID {
				x.allocMu.Unlock()
				return 0, fmt.Errorf("%w: index full at %d ids", ErrBadID, MaxID+1)
			}
			id = x.next
			x.next++
		}
		x.allocMu.Unlock()
		ok, err := x.insertFresh(id, s)
		if err != nil {
			return 0, err
		}
		if ok {
			return id, nil
		}
		// The slot was taken by an explicit Insert since it was freed.
	}
}

// Insert stores v under id. An unused id is linked into the graph; an id
// that is live, or deleted but not yet repaired, gets the new vector and
// the links around it are repaired in place. Ids should be dense: the index allocates
// room for every id below the highest one. Insert is safe from many
// goroutines at once, and searches run while it does.
func (x *Index) Insert(id uint32, v []float32) error {
	if id > MaxID {
		return fmt.Errorf("%w: %d above %d", ErrBadID, id, MaxID)
	}
	x.wmu.RLock()
	defer x.wmu.RUnlock()
	s := x.getScratch()
	defer x.putScratch(s)
	qv, err := x.prepare(v, s.q)
	if err != nil {
		return err
	}
	s.q = qv
	if ok, err := x.insertFresh(id, s); ok || err != nil {
		return err
	}
	return x.update(id, s)
}

// insertFresh links the vector in s.q under id if id is unused and reports
// whether it did.
func (x *Index) insertFresh(id uint32, s *searchScratch) (bool, error) {
	qv := s.q
	for {
		x.mu.RLock()
		if int(id) < x.cap {
			break
		}
		c := x.cap
		x.mu.RUnlock()
		if limit := max(c, 2*x.Slots()+65536); int(id) >= limit {
			return false, fmt.Errorf("%w: id %d leaves a gap past %d slots; ids must be dense", ErrBadID, id, x.Slots())
		}
		x.grow(int(id) + 1)
	}
	defer x.mu.RUnlock()
	if !atomic.CompareAndSwapUint32(&x.state[id], stateEmpty, stateInserting) {
		return false, nil
	}

	copy(x.vecLocked(id), qv)
	x.setCodeLocked(id, qv)
	level := x.levelFor(id)
	x.levels[id] = uint8(level)
	if level > 0 {
		x.upper[id] = make([]uint32, level*(x.m+1))
	}
	x.allocMu.Lock()
	if id >= x.next {
		x.next = id + 1
	}
	x.allocMu.Unlock()
	for {
		n := x.slots.Load()
		if id < n || x.slots.CompareAndSwap(n, id+1) {
			break
		}
	}

	x.connectLocked(s, id, level)
	atomic.StoreUint32(&x.state[id], stateLive)
	x.live.Add(1)
	return true, nil
}

// connectLocked links id (whose vector, code and level are already stored)
// into every layer up to level: Algorithm 1 of the paper. Reverse links
// are added to each chosen neighbour, pruned by the heuristic when full.
// id is excluded from its own candidate lists, which makes this serve both
// fresh inserts and the relinking of an updated id.
func (x *Index) connectLocked(s *searchScratch, id uint32, level int) {
	q := x.codeLocked(id)
	var epID uint32
	var epLevel int
	for {
		e := x.entry.Load()
		var ok bool
		if epID, epLevel, ok = decodeEntry(e); ok {
			break
		}
		if x.entry.CompareAndSwap(0, encodeEntry(id, level)) {
			return
		}
	}
	var dists int
	cur := item{x.qdist(q, epID), epID}
	if epID == id {
		cur.d = float32(math.Inf(1))
	}
	for l := epLevel; l > level; l-- {
		cur = x.greedyLocked(q, cur, l, id, &dists)
	}
	s.eps = append(s.eps[:0], cur)
	for l := min(level, epLevel); l >= 0; l-- {
		x.searchLayerLocked(s, q, s.eps, x.efC, l, admitBuild, nil, id)
		s.sorted = s.res.sortedAsc(s.sorted)
		s.sel = x.selectNeighboursLocked(s.sorted, x.m, s.sel)

		ls := x.linksLocked(id, l)
		x.lockLinks(id)
		for i, it := range s.sel {
			atomic.StoreUint32(&ls[1+i], it.id)
		}
		atomic.StoreUint32(&ls[0], uint32(len(s.sel)))
		x.unlockLinks(id)

		for _, it := range s.sel {
			x.addLinkLocked(s, it.id, l, id)
		}
		if len(s.sorted) > 0 {
			s.eps = append(s.eps[:0], s.sorted...)
		}
	}
	if level > epLevel {
		for {
			e := x.entry.Load()
			if _, l, _ := decodeEntry(e); level <= l || x.entry.CompareAndSwap(e, encodeEntry(id, level)) {
				break
			}
		}
	}
}

// addLinkLocked adds a link nb -> id on layer l. When nb's list is full,
// the heuristic re-selects it from the old links plus id.
func (x *Index) addLinkLocked(s *searchScratch, nb uint32, l int, id uint32) {
	maxN := x.maxLinks(l)
	ls := x.linksLocked(nb, l)
	x.lockLinks(nb)
	defer x.unlockLinks(nb)
	n := int(atomic.LoadUint32(&ls[0]))
	for i := 1; i <= n; i++ {
		if atomic.LoadUint32(&ls[i]) == id {
			return
		}
	}
	if n < maxN {
		atomic.StoreUint32(&ls[1+n], id)
		atomic.StoreUint32(&ls[0], uint32(n+1))
		return
	}
	base := x.codeLocked(nb)
	s.nbTmp = s.nbTmp[:0]
	for i := 1; i <= n; i++ {
		e := atomic.LoadUint32(&ls[i])
		s.nbTmp = append(s.nbTmp, item{x.qdist(base, e), e})
	}
	s.nbTmp = append(s.nbTmp, item{x.qdist(base, id), id})
	x.writeSelectedLocked(s, ls, maxN)
}

// writeSelectedLocked sorts s.nbTmp, selects up to maxN of it with the
// heuristic and stores the result in ls. The caller holds ls's stripe.
func (x *Index) writeSelectedLocked(s *searchScratch, ls []uint32, maxN int) {
	x.writeSelectedKeepLocked(s, ls, maxN, 0)
}

// writeSelectedKeepLocked is writeSelectedLocked; with keepPruned the
// list is topped up to maxN with the closest candidates the heuristic
// skipped (keepPrunedConnections of the paper's Algorithm 4).
func (x *Index) writeSelectedKeepLocked(s *searchScratch, ls []uint32, maxN int, keepPruned int) {
	sortItems(s.nbTmp)
	s.nbSel = x.selectNeighboursLocked(s.nbTmp, maxN, s.nbSel)
	if keepPruned > 0 && len(s.nbSel) < keepPruned {
		for _, c := range s.nbTmp {
			if len(s.nbSel) >= keepPruned {
				break
			}
			if !slices.ContainsFunc(s.nbSel, func(it item) bool { return it.id == c.id }) {
				s.nbSel = append(s.nbSel, c)
			}
		}
	}
	for i, it := range s.nbSel {
		atomic.StoreUint32(&ls[1+i], it.id)
	}
	atomic.StoreUint32(&ls[0], uint32(len(s.nbSel)))
}

// selectNeighboursLocked is the heuristic of the paper (Algorithm 4):
// walking cands in ascending distance to the base node, keep a candidate
// only if it is closer to the base than to every neighbour kept so far.
// This spreads links over directions, keeping clusters connected. When
// there are at most m candidates all are kept.
func (x *Index) selectNeighboursLocked(cands []item, m int, dst []item) []item {
	dst = dst[:0]
	if len(cands) <= m {
		return append(dst, cands...)
	}
	for _, c := range cands {
		if len(dst) >= m {
			break
		}
		cv := x.codeLocked(c.id)
		good := true
		for _, r := range dst {
			if x.qdist(cv, r.id) < c.d {
				good = false
				break
			}
		}
		if good {
			dst = append(dst, c)
		}
	}
	return dst
}

// sortItems sorts ascending by distance, ties by id.
func sortItems(items []item) {
	slices.SortFunc(items, func(a, b item) int {
		switch {
		case a.d < b.d:
			return -1
		case a.d > b.d:
			return 1
		}
		return int(a.id) - int(b.id)
	})
}
