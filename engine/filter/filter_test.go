package filter

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lakevec/lakevec/lake"
)

// rows of the test table:
//
//	id  lang  year  score  draft
//	0   en    2019  0.5    false
//	1   de    2020  1.5    true
//	2   en    2021  null   false
//	3   null  2022  2.5    null
//	4   fr    2023  -1     true
//	5   en    2024  3      false
func table() map[string]*lake.Column {
	lang := &lake.Column{Name: "lang", Type: lake.TypeString}
	year := &lake.Column{Name: "year", Type: lake.TypeInt}
	score := &lake.Column{Name: "score", Type: lake.TypeFloat}
	draft := &lake.Column{Name: "meta.draft", Type: lake.TypeBool}
	for i, l := range []any{"en", "de", "en", nil, "fr", "en"} {
		lang.Append(l)
		year.Append(int64(2019 + i))
	}
	for _, s := range []any{0.5, 1.5, nil, 2.5, -1.0, 3.0} {
		score.Append(s)
	}
	for _, d := range []any{false, true, false, nil, true, false} {
		draft.Append(d)
	}
	return map[string]*lake.Column{"lang": lang, "year": year, "score": score, "meta.draft": draft}
}

func TestFilter(t *testing.T) {
	cols := table()
	for _, tc := range []struct {
		f    string
		want []uint32
	}{
		{"lang = 'en'", []uint32{0, 2, 5}},
		{"lang == 'en'", []uint32{0, 2, 5}},
		{"lang != 'en'", []uint32{1, 4}}, // null is unknown, not "not en"
		{"lang <> 'en'", []uint32{1, 4}},
		{"year < 2021", []uint32{0, 1}},
		{"year <= 2021", []uint32{0, 1, 2}},
		{"year > 2022", []uint32{4, 5}},
		{"year >= 2022.5", []uint32{4, 5}},
		{"score > 1", []uint32{1, 3, 5}},
		{"score < 0", []uint32{4}},
		{"score >= -1e0", []uint32{0, 1, 3, 4, 5}},
		{"lang IN ('de', 'fr')", []uint32{1, 4}},
		{"lang not in ('de', 'fr')", []uint32{0, 2, 5}},
		{"lang IS NULL", []uint32{3, 6}},
		{"score is not null AND lang = 'en'", []uint32{0, 5}},
		{"lang = 'en' AND year >= 2021", []uint32{2, 5}},
		{"lang = 'de' OR year = 2023", []uint32{1, 4}},
		{"NOT lang = 'en'", []uint32{1, 4}},
		{"NOT (lang = 'en' OR lang = 'de')", []uint32{4}},
		{"meta.draft = true", []uint32{1, 4}},
		{"meta.draft != TRUE", []uint32{0, 2, 5}},
		{"`meta.draft` = false AND (year < 2020 OR score > 2)", []uint32{0, 5}},
		{"lang = 'en' or lang = 'de' and year > 2020", []uint32{0, 2, 5}}, // AND binds tighter
		{"(lang = 'en' or lang = 'de') and year > 2020", []uint32{2, 5}},
		{"lang = 'it''s'", nil},
		{"year IN (2019, 2024) AND NOT score IS NULL", []uint32{0, 5}},
		{"NOT NOT lang = 'fr'", []uint32{4}},
		// Three-valued: unknown OR true is true; unknown AND false is false.
		{"lang = 'x' OR year = 2022", []uint32{3}},
		{"NOT (lang = 'en' AND year = 2022)", []uint32{0, 1, 2, 4, 5}}, // row 3: NOT unknown is unknown
	} {
		e, err := Parse(tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.f, err)
		}
		m, err := Compile(e, cols)
		if err != nil {
			t.Fatalf("%s: %v", tc.f, err)
		}
		var got []uint32
		for id := range uint32(7) { // 6 is beyond the columns: null everywhere
			if m(id) {
				got = append(got, id)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v want %v", tc.f, got, tc.want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	cols := table()
	for _, tc := range []struct{ f, want string }{
		{"", "empty filter"},
		{"lang =", "unexpected end"},
		{"lang = 'en", "unterminated string"},
		{"lang = en", "expected a value"},
		{"lang 'en'", "expected a comparison"},
		{"= 'en'", "expected a column name"},
		{"lang = 'en' AND", "unexpected end"},
		{"(lang = 'en'", "unexpected end"},
		{"lang = 'en')", "unexpected ')'"},
		{"lang IN 'en'", "expected '('"},
		{"lang IN ('en' 'de')", "expected ',' or ')'"},
		{"lang IS 'en'", "expected NULL"},
		{"lang = NULL", "IS NULL"},
		{"lang ! 'en'", "'!' must be followed"},
		{"lang = 'en' # x", "unexpected character"},
		{"title = 'x'", "unknown column \"title\" (the collection keeps: lang, meta.draft, score, year)"},
		{"lang = 3", "column \"lang\" is string: compare it with a 'string'"},
		{"year = 'x'", "column \"year\" is int: compare it with a number"},
		{"meta.draft < true", "only =, != and IN"},
		{"meta.draft = 1", "compare it with TRUE or FALSE"},
		{"year = 1e999", "bad number"},
		{strings.Repeat("(", 100) + "year = 1" + strings.Repeat(")", 100), "nested more than"},
		{strings.Repeat("NOT ", 100) + "year = 1", "nested more than"},
	} {
		e, err := Parse(tc.f)
		if err == nil {
			_, err = Compile(e, cols)
		}
		var fe *Error
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error containing %q", tc.f, err, tc.want)
		}
	}
	e, _ := Parse("nope = 1")
	if _, err := Compile(e, cols); !errors.Is(err, ErrUnknownColumn) && !strings.Contains(err.Error(), ErrUnknownColumn.Error()) {
		t.Fatalf("unknown column: %v", err)
	}
}

func TestColumns(t *testing.T) {
	e, err := Parse("a = 1 AND (b IN (1,2) OR NOT a IS NULL) AND `c d` = 'x'")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Columns(); !slices.Equal(got, []string{"a", "b", "c d"}) {
		t.Fatalf("columns %v", got)
	}
}

// FuzzParse: any text parses or fails with an *Error, never panics; a
// parsed filter compiles or fails cleanly.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"lang = 'en' AND year >= 2020", "NOT (a IN (1, 2.5, -3e2))", "x IS NOT NULL OR `y.z` != 'q''s'", "((((", "a = b"} {
		f.Add(s)
	}
	cols := table()
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("%q: error %T %v", s, err, err)
			}
			return
		}
		m, err := Compile(e, cols)
		if err == nil {
			for id := range uint32(8) {
				m(id)
			}
		}
	})
}
