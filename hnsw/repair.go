package hnsw

import (
	"sync/atomic"
)

// Repair unlinks every tombstone from the graph and frees its slot for
// reuse by Add. It returns the number of slots freed.
//
// Phase 1, with the index shared (searches and inserts go on): every node
// that links to a tombstone re-selects its links on that layer, with the
// heuristic, from its live links plus the live links of its deleted
// neighbours, the way Weaviate reassigns the neighbours of a deleted node,
// and is topped up to the number of links it had with the closest
// candidates the heuristic skipped. The bridges a tombstone provided are
// kept as direct links.
// Phase 2, with the index exclusive (a short scan, no distances): links to
// tombstones written by inserts that raced phase 1 are dropped, the entry
// point moves off a tombstone to the highest remaining node, and the
// tombstones' slots are cleared and freed. Because no search runs during
// phase 2 and no link points at a freed slot after it, reusing the slot can
// never be seen by a search that still holds the old node.
func (x *Index) Repair() int {
	x.repairMu.Lock()
	defer x.repairMu.Unlock()
	x.wmu.RLock()
	defer x.wmu.RUnlock()

	x.mu.RLock()
	n := int(x.slots.Load())
	dead := make([]bool, n)
	nDead := 0
	for i := 0; i < n; i++ {
		if atomic.LoadUint32(&x.state[i]) == stateDeleted {
			dead[i] = true
			nDead++
		}
	}
	if nDead == 0 {
		x.mu.RUnlock()
		return 0
	}
	s := x.getScratch()
	for a := 0; a < n; a++ {
		if dead[a] {
			continue
		}
		// Only live nodes: a node still being inserted has its level and
		// lists written without the lock; links it makes to tombstones
		// meanwhile are dropped in phase 2.
		if atomic.LoadUint32(&x.state[a]) != stateLive {
			continue
		}
		for l := 0; l <= int(x.levels[a]); l++ {
			x.reconnectLocked(s, uint32(a), l, dead)
		}
	}
	x.putScratch(s)
	x.mu.RUnlock()

	x.mu.Lock()
	defer x.mu.Unlock()
	for a := 0; a < n; a++ {
		if dead[a] || x.state[a] == stateEmpty {
			continue
		}
		for l := 0; l <= int(x.levels[a]); l++ {
			ls := x.linksLocked(uint32(a), l)
			k := 0
			for _, e := range ls[1 : 1+min(int(ls[0]), x.maxLinks(l))] {
				if int(e) >= n || !dead[e] {
					ls[1+k] = e
					k++
				}
			}
			ls[0] = uint32(k)
		}
	}
	freed := make([]uint32, 0, nDead)
	for d := 0; d < n; d++ {
		if !dead[d] || x.state[d] != stateDeleted {
			continue // revived by an Insert of the same id meanwhile
		}
		for l := 0; l <= int(x.levels[d]); l++ {
			x.linksLocked(uint32(d), l)[0] = 0
		}
		x.levels[d] = 0
		x.upper[d] = nil
		x.state[d] = stateEmpty
		freed = append(freed, uint32(d))
	}
	if e, _, ok := decodeEntry(x.entry.Load()); ok && dead[e] && x.state[e] == stateEmpty {
		best, bestLevel := uint32(0), -1
		for i := 0; i < int(x.slots.Load()); i++ {
			if x.state[i] != stateEmpty && int(x.levels[i]) > bestLevel {
				best, bestLevel = uint32(i), int(x.levels[i])
			}
		}
		if bestLevel < 0 {
			x.entry.Store(0)
		} else {
			x.entry.Store(encodeEntry(best, bestLevel))
		}
	}
	x.tombstones.Add(-int64(len(freed)))
	x.allocMu.Lock()
	// Lowest ids last, so Add hands them out first and keeps ids compact.
	for i := len(freed) - 1; i >= 0; i-- {
		x.free = append(x.free, freed[i])
	}
	x.allocMu.Unlock()
	return len(freed)
}

// reconnectLocked replaces a's links to dead nodes on layer l, if any.
func (x *Index) reconnectLocked(s *searchScratch, a uint32, l int, dead []bool) {
	ls := x.linksLocked(a, l)
	n := min(int(atomic.LoadUint32(&ls[0])), x.maxLinks(l))
	hit := false
	for i := 1; i <= n; i++ {
		if e := atomic.LoadUint32(&ls[i]); int(e) < len(dead) && dead[e] {
			hit = true
			break
		}
	}
	if !hit {
		return
	}
	base := x.codeLocked(a)
	x.lockLinks(a)
	defer x.unlockLinks(a)
	n = min(int(atomic.LoadUint32(&ls[0])), x.maxLinks(l))
	s.vis.reset(x.cap)
	s.vis.visit(a)
	s.nbTmp = s.nbTmp[:0]
	add := func(e uint32) {
		if (int(e) < len(dead) && dead[e]) || s.vis.visit(e) {
			return
		}
		if st := atomic.LoadUint32(&x.state[e]); st != stateLive && st != stateInserting {
			return
		}
		s.nbTmp = append(s.nbTmp, item{x.qdist(base, e), e})
	}
	for i := 1; i <= n; i++ {
		e := atomic.LoadUint32(&ls[i])
		if int(e) < len(dead) && dead[e] {
			// Bridge through the tombstone: its live neighbours on this
			// layer become candidates.
			ds := x.linksLocked(e, l)
			dn := min(int(atomic.LoadUint32(&ds[0])), x.maxLinks(l))
			for j := 1; j <= dn; j++ {
				add(atomic.LoadUint32(&ds[j]))
			}
			continue
		}
		add(e)
	}
	// The heuristic alone would leave a node fewer links than it had (it
	// prunes the bridged candidates hard), which measurably costs recall;
	// topping the list up to its old length with the closest skipped
	// candidates keeps the repaired graph as good as a fresh build.
	x.writeSelectedKeepLocked(s, ls, x.maxLinks(l), n)
}
