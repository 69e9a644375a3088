//go:build !amd64 || purego

package vec

import "unsafe"

const simdAvailable = false

// Stubs so the dispatch in vec.go compiles; never reached because useSIMD
// is always false on these builds.

func dotSIMD(a, b []float32) float32 { return dotGeneric(a, b) }

func l2SIMD(a, b []float32) float32 { return l2Generic(a, b) }

func axpySIMD(alpha float32, x, y []float32) { axpyGeneric(alpha, x, y) }

func prefetchSIMD(p *float32) {}

func dotInt8SIMD(a, b *int8, n int) int32 {
	return dotInt8Generic(unsafe.Slice(a, n), unsafe.Slice(b, n))
}

func prefetchLinesSIMD(p unsafe.Pointer, lines int) {}
