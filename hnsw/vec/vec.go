package vec

import "math"

// useSIMD selects the assembly kernels. It is set once at init (see
// vec_amd64.go) and only ever written afterwards by tests in this package.
var useSIMD = simdAvailable

// HasSIMD reports whether the assembly kernels are in use.
func HasSIMD() bool { return useSIMD }

func lengthMismatch() {
	panic("vec: slice length mismatch")
}

// Dot returns sum a[i]*b[i]. It panics if len(a) != len(b).
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		lengthMismatch()
	}
	if useSIMD {
		return dotSIMD(a, b)
	}
	return dotGeneric(a, b)
}

// Prefetch hints that v will be read soon (a no-op where unsupported): the
// search loop asks for every unvisited neighbour's vector before computing
// the first distance, so the memory reads overlap.
func Prefetch(v []float32) {
	if useSIMD && len(v) > 0 {
		prefetchSIMD(&v[0])
	}
}

// L2Squared returns sum (a[i]-b[i])^2. It panics if len(a) != len(b).
func L2Squared(a, b []float32) float32 {
	if len(a) != len(b) {
		lengthMismatch()
	}
	if useSIMD {
		return l2SIMD(a, b)
	}
	return l2Generic(a, b)
}

// Axpy computes y[i] += alpha*x[i]. It panics if len(x) != len(y).
// x and y may be identical but must not otherwise overlap.
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		lengthMismatch()
	}
	if useSIMD {
		axpySIMD(alpha, x, y)
		return
	}
	axpyGeneric(alpha, x, y)
}

// Norm returns the Euclidean norm of a. The sum of squares is accumulated
// in float64, so it does not overflow or underflow for finite inputs; the
// result is +Inf if the norm exceeds the float32 range.
func Norm(a []float32) float32 {
	return float32(math.Sqrt(sumSquares64(a)))
}

// Normalize scales a in place to unit L2 norm. It returns false and leaves a
// unchanged if the norm is zero, NaN or infinite (i.e. a is all zeros or has
// a non-finite component).
func Normalize(a []float32) bool {
	n := math.Sqrt(sumSquares64(a))
	if n == 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return false
	}
	inv := 1 / n
	for i, v := range a {
		a[i] = float32(float64(v) * inv)
	}
	return true
}

// FirstNonFinite returns the index of the first component of a that is NaN
// or ±Inf, or -1 if every component is finite.
func FirstNonFinite(a []float32) int {
	const expMask = 0x7f800000
	for i, v := range a {
		if math.Float32bits(v)&expMask == expMask {
			return i
		}
	}
	return -1
}

func sumSquares64(a []float32) float64 {
	var s0, s1, s2, s3 float64
	for len(a) >= 4 {
		v0, v1, v2, v3 := float64(a[0]), float64(a[1]), float64(a[2]), float64(a[3])
		s0 += v0 * v0
		s1 += v1 * v1
		s2 += v2 * v2
		s3 += v3 * v3
		a = a[4:]
	}
	for _, v := range a {
		s0 += float64(v) * float64(v)
	}
	return (s0 + s1) + (s2 + s3)
}
