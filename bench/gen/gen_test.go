package gen

import (
	"math"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lakevec/lakevec/bench/texmex"
)

func testSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("GEN_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("GEN_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with GEN_SEED=%d)", seed, seed)
	return seed
}

func TestDeterministic(t *testing.T) {
	seed := testSeed(t)
	// More than one block of rows, so several random streams are in play.
	a, err := Generate(2500, 48, 30, seed)
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	b, err := Generate(2500, 48, 30, seed)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Base.Data, b.Base.Data) || !slices.Equal(a.Query.Data, b.Query.Data) || !slices.Equal(a.GT.Data, b.GT.Data) {
		t.Fatal("same seed, different data (GOMAXPROCS 1 vs default)")
	}
	c, err := Generate(2500, 48, 30, seed+1)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a.Base.Data, c.Base.Data) {
		t.Fatal("different seeds, same data")
	}
	// A prefix of a larger set equals the smaller set: rows depend only on
	// their block's stream.
	d, err := GenerateSpec(Spec{N: 2500, Dim: 48, Queries: 60, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Query.Slice(0, 30).Data, a.Query.Data) {
		t.Fatal("queries 0..29 change with the number of queries")
	}
}

func TestShapeAndUnitNorm(t *testing.T) {
	ds, err := Generate(1500, 40, 25, testSeed(t))
	if err != nil {
		t.Fatal(err)
	}
	if ds.Base.Len() != 1500 || ds.Base.Dim != 40 || ds.Query.Len() != 25 || ds.GT.Len() != 25 || ds.GT.K != 100 {
		t.Fatalf("shapes: base %d×%d query %d gt %d×%d", ds.Base.Len(), ds.Base.Dim, ds.Query.Len(), ds.GT.Len(), ds.GT.K)
	}
	for _, v := range []texmex.Vectors{ds.Base, ds.Query} {
		for i := range v.Len() {
			var s float64
			for _, x := range v.Row(i) {
				s += float64(x) * float64(x)
			}
			if math.Abs(s-1) > 1e-5 {
				t.Fatalf("vector %d has squared norm %v", i, s)
			}
		}
	}
	// Queries are fresh draws, not copies of base vectors.
	for qi := range ds.Query.Len() {
		if d := Dot(ds.Query.Row(qi), ds.Base.Row(int(ds.GT.Row(qi)[0]))); d > 0.9999 {
			t.Fatalf("query %d duplicates a base vector (cos %v)", qi, d)
		}
	}
}

func TestGroundTruthMatchesNaive(t *testing.T) {
	seed := testSeed(t)
	ds, err := GenerateSpec(Spec{N: 700, Dim: 24, Queries: 21, Seed: seed, K: 50})
	if err != nil {
		t.Fatal(err)
	}
	// Duplicate a base vector so that the tie rule (smaller id first) is
	// exercised, then recompute.
	copy(ds.Base.Row(600), ds.Base.Row(int(ds.GT.Row(0)[0])))
	gt := GroundTruth(ds.Base, ds.Query, 50)
	for qi := range ds.Query.Len() {
		ids := make([]int, ds.Base.Len())
		for i := range ids {
			ids[i] = i
		}
		q := ds.Query.Row(qi)
		sort.SliceStable(ids, func(a, b int) bool {
			return Dot(q, ds.Base.Row(ids[a])) > Dot(q, ds.Base.Row(ids[b]))
		})
		for r := range 50 {
			if int(gt.Row(qi)[r]) != ids[r] {
				t.Fatalf("query %d rank %d: got id %d, naive %d", qi, r, gt.Row(qi)[r], ids[r])
			}
		}
	}
	// k larger than n is capped.
	if small := GroundTruth(ds.Base.Slice(0, 7), ds.Query, 100); small.K != 7 || small.Len() != ds.Query.Len() {
		t.Fatalf("capped ground truth is %d×%d", small.Len(), small.K)
	}
}

func TestRelativeContrast(t *testing.T) {
	ds, err := Generate(4000, 64, 100, testSeed(t))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := RelativeContrast(ds.Base, ds.Query, ds.GT, 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("relative contrast@10 = %.3f", rc)
	// Neither trivially easy nor random: see the package comment.
	if rc < 1.2 || rc > 3 {
		t.Fatalf("relative contrast %.3f outside 1.2..3", rc)
	}
	bad := texmex.IDs{K: 10, Data: slices.Repeat([]int32{-1}, 10*ds.Query.Len())}
	if _, err := RelativeContrast(ds.Base, ds.Query, bad, 10); err == nil {
		t.Fatal("out-of-range ground truth accepted")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		s    Spec
		want string
	}{
		{Spec{N: 0, Dim: 8, Queries: 1}, "n 0 out of range"},
		{Spec{N: 10, Dim: 0, Queries: 1}, "dim 0 out of range"},
		{Spec{N: 10, Dim: 8, Queries: 0}, "queries 0 out of range"},
		{Spec{N: 1 << 30, Dim: 8, Queries: 1}, "values is more than"},
		{Spec{N: 10, Dim: 8, Queries: 1, Clusters: 11}, "clusters 11"},
		{Spec{N: 10, Dim: 8, Queries: 1, Noise: -1}, "noise -1"},
	} {
		_, err := GenerateSpec(tc.s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.s, err, tc.want)
		}
	}
	// Tiny but valid sets work.
	if ds, err := Generate(1, 1, 1, 0); err != nil || ds.GT.K != 1 || math.Abs(float64(ds.Base.Data[0])) != 1 {
		t.Fatalf("Generate(1,1,1) = %+v, %v", ds, err)
	}
}
