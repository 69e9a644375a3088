package bert

import (
	"context"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/lakevec/lakevec/engine/embed/bert/gemm"
	"github.com/lakevec/lakevec/hnsw/vec"
)

// rowBlock is the number of token rows one task of a row-parallel matrix
// product handles (a multiple of the kernels' row tiles, 6 and 12).
const rowBlock = 48

// parallelFor runs fn(w, i) for i in [0, n) on up to workers goroutines; w
// identifies the goroutine (for per-goroutine scratch).
func parallelFor(workers, n int, fn func(w, i int)) {
	if n <= 0 {
		return
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
}

// workspace holds the activations of one batch and per-goroutine scratch.
// It is reused across batches (Encoder keeps a pool).
type workspace struct {
	x, tmp, qkv, ctx, inter []float32
	scratch                 []workerScratch
}

type workerScratch struct {
	g      gemm.Scratch
	kp, vp gemm.PackedB
	scores []float32
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// linear computes dst[m×N] = src[m×K]·Wᵀ + bias, then post(r0, r1) on each
// finished block of rows. Large m is split by rows; small m by column
// panels (post then runs once per row block afterwards).
func (ws *workspace) linear(workers int, dst []float32, src []float32, m int, w *gemm.PackedB, bias []float32, post func(r0, r1 int)) {
	n, k := w.N, w.K
	fill := func(r0, r1, c0, c1 int) {
		for r := r0; r < r1; r++ {
			copy(dst[r*n+c0:r*n+c1], bias[c0:c1])
		}
	}
	blocks := (m + rowBlock - 1) / rowBlock
	if blocks >= 2*workers || workers == 1 {
		parallelFor(workers, blocks, func(wi, b int) {
			r0, r1 := b*rowBlock, min(m, (b+1)*rowBlock)
			fill(r0, r1, 0, n)
			gemm.MulAdd(dst[r0*n:], n, src[r0*k:], k, r1-r0, w, 0, w.Panels(), &ws.scratch[wi].g)
			if post != nil {
				post(r0, r1)
			}
		})
		return
	}
	// Few rows (short queries): split the output columns instead.
	panels := w.Panels()
	chunk := max(1, (panels+2*workers-1)/(2*workers))
	tasks := (panels + chunk - 1) / chunk
	parallelFor(workers, tasks, func(wi, t int) {
		p0, p1 := t*chunk, min(panels, (t+1)*chunk)
		fill(0, m, p0*w.PanelWidth(), min(n, p1*w.PanelWidth()))
		gemm.MulAdd(dst, n, src, k, m, w, p0, p1, &ws.scratch[wi].g)
	})
	if post != nil {
		parallelFor(workers, blocks, func(_, b int) { post(b*rowBlock, min(m, (b+1)*rowBlock)) })
	}
}

// forward runs the encoder over a batch of token id sequences and returns
// one pooled, L2-normalised vector per sequence. Sequences are packed
// without padding: each attends only to its own tokens, which is exactly
// what BERT computes for the unpadded part of a padded batch with an
// attention mask (masked scores get exp(-inf) = 0), and pooling only ever
// sees real tokens.
func (m *model) forward(ctx context.Context, ws *workspace, workers int, seqs [][]int) ([][]float32, error) {
	cfg := &m.cfg
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	nh := cfg.NumAttentionHeads
	dh := H / nh
	eps := float32(cfg.LayerNormEps)
	offs := make([]int, len(seqs)+1)
	for i, s := range seqs {
		offs[i+1] = offs[i] + len(s)
	}
	T := offs[len(seqs)]
	if len(ws.scratch) < workers {
		ws.scratch = make([]workerScratch, workers)
	}
	ws.x = grow(ws.x, T*H)
	ws.tmp = grow(ws.tmp, T*H)
	ws.qkv = grow(ws.qkv, T*3*H)
	ws.ctx = grow(ws.ctx, T*H)
	ws.inter = grow(ws.inter, T*I)
	x, tmp, qkv, ctxm, inter := ws.x, ws.tmp, ws.qkv, ws.ctx, ws.inter

	// Embeddings: word + position + token type 0, then LayerNorm.
	parallelFor(workers, len(seqs), func(_, si int) {
		for p, id := range seqs[si] {
			row := x[(offs[si]+p)*H : (offs[si]+p+1)*H]
			we := m.wordEmb[id*H : (id+1)*H]
			pe := m.posEmb[p*H : (p+1)*H]
			te := m.typeEmb[:H]
			for j := range row {
				row[j] = we[j] + pe[j] + te[j]
			}
			layerNorm(row, m.embLNG, m.embLNB, m.ones, eps)
		}
	})

	scale := float32(1 / math.Sqrt(float64(dh)))
	act := activation(cfg.HiddenAct)
	for li := range m.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := &m.layers[li]
		ws.linear(workers, qkv, x, T, &l.qkv, l.qkvB, nil)

		// Self-attention, one task per (sequence, head).
		parallelFor(workers, len(seqs)*nh, func(wi, task int) {
			si, h := task/nh, task%nh
			L := offs[si+1] - offs[si]
			base := offs[si] * 3 * H
			sc := &ws.scratch[wi]
			q := qkv[base+h*dh:]
			gemm.PackNK(&sc.kp, qkv[base+H+h*dh:], 3*H, L, dh)
			gemm.PackKN(&sc.vp, qkv[base+2*H+h*dh:], 3*H, L, dh)
			sc.scores = grow(sc.scores, L*L)
			s := sc.scores
			clear(s)
			gemm.MulAdd(s, L, q, 3*H, L, &sc.kp, 0, sc.kp.Panels(), &sc.g)
			for r := 0; r < L; r++ {
				softmaxScaled(s[r*L:(r+1)*L], scale)
			}
			out := ctxm[offs[si]*H+h*dh:]
			for r := 0; r < L; r++ {
				clear(out[r*H : r*H+dh])
			}
			gemm.MulAdd(out, H, s, L, L, &sc.vp, 0, sc.vp.Panels(), &sc.g)
		})

		// Attention output projection, residual, LayerNorm.
		ws.linear(workers, tmp, ctxm, T, &l.attnOut, l.attnOutB, func(r0, r1 int) {
			for r := r0; r < r1; r++ {
				xr := x[r*H : (r+1)*H]
				vec.Axpy(1, tmp[r*H:(r+1)*H], xr)
				layerNorm(xr, l.ln1G, l.ln1B, m.ones, eps)
			}
		})
		// Feed-forward: activation(x·W1ᵀ+b1)·W2ᵀ+b2, residual, LayerNorm.
		ws.linear(workers, inter, x, T, &l.inter, l.interB, func(r0, r1 int) {
			act(inter[r0*I : r1*I])
		})
		ws.linear(workers, tmp, inter, T, &l.out, l.outB, func(r0, r1 int) {
			for r := r0; r < r1; r++ {
				xr := x[r*H : (r+1)*H]
				vec.Axpy(1, tmp[r*H:(r+1)*H], xr)
				layerNorm(xr, l.ln2G, l.ln2B, m.ones, eps)
			}
		})
	}

	out := make([][]float32, len(seqs))
	flat := make([]float32, len(seqs)*H)
	for si := range seqs {
		v := flat[si*H : (si+1)*H : (si+1)*H]
		m.pool(v, x[offs[si]*H:offs[si+1]*H])
		vec.Normalize(v)
		out[si] = v
	}
	return out, nil
}

// pool reduces the token rows of one sequence (all real tokens) to v.
func (m *model) pool(v, rows []float32) {
	H := len(v)
	n := len(rows) / H
	switch m.pooling {
	case "cls":
		copy(v, rows[:H])
	case "max":
		copy(v, rows[:H])
		for t := 1; t < n; t++ {
			for j, a := range rows[t*H : (t+1)*H] {
				v[j] = max(v[j], a)
			}
		}
	default: // mean
		acc := make([]float64, H)
		for t := 0; t < n; t++ {
			for j, a := range rows[t*H : (t+1)*H] {
				acc[j] += float64(a)
			}
		}
		for j := range v {
			v[j] = float32(acc[j] / float64(n))
		}
	}
}

func workersDefault() int { return runtime.GOMAXPROCS(0) }
