package embed

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckModel(t *testing.T) {
	if err := CheckModel("lexical-hash-v1-384", "lexical-hash-v1-384"); err != nil {
		t.Fatalf("same model: %v", err)
	}
	for _, tc := range [][2]string{
		{"lexical-hash-v1-384", "openai:text-embedding-3-small@api.openai.com"},
		{"", "lexical-hash-v1-384"},
		{"lexical-hash-v1-384", ""},
	} {
		err := CheckModel(tc[0], tc[1])
		var me *ModelMismatchError
		if !errors.As(err, &me) || me.Stored != tc[0] || me.Configured != tc[1] || !errors.Is(err, ErrModelMismatch) {
			t.Fatalf("CheckModel(%q, %q) = %v, want a *ModelMismatchError", tc[0], tc[1], err)
		}
		for _, want := range []string{`"` + tc[0] + `"`, `"` + tc[1] + `"`, "lakevec reembed"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %s: %v", want, err)
			}
		}
	}
}
