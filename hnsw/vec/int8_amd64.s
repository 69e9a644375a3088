//go:build amd64 && !purego

#include "textflag.h"

// func dotInt8SIMD(a, b *int8, n int) int32
// Requires AVX2, n > 0 and n a multiple of 32. Each 16 bytes are sign
// extended to 16 int16 lanes (VPMOVSXBW), multiplied and pair-summed into
// 8 int32 lanes (VPMADDWD): exact, no saturation. Two accumulators.
TEXT ·dotInt8SIMD(SB), NOSPLIT, $0-28
	MOVQ    a+0(FP), SI
	MOVQ    b+8(FP), DI
	MOVQ    n+16(FP), CX
	VPXOR   Y0, Y0, Y0
	VPXOR   Y1, Y1, Y1

loop32:
	VPMOVSXBW (SI), Y2
	VPMOVSXBW (DI), Y3
	VPMADDWD  Y3, Y2, Y2
	VPADDD    Y2, Y0, Y0
	VPMOVSXBW 16(SI), Y4
	VPMOVSXBW 16(DI), Y5
	VPMADDWD  Y5, Y4, Y4
	VPADDD    Y4, Y1, Y1
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $32, CX
	JNE       loop32

	VPADDD       Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0x4E, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xB1, X0, X1
	VPADDD       X1, X0, X0
	VMOVD        X0, AX
	VZEROUPPER
	MOVL         AX, ret+24(FP)
	RET

// func prefetchLinesSIMD(p unsafe.Pointer, lines int)
// PREFETCHT0 on each of lines consecutive 64-byte lines from p (lines > 0).
TEXT ·prefetchLinesSIMD(SB), NOSPLIT, $0-16
	MOVQ       p+0(FP), AX
	MOVQ       lines+8(FP), CX

ploop:
	PREFETCHT0 (AX)
	ADDQ       $64, AX
	DECQ       CX
	JNE        ploop
	RET
