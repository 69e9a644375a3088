//go:build !amd64 || purego

package gemm

// HasSIMD reports whether the AVX2/FMA micro-kernel is in use.
func HasSIMD() bool { return false }

func kernel(k int, a, b, c []float32, ldc int) {
	if k > 0 {
		kernelGeneric(k, a, b, c, ldc)
	}
}
