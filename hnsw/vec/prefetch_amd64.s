//go:build amd64 && !purego

#include "textflag.h"

// func prefetchSIMD(p *float32)
// Asks for the first four cache lines (256 bytes) at p; the hardware
// prefetcher follows the rest of a vector once its start is being read.
TEXT ·prefetchSIMD(SB), NOSPLIT, $0-8
	MOVQ       p+0(FP), AX
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	PREFETCHT0 192(AX)
	RET
