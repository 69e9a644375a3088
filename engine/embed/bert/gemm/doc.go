// Package gemm is a small blocked float32 matrix multiply for the BERT
// encoder: C += A·B where B (the weights) is packed once.
//
// # Layout
//
// The scheme is BLIS/GotoBLAS-like. B is packed into column panels as wide
// as the micro-kernel's register tile (PackNK for PyTorch's [out, in]
// Linear weights, PackKN for a plain k×n matrix); a PackedB remembers the
// width and MulAdd panics on a mismatch (a bug). MulAdd walks K in blocks
// of kc, rows of A in blocks of mc=72 and, for every B panel block (kc×nr
// floats, kept in L1), runs the micro-kernel over the A block's row groups.
//
// # Micro-kernels (chosen once at init)
//
//   - avx512-12x32 (AVX-512F): the 12×32 C tile lives in 24 ZMM
//     accumulators; per k it loads two B vectors and issues 24 FMAs whose
//     A operand is an embedded broadcast straight from memory. kc=192.
//   - avx2-6x16 (AVX2+FMA): 6×16 tile in 12 YMM accumulators, two B loads
//     and six broadcasts per k, unrolled by 4. kc=384.
//   - go-6x16: portable Go, with the purego tag or on other CPUs.
//
// The assembly kernels read A in place (row stride lda, one broadcast per
// row per k), so A is never copied except for a ragged last group of rows,
// which is packed k-major into a zero-padded buffer (the same packed form
// the "-packed" kernel variants, kept for tests and benchmarks, use for
// every row group). Tiles cut by the edge of N go through a zeroed mr×nr
// buffer. On the Zen 5 machines here the AVX-512 kernel runs at ~200
// GFLOP/s per core (BenchmarkMulAdd), the AVX2 one at ~115.
//
// MulAdd is single-threaded; callers split rows or panels across
// goroutines, each with its own Scratch.
//
// Key types: PackedB, Scratch; functions PackNK, PackKN, MulAdd, Kernel.
package gemm
