package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

func naive(c []float32, ldc int, a []float32, lda int, w []float32, m, n, k int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for kk := 0; kk < k; kk++ {
				s += float64(a[i*lda+kk]) * float64(w[j*k+kk])
			}
			c[i*ldc+j] += float32(s)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// withKernel runs f with each kernel this CPU supports.
func withKernel(t *testing.T, f func(t *testing.T)) {
	saved := active
	defer func() { active = saved }()
	for _, k := range kernels() {
		active = k
		t.Run(k.name, f)
	}
}

func TestMulAdd(t *testing.T) {
	withKernel(t, func(t *testing.T) {
		const seed = 7
		t.Logf("seed %d", seed)
		r := rand.New(rand.NewPCG(seed, 0))
		for _, sh := range [][3]int{{1, 1, 1}, {6, 16, 4}, {7, 17, 5}, {12, 32, 3}, {13, 40, 383}, {100, 48, 385},
			{73, 33, 800}, {5, 16, 1536}, {128, 128, 32}, {25, 70, 192}} {
			m, n, k := sh[0], sh[1], sh[2]
			lda, ldc := k+3, n+5
			a := randSlice(r, m*lda)
			w := randSlice(r, n*k)
			c := randSlice(r, m*ldc)
			want := append([]float32(nil), c...)
			naive(want, ldc, a, lda, w, m, n, k)
			var pb PackedB
			PackNK(&pb, w, k, n, k)
			var s Scratch
			// two halves of the panels, as a parallel caller would
			half := pb.Panels() / 2
			MulAdd(c, ldc, a, lda, m, &pb, 0, half, &s)
			MulAdd(c, ldc, a, lda, m, &pb, half, pb.Panels(), &s)
			for i := 0; i < m; i++ {
				for j := 0; j < ldc; j++ {
					got, exp := c[i*ldc+j], want[i*ldc+j]
					if math.Abs(float64(got-exp)) > 1e-4*math.Sqrt(float64(k)) {
						t.Fatalf("%v: C[%d,%d] = %v want %v", sh, i, j, got, exp)
					}
				}
			}
			// PackKN of Wᵀ gives the same packing.
			wt := make([]float32, k*n)
			for j := 0; j < n; j++ {
				for kk := 0; kk < k; kk++ {
					wt[kk*n+j] = w[j*k+kk]
				}
			}
			var pk PackedB
			PackKN(&pk, wt, n, k, n)
			for i := range pb.Data {
				if pb.Data[i] != pk.Data[i] {
					t.Fatalf("%v: PackKN differs from PackNK at %d", sh, i)
				}
			}
		}
	})
}

func TestPanelWidthMismatch(t *testing.T) {
	ks := kernels()
	if len(ks) < 2 || ks[0].nr == ks[len(ks)-1].nr {
		t.Skip("only one panel width on this CPU")
	}
	saved := active
	defer func() { active = saved }()
	active = ks[len(ks)-1]
	var pb PackedB
	PackNK(&pb, make([]float32, 64*8), 8, 64, 8)
	active = ks[0]
	defer func() {
		if recover() == nil {
			t.Fatal("no panic on a panel width mismatch")
		}
	}()
	MulAdd(make([]float32, 64), 64, make([]float32, 8), 8, 1, &pb, 0, pb.Panels(), &Scratch{})
}

// BenchmarkMulAdd: the FFN input product of 512 tokens, per kernel.
func BenchmarkMulAdd(b *testing.B) {
	saved := active
	defer func() { active = saved }()
	for _, kern := range kernels() {
		active = kern
		b.Run(kern.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			m, n, k := 512, 1536, 384
			a, w, c := randSlice(r, m*k), randSlice(r, n*k), make([]float32, m*n)
			var pb PackedB
			PackNK(&pb, w, k, n, k)
			var s Scratch
			b.ResetTimer()
			for b.Loop() {
				MulAdd(c, n, a, k, m, &pb, 0, pb.Panels(), &s)
			}
			b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
