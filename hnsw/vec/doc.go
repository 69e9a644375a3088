// Package vec provides the float32 vector kernels used on the hot path of
// the HNSW index (distance evaluation) and by the encoder (Axpy).
//
// # Dispatch
//
// On amd64 the kernels Dot, L2Squared and Axpy are implemented in Go
// assembly using AVX2 and FMA. CPU support is probed once at init with
// golang.org/x/sys/cpu (cpu.X86.HasAVX2 && cpu.X86.HasFMA; the cpu package
// also verifies that the OS saves YMM state). The result is stored in a
// package-level bool and each exported kernel is a small, inlinable wrapper
// that branches on it; there is no function-pointer indirection. On other
// architectures, or when built with the purego tag, or on CPUs lacking
// AVX2/FMA, the pure-Go versions (dotGeneric, l2Generic, axpyGeneric) are
// used. HasSIMD reports which path is active.
//
// # Kernels
//
// The assembly kernels consume 32 floats per iteration into four
// independent 8-lane YMM accumulators (VFMADD231PS), which hides the FMA
// latency, then an 8-wide loop for the remainder, then a scalar FMA tail.
// The four accumulators are summed and reduced horizontally before the tail
// is added; VZEROUPPER is executed before returning. Loads are unaligned
// (VMOVUPS), so arbitrary sub-slices are accepted. The generic versions are
// 4-way unrolled with four accumulators and written so the compiler can
// eliminate bounds checks.
//
// # Numerical contract
//
// Results are float32 sums whose association order depends on the path
// (SIMD lanes/accumulators vs. the generic unrolling) and on the length, and
// the SIMD path uses fused multiply-add. Results are therefore not
// bit-identical across paths or machines; they are deterministic for a given
// path and length. Callers may rely on
//
//	|got - exact| <= 1e-4 * (1 + sum_i |term_i|)
//
// for inputs of length up to a few thousand, where term_i is a[i]*b[i]
// (Dot), (a[i]-b[i])^2 (L2Squared) or alpha*x[i] (Axpy, per element), and
// exact is the real-number result. NaN and ±Inf inputs propagate according
// to IEEE-754 arithmetic. Norm and Normalize accumulate in float64, so they
// neither overflow nor underflow for any finite float32 input (Norm itself
// returns +Inf if the true norm exceeds the float32 range).
//
// Length mismatches between the two operands of Dot, L2Squared and Axpy
// panic. Axpy's x and y must not partially overlap.
package vec
