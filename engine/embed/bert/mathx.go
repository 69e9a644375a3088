package bert

import (
	"math"

	"github.com/lakevec/lakevec/hnsw/vec"
)

// layerNorm normalises x in place: (x-mean)/sqrt(var+eps)*g + b, with the
// biased variance, as torch.nn.LayerNorm (two passes: mean, then the
// variance of the centred values). ones is a slice of 1s at least as long
// as x (the sum is a dot product with it, using the SIMD kernel).
func layerNorm(x, g, b, ones []float32, eps float32) {
	n := len(x)
	g, b, ones = g[:n], b[:n], ones[:n]
	mean := vec.Dot(x, ones) / float32(n)
	for i := range x {
		x[i] -= mean
	}
	inv := float32(1 / math.Sqrt(float64(vec.Dot(x, x)/float32(n))+float64(eps)))
	for i, v := range x {
		x[i] = v*inv*g[i] + b[i]
	}
}

// softmaxScaled replaces s with softmax(s*scale) (scale > 0).
func softmaxScaled(s []float32, scale float32) {
	if len(s) == 0 {
		return
	}
	mx := float32(math.Inf(-1))
	head := 0
	if useAVX2 && len(s) >= 8 {
		head = len(s) &^ 7
		mx = max8(s[:head])
	}
	for _, v := range s[head:] {
		mx = max(mx, v)
	}
	var sum float32
	if head > 0 {
		sum = expShiftSum8(s[:head], mx, scale)
	}
	for i := head; i < len(s); i++ {
		e := expf((s[i] - mx) * scale)
		s[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range s {
		s[i] *= inv
	}
}

// expf is exp for float32 with ~1 ulp error: x = n·ln2 + r, |r| <= ln2/2,
// exp(r) by its degree-6 Taylor polynomial, times 2^n.
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375 // exact in float32, Cody–Waite split of ln 2
		ln2lo = -2.12194440e-4
	)
	if x < -87.33654 {
		return 0
	}
	if x > 88 { // 2^n would overflow the exponent field
		return float32(math.Exp(float64(x)))
	}
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// activation returns the in-place activation function for hidden_act.
func activation(name string) func([]float32) {
	switch name {
	case "relu":
		return func(x []float32) {
			for i, v := range x {
				x[i] = max(v, 0)
			}
		}
	case "gelu_new", "gelu_pytorch_tanh":
		return func(x []float32) {
			const c = 0.7978845608028654 // sqrt(2/pi)
			for i, v := range x {
				u := float64(v)
				x[i] = float32(0.5 * u * (1 + math.Tanh(c*(u+0.044715*u*u*u))))
			}
		}
	default: // "gelu": the exact erf form
		return geluErf
	}
}

// geluErf computes x·Φ(x) = 0.5·x·(1+erf(x/√2)) in place.
func geluErf(x []float32) {
	head := 0
	if useAVX2 {
		head = len(x) &^ 7
		geluErf8(x[:head])
	}
	for i := head; i < len(x); i++ {
		v := x[i]
		h := 0.5 * v
		x[i] = h + h*erf32(v*math.Sqrt2/2)
	}
}

// erf32 approximates erf for float32: z·P(z²)/Q(z²) with z clamped to
// [-4, 4] (erf(4) rounds to 1 in float32). P has degree 6 and Q degree 5,
// fitted by iteratively reweighted least squares on [0, 4]: max error
// 1.1e-8 in exact arithmetic, 3.2e-7 evaluated in float32. mathx_amd64.s
// uses the same coefficients.
func erf32(z float32) float32 {
	z = min(max(z, -4), 4)
	t := z * z
	p := float32(-1.2140017879858078e-08)
	p = p*t + 4.475081823329674e-06
	p = p*t + 0.0003718957013916224
	p = p*t + 0.003835385898128152
	p = p*t + 0.05416740104556084
	p = p*t + 0.18543681502342224
	p = p*t + 1.128379225730896
	q := float32(6.111685070209205e-05)
	q = q*t + 0.0012942459434270859
	q = q*t + 0.015407216735184193
	q = q*t + 0.11389511823654175
	q = q*t + 0.4976724684238434
	q = q*t + 1
	return z * p / q
}
