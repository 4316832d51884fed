package sigma

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// ConditionError is a syntax error in a detection condition.
type ConditionError struct {
	// Col is the 1-based column in the condition text (in characters).
	Col int
	Msg string
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("column %d: %s", e.Col, e.Msg)
}

// maxCondDepth bounds the nesting of parentheses and "not", so that a
// hostile condition cannot exhaust the stack.
const maxCondDepth = 100

// ParseCondition parses the condition of a detection, as the Sigma rules
// specification defines it: search identifiers, "and", "or", "not",
// parentheses, "1 of X", "all of X" and "N of X", where X is a search
// identifier, a pattern with * wildcards or "them". "not" binds tighter
// than "and", which binds tighter than "or". The positions in the tree
// are columns of text on line 1; the error, if any, is a
// *ConditionError.
//
// ParseCondition checks syntax only; which identifiers the detection
// defines is checked when a rule is parsed.
func ParseCondition(text string) (ast.Cond, error) {
	return parseCondition(text, func(col int) ast.Pos { return ast.Pos{Line: 1, Col: col} })
}

type tokKind int

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tWord
)

type ctoken struct {
	kind tokKind
	text string
	col  int // 1-based, in characters
}

// tokenize splits a condition into parentheses, words and pipes.
func tokenize(text string) ([]ctoken, error) {
	var toks []ctoken
	col := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		col++
		switch {
		case r == utf8.RuneError && size == 1:
			return nil, &ConditionError{col, "invalid UTF-8"}
		case unicode.IsSpace(r):
			i += size
		case r == '(':
			toks = append(toks, ctoken{tLParen, "(", col})
			i += size
		case r == ')':
			toks = append(toks, ctoken{tRParen, ")", col})
			i += size
		case isWordRune(r):
			start, startCol := i, col
			i += size
			for i < len(text) {
				r, size = utf8.DecodeRuneInString(text[i:])
				if !isWordRune(r) {
					break
				}
				i += size
				col++
			}
			toks = append(toks, ctoken{tWord, text[start:i], startCol})
		default:
			return nil, &ConditionError{col, fmt.Sprintf("unexpected character %q", r)}
		}
	}
	toks = append(toks, ctoken{tEOF, "", col + 1})
	return toks, nil
}

// isWordRune reports whether r may appear in a search identifier, a
// pattern or a keyword.
func isWordRune(r rune) bool {
	return r == '_' || r == '-' || r == '.' || r == '*' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

type condParser struct {
	toks  []ctoken
	i     int
	depth int
	pos   func(col int) ast.Pos
}

func parseCondition(text string, pos func(col int) ast.Pos) (ast.Cond, error) {
	if i := strings.IndexByte(text, '|'); i >= 0 && utf8.ValidString(text[:i]) {
		return nil, &ConditionError{utf8.RuneCountInString(text[:i]) + 1, "the pipe \"|\" starts an aggregation, which Sigma no longer has; use a correlation rule"}
	}
	toks, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	if toks[0].kind == tEOF {
		return nil, &ConditionError{1, "the condition is empty"}
	}
	p := &condParser{toks: toks, pos: pos}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, &ConditionError{t.col, "unexpected \")\" without a matching \"(\""}
		}
		if lw := strings.ToLower(t.text); t.kind == tWord && keywords[lw] && lw != t.text {
			return nil, &ConditionError{t.col, fmt.Sprintf("operators are lower case: write %q, not %q", lw, t.text)}
		}
		return nil, &ConditionError{t.col, fmt.Sprintf("unexpected %s after a complete condition; missing \"and\" or \"or\"?", describeTok(t))}
	}
	return c, nil
}

func (p *condParser) peek() ctoken { return p.toks[p.i] }

func (p *condParser) next() ctoken {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *condParser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tWord && t.text == w
}

func describeTok(t ctoken) string {
	switch t.kind {
	case tEOF:
		return "end of condition"
	case tWord:
		return strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

// or := and ("or" and)*
func (p *condParser) or() (ast.Cond, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	parts := []ast.Cond{first}
	for p.isWord("or") {
		p.next()
		c, err := p.and()
		if err != nil {
			return nil, err
		}
		parts = append(parts, c)
	}
	if len(parts) == 1 {
		return first, nil
	}
	return ast.Or{Parts: parts}, nil
}

// and := not ("and" not)*
func (p *condParser) and() (ast.Cond, error) {
	first, err := p.not()
	if err != nil {
		return nil, err
	}
	parts := []ast.Cond{first}
	for p.isWord("and") {
		p.next()
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		parts = append(parts, c)
	}
	if len(parts) == 1 {
		return first, nil
	}
	return ast.And{Parts: parts}, nil
}

// not := "not" not | primary
func (p *condParser) not() (ast.Cond, error) {
	if p.isWord("not") {
		t := p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return ast.Not{X: x}, nil
	}
	return p.primary()
}

func (p *condParser) enter(t ctoken) error {
	p.depth++
	if p.depth > maxCondDepth {
		return &ConditionError{t.col, fmt.Sprintf("the condition nests more than %d levels deep", maxCondDepth)}
	}
	return nil
}

func (p *condParser) leave() { p.depth-- }

// keywords are the words of the condition language.
var keywords = map[string]bool{"and": true, "or": true, "not": true, "of": true, "them": true, "all": true, "any": true}

// primary := "(" or ")" | quantifier "of" target | identifier
func (p *condParser) primary() (ast.Cond, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		if p.peek().kind == tRParen {
			return nil, &ConditionError{p.peek().col, "empty parentheses"}
		}
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if end := p.next(); end.kind != tRParen {
			if end.kind == tEOF {
				return nil, &ConditionError{t.col, "\"(\" is never closed"}
			}
			return nil, &ConditionError{end.col, fmt.Sprintf("expected \")\" to close the \"(\" at column %d, found %s", t.col, describeTok(end))}
		}
		return c, nil
	case tWord:
	default:
		return nil, &ConditionError{t.col, fmt.Sprintf("expected a search identifier, \"not\", \"(\" or \"1 of\", found %s", describeTok(t))}
	}

	// A quantifier: a number, "all" or "any", followed by "of".
	if p.isWord("of") {
		return p.of(t)
	}
	switch w := t.text; {
	case w == "of":
		return nil, &ConditionError{t.col, "\"of\" must follow a number, \"all\" or \"any\" (as in \"1 of selection*\")"}
	case w == "them":
		return nil, &ConditionError{t.col, "\"them\" is only allowed after \"1 of\" or \"all of\""}
	case isNumber(w) || w == "all" || w == "any":
		return nil, &ConditionError{t.col, fmt.Sprintf("expected \"of\" after %q", w)}
	case keywords[w]:
		return nil, &ConditionError{t.col, fmt.Sprintf("expected a search identifier, \"not\", \"(\" or \"1 of\", found %q", w)}
	case strings.Contains(w, "*"):
		return nil, &ConditionError{t.col, fmt.Sprintf("the wildcard pattern %q is only allowed after \"1 of\" or \"all of\"", w)}
	}
	if lw := strings.ToLower(t.text); keywords[lw] && lw != t.text {
		return nil, &ConditionError{t.col, fmt.Sprintf("operators are lower case: write %q, not %q", lw, t.text)}
	}
	return ast.Ident{Name: t.text, Pos: p.pos(t.col)}, nil
}

// of parses "of target" after the quantifier q.
func (p *condParser) of(q ctoken) (ast.Cond, error) {
	p.next() // "of"
	of := ast.Of{Pos: p.pos(q.col)}
	switch {
	case q.text == "all":
		of.Quant = ast.All
	case q.text == "any":
		of.Quant, of.N = ast.Any, 1
	case isNumber(q.text):
		n, err := strconv.Atoi(q.text)
		if err != nil || n < 1 {
			return nil, &ConditionError{q.col, fmt.Sprintf("%q of: the number must be at least 1", q.text)}
		}
		of.N = n
		if n == 1 {
			of.Quant = ast.Any
		} else {
			of.Quant = ast.AtLeast
		}
	default:
		return nil, &ConditionError{q.col, fmt.Sprintf("%q of: expected a number, \"all\" or \"any\" before \"of\"", q.text)}
	}
	t := p.next()
	switch {
	case t.kind != tWord:
		return nil, &ConditionError{t.col, fmt.Sprintf("expected a search identifier, a pattern or \"them\" after \"of\", found %s", describeTok(t))}
	case t.text == "them":
		of.Pattern = "*"
	case keywords[t.text]:
		return nil, &ConditionError{t.col, fmt.Sprintf("expected a search identifier, a pattern or \"them\" after \"of\", found %q", t.text)}
	default:
		of.Pattern = t.text
	}
	return of, nil
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// FormatCondition writes a condition back in the condition language,
// with parentheses where precedence needs them.
func FormatCondition(c ast.Cond) string {
	var b strings.Builder
	formatCond(&b, c, 0)
	return b.String()
}

// precedence: or 1, and 2, not 3, atoms 4.
func formatCond(b *strings.Builder, c ast.Cond, outer int) {
	prec := 4
	switch c.(type) {
	case ast.Or:
		prec = 1
	case ast.And:
		prec = 2
	case ast.Not:
		prec = 3
	}
	if prec < outer {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	switch c := c.(type) {
	case ast.Or:
		for i, x := range c.Parts {
			if i > 0 {
				b.WriteString(" or ")
			}
			formatCond(b, x, 2)
		}
	case ast.And:
		for i, x := range c.Parts {
			if i > 0 {
				b.WriteString(" and ")
			}
			formatCond(b, x, 3)
		}
	case ast.Not:
		b.WriteString("not ")
		formatCond(b, c.X, 3)
	case ast.Ident:
		b.WriteString(c.Name)
	case ast.Of:
		switch c.Quant {
		case ast.All:
			b.WriteString("all of ")
		case ast.AtLeast:
			b.WriteString(strconv.Itoa(c.N) + " of ")
		default:
			b.WriteString("1 of ")
		}
		if c.Pattern == "*" {
			b.WriteString("them")
		} else {
			b.WriteString(c.Pattern)
		}
	case nil:
		b.WriteString("<nil>")
	default:
		fmt.Fprintf(b, "<%T>", c)
	}
}
