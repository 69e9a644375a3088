package vec

import (
	"math"
	"unsafe"
)

// Int8Block is the granularity of the int8 kernels: code slices passed to
// DotInt8 have a length that is a multiple of it (callers pad with zeros,
// which add nothing to a dot product).
const Int8Block = 32

// Int8Stride returns the padded code length for dimension dim.
func Int8Stride(dim int) int { return (dim + Int8Block - 1) / Int8Block * Int8Block }

// QuantizeInt8 writes the symmetric per-vector int8 code of v into dst
// (len(dst) >= len(v); the rest of dst is zeroed) and returns the scale s
// with v[i] ≈ s*dst[i]: s = max|v[i]|/127, codes round(v[i]/s). A zero
// vector gets scale 0 and all-zero codes. v must be finite.
//
// The code is used for distances while walking an HNSW graph: a dot product
// of two codes, times both scales, approximates the float dot product with
// an error of about s_a*s_b*sqrt(dim)/12 per pair of vectors, small against
// the gaps between neighbours; final results are re-ranked with float32.
func QuantizeInt8(dst []int8, v []float32) float32 {
	if len(dst) < len(v) {
		lengthMismatch()
	}
	var m float32
	for _, x := range v {
		m = max(m, float32(math.Abs(float64(x))))
	}
	clear(dst[len(v):])
	if m == 0 {
		clear(dst[:len(v)])
		return 0
	}
	s := m / 127
	inv := 127 / m
	d := dst[:len(v)]
	for i, x := range v {
		q := math.Round(float64(x * inv))
		// |x*inv| <= 127 up to rounding of inv; clamp for safety.
		q = max(-127, min(127, q))
		d[i] = int8(q)
	}
	return s
}

// DotInt8 returns sum a[i]*b[i] over int8 codes, exactly, in int32. It
// panics if len(a) != len(b); on the SIMD path the length must be a
// multiple of Int8Block (see Int8Stride), otherwise it panics too.
// |result| <= len*127*127, which fits int32 for len <= 65536*2.
func DotInt8(a, b []int8) int32 {
	if len(a) != len(b) {
		lengthMismatch()
	}
	if useSIMD {
		if len(a)%Int8Block != 0 {
			panic("vec: int8 code length not a multiple of Int8Block")
		}
		if len(a) == 0 {
			return 0
		}
		return dotInt8SIMD(&a[0], &b[0], len(a))
	}
	return dotInt8Generic(a, b)
}

// PrefetchInt8 hints that the code c will be read soon: one prefetch per
// cache line (a no-op where unsupported).
func PrefetchInt8(c []int8) {
	if useSIMD && len(c) > 0 {
		prefetchLinesSIMD(unsafe.Pointer(&c[0]), (len(c)+63)/64)
	}
}

func dotInt8Generic(a, b []int8) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	for len(a) >= 4 && len(b) >= 4 {
		s0 += int32(a[0]) * int32(b[0])
		s1 += int32(a[1]) * int32(b[1])
		s2 += int32(a[2]) * int32(b[2])
		s3 += int32(a[3]) * int32(b[3])
		a, b = a[4:], b[4:]
	}
	b = b[:len(a)]
	for i := range a {
		s0 += int32(a[i]) * int32(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}
