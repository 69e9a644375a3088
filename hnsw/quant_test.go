package hnsw

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lakevec/lakevec/hnsw/vec"
)

// checkCodes asserts that every stored node's int8 code, scale and (L2)
// squared norm are exactly what its current float32 vector encodes to, and
// that the code distance stays close to the exact one.
func checkCodes(t *testing.T, x *Index, what string) {
	t.Helper()
	x.mu.RLock()
	defer x.mu.RUnlock()
	want := make([]int8, x.cstride)
	n := int(x.slots.Load())
	checked := 0
	for i := 0; i < n; i++ {
		id := uint32(i)
		if x.state[id] == stateEmpty {
			continue
		}
		v := x.vecLocked(id)
		scale := vec.QuantizeInt8(want, v)
		c := x.codeLocked(id)
		if !slices.Equal(c.c, want) || c.scale != scale {
			t.Fatalf("%s: id %d: stored code (scale %v) is not the code of its vector (scale %v)", what, id, c.scale, scale)
		}
		if x.metric == L2 && c.sq != vec.Dot(v, v) {
			t.Fatalf("%s: id %d: stored squared norm %v, vector's %v", what, id, c.sq, vec.Dot(v, v))
		}
		if i > 0 && x.state[id-1] != stateEmpty {
			exact := x.distance(v, x.vecLocked(id-1))
			if d := x.qdist(c, id-1); math.Abs(float64(d-exact)) > 0.05*(1+math.Abs(float64(exact))) {
				t.Fatalf("%s: ids %d,%d: code distance %v, exact %v", what, id, id-1, d, exact)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatalf("%s: no node checked", what)
	}
}

// TestCodesFollowVectors: codes are written on insert, carried over when
// the slabs grow, rewritten when an id gets a new vector, and derived again
// when a saved index is loaded (the file holds no codes).
func TestCodesFollowVectors(t *testing.T) {
	for _, m := range []Metric{L2, Cosine, InnerProduct} {
		t.Run(m.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(testSeed(t), 11))
			o := DefaultOptions(40, m) // stride 64: padded codes
			o.Capacity = 8             // several grows
			x, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			vecs := clustered(rng, 600, 40)
			for i, v := range vecs {
				if m == L2 {
					v = slices.Clone(v)
					for j := range v {
						v[j] *= 30 // not unit length: the norms matter
					}
					vecs[i] = v
				}
				if err := x.Insert(uint32(i), v); err != nil {
					t.Fatal(err)
				}
			}
			checkCodes(t, x, "after inserts and grows")
			for i := 0; i < 600; i += 5 { // new vectors for live ids
				if err := x.Insert(uint32(i), vecs[(i+301)%600]); err != nil {
					t.Fatal(err)
				}
			}
			checkCodes(t, x, "after updates")
			var buf bytes.Buffer
			if err := x.Save(&buf); err != nil {
				t.Fatal(err)
			}
			y, err := Load(&buf)
			if err != nil {
				t.Fatal(err)
			}
			checkCodes(t, y, "after load")
		})
	}
}

// TestSegmentedSlabs grows an index across several slab segments, saves
// it with a partial last segment, loads it (segments are views of the
// file), grows the loaded index (the partial segment is replaced) and
// checks every vector, code and link list survives and every node finds
// itself.
func TestSegmentedSlabs(t *testing.T) {
	if testing.Short() {
		t.Skip("50k inserts; single-threaded, so -race adds nothing here")
	}
	n := 2*segNodes + 1234
	o := DefaultOptions(8, L2)
	o.M, o.EfConstruction = 8, 64
	x, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(testSeed(t), 12))
	all := make([][]float32, n+segNodes)
	for i := range all {
		all[i] = make([]float32, 8)
		for d := range all[i] {
			all[i][d] = float32(rng.NormFloat64())
		}
	}
	vecOf := func(i int) []float32 { return all[i] }
	for i := range n {
		if err := x.Insert(uint32(i), vecOf(i)); err != nil {
			t.Fatal(err)
		}
	}
	if x.cap != 3*segNodes || len(x.vecs.segs) != 3 {
		t.Fatalf("capacity %d in %d segments, want %d in 3", x.cap, len(x.vecs.segs), 3*segNodes)
	}
	check := func(y *Index, upTo int, what string) {
		t.Helper()
		for i := 0; i < upTo; i += 97 {
			got, err := y.Vector(uint32(i))
			if err != nil || !slices.Equal(got, vecOf(i)) {
				t.Fatalf("%s: vector %d = %v %v", what, i, got, err)
			}
			res, err := y.Search(vecOf(i), 1, 200, nil)
			if err != nil || len(res) != 1 || res[0].ID != uint32(i) || res[0].Distance != 0 {
				t.Fatalf("%s: node %d does not find itself: %v %v", what, i, res, err)
			}
		}
		checkCodes(t, y, what)
	}
	check(x, n, "built")
	var buf bytes.Buffer
	if err := x.Save(&buf); err != nil {
		t.Fatal(err)
	}
	saved := buf.Bytes()
	y, err := Decode(saved)
	if err != nil {
		t.Fatal(err)
	}
	if y.cap != n || len(y.vecs.segs) != 3 || len(y.vecs.segs[2]) != 1234*8 {
		t.Fatalf("loaded: capacity %d, %d segments", y.cap, len(y.vecs.segs))
	}
	check(y, n, "loaded")
	for i := n; i < n+segNodes; i++ { // past the partial segment and into a new one
		if err := y.Insert(uint32(i), vecOf(i)); err != nil {
			t.Fatal(err)
		}
	}
	check(y, n+segNodes, "grown after load")
	var again bytes.Buffer
	if err := y.Save(&again); err != nil {
		t.Fatal(err)
	}
	z, err := Decode(again.Bytes())
	if err != nil || z.Len() != n+segNodes {
		t.Fatalf("reload: %v, %d nodes", err, z.Len())
	}
	check(z, n+segNodes, "reloaded")
}

// blockingWriter blocks its first Write until release is closed.
type blockingWriter struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		close(w.started)
		<-w.release
	})
	return w.buf.Write(p)
}

// TestSearchDuringSave: a search is answered while a save is writing (the
// save holds the writer lock, not the search lock), and an insert waits
// for the save to finish, so the file is one consistent state.
func TestSearchDuringSave(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 13))
	vecs := clustered(rng, 500, 16)
	x := newIndex(t, 16, Cosine)
	for i, v := range vecs[:400] {
		if err := x.Insert(uint32(i), v); err != nil {
			t.Fatal(err)
		}
	}
	w := &blockingWriter{started: make(chan struct{}), release: make(chan struct{})}
	saved := make(chan error, 1)
	go func() { saved <- x.Save(w) }()
	<-w.started // the save holds its locks and is blocked writing

	searched := make(chan error, 1)
	go func() {
		_, err := x.Search(vecs[3], 5, 32, nil)
		searched <- err
	}()
	select {
	case err := <-searched:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		close(w.release)
		t.Fatal("a search waited for a save to finish writing")
	}
	inserted := make(chan error, 1)
	go func() { inserted <- x.Insert(400, vecs[400]) }()
	select {
	case err := <-inserted:
		close(w.release)
		t.Fatalf("an insert ran during a save (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(w.release)
	if err := <-saved; err != nil {
		t.Fatal(err)
	}
	if err := <-inserted; err != nil {
		t.Fatal(err)
	}
	y, err := Decode(w.buf.Bytes())
	if err != nil || y.Len() != 400 {
		t.Fatalf("the save during an insert: %v, %d nodes (want the 400 before it)", err, y.Len())
	}
}
