package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestInt8Stride(t *testing.T) {
	for _, c := range []struct{ dim, want int }{{1, 32}, {32, 32}, {33, 64}, {384, 384}, {385, 416}, {128, 128}} {
		if got := Int8Stride(c.dim); got != c.want {
			t.Errorf("Int8Stride(%d) = %d, want %d", c.dim, got, c.want)
		}
	}
}

// TestDotInt8 compares both paths with the exact integer sum, including
// the extreme codes -128 and 127 in every lane (the largest pair sums the
// int16 multiply-add can produce).
func TestDotInt8(t *testing.T) {
	r, _ := testRand(t)
	for _, p := range testPaths() {
		setPath(t, p.simd)
		for _, n := range []int{0, 32, 64, 96, 384, 768, 4096} {
			for trial := range 4 {
				a, b := make([]int8, n), make([]int8, n)
				for i := range a {
					switch trial {
					case 0:
						a[i], b[i] = -128, -128
					case 1:
						a[i], b[i] = 127, -128
					default:
						a[i], b[i] = int8(r.IntN(256)-128), int8(r.IntN(256)-128)
					}
				}
				var want int64
				for i := range a {
					want += int64(a[i]) * int64(b[i])
				}
				if got := DotInt8(a, b); int64(got) != want {
					t.Fatalf("%s n=%d trial %d: DotInt8 = %d, want %d", p.name, n, trial, got, want)
				}
			}
		}
	}
}

func TestDotInt8Panics(t *testing.T) {
	for _, p := range testPaths() {
		setPath(t, p.simd)
		for _, c := range []struct{ a, b int }{{32, 64}, {5, 6}} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s: DotInt8 of lengths %d, %d did not panic", p.name, c.a, c.b)
					}
				}()
				DotInt8(make([]int8, c.a), make([]int8, c.b))
			}()
		}
	}
	if simdAvailable {
		setPath(t, true)
		defer func() {
			if recover() == nil {
				t.Error("SIMD DotInt8 of length 33 did not panic")
			}
		}()
		DotInt8(make([]int8, 33), make([]int8, 33))
	}
}

// TestQuantizeInt8 checks the reconstruction error (at most half a step
// per component), the padding, the zero vector, and that the dot product of
// two codes times both scales stays close to the float dot product of unit
// vectors.
func TestQuantizeInt8(t *testing.T) {
	r, _ := testRand(t)
	for _, dim := range []int{1, 3, 31, 384, 1000} {
		stride := Int8Stride(dim)
		v, w := make([]float32, dim), make([]float32, dim)
		fillRand(r, v, 1)
		fillRand(r, w, 1)
		v[r.IntN(dim)] = -3 // the largest magnitude is negative
		Normalize(v)
		Normalize(w)
		cv, cw := make([]int8, stride), make([]int8, stride)
		for i := range cv {
			cv[i] = 99 // padding must be cleared
		}
		sv, sw := QuantizeInt8(cv, v), QuantizeInt8(cw, w)
		for i, x := range v {
			if e := math.Abs(float64(x - sv*float32(cv[i]))); e > float64(sv)/2*1.001 {
				t.Fatalf("dim %d: component %d = %v reconstructed with error %v > half step %v", dim, i, x, e, sv/2)
			}
		}
		for i := dim; i < stride; i++ {
			if cv[i] != 0 {
				t.Fatalf("dim %d: padding byte %d = %d", dim, i, cv[i])
			}
		}
		got := float64(sv) * float64(sw) * float64(DotInt8(cv, cw))
		want := float64(Dot(v, w))
		if tol := 2 * float64(sv) * float64(sw) * math.Sqrt(float64(dim)) * 127 / 2; math.Abs(got-want) > tol || math.Abs(got-want) > 0.05 {
			t.Fatalf("dim %d: code dot %v, float dot %v (tolerance %v)", dim, got, want, tol)
		}
	}
	z := make([]int8, 32)
	z[0] = 5
	if s := QuantizeInt8(z, make([]float32, 10)); s != 0 || z[0] != 0 {
		t.Fatalf("zero vector: scale %v, code %v", s, z[:10])
	}
}

func TestInt8NoAllocs(t *testing.T) {
	a, b := make([]int8, 384), make([]int8, 384)
	v := make([]float32, 384)
	for _, p := range testPaths() {
		setPath(t, p.simd)
		if n := testing.AllocsPerRun(100, func() {
			DotInt8(a, b)
			QuantizeInt8(a, v)
			PrefetchInt8(a)
		}); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", p.name, n)
		}
	}
}

var sinkI int32

// BenchmarkDotInt8 is the int8 kernel beside BenchmarkDot: the same
// dimensions, a quarter of the bytes.
func BenchmarkDotInt8(b *testing.B) {
	benchPaths(b, func(b *testing.B, dim int, r *rand.Rand) {
		x, y := make([]int8, dim), make([]int8, dim)
		for i := range x {
			x[i], y[i] = int8(r.IntN(255)-127), int8(r.IntN(255)-127)
		}
		b.SetBytes(int64(2 * dim))
		var s int32
		for b.Loop() {
			s += DotInt8(x, y)
		}
		sinkI = s
	})
}
