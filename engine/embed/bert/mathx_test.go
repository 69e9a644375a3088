package bert

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestErf32(t *testing.T) {
	var worst float64
	for x := -6.0; x <= 6; x += 1e-4 {
		got := float64(erf32(float32(x)))
		worst = max(worst, math.Abs(got-math.Erf(float64(float32(x)))))
	}
	if worst > 5e-7 {
		t.Fatalf("erf32 max error %g", worst)
	}
}

func TestGeluErf(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 1536} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 4)
		}
		want := make([]float64, n)
		for i, v := range x {
			u := float64(v)
			want[i] = 0.5 * u * (1 + math.Erf(u/math.Sqrt2))
		}
		geluErf(x)
		for i := range x {
			if d := math.Abs(float64(x[i]) - want[i]); d > 1e-6*(1+math.Abs(want[i])) {
				t.Fatalf("n=%d: gelu[%d] = %v want %v", n, i, x[i], want[i])
			}
		}
	}
}

func TestSoftmaxScaled(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 7, 8, 9, 16, 17, 128, 131} {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(r.NormFloat64() * 30)
		}
		if n > 3 {
			s[2] = -1e30 // underflows to exactly 0
		}
		const scale = 0.17677669
		want := make([]float64, n)
		mx := math.Inf(-1)
		for _, v := range s {
			mx = max(mx, float64(v))
		}
		var sum float64
		for i, v := range s {
			want[i] = math.Exp((float64(v) - mx) * scale)
			sum += want[i]
		}
		softmaxScaled(s, scale)
		for i := range s {
			if d := math.Abs(float64(s[i]) - want[i]/sum); d > 1e-6 {
				t.Fatalf("n=%d: p[%d] = %v want %v", n, i, s[i], want[i]/sum)
			}
		}
		if n > 3 && s[2] != 0 {
			t.Fatalf("underflow gave %v", s[2])
		}
	}
}

func TestExpf(t *testing.T) {
	for x := -87.0; x <= 88; x += 0.001 {
		got, want := float64(expf(float32(x))), math.Exp(float64(float32(x)))
		if math.Abs(got-want) > 3e-7*want {
			t.Fatalf("expf(%v) = %v want %v", x, got, want)
		}
	}
	if expf(-100) != 0 {
		t.Fatal("expf(-100) != 0")
	}
}
