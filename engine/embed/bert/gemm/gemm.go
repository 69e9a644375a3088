package gemm

import "fmt"

// microKernel describes one register-tile kernel: run computes
// C[mr×nr] += A·B for an A micro-panel packed k-major (mr floats per k) and
// a B panel packed k-major (nr floats per k), C row-major with stride ldc.
type microKernel struct {
	name   string
	mr, nr int
	// kc is the K blocking: a B panel block of kc×nr floats should stay in
	// L1 while the kernel sweeps the micro-panels of an A block.
	kc  int
	run func(k int, a, b, c []float32, ldc int)
	// runStrided, when set, reads A in place (mr rows of stride lda)
	// instead of from a packed micro-panel.
	runStrided func(k int, a []float32, lda int, b, c []float32, ldc int)
}

// maxTile bounds mr*nr over all kernels (the edge buffer's size).
const maxTile = 12 * 32

// mc is the row blocking: an A block of mc rows × kc columns (packed)
// stays in L2 while every panel of B passes over it. A multiple of every
// kernel's mr.
const mc = 72

var generic = microKernel{name: "go-6x16", mr: 6, nr: 16, kc: 384, run: kernelGeneric}

// active is the kernel in use, chosen once at init (see kernel_*.go).
// Tests may switch it; PackedB values record the panel width they were
// packed for, and MulAdd refuses a mismatch.
var active = bestKernel()

// Kernel names the micro-kernel in use ("avx512-12x32", "avx2-6x16" or
// "go-6x16").
func Kernel() string { return active.name }

// PackedB is the right-hand operand, packed once into column panels of the
// active kernel's width nr: panel p holds columns [p*nr, p*nr+nr) as K rows
// of nr floats (zero-padded past N).
type PackedB struct {
	N, K int
	nr   int
	Data []float32
}

// PanelWidth returns the number of columns per panel.
func (b *PackedB) PanelWidth() int { return b.nr }

// Panels returns the number of column panels.
func (b *PackedB) Panels() int { return (b.N + b.nr - 1) / b.nr }

func (b *PackedB) resize(n, k int) {
	b.N, b.K, b.nr = n, k, active.nr
	need := b.Panels() * k * b.nr
	if cap(b.Data) < need {
		b.Data = make([]float32, need)
	}
	b.Data = b.Data[:need]
}

// PackNK packs a matrix W stored as n rows of k (row stride ldw), so that
// MulAdd computes A·Wᵀ. This is PyTorch's Linear layout [out, in].
func PackNK(dst *PackedB, w []float32, ldw, n, k int) {
	dst.resize(n, k)
	nr := dst.nr
	for p := 0; p < dst.Panels(); p++ {
		panel := dst.Data[p*k*nr : (p+1)*k*nr]
		for c := 0; c < nr; c++ {
			j := p*nr + c
			if j >= n {
				for kk := 0; kk < k; kk++ {
					panel[kk*nr+c] = 0
				}
				continue
			}
			row := w[j*ldw : j*ldw+k]
			for kk, v := range row {
				panel[kk*nr+c] = v
			}
		}
	}
}

// PackKN packs a matrix B stored as k rows of n (row stride ldb), so that
// MulAdd computes A·B.
func PackKN(dst *PackedB, b []float32, ldb, k, n int) {
	dst.resize(n, k)
	nr := dst.nr
	for p := 0; p < dst.Panels(); p++ {
		panel := dst.Data[p*k*nr : (p+1)*k*nr]
		j0 := p * nr
		w := min(nr, n-j0)
		for kk := 0; kk < k; kk++ {
			out := panel[kk*nr : kk*nr+nr]
			copy(out, b[kk*ldb+j0:kk*ldb+j0+w])
			clear(out[w:])
		}
	}
}

// Scratch holds per-goroutine packing buffers. The zero value is ready.
type Scratch struct {
	a    []float32
	edge [maxTile]float32
}

// MulAdd computes C[0:m, cols] += A[0:m, 0:K] · B[:, cols] for the columns
// of panels [p0, p1) of b (cols = [p0*w, min(p1*w, N)) with w =
// b.PanelWidth()). A is row-major with row stride lda; C with row stride
// ldc. It is single-threaded; callers parallelise over disjoint row or
// panel ranges.
func MulAdd(c []float32, ldc int, a []float32, lda int, m int, b *PackedB, p0, p1 int, s *Scratch) {
	kern := active
	k := b.K
	if m == 0 || k == 0 || p0 >= p1 {
		return
	}
	mr, nr := kern.mr, kern.nr
	if b.nr != nr {
		panic(fmt.Sprintf("gemm: B packed for panel width %d, kernel %s needs %d", b.nr, kern.name, nr))
	}
	_ = c[(m-1)*ldc+min(p1*nr, b.N)-1]
	_ = a[(m-1)*lda+k-1]
	if kern.runStrided != nil {
		mulAddStrided(kern, c, ldc, a, lda, m, b, p0, p1, s)
		return
	}
	for k0 := 0; k0 < k; k0 += kern.kc {
		kb := min(kern.kc, k-k0)
		for i0 := 0; i0 < m; i0 += mc {
			mb := min(mc, m-i0)
			ap := s.packA(a[i0*lda+k0:], lda, mb, kb, mr)
			for p := p0; p < p1; p++ {
				bp := b.Data[p*k*nr+k0*nr : p*k*nr+(k0+kb)*nr]
				j0 := p * nr
				nw := min(nr, b.N-j0)
				for i := 0; i < mb; i += mr {
					rows := min(mr, mb-i)
					apan := ap[i*kb : i*kb+mr*kb]
					ci := (i0+i)*ldc + j0
					if rows == mr && nw == nr {
						kern.run(kb, apan, bp, c[ci:], ldc)
						continue
					}
					s.edgeTile(kern, kb, apan, bp, c[ci:], ldc, rows, nw)
				}
			}
		}
	}
}

// edgeTile runs the kernel into the zeroed edge buffer and adds its first
// rows × nw values to C.
func (s *Scratch) edgeTile(kern microKernel, kb int, apan, bp, c []float32, ldc, rows, nw int) {
	nr := kern.nr
	e := s.edge[:kern.mr*nr]
	clear(e)
	kern.run(kb, apan, bp, e, nr)
	for r := 0; r < rows; r++ {
		cr := c[r*ldc : r*ldc+nw]
		for j := range cr {
			cr[j] += e[r*nr+j]
		}
	}
}

// mulAddStrided is MulAdd for kernels that read A in place; only the last
// rows (fewer than mr) are packed.
func mulAddStrided(kern microKernel, c []float32, ldc int, a []float32, lda int, m int, b *PackedB, p0, p1 int, s *Scratch) {
	k, mr, nr := b.K, kern.mr, kern.nr
	full := m / mr * mr
	for k0 := 0; k0 < k; k0 += kern.kc {
		kb := min(kern.kc, k-k0)
		var tail []float32
		if full < m {
			tail = s.packA(a[full*lda+k0:], lda, m-full, kb, mr)
		}
		for i0 := 0; i0 < m; i0 += mc {
			mb := min(mc, m-i0)
			for p := p0; p < p1; p++ {
				bp := b.Data[p*k*nr+k0*nr : p*k*nr+(k0+kb)*nr]
				j0 := p * nr
				nw := min(nr, b.N-j0)
				for i := i0; i < i0+mb; i += mr {
					ci := i*ldc + j0
					if i >= full {
						s.edgeTile(kern, kb, tail, bp, c[ci:], ldc, m-i, nw)
						continue
					}
					if nw == nr {
						kern.runStrided(kb, a[i*lda+k0:], lda, bp, c[ci:], ldc)
						continue
					}
					e := s.edge[:mr*nr]
					clear(e)
					kern.runStrided(kb, a[i*lda+k0:], lda, bp, e, nr)
					for r := 0; r < mr; r++ {
						cr := c[ci+r*ldc : ci+r*ldc+nw]
						for j := range cr {
							cr[j] += e[r*nr+j]
						}
					}
				}
			}
		}
	}
}

// packA packs rows [0, mb) × cols [0, kb) of a (row stride lda) into
// micro-panels of mr rows, k-major, zero-padding the last panel. Writes are
// sequential; the mr source rows are read side by side.
func (s *Scratch) packA(a []float32, lda, mb, kb, mr int) []float32 {
	panels := (mb + mr - 1) / mr
	need := panels * mr * kb
	if cap(s.a) < need {
		s.a = make([]float32, need)
	}
	out := s.a[:need]
	for p := 0; p < panels; p++ {
		dst := out[p*mr*kb : (p+1)*mr*kb]
		i0 := p * mr
		rows := min(mr, mb-i0)
		if rows < mr {
			clear(dst)
		}
		// Six rows at a time; equal lengths let the compiler drop the
		// bounds checks.
		r := 0
		for ; r+6 <= rows; r += 6 {
			r0 := a[(i0+r)*lda : (i0+r)*lda+kb]
			r1 := a[(i0+r+1)*lda : (i0+r+1)*lda+kb][:len(r0)]
			r2 := a[(i0+r+2)*lda : (i0+r+2)*lda+kb][:len(r0)]
			r3 := a[(i0+r+3)*lda : (i0+r+3)*lda+kb][:len(r0)]
			r4 := a[(i0+r+4)*lda : (i0+r+4)*lda+kb][:len(r0)]
			r5 := a[(i0+r+5)*lda : (i0+r+5)*lda+kb][:len(r0)]
			d := dst[r:]
			for kk := range r0 {
				o := d[kk*mr : kk*mr+6 : kk*mr+6]
				o[0], o[1], o[2], o[3], o[4], o[5] = r0[kk], r1[kk], r2[kk], r3[kk], r4[kk], r5[kk]
			}
		}
		for ; r < rows; r++ {
			row := a[(i0+r)*lda : (i0+r)*lda+kb]
			for kk, v := range row {
				dst[kk*mr+r] = v
			}
		}
	}
	return out
}

// kernelGeneric is the portable 6×16 micro-kernel: C[6×16] += A·B.
func kernelGeneric(k int, a, b, c []float32, ldc int) {
	const mr, nr = 6, 16
	var acc [mr][nr]float32
	for kk := 0; kk < k; kk++ {
		bk := b[kk*nr : kk*nr+nr]
		ak := a[kk*mr : kk*mr+mr]
		for r := 0; r < mr; r++ {
			ar := ak[r]
			row := &acc[r]
			for j := 0; j < nr; j++ {
				row[j] += ar * bk[j]
			}
		}
	}
	for r := 0; r < mr; r++ {
		cr := c[r*ldc : r*ldc+nr]
		for j := range cr {
			cr[j] += acc[r][j]
		}
	}
}
