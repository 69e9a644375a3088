package align

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

func h(s string) Hash { return sha256.Sum256([]byte(s)) }

// parse reads "old: a b c" / "new: a x c" lines; each word is a chunk's
// text, stored chunks get keys 1, 2, ... in order.
func parse(t *testing.T, d *datadriven.TestData) ([]Stored, []Hash, map[Hash]string) {
	names := map[Hash]string{}
	var stored []Stored
	var next []Hash
	for _, line := range strings.Split(d.Input, "\n") {
		side, words, _ := strings.Cut(line, ":")
		for _, w := range strings.Fields(words) {
			names[h(w)] = w
			switch side {
			case "old":
				stored = append(stored, Stored{Key: uint32(len(stored) + 1), Hash: h(w)})
			case "new":
				next = append(next, h(w))
			default:
				d.Fatalf(t, "bad line %q", line)
			}
		}
	}
	return stored, next, names
}

func TestDataDriven(t *testing.T) {
	datadriven.RunTest(t, "testdata/align", func(t *testing.T, d *datadriven.TestData) string {
		stored, next, names := parse(t, d)
		// With the "similar" argument, a new chunk can only be an edit of a
		// stored one whose text shares its first letter (x1 edits x).
		var similar func(int, int) bool
		if d.HasArg("similar") {
			similar = func(o, n int) bool { return names[stored[o].Hash][0] == names[next[n]][0] }
		}
		key := uint32(100)
		r := Align(stored, next, func() uint32 { key++; return key }, similar)
		var b strings.Builder
		for _, c := range r.Chunks {
			fmt.Fprintf(&b, "%d %s %s key=%d", c.Pos, names[next[c.Pos]], c.Kind, c.Key)
			if c.Kind == Modified {
				fmt.Fprintf(&b, " parent=%d", c.Parent)
			}
			b.WriteString("\n")
		}
		for _, s := range r.Removed {
			fmt.Fprintf(&b, "removed %s key=%d\n", names[s.Hash], s.Key)
		}
		return b.String()
	})
}

// TestProperties checks invariants on random edits: every new chunk gets
// exactly one outcome; reused keys carry identical content; no stored key
// is used twice; every stored key is kept, a parent, or removed; and a
// chunk whose content existed in the stored version is never embedded
// again (only Modified and Added need embedding).
func TestProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	for iter := 0; iter < 2000; iter++ {
		alphabet := 3 + rng.IntN(12) // small alphabets force duplicates
		n := rng.IntN(20)
		stored := make([]Stored, n)
		for i := range stored {
			stored[i] = Stored{Key: uint32(i + 1), Hash: h(fmt.Sprint(rng.IntN(alphabet)))}
		}
		var next []Hash
		for _, s := range stored {
			switch rng.IntN(6) {
			case 0: // delete
			case 1: // replace
				next = append(next, h(fmt.Sprint("new", rng.IntN(alphabet))))
			case 2: // insert before
				next = append(next, h(fmt.Sprint(rng.IntN(alphabet))), s.Hash)
			default:
				next = append(next, s.Hash)
			}
		}
		if len(next) > 1 && rng.IntN(3) == 0 { // move one chunk
			i, j := rng.IntN(len(next)), rng.IntN(len(next))
			x := next[i]
			next = append(next[:i], next[i+1:]...)
			next = append(next[:j], append([]Hash{x}, next[j:]...)...)
		}
		key := uint32(1000)
		r := Align(stored, next, func() uint32 { key++; return key }, nil)
		if len(r.Chunks) != len(next) {
			t.Fatalf("iter %d: %d outcomes for %d chunks", iter, len(r.Chunks), len(next))
		}
		byKey := map[uint32]Stored{}
		for _, s := range stored {
			byKey[s.Key] = s
		}
		accounted := map[uint32]int{}
		storedHashes := map[Hash]int{}
		for _, s := range stored {
			storedHashes[s.Hash]++
		}
		reusedHashes := map[Hash]int{}
		for _, c := range r.Chunks {
			switch c.Kind {
			case Unchanged, Moved:
				s, ok := byKey[c.Key]
				if !ok || s.Hash != next[c.Pos] {
					t.Fatalf("iter %d: chunk %d reuses key %d with other content", iter, c.Pos, c.Key)
				}
				accounted[c.Key]++
				reusedHashes[s.Hash]++
			case Modified:
				if _, ok := byKey[c.Parent]; !ok {
					t.Fatalf("iter %d: parent %d is not a stored key", iter, c.Parent)
				}
				accounted[c.Parent]++
				fallthrough
			case Added:
				if c.Key <= 1000 {
					t.Fatalf("iter %d: new chunk got stored key %d", iter, c.Key)
				}
			default:
				t.Fatalf("iter %d: chunk %d has no outcome", iter, c.Pos)
			}
		}
		for _, s := range r.Removed {
			accounted[s.Key]++
		}
		for _, s := range stored {
			if accounted[s.Key] != 1 {
				t.Fatalf("iter %d: stored key %d accounted %d times", iter, s.Key, accounted[s.Key])
			}
		}
		// Minimal embedding: a new chunk whose content is still available
		// among stored chunks not reused is never embedded.
		for _, c := range r.Chunks {
			if c.Kind == Modified || c.Kind == Added {
				if storedHashes[next[c.Pos]] > reusedHashes[next[c.Pos]] {
					t.Fatalf("iter %d: chunk %d embedded although its content is stored and unused", iter, c.Pos)
				}
			}
		}
	}
}
