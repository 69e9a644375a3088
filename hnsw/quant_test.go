package hnsw

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

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
			if d := x.qdist(c, id-1); math.Abs(float64(d-exact)) > 0.02*(1+math.Abs(float64(exact))) {
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
