package wordpiece

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Options configure the BertNormalizer and WordPiece model. The zero value
// is not useful; start from DefaultOptions.
type Options struct {
	// CleanText removes control/format/private-use characters and maps
	// whitespace to ' '. Default true.
	CleanText bool
	// HandleChineseChars surrounds CJK ideographs with spaces. Default true.
	HandleChineseChars bool
	// StripAccents decomposes (NFD) and removes non-spacing marks. HF's
	// default (strip_accents: null) follows Lowercase. Default true.
	StripAccents bool
	// Lowercase lowercases after stripping accents. Default true.
	Lowercase bool
	// UnkToken is emitted for a word that cannot be split. Default "[UNK]".
	UnkToken string
	// ContinuingSubwordPrefix marks non-initial pieces. Default "##".
	ContinuingSubwordPrefix string
	// MaxInputCharsPerWord: longer words (in characters, after
	// normalisation) become UnkToken. Default 100; zero means 100.
	MaxInputCharsPerWord int
}

// DefaultOptions returns the options of bert-base-uncased style models
// (and all-MiniLM-L6-v2).
func DefaultOptions() Options {
	return Options{
		CleanText: true, HandleChineseChars: true, StripAccents: true, Lowercase: true,
		UnkToken: "[UNK]", ContinuingSubwordPrefix: "##", MaxInputCharsPerWord: 100,
	}
}

// Tokenizer is a BertNormalizer + BertPreTokenizer + WordPiece tokenizer
// with [CLS] ... [SEP] post-processing. It is safe for concurrent use.
type Tokenizer struct {
	opts    Options
	tab     *unicodeTables
	vocab   map[string]int32
	unkID   int
	clsID   int
	sepID   int
	padID   int
	special []addedToken // matched verbatim in the raw text, before normalisation
}

type addedToken struct {
	content string
	id      int
}

// ClsID, SepID, PadID and UnkID return the special token ids.
func (t *Tokenizer) ClsID() int { return t.clsID }
func (t *Tokenizer) SepID() int { return t.sepID }
func (t *Tokenizer) PadID() int { return t.padID }
func (t *Tokenizer) UnkID() int { return t.unkID }

// VocabSize returns the number of entries in the vocabulary (max id + 1).
func (t *Tokenizer) VocabSize() int {
	n := 0
	for _, id := range t.vocab {
		if int(id) >= n {
			n = int(id) + 1
		}
	}
	return n
}

// New builds a tokenizer from a vocabulary (token -> id) and options. The
// tokens [CLS], [SEP], [PAD], [UNK] and [MASK], when in the vocabulary, are
// treated as special tokens, as BertTokenizerFast does.
func New(vocab map[string]int, opts Options) (*Tokenizer, error) {
	var specials []addedToken
	for _, s := range []string{"[PAD]", opts.UnkToken, "[CLS]", "[SEP]", "[MASK]"} {
		if id, ok := vocab[s]; ok {
			specials = append(specials, addedToken{s, id})
		}
	}
	return newTokenizer(vocab, opts, specials, -1, -1)
}

func newTokenizer(vocab map[string]int, opts Options, specials []addedToken, cls, sep int) (*Tokenizer, error) {
	tab, err := loadTables()
	if err != nil {
		return nil, err
	}
	if opts.MaxInputCharsPerWord <= 0 {
		opts.MaxInputCharsPerWord = 100
	}
	t := &Tokenizer{opts: opts, tab: tab, vocab: make(map[string]int32, len(vocab)), special: specials}
	for k, v := range vocab {
		if v < 0 || v > 1<<30 {
			return nil, fmt.Errorf("vocabulary: token %q has bad id %d", k, v)
		}
		t.vocab[k] = int32(v)
	}
	need := func(tok string) (int, error) {
		id, ok := vocab[tok]
		if !ok {
			return 0, fmt.Errorf("vocabulary has no %s token", tok)
		}
		return id, nil
	}
	if t.unkID, err = need(opts.UnkToken); err != nil {
		return nil, err
	}
	if cls < 0 {
		if cls, err = need("[CLS]"); err != nil {
			return nil, err
		}
	}
	if sep < 0 {
		if sep, err = need("[SEP]"); err != nil {
			return nil, err
		}
	}
	t.clsID, t.sepID = cls, sep
	if id, ok := vocab["[PAD]"]; ok {
		t.padID = id
	}
	return t, nil
}

// Load reads the tokenizer of a Hugging Face model directory: tokenizer.json
// when present, else vocab.txt with tokenizer_config.json (optional).
func Load(dir string) (*Tokenizer, error) {
	p := filepath.Join(dir, "tokenizer.json")
	data, err := os.ReadFile(p)
	if err == nil {
		t, err := FromTokenizerJSON(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return t, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	vp := filepath.Join(dir, "vocab.txt")
	f, err := os.Open(vp)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no tokenizer in %s: neither tokenizer.json nor vocab.txt exists", dir)
		}
		return nil, err
	}
	defer f.Close()
	vocab, err := ReadVocab(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vp, err)
	}
	opts := DefaultOptions()
	cp := filepath.Join(dir, "tokenizer_config.json")
	if data, err := os.ReadFile(cp); err == nil {
		var cfg struct {
			DoLowerCase          *bool   `json:"do_lower_case"`
			StripAccents         *bool   `json:"strip_accents"`
			TokenizeChineseChars *bool   `json:"tokenize_chinese_chars"`
			UnkToken             *string `json:"unk_token"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", cp, err)
		}
		if cfg.DoLowerCase != nil {
			opts.Lowercase = *cfg.DoLowerCase
		}
		opts.StripAccents = opts.Lowercase
		if cfg.StripAccents != nil {
			opts.StripAccents = *cfg.StripAccents
		}
		if cfg.TokenizeChineseChars != nil {
			opts.HandleChineseChars = *cfg.TokenizeChineseChars
		}
		if cfg.UnkToken != nil {
			opts.UnkToken = *cfg.UnkToken
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	t, err := New(vocab, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vp, err)
	}
	return t, nil
}

// ReadVocab reads a vocab.txt: one token per line, id = line number from 0.
func ReadVocab(r interface{ Read([]byte) (int, error) }) (map[string]int, error) {
	vocab := make(map[string]int, 32000)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		tok := strings.TrimRight(sc.Text(), "\r")
		vocab[tok] = n
		n++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("empty vocabulary")
	}
	return vocab, nil
}

// FromTokenizerJSON builds a tokenizer from a Hugging Face tokenizer.json.
// Only the BERT pipeline is accepted: BertNormalizer, BertPreTokenizer,
// WordPiece, and TemplateProcessing/BertProcessing with one [CLS]-like and
// one [SEP]-like token around a single sequence. Truncation and padding
// settings in the file are ignored; callers pass the length to Encode.
func FromTokenizerJSON(data []byte) (*Tokenizer, error) {
	var tj struct {
		AddedTokens []struct {
			ID         int    `json:"id"`
			Content    string `json:"content"`
			SingleWord bool   `json:"single_word"`
			Lstrip     bool   `json:"lstrip"`
			Rstrip     bool   `json:"rstrip"`
			Normalized bool   `json:"normalized"`
		} `json:"added_tokens"`
		Normalizer *struct {
			Type               string `json:"type"`
			CleanText          *bool  `json:"clean_text"`
			HandleChineseChars *bool  `json:"handle_chinese_chars"`
			StripAccents       *bool  `json:"strip_accents"`
			Lowercase          *bool  `json:"lowercase"`
		} `json:"normalizer"`
		PreTokenizer *struct {
			Type string `json:"type"`
		} `json:"pre_tokenizer"`
		PostProcessor *struct {
			Type   string `json:"type"`
			Single []struct {
				SpecialToken *struct {
					ID string `json:"id"`
				} `json:"SpecialToken"`
				Sequence *struct {
					ID string `json:"id"`
				} `json:"Sequence"`
			} `json:"single"`
			SpecialTokens map[string]struct {
				IDs []int `json:"ids"`
			} `json:"special_tokens"`
			Cls []json.RawMessage `json:"cls"`
			Sep []json.RawMessage `json:"sep"`
		} `json:"post_processor"`
		Model struct {
			Type                    string         `json:"type"`
			UnkToken                string         `json:"unk_token"`
			ContinuingSubwordPrefix *string        `json:"continuing_subword_prefix"`
			MaxInputCharsPerWord    int            `json:"max_input_chars_per_word"`
			Vocab                   map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, err
	}
	if tj.Model.Type != "WordPiece" {
		return nil, fmt.Errorf("model type %q is not supported (want WordPiece)", tj.Model.Type)
	}
	if len(tj.Model.Vocab) == 0 {
		return nil, errors.New("model.vocab is empty")
	}
	opts := DefaultOptions()
	if tj.Model.UnkToken != "" {
		opts.UnkToken = tj.Model.UnkToken
	}
	if tj.Model.ContinuingSubwordPrefix != nil {
		opts.ContinuingSubwordPrefix = *tj.Model.ContinuingSubwordPrefix
	}
	if tj.Model.MaxInputCharsPerWord > 0 {
		opts.MaxInputCharsPerWord = tj.Model.MaxInputCharsPerWord
	}
	if n := tj.Normalizer; n != nil {
		if n.Type != "BertNormalizer" {
			return nil, fmt.Errorf("normalizer %q is not supported (want BertNormalizer)", n.Type)
		}
		set := func(dst *bool, v *bool) {
			if v != nil {
				*dst = *v
			}
		}
		set(&opts.CleanText, n.CleanText)
		set(&opts.HandleChineseChars, n.HandleChineseChars)
		set(&opts.Lowercase, n.Lowercase)
		opts.StripAccents = opts.Lowercase
		set(&opts.StripAccents, n.StripAccents)
	} else {
		opts.CleanText, opts.HandleChineseChars, opts.StripAccents, opts.Lowercase = false, false, false, false
	}
	if p := tj.PreTokenizer; p == nil || p.Type != "BertPreTokenizer" {
		typ := "null"
		if p != nil {
			typ = p.Type
		}
		return nil, fmt.Errorf("pre_tokenizer %s is not supported (want BertPreTokenizer)", typ)
	}
	var specials []addedToken
	for _, a := range tj.AddedTokens {
		if a.Normalized || a.SingleWord || a.Lstrip || a.Rstrip {
			return nil, fmt.Errorf("added token %q: normalized/single_word/lstrip/rstrip are not supported", a.Content)
		}
		if a.Content == "" {
			return nil, fmt.Errorf("added token %d has empty content", a.ID)
		}
		specials = append(specials, addedToken{a.Content, a.ID})
	}
	cls, sep := -1, -1
	if pp := tj.PostProcessor; pp != nil {
		switch pp.Type {
		case "TemplateProcessing":
			s := pp.Single
			if len(s) != 3 || s[0].SpecialToken == nil || s[1].Sequence == nil || s[2].SpecialToken == nil {
				return nil, errors.New("post_processor: only the template [CLS] $A [SEP] is supported")
			}
			one := func(name string) (int, error) {
				st, ok := pp.SpecialTokens[name]
				if !ok || len(st.IDs) != 1 {
					return 0, fmt.Errorf("post_processor: special token %q needs exactly one id", name)
				}
				return st.IDs[0], nil
			}
			var err error
			if cls, err = one(s[0].SpecialToken.ID); err != nil {
				return nil, err
			}
			if sep, err = one(s[2].SpecialToken.ID); err != nil {
				return nil, err
			}
		case "BertProcessing":
			get := func(raw []json.RawMessage) (int, error) {
				var id int
				if len(raw) != 2 || json.Unmarshal(raw[1], &id) != nil {
					return 0, errors.New("post_processor: bad cls/sep")
				}
				return id, nil
			}
			var err error
			if cls, err = get(pp.Cls); err != nil {
				return nil, err
			}
			if sep, err = get(pp.Sep); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("post_processor %q is not supported", pp.Type)
		}
	}
	return newTokenizer(tj.Model.Vocab, opts, specials, cls, sep)
}

// Encode tokenizes text and returns its ids as [CLS] pieces... [SEP],
// truncated so that the result has at most maxLen ids (maxLen <= 0: no
// limit; a positive maxLen below 2 is treated as 2).
func (t *Tokenizer) Encode(text string, maxLen int) []int {
	limit := -1
	if maxLen > 0 {
		limit = max(maxLen, 2) - 2
	}
	ids := make([]int, 1, 16)
	ids[0] = t.clsID
	ids = t.appendPieces(ids, text, limit)
	return append(ids, t.sepID)
}

// Tokenize returns the piece ids of text without [CLS]/[SEP] and without
// truncation.
func (t *Tokenizer) Tokenize(text string) []int {
	return t.appendPieces(nil, text, -1)
}

// appendPieces appends the ids of text to dst and stops once limit ids have
// been appended (limit < 0: no limit). Stopping early gives the same prefix
// as tokenizing everything and truncating: pieces depend only on the text
// before them.
func (t *Tokenizer) appendPieces(dst []int, text string, limit int) []int {
	base := len(dst)
	full := func() bool { return limit >= 0 && len(dst)-base >= limit }
	var s scratch
	for len(text) > 0 && !full() {
		// Special tokens are matched verbatim, leftmost-longest, before
		// normalisation (their "normalized" flag is false).
		pos, tok := t.findSpecial(text)
		seg := text
		if tok != nil {
			seg = text[:pos]
		}
		dst = t.appendSegment(dst, seg, &s, base, limit)
		if tok == nil {
			break
		}
		if !full() {
			dst = append(dst, tok.id)
		}
		text = text[pos+len(tok.content):]
	}
	if limit >= 0 && len(dst)-base > limit {
		dst = dst[:base+limit]
	}
	return dst
}

func (t *Tokenizer) findSpecial(text string) (int, *addedToken) {
	if len(t.special) == 0 {
		return -1, nil
	}
	for i := 0; i < len(text); i++ {
		var best *addedToken
		for k := range t.special {
			a := &t.special[k]
			if text[i] == a.content[0] && strings.HasPrefix(text[i:], a.content) &&
				(best == nil || len(a.content) > len(best.content)) {
				best = a
			}
		}
		if best != nil {
			return i, best
		}
	}
	return -1, nil
}

type scratch struct {
	norm []rune
	tmp  []rune
	word []byte
	cand []byte
}

// normalize applies BertNormalizer to s, appending runes to s.norm.
func (t *Tokenizer) normalize(s *scratch, text string) {
	tab := t.tab
	o := t.opts
	out := s.norm[:0]
	emit := func(r rune) {
		if o.StripAccents {
			s.tmp = tab.appendStripped(s.tmp[:0], r)
		} else {
			s.tmp = append(s.tmp[:0], r)
		}
		for _, x := range s.tmp {
			if o.Lowercase {
				out = tab.appendLower(out, x)
			} else {
				out = append(out, x)
			}
		}
	}
	for _, r := range text { // invalid UTF-8 reads as U+FFFD, which clean_text removes
		if o.CleanText {
			switch tab.cleanClass(r) {
			case clsRemove:
				continue
			case clsSpace:
				r = ' '
			}
		}
		if o.HandleChineseChars && isCJK(r) {
			out = append(out, ' ')
			emit(r)
			out = append(out, ' ')
			continue
		}
		if r < 128 { // ASCII never decomposes (checked when the tables load)
			if o.Lowercase {
				r = rune(tab.asciiLower[r])
			}
			out = append(out, r)
			continue
		}
		emit(r)
	}
	s.norm = out
}

// appendSegment normalises, pre-tokenizes and word-pieces one segment of
// text that contains no special token.
func (t *Tokenizer) appendSegment(dst []int, text string, s *scratch, base, limit int) []int {
	t.normalize(s, text)
	norm := s.norm
	start := -1
	for i := 0; i <= len(norm); i++ {
		if limit >= 0 && len(dst)-base >= limit {
			return dst
		}
		cls := uint8(splitSpace)
		if i < len(norm) {
			cls = t.tab.splitClass(norm[i])
		}
		if cls == splitNone {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			dst = t.appendWord(dst, norm[start:i], s)
			start = -1
		}
		if cls == splitPunct {
			dst = t.appendWord(dst, norm[i:i+1], s)
		}
	}
	return dst
}

// appendWord runs greedy longest-match-first WordPiece on one word.
func (t *Tokenizer) appendWord(dst []int, word []rune, s *scratch) []int {
	if len(word) > t.opts.MaxInputCharsPerWord {
		return append(dst, t.unkID)
	}
	w := s.word[:0]
	for _, r := range word {
		w = utf8.AppendRune(w, r)
	}
	s.word = w
	prefix := t.opts.ContinuingSubwordPrefix
	n0 := len(dst)
	for start := 0; start < len(w); {
		end := len(w)
		found := -1
		for end > start {
			c := s.cand[:0]
			if start > 0 {
				c = append(c, prefix...)
			}
			c = append(c, w[start:end]...)
			s.cand = c
			if id, ok := t.vocab[string(c)]; ok {
				found = int(id)
				break
			}
			// step back one character
			end--
			for end > start && !utf8.RuneStart(w[end]) {
				end--
			}
		}
		if found < 0 {
			return append(dst[:n0], t.unkID)
		}
		dst = append(dst, found)
		start = end
	}
	return dst
}

// Normalize returns the text after BertNormalizer (for debugging and tests).
func (t *Tokenizer) Normalize(text string) string {
	var s scratch
	t.normalize(&s, text)
	var b bytes.Buffer
	for _, r := range s.norm {
		b.WriteRune(r)
	}
	return b.String()
}
