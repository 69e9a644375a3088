//go:build amd64 && !purego

package vec

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// simdAvailable is true when the CPU (and OS) support AVX2 and FMA.
var simdAvailable = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The assembly kernels assume len(b) == len(a) (resp. len(y) == len(x));
// the exported wrappers check this.

//go:noescape
func dotSIMD(a, b []float32) float32

//go:noescape
func l2SIMD(a, b []float32) float32

//go:noescape
func prefetchSIMD(p *float32)

//go:noescape
func axpySIMD(alpha float32, x, y []float32)

//go:noescape
func dotInt8SIMD(a, b *int8, n int) int32

//go:noescape
func prefetchLinesSIMD(p unsafe.Pointer, lines int)
