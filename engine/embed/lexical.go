package embed

import (
	"context"
	"math"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

const (
	// LexicalDim is the dimension of the lexical embedder's vectors.
	LexicalDim = 384
	// LexicalModelID is the lexical embedder's model id. The "v1" names the
	// exact algorithm documented on Lexical, including its Unicode 15.0.0
	// tables; any change to the output gets a new version.
	LexicalModelID = "lexical-hash-v1-384"
)

// Lexical is the offline default embedder: it matches words, not meaning.
// Two texts are close when they share words and adjacent word pairs; a
// synonym or a paraphrase is not close. It needs no model files and no
// network, and it is fast and fully deterministic. For semantic search use
// the native BERT encoder (Config.Kind "bert", all-MiniLM-L6-v2) or an
// embedding service (Config.Kind "openai").
//
// The algorithm (lexical-hash-v1-384), for each text:
//
//  1. Normalise: Unicode NFKC (golang.org/x/text/unicode/norm), then full
//     Unicode case folding (golang.org/x/text/cases.Fold), so "ＨＥＬＬＯ",
//     "Hello" and "hello" are one word, as are "café" composed and
//     decomposed, and "STRASSE" and "straße". All-ASCII text takes a fast
//     path that only maps A-Z to a-z, which is the same result.
//  2. Split into words: a word is a maximal run of letters, marks and
//     numbers (Unicode categories L, M and N), except that every Han,
//     Hiragana and Katakana letter is a word on its own, because those
//     scripts do not separate words with spaces (pairs of adjacent
//     characters, below, then act as character bigrams). Everything else
//     (spaces, punctuation, symbols, invalid UTF-8) separates words; "don't"
//     is the two words "don" and "t".
//  3. Features: every word (a unigram) and every pair of adjacent words (a
//     bigram, the two words joined by one space byte).
//  4. Hash each feature's UTF-8 bytes with FNV-1a 64 (offset basis
//     14695981039346656037, prime 1099511628211), then mix the result with
//     the MurmurHash3 64-bit finaliser (fmix64). Bit 63 of the mixed hash h
//     is the sign (1 means -1) and (h with bit 63 cleared) mod 384 is the
//     bucket. Features are counted by their 64-bit hash.
//  5. A feature seen tf times in the text adds sign × w(tf) to its bucket,
//     where w(tf) = 1 + ln(tf) (sublinear term frequency), rounded to
//     float32.
//  6. Divide by the Euclidean norm (L2-normalise) and round each component
//     to float32.
//
// A text with no word (empty, blank, punctuation only) has no direction:
// Embed returns an *EmptyTextError naming its index. In the astronomically
// rare case that a text's features cancel out exactly, Embed returns an
// error too.
//
// The output is the same on every run and platform: the hashing is integer
// arithmetic; every weight w(tf) is a float32 at least 1, so the bucket sums
// are exact in float64 whatever their order; the weights themselves are the
// correctly rounded float32 values for any faithfully rounded math.Log
// (checked by a test for tf up to 4096); and the norm is computed in a fixed
// order with fused multiply-add ruled out. The Unicode tables come from Go
// 1.26 and x/text v0.43.0 (both Unicode 15.0.0); a test fails when an
// upgrade changes them, so the model id can be versioned on purpose.
//
// A Lexical is stateless and safe for concurrent use.
type Lexical struct{}

// NewLexical returns the lexical embedder.
func NewLexical() *Lexical { return &Lexical{} }

// ModelID returns LexicalModelID.
func (*Lexical) ModelID() string { return LexicalModelID }

// Dim returns LexicalDim.
func (*Lexical) Dim() int { return LexicalDim }

// Embed returns one L2-normalised vector per text, or an *EmptyTextError
// for the first text without a word. The vectors share one backing array.
func (*Lexical) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	backing := make([]float32, len(texts)*LexicalDim)
	var s lexScratch
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		v := backing[i*LexicalDim : (i+1)*LexicalDim : (i+1)*LexicalDim]
		switch s.embed(v, t) {
		case lexNoWords:
			return nil, &EmptyTextError{Index: i, Why: "it has no word (no letter or digit) for the lexical embedder"}
		case lexCancelled:
			return nil, &EmptyTextError{Index: i, Why: "its hashed word features cancel out to the zero vector in the lexical embedder"}
		}
		out[i] = v
	}
	return out, nil
}

// Words returns the words the lexical embedder sees in text, normalised and
// in order (steps 1 and 2 of the algorithm). Its features are these words
// and each pair of adjacent words.
func (*Lexical) Words(text string) []string {
	var s lexScratch
	s.split(text)
	words := make([]string, len(s.words))
	for i, w := range s.words {
		words[i] = lowerASCII(w)
	}
	return words
}

// lexScratch holds the buffers of one goroutine's embedding work.
type lexScratch struct {
	// words of the current text, normalised except that ASCII A-Z may
	// still need mapping to a-z, which hashing does on the fly.
	words []string
	// tf counts features by hash in an open-addressing table: keys[i] is
	// a feature hash when counts[i] > 0.
	keys   []uint64
	counts []uint32
	acc    [LexicalDim]float64
}

type lexResult uint8

const (
	lexOK lexResult = iota
	lexNoWords
	lexCancelled
)

// split sets s.words to the words of text.
func (s *lexScratch) split(text string) {
	if isASCII(text) {
		s.splitASCII(text)
	} else {
		s.splitUnicode(text)
	}
}

// splitASCII is split for all-ASCII text: NFKC and case folding of ASCII
// are the identity and A-Z to a-z, so words are substrings of text.
func (s *lexScratch) splitASCII(text string) {
	s.words = s.words[:0]
	start := -1
	for i := 0; i < len(text); i++ {
		if isASCIIAlnum(text[i]) {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			s.words = append(s.words, text[start:i])
			start = -1
		}
	}
	if start >= 0 {
		s.words = append(s.words, text[start:])
	}
}

// splitUnicode is split for any text. It applies NFKC to the whole text,
// splits, and case-folds only the words with non-ASCII runes. That equals
// folding first and splitting after (steps 1 and 2 as documented) because
// full case folding maps each rune on its own, never turns a word rune into
// a separator or back, and leaves ideographs alone; a test checks this for
// every code point.
func (s *lexScratch) splitUnicode(text string) {
	s.words = s.words[:0]
	t := norm.NFKC.String(text)
	start, ascii := -1, true
	end := func(i int) {
		if start >= 0 {
			w := t[start:i]
			if !ascii {
				w = lexFold.String(w)
			}
			s.words = append(s.words, w)
			start, ascii = -1, true
		}
	}
	for i := 0; i < len(t); {
		r, size := utf8.DecodeRuneInString(t[i:])
		switch {
		case !isWordRune(r):
			end(i)
		case isIdeograph(r):
			end(i)
			s.words = append(s.words, t[i:i+size])
		default:
			if start < 0 {
				start = i
			}
			if r >= utf8.RuneSelf {
				ascii = false
			}
		}
		i += size
	}
	end(len(t))
}

// lexFold is stateless and safe for concurrent use.
var lexFold = cases.Fold()

// embed writes the vector of text to v (len LexicalDim).
func (s *lexScratch) embed(v []float32, text string) lexResult {
	s.split(text)
	return s.vector(v)
}

// vector writes the vector of s.words to v.
func (s *lexScratch) vector(v []float32) lexResult {
	if len(s.words) == 0 {
		return lexNoWords
	}
	s.resetTF(2 * len(s.words))
	for i, w := range s.words {
		h := fnvLower(fnvOffset, w)
		s.addTF(fmix64(h))
		if i+1 < len(s.words) {
			s.addTF(fmix64(fnvLower((h^' ')*fnvPrime, s.words[i+1])))
		}
	}
	for i, tf := range s.counts {
		if tf == 0 {
			continue
		}
		f := s.keys[i]
		w := lexWeight(int(tf))
		b := (f &^ (1 << 63)) % LexicalDim
		if f>>63 != 0 {
			s.acc[b] -= w
		} else {
			s.acc[b] += w
		}
	}
	var sum float64
	for _, a := range s.acc {
		sum += float64(a * a) // the conversion forbids fusing into an FMA
	}
	if sum == 0 {
		return lexCancelled
	}
	n := math.Sqrt(sum)
	for i, a := range s.acc {
		v[i] = float32(a / n)
		s.acc[i] = 0
	}
	return lexOK
}

// resetTF empties the feature table and sizes it for n features.
func (s *lexScratch) resetTF(n int) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	if cap(s.counts) < size {
		s.keys, s.counts = make([]uint64, size), make([]uint32, size)
		return
	}
	s.keys, s.counts = s.keys[:size], s.counts[:size]
	clear(s.counts)
}

// addTF counts feature f. The table is at most half full.
func (s *lexScratch) addTF(f uint64) {
	mask := uint64(len(s.counts) - 1)
	for i := f & mask; ; i = (i + 1) & mask {
		if s.counts[i] == 0 {
			s.keys[i], s.counts[i] = f, 1
			return
		}
		if s.keys[i] == f {
			s.counts[i]++
			return
		}
	}
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvLower continues FNV-1a 64 from h over s with ASCII A-Z mapped to a-z.
func fnvLower(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// fmix64 is the MurmurHash3 64-bit finaliser: it spreads every input bit
// over every output bit, which FNV-1a alone does poorly for the low bits.
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// lexWeights[tf] = w(tf) for small tf.
var lexWeights = func() (w [64]float64) {
	for tf := 1; tf < len(w); tf++ {
		w[tf] = lexWeightSlow(tf)
	}
	return w
}()

// lexWeight is w(tf) = 1 + ln(tf), rounded to float32.
func lexWeight(tf int) float64 {
	if tf < len(lexWeights) {
		return lexWeights[tf]
	}
	return lexWeightSlow(tf)
}

func lexWeightSlow(tf int) float64 {
	return float64(float32(1 + math.Log(float64(tf))))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCIIAlnum(c byte) bool {
	return c-'0' < 10 || (c|0x20)-'a' < 26
}

// isWordRune reports Unicode categories L, M and N.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIIAlnum(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r)
}

// isIdeograph reports letters of scripts written without spaces between
// words, which the lexical embedder takes one character at a time.
func isIdeograph(r rune) bool {
	return r >= 0x2E80 && unicode.IsLetter(r) &&
		(unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r))
}

// lowerASCII maps A-Z to a-z.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i]-'A' < 26 {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j]-'A' < 26 {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
