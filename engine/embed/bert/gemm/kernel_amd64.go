//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int)

//go:noescape
func kernel6x16s(k int, a *float32, lda int, b, c *float32, ldc int)

//go:noescape
func kernel12x32(k int, a, b, c *float32, ldc int)

//go:noescape
func kernel12x32s(k int, a *float32, lda int, b, c *float32, ldc int)

var (
	avx2 = microKernel{name: "avx2-6x16", mr: 6, nr: 16, kc: 384, run: func(k int, a, b, c []float32, ldc int) {
		if k <= 0 {
			return
		}
		_ = a[k*6-1]
		_ = b[k*16-1]
		_ = c[5*ldc+15]
		kernel6x16(k, &a[0], &b[0], &c[0], ldc)
	}, runStrided: func(k int, a []float32, lda int, b, c []float32, ldc int) {
		if k <= 0 {
			return
		}
		_ = a[5*lda+k-1]
		_ = b[k*16-1]
		_ = c[5*ldc+15]
		kernel6x16s(k, &a[0], lda, &b[0], &c[0], ldc)
	}}
	avx512 = microKernel{name: "avx512-12x32", mr: 12, nr: 32, kc: 192, run: func(k int, a, b, c []float32, ldc int) {
		if k <= 0 {
			return
		}
		_ = a[k*12-1]
		_ = b[k*32-1]
		_ = c[11*ldc+31]
		kernel12x32(k, &a[0], &b[0], &c[0], ldc)
	}, runStrided: func(k int, a []float32, lda int, b, c []float32, ldc int) {
		if k <= 0 {
			return
		}
		_ = a[11*lda+k-1]
		_ = b[k*32-1]
		_ = c[11*ldc+31]
		kernel12x32s(k, &a[0], lda, &b[0], &c[0], ldc)
	}}
)

// bestKernel prefers AVX-512 (on CPUs with full-width 512-bit FMA units
// it doubles the throughput), then AVX2+FMA, then portable Go.
func bestKernel() microKernel {
	switch {
	case cpu.X86.HasAVX512F:
		return avx512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return avx2
	}
	return generic
}

// kernels lists every kernel this CPU can run, each assembly kernel also
// in its packed-A form (for tests and benchmarks).
func kernels() []microKernel {
	ks := []microKernel{generic}
	add := func(k microKernel) {
		packed := k
		packed.name += "-packed"
		packed.runStrided = nil
		ks = append(ks, k, packed)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		add(avx2)
	}
	if cpu.X86.HasAVX512F {
		add(avx512)
	}
	return ks
}
