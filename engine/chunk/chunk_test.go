package chunk

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "split":
				var o Options
				for _, a := range d.CmdArgs {
					n, err := strconv.Atoi(a.Vals[0])
					if err != nil {
						d.Fatalf(t, "%s: %v", a.Key, err)
					}
					switch a.Key {
					case "max-tokens":
						o.MaxTokens = n
					case "min-chars":
						o.MinChars = n
					default:
						d.Fatalf(t, "unknown argument %s", a.Key)
					}
				}
				cs := Split(d.Input, o)
				if len(cs) == 0 {
					return "(no chunks)\n"
				}
				var b strings.Builder
				for i, c := range cs {
					fmt.Fprintf(&b, "chunk %d blocks %d-%d sep=%q\n%s\n", i, c.FirstBlock, c.LastBlock, c.Sep, c.Text)
				}
				return b.String()
			}
			d.Fatalf(t, "unknown command %s", d.Cmd)
			return ""
		})
	})
}

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a\r\nb\rc", "a\nb\nc"},
		{"e\u0301", "\u00e9"}, // NFD to NFC
		{"line  \t\nnext", "line\nnext"},
		{"\n\n  \n a\n\n\n\nb\n \n", " a\n\nb"},
		{"", ""},
	}
	for _, c := range cases {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := Normalize(Normalize(c.in)); got != Normalize(c.in) {
			t.Errorf("Normalize is not idempotent on %q", c.in)
		}
	}
}

func sitePolicyTexts(t *testing.T, limit int) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "shared", "data", "site-policy", "versions.jsonl.gz"))
	if err != nil {
		t.Skipf("site-policy corpus not present: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var out []string
	for sc.Scan() && len(out) < limit {
		var v struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		if v.Text != "" {
			out = append(out, v.Text)
		}
	}
	return out
}

// TestRebuildAndBudget: on real documents, chunks rebuild the normalised
// text exactly and each fits the token budget.
func TestRebuildAndBudget(t *testing.T) {
	texts := sitePolicyTexts(t, 400)
	for _, max := range []int{254, 64} {
		o := Options{MaxTokens: max}
		for i, text := range texts {
			cs := Split(text, o)
			var b strings.Builder
			for _, c := range cs {
				b.WriteString(c.Text)
				b.WriteString(c.Sep)
				if n := EstimateTokens(c.Text); n > max {
					t.Fatalf("doc %d: chunk of %d tokens over %d: %.80q", i, n, max, c.Text)
				}
				if c.Text == "" {
					t.Fatalf("doc %d: empty chunk", i)
				}
			}
			if b.String() != Normalize(text) {
				t.Fatalf("doc %d (max %d): chunks do not rebuild the normalised text", i, max)
			}
		}
	}
}

// TestEditLocality edits one block of real documents and checks that
// only chunks containing that block change: let U be the blocks covered by
// any chunk, before or after the edit, that contains the edited block;
// every chunk outside U is identical, in order.
func TestEditLocality(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	texts := sitePolicyTexts(t, 300)
	checked, wide := 0, 0
	for di, text := range texts {
		blocks := Blocks(Normalize(text))
		if len(blocks) < 3 {
			continue
		}
		i := rng.IntN(len(blocks))
		edited := append([]Block(nil), blocks...)
		switch rng.IntN(3) {
		case 0:
			edited[i].Text = blocks[i].Text + " An added sentence changes this paragraph."
		case 1:
			edited[i].Text = "A replacement paragraph that is long enough to be a chunk of its own."
		case 2:
			edited[i].Text = "Short."
		}
		join := func(bs []Block) string {
			var b strings.Builder
			for _, x := range bs {
				b.WriteString(x.Text + x.Sep)
			}
			return b.String()
		}
		if nb := Blocks(join(edited)); len(nb) != len(blocks) || nb[i].Text != edited[i].Text {
			continue // the edit changed the block structure itself (e.g. made a list)
		}
		before, after := Split(join(blocks), Options{}), Split(join(edited), Options{})
		lo, hi := i, i
		for _, cs := range [][]Chunk{before, after} {
			for _, c := range cs {
				if c.FirstBlock <= i && i <= c.LastBlock {
					lo, hi = min(lo, c.FirstBlock), max(hi, c.LastBlock)
				}
			}
		}
		outside := func(cs []Chunk) string {
			var out []string
			for _, c := range cs {
				if c.LastBlock < lo || c.FirstBlock > hi {
					out = append(out, fmt.Sprint(c.FirstBlock, "-", c.LastBlock, ":", c.Text))
				}
			}
			return strings.Join(out, "\x00")
		}
		if outside(before) != outside(after) {
			t.Fatalf("doc %d: editing block %d changed chunks outside blocks %d..%d", di, i, lo, hi)
		}
		if hi-lo > 2 {
			wide++
		}
		checked++
	}
	if checked < 50 {
		t.Fatalf("only %d edits checked", checked)
	}
	t.Logf("%d single-block edits checked; %d touched chunks spanning more than 3 blocks (chains of short blocks)", checked, wide)
}

func TestEstimateTokens(t *testing.T) {
	for s, want := range map[string]int{
		"":                     0,
		"hello world":          2,
		"hello, world!":        4,
		"internationalization": 4,
		"日本語":                  3,
	} {
		if got := EstimateTokens(s); got != want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", s, got, want)
		}
	}
}
