package wordpiece

import (
	"slices"
	"testing"
)

// FuzzEncode: no panics on any bytes; ids are in the vocabulary; the result
// is [CLS] ... [SEP]; truncation keeps a prefix of the untruncated pieces.
func FuzzEncode(f *testing.F) {
	tok := loadShared(f)
	for _, s := range []string{"hello world", "Héllo [MASK] 中文!", "\xff\xfe", "a##b", "[CLS][SEP]", "İı ǅ 한"} {
		f.Add(s, 16)
	}
	n := tok.VocabSize()
	f.Fuzz(func(t *testing.T, s string, maxLen int) {
		maxLen = maxLen%300 + 2
		if maxLen < 2 {
			maxLen += 300
		}
		all := tok.Encode(s, 0)
		got := tok.Encode(s, maxLen)
		if len(got) > maxLen || got[0] != tok.ClsID() || got[len(got)-1] != tok.SepID() {
			t.Fatalf("Encode(%q, %d) = %v", s, maxLen, got)
		}
		for _, id := range all {
			if id < 0 || id >= n {
				t.Fatalf("id %d out of range", id)
			}
		}
		body := got[1 : len(got)-1]
		if !slices.Equal(body, all[1:1+len(body)]) || (len(all) <= maxLen && len(got) != len(all)) {
			t.Fatalf("Encode(%q, %d) = %v is not the truncation of %v", s, maxLen, got, all)
		}
	})
}
