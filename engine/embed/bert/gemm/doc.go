// Package gemm is a small blocked float32 matrix multiply for the BERT
// encoder: C += A·B where B (weights) is packed once.
//
// Layout follows the BLIS/GotoBLAS scheme. B is packed into NR=16-column
// panels (PackNK for PyTorch's [out, in] Linear weights, PackKN for a plain
// k×n matrix). MulAdd walks K in blocks of kc=384 and rows of A in blocks of
// mc=72, packing each A block into MR=6-row micro-panels that stay in L2;
// each B panel block (kc×16 floats, 24 KiB) stays in L1 while the 6×16
// micro-kernel runs over every micro-panel of the A block. The micro-kernel
// (kernel_amd64.s, AVX2+FMA) keeps the 6×16 C tile in 12 YMM accumulators:
// per k it loads two B vectors, broadcasts six A values and issues 12 FMAs,
// unrolled by 4. Edge tiles (m % 6, n % 16) go through a zeroed 6×16
// buffer. Without AVX2/FMA (or with the purego tag) a portable Go kernel is
// used.
//
// MulAdd is single-threaded; callers split rows or panels across
// goroutines, each with its own Scratch.
//
// Key types: PackedB, Scratch; functions PackNK, PackKN, MulAdd.
package gemm
