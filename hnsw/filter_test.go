package hnsw

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestFilteredRecall checks filtered search against exact filtered search
// at 50 %, 10 % and 1 % selectivity, through the planner and through each
// plan forced, at an ef where unfiltered search is above 0.95 too.
func TestFilteredRecall(t *testing.T) {
	n, dim, nq, ef := 20000, 384, 200, 96
	if testing.Short() {
		n, dim, nq = 4000, 64, 100
	}
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 9))
	all := clustered(rng, n+nq, dim)
	base, queries := all[:n], all[n:]
	x := newIndex(t, dim, Cosine)
	buildParallel(t, x, base, 0, runtime.GOMAXPROCS(0))
	truth := map[uint32][]float32{}
	for i, v := range base {
		truth[uint32(i)] = v
	}
	t.Logf("unfiltered recall@10 at ef=%d: %.4f", ef, meanRecall(t, x, truth, queries, 10, ef, nil))
	for _, sel := range []float64{0.5, 0.1, 0.01} {
		// A filter uncorrelated with position: a hash of the id.
		cut := uint64(sel * float64(1<<32))
		allow := func(id uint32) bool { return splitmix64(uint64(id)^seed)&0xffffffff < cut }
		exact := exactAll(Cosine, truth, queries, 10, allow)
		for _, plan := range []Plan{PlanAuto, PlanGraph, PlanExact} {
			if plan == PlanGraph && sel < 0.05 {
				continue // the graph alone is not the right tool there; that is the planner's point
			}
			var sum float64
			plans := map[Plan]int{}
			for i, q := range queries {
				got, st, err := x.SearchPlan(q, 10, ef, allow, plan)
				if err != nil {
					t.Fatal(err)
				}
				plans[st.Plan]++
				for _, r := range got {
					if !allow(r.ID) {
						t.Fatalf("result %d fails the filter", r.ID)
					}
				}
				sum += recallAt(got, exact[i], 10)
			}
			r := sum / float64(len(queries))
			t.Logf("selectivity %.2f plan %v: recall@10 %.4f (plans used %v)", sel, plan, r, plans)
			if r < 0.95 {
				t.Errorf("selectivity %.2f plan %v: recall@10 %.4f < 0.95", sel, plan, r)
			}
			if plan == PlanExact && r != 1 {
				t.Errorf("exact plan recall %.4f, want 1", r)
			}
			if plan == PlanAuto && sel <= 0.01 && plans[PlanExact] != len(queries) {
				t.Errorf("planner walked the graph at 1%% selectivity: %v", plans)
			}
		}
	}
	// A filter that lets nothing through gives no results, not an error.
	got, err := x.Search(queries[0], 10, 64, func(uint32) bool { return false })
	if err != nil || len(got) != 0 {
		t.Fatalf("empty filter: %v %v", got, err)
	}
	// A filter letting 3 ids through returns exactly those.
	got, err = x.Search(queries[0], 10, 64, func(id uint32) bool { return id == 5 || id == 77 || id == 901 })
	if err != nil || len(got) != 3 {
		t.Fatalf("3-id filter: %v %v", got, err)
	}
}

// TestRecallBigANN10k: real SIFT vectors, L2, base[100:] indexed under
// their original ids, recall@10 against the exact ground truth excluding
// the queries.
func TestRecallBigANN10k(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "ann", "bigann10k")
	base := readBvecs(t, filepath.Join(dir, "bigann10k_base.bvecs"))
	queries := readBvecs(t, filepath.Join(dir, "bigann10k_query.bvecs"))
	gt := readIvecs(t, filepath.Join(dir, "bigann10k_groundtruth_excl_queries.ivecs"))
	const skip = 100
	x := newIndex(t, 128, L2)
	buildParallel(t, x, base[skip:], skip, runtime.GOMAXPROCS(0))
	if x.Len() != len(base)-skip {
		t.Fatalf("len %d", x.Len())
	}
	for _, ef := range []int{32, 128} {
		var sum float64
		for i, q := range queries {
			got, err := x.Search(q, 10, ef, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]Result, 10)
			for j := range want {
				want[j].ID = uint32(gt[i][j])
			}
			sum += recallAt(got, want, 10)
		}
		r := sum / float64(len(queries))
		t.Logf("bigann10k ef=%d recall@10 %.4f", ef, r)
		if ef == 128 && r < 0.98 {
			t.Fatalf("recall@10 at ef=128 = %.4f, want >= 0.98", r)
		}
	}
}

func readBvecs(t *testing.T, path string) [][]float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("test data not present: %v", err)
	}
	var out [][]float32
	for len(b) >= 4 {
		d := int(binary.LittleEndian.Uint32(b))
		if d <= 0 || len(b) < 4+d {
			t.Fatalf("%s: malformed", path)
		}
		v := make([]float32, d)
		for i := range v {
			v[i] = float32(b[4+i])
		}
		out = append(out, v)
		b = b[4+d:]
	}
	return out
}

func readIvecs(t *testing.T, path string) [][]int32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("test data not present: %v", err)
	}
	var out [][]int32
	for len(b) >= 4 {
		k := int(binary.LittleEndian.Uint32(b))
		if k <= 0 || len(b) < 4+4*k {
			t.Fatalf("%s: malformed", path)
		}
		row := make([]int32, k)
		for i := range row {
			row[i] = int32(binary.LittleEndian.Uint32(b[4+4*i:]))
		}
		out = append(out, row)
		b = b[4+4*k:]
	}
	return out
}
