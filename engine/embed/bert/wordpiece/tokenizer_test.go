package wordpiece

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// modelDir holds the all-MiniLM-L6-v2 tokenizer files (shared/ beside the repo).
const modelDir = "../../../../../shared/models/all-minilm-l6-v2"

func loadShared(t testing.TB) *Tokenizer {
	t.Helper()
	if _, err := os.Stat(filepath.Join(modelDir, "tokenizer.json")); err != nil {
		t.Skipf("tokenizer files not found at %s: %v", modelDir, err)
	}
	tok, err := Load(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type goldenCase struct {
	Text string `json:"text"`
	IDs  []int  `json:"ids"`
}

func readGolden(t *testing.T) []goldenCase {
	f, err := os.Open("testdata/golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []goldenCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c goldenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 300 {
		t.Fatalf("golden file has only %d cases", len(cases))
	}
	return cases
}

// TestGolden compares with ids from the Rust tokenizers library (see
// testdata/README.md): reference sentences, tricky text and seeded random
// Unicode strings, truncated at 256.
func TestGolden(t *testing.T) {
	tok := loadShared(t)
	bad := 0
	for i, c := range readGolden(t) {
		got := tok.Encode(c.Text, 256)
		if !slices.Equal(got, c.IDs) {
			bad++
			if bad <= 10 {
				t.Errorf("case %d %q (normalized %q):\n got %v\nwant %v", i, c.Text, tok.Normalize(c.Text), got, c.IDs)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d golden cases differ", bad)
	}
}

// TestGoldenVocabTxt checks that the vocab.txt route gives the same ids as
// tokenizer.json.
func TestGoldenVocabTxt(t *testing.T) {
	loadShared(t)
	dir := t.TempDir()
	for _, f := range []string{"vocab.txt", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(modelDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range readGolden(t) {
		if got := tok.Encode(c.Text, 256); !slices.Equal(got, c.IDs) {
			t.Fatalf("case %d %q:\n got %v\nwant %v", i, c.Text, got, c.IDs)
		}
	}
}

func TestReferenceExamples(t *testing.T) {
	tok := loadShared(t)
	for _, c := range []struct {
		text string
		want []int
	}{
		{"hello world", []int{101, 7592, 2088, 102}},
		{"this is an example sentence", []int{101, 2023, 2003, 2019, 2742, 6251, 102}},
	} {
		if got := tok.Encode(c.text, 256); !slices.Equal(got, c.want) {
			t.Errorf("%q: got %v want %v", c.text, got, c.want)
		}
	}
}

func TestTruncation(t *testing.T) {
	tok := loadShared(t)
	text := strings.Repeat("hello ", 1000)
	for _, n := range []int{2, 3, 10, 128, 256} {
		got := tok.Encode(text, n)
		if len(got) != n || got[0] != 101 || got[n-1] != 102 {
			t.Errorf("maxLen %d: len %d, ends %d..%d", n, len(got), got[0], got[len(got)-1])
		}
	}
	if got := tok.Encode(text, 0); len(got) != 1002 {
		t.Errorf("no limit: len %d, want 1002", len(got))
	}
	// a special token that falls past the limit is dropped too
	if got := tok.Encode("a b [MASK] c", 4); !slices.Equal(got, []int{101, 1037, 1038, 102}) {
		t.Errorf("got %v", got)
	}
}

func TestInvalidUTF8(t *testing.T) {
	tok := loadShared(t)
	// Invalid bytes decode as U+FFFD, which clean_text removes.
	if got := tok.Encode("hel\xfflo wo\xc3rld", 0); !slices.Equal(got, tok.Encode("hello world", 0)) {
		t.Errorf("got %v", got)
	}
}

func TestBadTokenizerJSON(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"bpe", `{"model":{"type":"BPE","vocab":{"a":0}},"pre_tokenizer":{"type":"BertPreTokenizer"}}`, "not supported"},
		{"empty vocab", `{"model":{"type":"WordPiece","vocab":{}},"pre_tokenizer":{"type":"BertPreTokenizer"}}`, "empty"},
		{"no unk", `{"model":{"type":"WordPiece","vocab":{"a":0,"[CLS]":1,"[SEP]":2}},"pre_tokenizer":{"type":"BertPreTokenizer"}}`, "[UNK]"},
		{"pretok", `{"model":{"type":"WordPiece","vocab":{"a":0}},"pre_tokenizer":{"type":"Whitespace"}}`, "pre_tokenizer"},
		{"garbage", `{`, "unexpected end"},
	} {
		_, err := FromTokenizerJSON([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to mention %q", c.name, err, c.want)
		}
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "vocab.txt") {
		t.Errorf("empty dir: %v", err)
	}
}

func BenchmarkEncode(b *testing.B) {
	tok := loadShared(b)
	text := strings.Repeat("The quick brown fox jumps over the lazy dog, naïvely. ", 10)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text, 256)
	}
}
