package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
)

// Result is one measured (system, ef) point. Its JSON form is the output
// contract of `lakevec bench ann`: exactly these keys, in this order.
type Result struct {
	System         string  `json:"system"`
	Ef             int     `json:"ef"`
	RecallAt10     float64 `json:"recall_at_10"`
	QPS            float64 `json:"qps"` // single thread, calls / summed call time
	P50ms          float64 `json:"p50_ms"`
	P99ms          float64 `json:"p99_ms"`
	BuildS         float64 `json:"build_s"`
	Threads        int     `json:"threads"` // build threads
	N              int     `json:"n"`       // vectors indexed
	Dim            int     `json:"dim"`
	BytesPerVector float64 `json:"bytes_per_vector"`
}

// ResultKeys are the JSON keys of a Result, in order.
var ResultKeys = []string{"system", "ef", "recall_at_10", "qps", "p50_ms", "p99_ms", "build_s", "threads", "n", "dim", "bytes_per_vector"}

// rounded keeps the digits that mean something.
func (r Result) rounded() Result {
	round := func(x float64, digits int) float64 {
		p := math.Pow(10, float64(digits))
		return math.Round(x*p) / p
	}
	r.RecallAt10 = round(r.RecallAt10, 4)
	r.QPS = round(r.QPS, 1)
	r.P50ms = round(r.P50ms, 4)
	r.P99ms = round(r.P99ms, 4)
	r.BuildS = round(r.BuildS, 3)
	r.BytesPerVector = round(r.BytesPerVector, 1)
	return r
}

func writeResult(w io.Writer, r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// ParseResult decodes one JSON result line, requiring exactly the keys of
// ResultKeys.
func ParseResult(line []byte) (Result, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return Result{}, fmt.Errorf("parse result %q: %w", line, err)
	}
	for _, k := range ResultKeys {
		if _, ok := m[k]; !ok {
			return Result{}, fmt.Errorf("parse result %q: missing key %q", line, k)
		}
	}
	if len(m) != len(ResultKeys) {
		for k := range m {
			if !slices.Contains(ResultKeys, k) {
				return Result{}, fmt.Errorf("parse result %q: unknown key %q", line, k)
			}
		}
	}
	var r Result
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Result{}, fmt.Errorf("parse result %q: %w", line, err)
	}
	return r, nil
}

// writeTable prints results as an aligned table.
func writeTable(w io.Writer, rs []Result) {
	if len(rs) == 0 {
		return
	}
	// Right-aligned numbers; the system column is padded on the right so
	// that it reads left-aligned.
	sw := len("system")
	for _, r := range rs {
		sw = max(sw, len(r.System))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tef\trecall@10\tqps\tp50_ms\tp99_ms\tbuild_s\tthreads\tn\tdim\tbytes/vec\t\n", sw, "system")
	for _, r := range rs {
		fmt.Fprintf(tw, "%-*s\t%d\t%.4f\t%.0f\t%.3f\t%.3f\t%.2f\t%d\t%d\t%d\t%.0f\t\n",
			sw, r.System, r.Ef, r.RecallAt10, r.QPS, r.P50ms, r.P99ms, r.BuildS, r.Threads, r.N, r.Dim, r.BytesPerVector)
	}
	tw.Flush()
}
