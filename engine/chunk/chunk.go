package chunk

import (
	"crypto/sha256"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Versions of the normaliser and the chunker. Stored with every collection:
// a change to either is a new version string, and chunks made by another
// version are re-chunked, never silently compared.
const (
	NormalizerVersion = "norm-v1"
	ChunkerVersion    = "chunk-v1"
)

// Normalize returns the normalised form of text (see the package comment).
func Normalize(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	text = norm.NFC.String(text)
	lines := strings.Split(text, "\n")
	out := make([]string, 0, len(lines))
	blank := true // suppresses leading blank lines
	for _, l := range lines {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if l == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, l)
		blank = false
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n")
}

// Hash is the SHA-256 of a chunk's text.
func Hash(text string) [32]byte { return sha256.Sum256([]byte(text)) }

// Options configure Split.
type Options struct {
	// MaxTokens is the most tokens a chunk may hold, as counted by Tokens.
	// Default 254.
	MaxTokens int
	// MinChars: blocks shorter than this join a neighbour. Default 50.
	MinChars int
	// Tokens counts the tokens of a text. Default EstimateTokens; give the
	// embedder's tokenizer for an exact fit.
	Tokens func(string) int
}

func (o *Options) defaults() {
	if o.MaxTokens <= 0 {
		o.MaxTokens = 254
	}
	if o.MinChars <= 0 {
		o.MinChars = 50
	}
	if o.Tokens == nil {
		o.Tokens = EstimateTokens
	}
}

// Chunk is one piece of a normalised document.
type Chunk struct {
	Text string
	// Sep is the text between this chunk and the next ("\n\n" between
	// blocks, " " or "\n" inside a cut block, "" after the last chunk).
	Sep string
	// FirstBlock and LastBlock are the indexes of the blocks it covers.
	FirstBlock, LastBlock int
}

// Split normalises text and cuts it into chunks. Concatenating Text+Sep of
// the result gives Normalize(text).
func Split(text string, o Options) []Chunk {
	o.defaults()
	blocks := Blocks(Normalize(text))
	if len(blocks) == 0 {
		return nil
	}
	runes := func(i int) int { return utf8.RuneCountInString(blocks[i].Text) }
	// Group blocks: headings and short blocks join the block after them.
	type group struct{ first, last int }
	var groups []group
	cur := group{0, 0}
	for i := range blocks {
		cur.last = i
		joinNext := isHeading(blocks[i].Text) || runes(i) < o.MinChars
		if joinNext && i+1 < len(blocks) {
			continue
		}
		groups = append(groups, cur)
		cur = group{i + 1, i + 1}
	}
	// A short last group joins the one before it.
	if n := len(groups); n >= 2 {
		g := groups[n-1]
		if g.first == g.last && runes(g.first) < o.MinChars && !isHeading(blocks[g.first].Text) {
			groups[n-2].last = g.last
			groups = groups[:n-1]
		}
	}
	var out []Chunk
	for _, g := range groups {
		var b strings.Builder
		for i := g.first; i < g.last; i++ {
			b.WriteString(blocks[i].Text)
			b.WriteString(blocks[i].Sep)
		}
		b.WriteString(blocks[g.last].Text)
		pieces, seps := fit(b.String(), o)
		for i, p := range pieces {
			sep := seps[i]
			if i == len(pieces)-1 {
				sep = blocks[g.last].Sep
			}
			out = append(out, Chunk{Text: p, Sep: sep, FirstBlock: g.first, LastBlock: g.last})
		}
	}
	return out
}

// Block is a paragraph, fenced code block or list of normalised text, with
// the separator that follows it ("\n\n", or "\n" where a fence closes or
// opens without a blank line, "" after the last block).
type Block struct {
	Text, Sep string
}

// Blocks cuts normalised text into paragraphs, fenced code blocks and
// lists (see the package comment). Concatenating Text+Sep of the result
// gives text back.
func Blocks(text string) []Block {
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	var blocks []Block
	var cur []string
	flush := func(sep string) {
		if len(cur) > 0 {
			blocks = append(blocks, Block{strings.Join(cur, "\n"), sep})
			cur = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if fence := fenceOf(l); fence != "" {
			// A fenced block runs to its closing fence (or the end), even
			// when no blank line sets it apart.
			flush("\n")
			cur = append(cur, l)
			for i++; i < len(lines); i++ {
				cur = append(cur, lines[i])
				if t := strings.TrimLeft(lines[i], " "); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
					break
				}
			}
			if i+1 < len(lines) && lines[i+1] == "" {
				flush("\n\n")
				i++
			} else {
				flush("\n")
			}
			continue
		}
		if l == "" {
			// Inside a list, a blank line followed by another item or an
			// indented continuation keeps the list together.
			if len(cur) > 0 && isListItem(cur[0]) && i+1 < len(lines) && (isListItem(lines[i+1]) || isIndented(lines[i+1])) {
				cur = append(cur, l)
				continue
			}
			flush("\n\n")
			continue
		}
		cur = append(cur, l)
	}
	flush("")
	if n := len(blocks); n > 0 {
		blocks[n-1].Sep = ""
	}
	return blocks
}

func fenceOf(l string) string {
	t := strings.TrimLeft(l, " ")
	if len(l)-len(t) > 3 {
		return ""
	}
	for _, f := range []string{"```", "~~~"} {
		if strings.HasPrefix(t, f) {
			n := len(t) - len(strings.TrimLeft(t, f[:1]))
			return strings.Repeat(f[:1], n)
		}
	}
	return ""
}

func isHeading(block string) bool {
	first, _, _ := strings.Cut(block, "\n")
	t := strings.TrimLeft(first, " ")
	n := len(t) - len(strings.TrimLeft(t, "#"))
	return n >= 1 && n <= 6 && (len(t) == n || t[n] == ' ') && !strings.Contains(block, "\n")
}

func isListItem(l string) bool {
	t := strings.TrimLeft(l, " ")
	if len(l)-len(t) > 3 || t == "" {
		return false
	}
	if (t[0] == '-' || t[0] == '*' || t[0] == '+') && len(t) > 1 && t[1] == ' ' {
		return true
	}
	d := 0
	for d < len(t) && d < 9 && t[d] >= '0' && t[d] <= '9' {
		d++
	}
	return d > 0 && d+1 < len(t) && (t[d] == '.' || t[d] == ')') && t[d+1] == ' '
}

func isIndented(l string) bool { return strings.HasPrefix(l, "  ") || strings.HasPrefix(l, "\t") }

// fit cuts text into pieces of at most o.MaxTokens tokens: at sentence
// ends first, then line ends, then spaces, then (for a single huge word)
// runes. seps[i] is the text that stood between piece i and i+1.
func fit(text string, o Options) (pieces, seps []string) {
	if o.Tokens(text) <= o.MaxTokens {
		return []string{text}, []string{""}
	}
	units, unitSeps := cutUnits(text)
	if len(units) <= 1 {
		return splitRunes(text, o)
	}
	// Greedy packing of units; a unit too big on its own is cut further.
	var cur strings.Builder
	curSep := ""
	emit := func(sep string) {
		if cur.Len() > 0 {
			pieces = append(pieces, cur.String())
			seps = append(seps, sep)
			cur.Reset()
		}
	}
	for i, u := range units {
		if o.Tokens(u) > o.MaxTokens {
			emit(curSep)
			p, s := fit(u, o)
			s[len(s)-1] = unitSeps[i]
			pieces = append(pieces, p...)
			seps = append(seps, s...)
			curSep = unitSeps[i]
			continue
		}
		if cur.Len() > 0 {
			cand := cur.String() + curSep + u
			if o.Tokens(cand) > o.MaxTokens {
				emit(curSep)
			} else {
				cur.WriteString(curSep)
			}
		}
		cur.WriteString(u)
		curSep = unitSeps[i]
	}
	emit(curSep)
	return pieces, seps
}

// cutUnits splits text at the coarsest level that gives more than one
// unit: sentence ends, then newlines, then spaces.
func cutUnits(text string) (units, seps []string) {
	for _, cut := range []func(string) (string, string, string, bool){cutSentence, cutLine, cutSpace} {
		units, seps = units[:0], seps[:0]
		rest := text
		for {
			head, sep, tail, ok := cut(rest)
			if !ok {
				units = append(units, rest)
				seps = append(seps, "")
				break
			}
			units = append(units, head)
			seps = append(seps, sep)
			rest = tail
		}
		if len(units) > 1 {
			return units, seps
		}
	}
	return units, seps
}

func cutSentence(s string) (head, sep, tail string, ok bool) {
	for i := 0; i+1 < len(s); i++ {
		if (s[i] == '.' || s[i] == '!' || s[i] == '?') && (s[i+1] == ' ' || s[i+1] == '\n') {
			j := i + 1
			for j < len(s) && (s[j] == ' ' || s[j] == '\n') {
				j++
			}
			if j < len(s) {
				return s[:i+1], s[i+1 : j], s[j:], true
			}
		}
	}
	return "", "", "", false
}

func cutLine(s string) (head, sep, tail string, ok bool) {
	i := strings.IndexByte(s, '\n')
	if i <= 0 {
		return "", "", "", false
	}
	j := i
	for j < len(s) && s[j] == '\n' {
		j++
	}
	if j == len(s) {
		return "", "", "", false
	}
	return s[:i], s[i:j], s[j:], true
}

func cutSpace(s string) (head, sep, tail string, ok bool) {
	i := strings.IndexByte(s, ' ')
	if i <= 0 || i == len(s)-1 {
		return "", "", "", false
	}
	j := i
	for j < len(s) && s[j] == ' ' {
		j++
	}
	return s[:i], s[i:j], s[j:], true
}

// splitRunes cuts one unbreakable unit into pieces of at most MaxTokens.
func splitRunes(text string, o Options) (pieces, seps []string) {
	start := 0
	for start < len(text) {
		end := len(text)
		// Shrink by halves, then grow back rune by rune: O(log n) counts.
		for o.Tokens(text[start:end]) > o.MaxTokens {
			mid := start + (end-start)/2
			for mid > start && !utf8.RuneStart(text[mid]) {
				mid--
			}
			if mid == start {
				_, w := utf8.DecodeRuneInString(text[start:])
				mid = start + w
				end = mid
				break
			}
			end = mid
		}
		for end < len(text) {
			_, w := utf8.DecodeRuneInString(text[end:])
			if o.Tokens(text[start:end+w]) > o.MaxTokens {
				break
			}
			end += w
		}
		pieces = append(pieces, text[start:end])
		seps = append(seps, "")
		start = end
	}
	return pieces, seps
}

// EstimateTokens approximates the WordPiece token count of text without a
// vocabulary: each punctuation mark or CJK character is a token, and a run
// of letters and digits is one token per started 6 characters. It
// overestimates English slightly, so chunks cut with it fit the window.
func EstimateTokens(text string) int {
	n, run := 0, 0
	end := func() {
		if run > 0 {
			n += (run + 5) / 6
			run = 0
		}
	}
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r):
			end()
			n++
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			run++
		case unicode.IsSpace(r):
			end()
		default:
			end()
			n++
		}
	}
	end()
	return n
}
