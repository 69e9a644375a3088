//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// HasSIMD reports whether the AVX2/FMA micro-kernel is in use.
func HasSIMD() bool { return useAsm }

//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int)

// kernel computes C[MR×NR] += A·B for one packed A micro-panel (k×MR) and
// one packed B panel (k×NR).
func kernel(k int, a, b, c []float32, ldc int) {
	if k <= 0 {
		return
	}
	if !useAsm {
		kernelGeneric(k, a, b, c, ldc)
		return
	}
	_ = a[k*MR-1]
	_ = b[k*NR-1]
	_ = c[(MR-1)*ldc+NR-1]
	kernel6x16(k, &a[0], &b[0], &c[0], ldc)
}
