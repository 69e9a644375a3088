package vec

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("seed", 0, "random seed for vec tests (0: use $VEC_SEED, else time-based)")

// testRand returns a seeded RNG and logs the seed so a failure can be
// replayed with -seed=N (or VEC_SEED=N).
func testRand(t *testing.T) (*rand.Rand, uint64) {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		if s := os.Getenv("VEC_SEED"); s != "" {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				t.Fatalf("bad VEC_SEED %q: %v", s, err)
			}
			seed = v
		}
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed=%d (replay with -seed=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed
}

var testLengths = func() []int {
	var ls []int
	for n := 0; n <= 70; n++ {
		ls = append(ls, n)
	}
	return append(ls, 128, 383, 384, 385, 768, 1000, 1031)
}()

type path struct {
	name string
	simd bool
}

// testPaths returns the dispatch paths available on this machine: generic
// always, SIMD when the CPU supports it.
func testPaths() []path {
	ps := []path{{"generic", false}}
	if simdAvailable {
		ps = append(ps, path{"simd", true})
	}
	return ps
}

// setPath forces the dispatch bool for the duration of the test.
func setPath(tb testing.TB, simd bool) {
	tb.Helper()
	if simd && !simdAvailable {
		tb.Fatal("SIMD path requested but not available")
	}
	old := useSIMD
	useSIMD = simd
	tb.Cleanup(func() { useSIMD = old })
}

// subslice returns a length-n slice starting at element off of a larger
// buffer (so it is misaligned for off%8 != 0), with cap == len, plus the
// backing buffer, whose elements outside the window are filled with guard.
func subslice(n, off int, guard float32) (s, buf []float32) {
	buf = make([]float32, off+n+9)
	for i := range buf {
		buf[i] = guard
	}
	return buf[off : off+n : off+n], buf
}

func fillRand(r *rand.Rand, s []float32, scale float32) {
	for i := range s {
		s[i] = (2*r.Float32() - 1) * scale
	}
}

const relTol = 1e-4

func within(got, want, absSum float64) bool {
	return math.Abs(got-want) <= relTol*(1+absSum)
}

func TestDispatch(t *testing.T) {
	t.Logf("simdAvailable=%v HasSIMD=%v", simdAvailable, HasSIMD())
	if HasSIMD() != simdAvailable {
		t.Fatalf("HasSIMD()=%v, want %v", HasSIMD(), simdAvailable)
	}
	if os.Getenv("VEC_REQUIRE_SIMD") == "1" && !HasSIMD() {
		t.Fatal("VEC_REQUIRE_SIMD=1 but SIMD kernels are not in use")
	}
	setPath(t, false)
	if HasSIMD() {
		t.Fatal("HasSIMD() true after forcing generic path")
	}
}

func TestKnownValues(t *testing.T) {
	for _, p := range testPaths() {
		t.Run(p.name, func(t *testing.T) {
			setPath(t, p.simd)
			a := []float32{1, 2, 3}
			b := []float32{4, 5, 6}
			if got := Dot(a, b); got != 32 {
				t.Errorf("Dot = %v, want 32", got)
			}
			if got := L2Squared(a, b); got != 27 {
				t.Errorf("L2Squared = %v, want 27", got)
			}
			y := []float32{1, 1, 1}
			Axpy(2, a, y)
			if y[0] != 3 || y[1] != 5 || y[2] != 7 {
				t.Errorf("Axpy = %v, want [3 5 7]", y)
			}
			if got := Dot(nil, nil); got != 0 {
				t.Errorf("Dot(nil,nil) = %v", got)
			}
			if got := L2Squared(nil, nil); got != 0 {
				t.Errorf("L2Squared(nil,nil) = %v", got)
			}
			Axpy(1, nil, nil)
		})
	}
	if got := Norm([]float32{3, 4}); got != 5 {
		t.Errorf("Norm = %v, want 5", got)
	}
	if got := Norm(nil); got != 0 {
		t.Errorf("Norm(nil) = %v", got)
	}
}

// TestOneHot checks exactly (no tolerance) that every index of every tested
// length is visited once: with a single non-zero term the result is exact
// regardless of summation order. This catches loop/tail boundary bugs.
func TestOneHot(t *testing.T) {
	for _, p := range testPaths() {
		t.Run(p.name, func(t *testing.T) {
			setPath(t, p.simd)
			for _, n := range testLengths {
				a, _ := subslice(n, 1, 0)
				b, _ := subslice(n, 3, 0)
				for i := range b {
					b[i] = float32(i + 1)
				}
				for k := 0; k < n; k++ {
					a[k] = 2
					if got, want := Dot(a, b), float32(2*(k+1)); got != want {
						t.Fatalf("n=%d k=%d: Dot = %v, want %v", n, k, got, want)
					}
					a[k] = 0
				}
				// L2Squared: a and c are both one-hot at k, so a-c has a
				// single non-zero term and the result is exact.
				c, _ := subslice(n, 2, 0)
				for k := 0; k < n; k++ {
					a[k], c[k] = float32(k+3), 1
					if got, want := L2Squared(a, c), float32((k+2)*(k+2)); got != want {
						t.Fatalf("n=%d k=%d: L2Squared = %v, want %v", n, k, got, want)
					}
					a[k], c[k] = 0, 0
				}
				// Axpy: one-hot x must change exactly y[k].
				x, _ := subslice(n, 5, 0)
				y, ybuf := subslice(n, 7, -99)
				for k := 0; k < n; k++ {
					for i := range y {
						y[i] = float32(i)
					}
					x[k] = 1
					Axpy(3, x, y)
					x[k] = 0
					for i := range y {
						want := float32(i)
						if i == k {
							want += 3
						}
						if y[i] != want {
							t.Fatalf("n=%d k=%d: Axpy y[%d] = %v, want %v", n, k, i, y[i], want)
						}
					}
					checkGuard(t, ybuf, 7, n, -99)
				}
			}
		})
	}
}

func checkGuard(t *testing.T, buf []float32, off, n int, guard float32) {
	t.Helper()
	for i, v := range buf {
		if (i < off || i >= off+n) && v != guard {
			t.Fatalf("write outside slice: buf[%d] = %v (slice is [%d:%d])", i, v, off, off+n)
		}
	}
}

// TestRandom checks both paths against a float64 reference, and SIMD
// against generic directly, on random data at unaligned offsets.
func TestRandom(t *testing.T) {
	r, seed := testRand(t)
	scales := []float32{1, 1e3, 1e-3}
	offsets := []int{0, 1, 3, 5, 8}
	for _, p := range testPaths() {
		setPath(t, p.simd)
		for _, n := range testLengths {
			for _, off := range offsets {
				scale := scales[r.IntN(len(scales))]
				a, _ := subslice(n, off, 0)
				b, _ := subslice(n, (off+3)%7, 0)
				fillRand(r, a, scale)
				fillRand(r, b, scale)

				var dot, dotAbs, l2 float64
				for i := range a {
					x, y := float64(a[i]), float64(b[i])
					dot += x * y
					dotAbs += math.Abs(x * y)
					d := float64(a[i] - b[i]) // the kernels subtract in float32
					l2 += d * d
				}
				ctx := fmt.Sprintf("path=%s n=%d off=%d scale=%g seed=%d", p.name, n, off, scale, seed)
				if got := Dot(a, b); !within(float64(got), dot, dotAbs) {
					t.Errorf("%s: Dot = %v, want %v", ctx, got, dot)
				}
				if got := L2Squared(a, b); !within(float64(got), l2, l2) {
					t.Errorf("%s: L2Squared = %v, want %v", ctx, got, l2)
				}
				if simdAvailable {
					if s, g := dotSIMD(a, b), dotGeneric(a, b); !within(float64(s), float64(g), dotAbs) {
						t.Errorf("%s: dotSIMD = %v, dotGeneric = %v", ctx, s, g)
					}
					if s, g := l2SIMD(a, b), l2Generic(a, b); !within(float64(s), float64(g), l2) {
						t.Errorf("%s: l2SIMD = %v, l2Generic = %v", ctx, s, g)
					}
				}

				alpha := 2*r.Float32() - 1
				y, ybuf := subslice(n, (off+1)%7, -7)
				fillRand(r, y, scale)
				y0 := append([]float32(nil), y...)
				Axpy(alpha, a, y)
				for i := range y {
					ax := float64(alpha) * float64(a[i])
					want := float64(y0[i]) + ax
					if math.Abs(float64(y[i])-want) > 1e-6*(1+math.Abs(float64(y0[i]))+math.Abs(ax)) {
						t.Fatalf("%s: Axpy y[%d] = %v, want %v", ctx, i, y[i], want)
					}
				}
				checkGuard(t, ybuf, (off+1)%7, n, -7)
			}
		}
	}
}

func TestNaNPropagates(t *testing.T) {
	nan := float32(math.NaN())
	for _, p := range testPaths() {
		t.Run(p.name, func(t *testing.T) {
			setPath(t, p.simd)
			for _, n := range []int{1, 7, 8, 9, 31, 32, 33, 45, 384} {
				for _, k := range []int{0, n / 2, n - 1} {
					a := make([]float32, n)
					b := make([]float32, n)
					a[k] = nan
					if got := Dot(a, b); !math.IsNaN(float64(got)) {
						t.Errorf("n=%d k=%d: Dot = %v, want NaN", n, k, got)
					}
					if got := L2Squared(a, b); !math.IsNaN(float64(got)) {
						t.Errorf("n=%d k=%d: L2Squared = %v, want NaN", n, k, got)
					}
				}
			}
		})
	}
}

func TestMismatchPanics(t *testing.T) {
	for _, p := range testPaths() {
		t.Run(p.name, func(t *testing.T) {
			setPath(t, p.simd)
			long, short := make([]float32, 40), make([]float32, 39)
			for name, f := range map[string]func(){
				"Dot/short-b":       func() { Dot(long, short) },
				"Dot/short-a":       func() { Dot(short, long) },
				"L2Squared/short-b": func() { L2Squared(long, short) },
				"L2Squared/short-a": func() { L2Squared(short, long) },
				"Axpy/short-y":      func() { Axpy(1, long, short) },
				"Axpy/short-x":      func() { Axpy(1, short, long) },
			} {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("%s: no panic on length mismatch", name)
						}
					}()
					f()
				}()
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	unchanged := [][]float32{
		nil,
		{},
		{0, 0, 0},
		make([]float32, 384),
		{1, nan, 2},
		{inf, 1},
		{1, 2, float32(math.Inf(-1))},
	}
	for _, v := range unchanged {
		before := fmt.Sprint(v)
		if Normalize(v) {
			t.Errorf("Normalize(%s) = true, want false", before)
		}
		if after := fmt.Sprint(v); after != before {
			t.Errorf("Normalize modified rejected vector: %s -> %s", before, after)
		}
	}

	r, seed := testRand(t)
	cases := map[string][]float32{
		"3-4":  {3, 4},
		"tiny": {1e-40, -1e-40, 3e-41}, // subnormal: squares underflow float32
		"huge": make([]float32, 384),   // squares overflow float32
		"rand": make([]float32, 385),
		"max":  {math.MaxFloat32, math.MaxFloat32},
	}
	for i := range cases["huge"] {
		cases["huge"][i] = 1e30
	}
	fillRand(r, cases["rand"], 10)
	for name, v := range cases {
		if !Normalize(v) {
			t.Errorf("%s: Normalize = false, want true (seed=%d)", name, seed)
			continue
		}
		var s float64
		for _, x := range v {
			s += float64(x) * float64(x)
		}
		if n := math.Sqrt(s); math.Abs(n-1) > 1e-6 {
			t.Errorf("%s: norm after Normalize = %v (seed=%d)", name, n, seed)
		}
	}
	if v := cases["3-4"]; v[0] != 0.6 || v[1] != 0.8 {
		t.Errorf("Normalize([3 4]) = %v", v)
	}
	if n := Norm([]float32{math.MaxFloat32, math.MaxFloat32}); !math.IsInf(float64(n), 1) {
		t.Errorf("Norm beyond float32 range = %v, want +Inf", n)
	}
	if n := Norm([]float32{1e-40, 0}); n != 1e-40 {
		t.Errorf("Norm(subnormal) = %v, want 1e-40", n)
	}
}

func TestFirstNonFinite(t *testing.T) {
	bad := map[string]float32{
		"NaN":  float32(math.NaN()),
		"+Inf": float32(math.Inf(1)),
		"-Inf": float32(math.Inf(-1)),
	}
	finite := []float32{0, float32(math.Copysign(0, -1)), math.MaxFloat32, -math.MaxFloat32,
		math.SmallestNonzeroFloat32, 1, -1}
	if got := FirstNonFinite(nil); got != -1 {
		t.Errorf("FirstNonFinite(nil) = %d", got)
	}
	if got := FirstNonFinite(finite); got != -1 {
		t.Errorf("FirstNonFinite(finite extremes) = %d, want -1", got)
	}
	for name, x := range bad {
		for _, n := range []int{1, 2, 7, 8, 9, 33, 384} {
			for _, k := range []int{0, 1, n / 2, n - 2, n - 1} {
				if k < 0 || k >= n {
					continue
				}
				v := make([]float32, n)
				for i := range v {
					v[i] = finite[i%len(finite)]
				}
				v[k] = x
				if got := FirstNonFinite(v); got != k {
					t.Errorf("%s at %d of %d: FirstNonFinite = %d", name, k, n, got)
				}
				if k+1 < n {
					v[n-1] = x // a later bad value must not change the answer
					if got := FirstNonFinite(v); got != k {
						t.Errorf("%s at %d and %d of %d: FirstNonFinite = %d", name, k, n-1, n, got)
					}
				}
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	a, b := make([]float32, 384), make([]float32, 384)
	for _, p := range testPaths() {
		setPath(t, p.simd)
		if n := testing.AllocsPerRun(100, func() {
			Dot(a, b)
			L2Squared(a, b)
			Axpy(0.5, a, b)
		}); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", p.name, n)
		}
	}
}

var sink float32

// benchPaths runs fn as a sub-benchmark per dimension and kernel path
// (SIMD, generic), with the path set and a seeded generator.
func benchPaths(b *testing.B, fn func(b *testing.B, dim int, r *rand.Rand)) {
	for _, dim := range []int{128, 384, 768} {
		for _, p := range []path{{"simd", true}, {"generic", false}} {
			b.Run(fmt.Sprintf("%d/%s", dim, p.name), func(b *testing.B) {
				if p.simd && !simdAvailable {
					b.Skip("SIMD not available")
				}
				setPath(b, p.simd)
				fn(b, dim, rand.New(rand.NewPCG(1, 2)))
			})
		}
	}
}

func benchKernel(b *testing.B, f func(a, b []float32) float32) {
	benchPaths(b, func(b *testing.B, dim int, r *rand.Rand) {
		x, y := make([]float32, dim), make([]float32, dim)
		fillRand(r, x, 1)
		fillRand(r, y, 1)
		b.SetBytes(int64(8 * dim))
		var s float32
		for b.Loop() {
			s += f(x, y)
		}
		sink = s
	})
}

func BenchmarkDot(b *testing.B)       { benchKernel(b, Dot) }
func BenchmarkL2Squared(b *testing.B) { benchKernel(b, L2Squared) }
