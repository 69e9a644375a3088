package hnsw

import (
	"fmt"
	"sync/atomic"
)

// Delete removes id from search results at once. The node stays in the
// graph as a tombstone that still routes searches, so deleting never cuts
// the graph apart. Once tombstones exceed Options.RepairFraction of the
// live vectors, this Delete runs a repair pass (see Repair) before it
// returns, which unlinks them and frees their slots for Add.
func (x *Index) Delete(id uint32) error {
	x.wmu.RLock()
	x.mu.RLock()
	ok := int(id) < x.cap && atomic.CompareAndSwapUint32(&x.state[id], stateLive, stateDeleted)
	x.mu.RUnlock()
	x.wmu.RUnlock() // released before Repair, which takes it again
	if !ok {
		return fmt.Errorf("delete %d: %w", id, ErrNotFound)
	}
	x.live.Add(-1)
	t := x.tombstones.Add(1)
	if x.repairFraction >= 0 && t >= 64 && float64(t) > x.repairFraction*float64(x.live.Load()) {
		x.Repair()
	}
	return nil
}

// Tombstones returns the number of deleted nodes still linked in the graph.
func (x *Index) Tombstones() int { return int(x.tombstones.Load()) }

// update gives an existing (live or deleted) id the vector in s.q and
// repairs the graph around it, as hnswlib does when it replaces a deleted
// element:
//  1. each old neighbour of id re-selects its links from its own list,
//     id's old neighbours and id itself, so a link that pointed at the old
//     position can be replaced by one into the same neighbourhood;
//  2. id is linked afresh from the entry point, as a new node at its old
//     level, with reverse links to its new neighbours.
//
// The vector is rewritten under the exclusive lock, so no search reads a
// half-written vector; while links are repaired id routes searches but is
// not returned.
func (x *Index) update(id uint32, s *searchScratch) error {
	x.mu.Lock()
	prev := atomic.LoadUint32(&x.state[id])
	if prev == stateInserting || prev == stateEmpty {
		x.mu.Unlock()
		return fmt.Errorf("%w: id %d is being inserted concurrently", ErrBadID, id)
	}
	atomic.StoreUint32(&x.state[id], stateInserting)
	copy(x.vecLocked(id), s.q)
	x.setCodeLocked(id, s.q)
	x.mu.Unlock()
	if prev == stateLive {
		x.live.Add(-1)
	} else {
		x.tombstones.Add(-1)
	}

	x.mu.RLock()
	defer x.mu.RUnlock()
	level := int(x.levels[id])
	for l := 0; l <= level; l++ {
		ls := x.linksLocked(id, l)
		x.lockLinks(id)
		n := int(atomic.LoadUint32(&ls[0]))
		s.ids = s.ids[:0]
		for i := 1; i <= n; i++ {
			s.ids = append(s.ids, atomic.LoadUint32(&ls[i]))
		}
		x.unlockLinks(id)
		for _, nb := range s.ids {
			x.relinkLocked(s, nb, l, id, s.ids)
		}
	}
	x.connectLocked(s, id, level)
	atomic.StoreUint32(&x.state[id], stateLive)
	x.live.Add(1)
	return nil
}

// relinkLocked re-selects nb's links on layer l from its current links,
// the ids in extra and id.
func (x *Index) relinkLocked(s *searchScratch, nb uint32, l int, id uint32, extra []uint32) {
	maxN := x.maxLinks(l)
	ls := x.linksLocked(nb, l)
	base := x.codeLocked(nb)
	x.lockLinks(nb)
	defer x.unlockLinks(nb)
	n := int(atomic.LoadUint32(&ls[0]))
	s.vis.reset(x.cap)
	s.vis.visit(nb)
	s.nbTmp = s.nbTmp[:0]
	add := func(e uint32) {
		if s.vis.visit(e) {
			return
		}
		s.nbTmp = append(s.nbTmp, item{x.qdist(base, e), e})
	}
	for i := 1; i <= n; i++ {
		if e := atomic.LoadUint32(&ls[i]); atomic.LoadUint32(&x.state[e]) != stateDeleted {
			add(e)
		}
	}
	for _, e := range extra {
		if st := atomic.LoadUint32(&x.state[e]); (st == stateLive || st == stateInserting) && int(x.levels[e]) >= l {
			add(e)
		}
	}
	add(id)
	x.writeSelectedLocked(s, ls, maxN)
}
