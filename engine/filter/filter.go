// Package filter parses and evaluates the scalar filters of a search on
// an attached collection:
//
//	lang = 'en' AND year >= 2020 AND NOT (status IN ('draft', 'retired'))
//
// Grammar (keywords case-insensitive):
//
//	expr    = and { OR and }
//	and     = unary { AND unary }
//	unary   = NOT unary | "(" expr ")" | compare
//	compare = column op literal
//	        | column [NOT] IN "(" literal { "," literal } ")"
//	        | column IS [NOT] NULL
//	op      = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//	literal = number | 'string' ('' escapes a quote) | TRUE | FALSE
//	column  = name { "." name } | `any text`
//
// Nulls follow SQL's three-valued logic: a comparison with a null is
// unknown, NOT unknown is unknown, and only rows for which the whole
// expression is true pass. Compile checks every column exists and every
// literal fits its column's type, and turns the expression into a closure
// over the columns' values, so evaluating a row inside the HNSW search is
// a few slice reads, no allocation.
package filter

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/lakevec/lakevec/lake"
)

// Error is a filter that cannot be parsed or compiled; Pos is the byte
// offset in the filter text (-1 when not about a place).
type Error struct {
	Filter string
	Pos    int
	Msg    string
}

func (e *Error) Error() string {
	if e.Pos >= 0 {
		return fmt.Sprintf("filter %q: at offset %d: %s", e.Filter, e.Pos, e.Msg)
	}
	return fmt.Sprintf("filter %q: %s", e.Filter, e.Msg)
}

// Expr is a parsed filter.
type Expr struct {
	src  string
	root node
}

// String returns the filter text as given.
func (e *Expr) String() string { return e.src }

// Columns lists the columns the filter names.
func (e *Expr) Columns() []string {
	seen := map[string]bool{}
	var out []string
	var walk func(n node)
	walk = func(n node) {
		switch n := n.(type) {
		case *logic:
			for _, a := range n.args {
				walk(a)
			}
		case *not:
			walk(n.arg)
		case *cmp:
			if !seen[n.col] {
				seen[n.col] = true
				out = append(out, n.col)
			}
		}
	}
	walk(e.root)
	return out
}

type node interface{ pos() int }

type logic struct {
	and  bool
	args []node
	at   int
}

type not struct {
	arg node
	at  int
}

type cmp struct {
	col    string
	op     string // = != < <= > >= in notin isnull notnull
	lits   []literal
	at     int
	colPos int
}

type literal struct {
	kind  byte // 'n' number, 's' string, 'b' bool
	num   float64
	ival  int64
	isInt bool
	str   string
	b     bool
	at    int
}

func (n *logic) pos() int { return n.at }
func (n *not) pos() int   { return n.at }
func (n *cmp) pos() int   { return n.at }

// Parse parses a filter expression.
func Parse(src string) (*Expr, error) {
	p := &parser{src: src}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.toks) == 0 {
		return nil, &Error{Filter: src, Pos: -1, Msg: "empty filter"}
	}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		t := p.toks[p.i]
		return nil, p.errAt(t.at, "unexpected %s", t.describe())
	}
	return &Expr{src: src, root: n}, nil
}

type token struct {
	kind byte // 'i' identifier/keyword, 'q' quoted identifier, 's' string, 'n' number, 'p' punctuation
	text string
	at   int
}

func (t token) describe() string {
	switch t.kind {
	case 's':
		return "string '" + t.text + "'"
	case 'p':
		return "'" + t.text + "'"
	}
	return strconv.Quote(t.text)
}

func (t token) kw(k string) bool { return t.kind == 'i' && strings.EqualFold(t.text, k) }

type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) errAt(at int, format string, args ...any) error {
	return &Error{Filter: p.src, Pos: at, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return p.errAt(i, "unterminated string")
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			p.toks = append(p.toks, token{'s', b.String(), i})
			i = j + 1
		case c == '`':
			j := strings.IndexByte(s[i+1:], '`')
			if j < 0 {
				return p.errAt(i, "unterminated `quoted` column name")
			}
			p.toks = append(p.toks, token{'q', s[i+1 : i+1+j], i})
			i += j + 2
		case c == '(' || c == ')' || c == ',':
			p.toks = append(p.toks, token{'p', string(c), i})
			i++
		case c == '=' || c == '!' || c == '<' || c == '>':
			j := i + 1
			if j < len(s) && (s[j] == '=' || (c == '<' && s[j] == '>')) {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return p.errAt(i, "'!' must be followed by '='")
			}
			p.toks = append(p.toks, token{'p', op, i})
			i = j
		case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				((s[j] == '-' || s[j] == '+') && (s[j-1] == 'e' || s[j-1] == 'E'))) {
				j++
			}
			p.toks = append(p.toks, token{'n', s[i:j], i})
			i = j
		case c == '_' || c < 0x80 && unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] < 0x80 && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])))) {
				j++
			}
			p.toks = append(p.toks, token{'i', s[i:j], i})
			i = j
		default:
			return p.errAt(i, "unexpected character %q", rune(c))
		}
	}
	return nil
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *parser) end() error { return p.errAt(len(p.src), "unexpected end of filter") }

// expect consumes the punctuation text, or fails with "expected 'text'",
// then where, then what was found instead.
func (p *parser) expect(text, where string) error {
	t, ok := p.peek()
	if !ok {
		return p.end()
	}
	if t.kind != 'p' || t.text != text {
		return p.errAt(t.at, "expected '%s'%s, found %s", text, where, t.describe())
	}
	p.i++
	return nil
}

// maxDepth bounds nesting so a hostile filter cannot exhaust the stack.
const maxDepth = 64

func (p *parser) or(depth int) (node, error) {
	return p.chain(depth, "OR", p.and)
}

func (p *parser) and(depth int) (node, error) {
	return p.chain(depth, "AND", p.unary)
}

func (p *parser) chain(depth int, kw string, next func(int) (node, error)) (node, error) {
	first, err := next(depth)
	if err != nil {
		return nil, err
	}
	args := []node{first}
	for {
		t, ok := p.peek()
		if !ok || !t.kw(kw) {
			break
		}
		p.i++
		n, err := next(depth)
		if err != nil {
			return nil, err
		}
		args = append(args, n)
	}
	if len(args) == 1 {
		return first, nil
	}
	return &logic{and: kw == "AND", args: args, at: first.pos()}, nil
}

func (p *parser) unary(depth int) (node, error) {
	if depth > maxDepth {
		t, _ := p.peek()
		return nil, p.errAt(t.at, "nested more than %d levels", maxDepth)
	}
	t, ok := p.peek()
	if !ok {
		return nil, p.end()
	}
	switch {
	case t.kw("NOT"):
		p.i++
		n, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &not{arg: n, at: t.at}, nil
	case t.kind == 'p' && t.text == "(":
		p.i++
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(")", ""); err != nil {
			return nil, err
		}
		return n, nil
	}
	return p.compare()
}

var keywords = map[string]bool{"AND": true, "OR": true, "NOT": true, "IN": true, "IS": true, "NULL": true, "TRUE": true, "FALSE": true}

func (p *parser) compare() (node, error) {
	t := p.toks[p.i]
	if t.kind != 'q' && (t.kind != 'i' || keywords[strings.ToUpper(t.text)]) {
		return nil, p.errAt(t.at, "expected a column name, found %s", t.describe())
	}
	p.i++
	c := &cmp{col: t.text, at: t.at, colPos: t.at}
	o, ok := p.peek()
	if !ok {
		return nil, p.end()
	}
	p.i++
	switch {
	case o.kind == 'p' && o.text != "(" && o.text != ")" && o.text != ",":
		c.op = map[string]string{"==": "=", "<>": "!="}[o.text]
		if c.op == "" {
			c.op = o.text
		}
		l, err := p.literal()
		if err != nil {
			return nil, err
		}
		c.lits = []literal{l}
		return c, nil
	case o.kw("IS"):
		c.op = "isnull"
		n, ok := p.peek()
		if ok && n.kw("NOT") {
			c.op = "notnull"
			p.i++
			n, ok = p.peek()
		}
		if !ok {
			return nil, p.end()
		}
		if !n.kw("NULL") {
			return nil, p.errAt(n.at, "expected NULL after IS, found %s", n.describe())
		}
		p.i++
		return c, nil
	case o.kw("NOT") || o.kw("IN"):
		c.op = "in"
		if o.kw("NOT") {
			c.op = "notin"
			n, ok := p.peek()
			if !ok {
				return nil, p.end()
			}
			if !n.kw("IN") {
				return nil, p.errAt(n.at, "expected IN after NOT, found %s", n.describe())
			}
			p.i++
		}
		if err := p.expect("(", " after IN"); err != nil {
			return nil, err
		}
		for {
			l, err := p.literal()
			if err != nil {
				return nil, err
			}
			c.lits = append(c.lits, l)
			n, ok := p.peek()
			if !ok {
				return nil, p.end()
			}
			p.i++
			if n.kind == 'p' && n.text == ")" {
				return c, nil
			}
			if n.kind != 'p' || n.text != "," {
				return nil, p.errAt(n.at, "expected ',' or ')' in the IN list, found %s", n.describe())
			}
		}
	}
	return nil, p.errAt(o.at, "expected a comparison (=, !=, <, <=, >, >=, IN, IS NULL) after %q, found %s", c.col, o.describe())
}

func (p *parser) literal() (literal, error) {
	t, ok := p.peek()
	if !ok {
		return literal{}, p.end()
	}
	p.i++
	switch {
	case t.kind == 's':
		return literal{kind: 's', str: t.text, at: t.at}, nil
	case t.kind == 'n':
		l := literal{kind: 'n', at: t.at}
		if i, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			l.ival, l.isInt, l.num = i, true, float64(i)
			return l, nil
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil || math.IsInf(f, 0) {
			return literal{}, p.errAt(t.at, "bad number %q", t.text)
		}
		l.num = f
		return l, nil
	case t.kw("TRUE") || t.kw("FALSE"):
		return literal{kind: 'b', b: t.kw("TRUE"), at: t.at}, nil
	case t.kw("NULL"):
		return literal{}, p.errAt(t.at, "compare with NULL using IS NULL or IS NOT NULL")
	}
	return literal{}, p.errAt(t.at, "expected a value (a number, a 'string', TRUE or FALSE), found %s", t.describe())
}

// ErrUnknownColumn is wrapped by compile errors about a column the
// collection does not keep.
var ErrUnknownColumn = errors.New("unknown column")

// Match is a compiled filter: it reports whether row id passes.
type Match func(id uint32) bool

// tri is a three-valued truth: false, true or unknown (a null took part).
type tri uint8

const (
	fls tri = iota
	tru
	unk
)

type eval func(id uint32) tri

// Compile checks e against the columns (values indexed by row id) and
// returns the predicate. A row id beyond a column's length reads as null.
func Compile(e *Expr, columns map[string]*lake.Column) (Match, error) {
	ev, err := compileNode(e, e.root, columns)
	if err != nil {
		return nil, err
	}
	return func(id uint32) bool { return ev(id) == tru }, nil
}

func compileNode(e *Expr, n node, cols map[string]*lake.Column) (eval, error) {
	switch n := n.(type) {
	case *not:
		a, err := compileNode(e, n.arg, cols)
		if err != nil {
			return nil, err
		}
		return func(id uint32) tri {
			switch a(id) {
			case tru:
				return fls
			case fls:
				return tru
			}
			return unk
		}, nil
	case *logic:
		args := make([]eval, len(n.args))
		for i, a := range n.args {
			ev, err := compileNode(e, a, cols)
			if err != nil {
				return nil, err
			}
			args[i] = ev
		}
		if n.and {
			return func(id uint32) tri {
				r := tru
				for _, a := range args {
					switch a(id) {
					case fls:
						return fls
					case unk:
						r = unk
					}
				}
				return r
			}, nil
		}
		return func(id uint32) tri {
			r := fls
			for _, a := range args {
				switch a(id) {
				case tru:
					return tru
				case unk:
					r = unk
				}
			}
			return r
		}, nil
	case *cmp:
		return compileCmp(e, n, cols)
	}
	return nil, &Error{Filter: e.src, Pos: -1, Msg: "internal: unknown node"}
}

func compileCmp(e *Expr, c *cmp, cols map[string]*lake.Column) (eval, error) {
	col, ok := cols[c.col]
	if !ok {
		names := make([]string, 0, len(cols))
		for k := range cols {
			names = append(names, k)
		}
		return nil, &Error{Filter: e.src, Pos: c.colPos, Msg: fmt.Sprintf("%v %q (the collection keeps: %s)", ErrUnknownColumn, c.col, strings.Join(sortStrings(names), ", "))}
	}
	null := func(id uint32) bool { return int(id) >= col.Len() || col.IsNull(int(id)) }
	switch c.op {
	case "isnull":
		return func(id uint32) tri { return boolTri(null(id)) }, nil
	case "notnull":
		return func(id uint32) tri { return boolTri(!null(id)) }, nil
	}
	bad := func(l literal) error {
		want := map[lake.ColumnType]string{lake.TypeInt: "a number", lake.TypeFloat: "a number", lake.TypeString: "a 'string'", lake.TypeBool: "TRUE or FALSE"}[col.Type]
		return &Error{Filter: e.src, Pos: l.at, Msg: fmt.Sprintf("column %q is %s: compare it with %s", c.col, col.Type, want)}
	}
	ordered := c.op != "=" && c.op != "!=" && c.op != "in" && c.op != "notin"
	if col.Type == lake.TypeBool && ordered {
		return nil, &Error{Filter: e.src, Pos: c.at, Msg: fmt.Sprintf("column %q is bool: only =, != and IN apply", c.col)}
	}
	// order(id, lit) returns -1, 0, 1 comparing the row's value with lit.
	var order func(id uint32, i int) int
	switch col.Type {
	case lake.TypeInt:
		for _, l := range c.lits {
			if l.kind != 'n' {
				return nil, bad(l)
			}
		}
		order = func(id uint32, i int) int {
			l := c.lits[i]
			v := col.Ints[id]
			if l.isInt {
				return cmp3(v, l.ival)
			}
			return cmp3(float64(v), l.num)
		}
	case lake.TypeFloat:
		for _, l := range c.lits {
			if l.kind != 'n' {
				return nil, bad(l)
			}
		}
		order = func(id uint32, i int) int { return cmp3(col.Floats[id], c.lits[i].num) }
	case lake.TypeString:
		for _, l := range c.lits {
			if l.kind != 's' {
				return nil, bad(l)
			}
		}
		order = func(id uint32, i int) int { return strings.Compare(col.Strings[id], c.lits[i].str) }
	case lake.TypeBool:
		for _, l := range c.lits {
			if l.kind != 'b' {
				return nil, bad(l)
			}
		}
		order = func(id uint32, i int) int {
			if col.Bools[id] == c.lits[i].b {
				return 0
			}
			return 1
		}
	default:
		return nil, &Error{Filter: e.src, Pos: c.colPos, Msg: fmt.Sprintf("column %q has an unsupported type", c.col)}
	}
	var test func(id uint32) bool
	switch c.op {
	case "=":
		test = func(id uint32) bool { return order(id, 0) == 0 }
	case "!=":
		test = func(id uint32) bool { return order(id, 0) != 0 }
	case "<":
		test = func(id uint32) bool { return order(id, 0) < 0 }
	case "<=":
		test = func(id uint32) bool { return order(id, 0) <= 0 }
	case ">":
		test = func(id uint32) bool { return order(id, 0) > 0 }
	case ">=":
		test = func(id uint32) bool { return order(id, 0) >= 0 }
	case "in", "notin":
		want := c.op == "in"
		test = func(id uint32) bool {
			for i := range c.lits {
				if order(id, i) == 0 {
					return want
				}
			}
			return !want
		}
	default:
		return nil, &Error{Filter: e.src, Pos: c.at, Msg: fmt.Sprintf("unknown operator %q", c.op)}
	}
	return func(id uint32) tri {
		if null(id) {
			return unk
		}
		return boolTri(test(id))
	}, nil
}

func boolTri(b bool) tri {
	if b {
		return tru
	}
	return fls
}

func cmp3[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}
