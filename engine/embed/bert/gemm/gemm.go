package gemm

// Register tile of the micro-kernel.
const (
	MR = 6  // rows of A / C per micro-kernel call
	NR = 16 // columns of B / C per micro-kernel call
)

// Cache blocking. A block of mc×kc floats of A (packed, 108 KiB) stays in
// L2 while every NR-wide panel of B (kc×NR floats, 24 KiB at kc=384)
// streams through L1.
const (
	kc = 384
	mc = 72 // a multiple of MR
)

// PackedB is the right-hand operand, packed once into NR-column panels:
// panel p holds columns [p*NR, p*NR+NR) as K rows of NR floats (zero-padded
// past N).
type PackedB struct {
	N, K int
	Data []float32
}

// Panels returns the number of NR-wide column panels.
func (b *PackedB) Panels() int { return (b.N + NR - 1) / NR }

func (b *PackedB) resize(n, k int) {
	b.N, b.K = n, k
	need := b.Panels() * k * NR
	if cap(b.Data) < need {
		b.Data = make([]float32, need)
	}
	b.Data = b.Data[:need]
}

// PackNK packs a matrix W stored as n rows of k (row stride ldw), so that
// MulAdd computes A·Wᵀ. This is PyTorch's Linear layout [out, in].
func PackNK(dst *PackedB, w []float32, ldw, n, k int) {
	dst.resize(n, k)
	for p := 0; p < dst.Panels(); p++ {
		panel := dst.Data[p*k*NR : (p+1)*k*NR]
		for c := 0; c < NR; c++ {
			j := p*NR + c
			if j >= n {
				for kk := 0; kk < k; kk++ {
					panel[kk*NR+c] = 0
				}
				continue
			}
			row := w[j*ldw : j*ldw+k]
			for kk, v := range row {
				panel[kk*NR+c] = v
			}
		}
	}
}

// PackKN packs a matrix B stored as k rows of n (row stride ldb), so that
// MulAdd computes A·B.
func PackKN(dst *PackedB, b []float32, ldb, k, n int) {
	dst.resize(n, k)
	for p := 0; p < dst.Panels(); p++ {
		panel := dst.Data[p*k*NR : (p+1)*k*NR]
		j0 := p * NR
		w := min(NR, n-j0)
		for kk := 0; kk < k; kk++ {
			out := panel[kk*NR : kk*NR+NR]
			copy(out, b[kk*ldb+j0:kk*ldb+j0+w])
			for c := w; c < NR; c++ {
				out[c] = 0
			}
		}
	}
}

// Scratch holds per-goroutine packing buffers. The zero value is ready.
type Scratch struct {
	a    []float32
	edge [MR * NR]float32
}

// MulAdd computes C[0:m, cols] += A[0:m, 0:K] · B[:, cols] for the columns
// of panels [p0, p1) of b (cols = [p0*NR, min(p1*NR, N))). A is row-major
// with row stride lda; C with row stride ldc. It is single-threaded;
// callers parallelise over disjoint row or panel ranges.
func MulAdd(c []float32, ldc int, a []float32, lda int, m int, b *PackedB, p0, p1 int, s *Scratch) {
	k := b.K
	if m == 0 || k == 0 || p0 >= p1 {
		return
	}
	_ = c[(m-1)*ldc+min(p1*NR, b.N)-1]
	_ = a[(m-1)*lda+k-1]
	for k0 := 0; k0 < k; k0 += kc {
		kb := min(kc, k-k0)
		for i0 := 0; i0 < m; i0 += mc {
			mb := min(mc, m-i0)
			ap := s.packA(a[i0*lda+k0:], lda, mb, kb)
			for p := p0; p < p1; p++ {
				bp := b.Data[p*k*NR+k0*NR : p*k*NR+(k0+kb)*NR]
				j0 := p * NR
				nw := min(NR, b.N-j0)
				for i := 0; i < mb; i += MR {
					rows := min(MR, mb-i)
					apan := ap[i*kb : i*kb+MR*kb]
					ci := (i0+i)*ldc + j0
					if rows == MR && nw == NR {
						kernel(kb, apan, bp, c[ci:], ldc)
						continue
					}
					e := &s.edge
					*e = [MR * NR]float32{}
					kernel(kb, apan, bp, e[:], NR)
					for r := 0; r < rows; r++ {
						cr := c[ci+r*ldc : ci+r*ldc+nw]
						for j := range cr {
							cr[j] += e[r*NR+j]
						}
					}
				}
			}
		}
	}
}

// packA packs rows [0, mb) × cols [0, kb) of a (row stride lda) into
// micro-panels of MR rows, k-major, zero-padding the last panel. The
// writes are sequential; the MR source rows are read side by side.
func (s *Scratch) packA(a []float32, lda, mb, kb int) []float32 {
	panels := (mb + MR - 1) / MR
	need := panels * MR * kb
	if cap(s.a) < need {
		s.a = make([]float32, need)
	}
	out := s.a[:need]
	for p := 0; p < panels; p++ {
		dst := out[p*MR*kb : (p+1)*MR*kb]
		i0 := p * MR
		if i0+MR <= mb {
			r0 := a[i0*lda : i0*lda+kb]
			r1 := a[(i0+1)*lda : (i0+1)*lda+kb]
			r2 := a[(i0+2)*lda : (i0+2)*lda+kb]
			r3 := a[(i0+3)*lda : (i0+3)*lda+kb]
			r4 := a[(i0+4)*lda : (i0+4)*lda+kb]
			r5 := a[(i0+5)*lda : (i0+5)*lda+kb]
			// Equal lengths let the compiler drop the bounds checks.
			r1, r2, r3, r4, r5 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)], r4[:len(r0)], r5[:len(r0)]
			dst = dst[:len(r0)*MR]
			for kk := range r0 {
				d := dst[kk*MR : kk*MR+MR : kk*MR+MR]
				d[0], d[1], d[2], d[3], d[4], d[5] = r0[kk], r1[kk], r2[kk], r3[kk], r4[kk], r5[kk]
			}
			continue
		}
		clear(dst)
		for r := 0; r < mb-i0; r++ {
			row := a[(i0+r)*lda : (i0+r)*lda+kb]
			for kk, v := range row {
				dst[kk*MR+r] = v
			}
		}
	}
	return out
}

// kernelGeneric is the portable micro-kernel: C[MR×NR] += A·B.
func kernelGeneric(k int, a, b, c []float32, ldc int) {
	var acc [MR][NR]float32
	for kk := 0; kk < k; kk++ {
		bk := b[kk*NR : kk*NR+NR]
		ak := a[kk*MR : kk*MR+MR]
		for r := 0; r < MR; r++ {
			ar := ak[r]
			row := &acc[r]
			for j := 0; j < NR; j++ {
				row[j] += ar * bk[j]
			}
		}
	}
	for r := 0; r < MR; r++ {
		cr := c[r*ldc : r*ldc+NR]
		for j := range cr {
			cr[j] += acc[r][j]
		}
	}
}
