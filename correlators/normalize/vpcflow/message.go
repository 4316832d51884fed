package vpcflow

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// unwrapMessage returns the "message" member of a JSON object, the form a
// flow log record takes in a CloudWatch Logs export or subscription
// ({"message":"2 123456789010 eni-... OK"}, with other members or not). It
// reads just enough JSON for that, without encoding/json: objects, arrays
// and scalars are checked for structure and skipped.
func unwrapMessage(s string) (string, error) {
	p := &jsonReader{s: s}
	msg, found, err := p.object()
	if err == nil {
		p.space()
		if p.i < len(p.s) {
			err = p.fail("data after the end of the object")
		}
	}
	if err != nil {
		return "", fmt.Errorf("invalid JSON record: %w", err)
	}
	if !found {
		return "", errors.New(`JSON record without a "message" string`)
	}
	return msg, nil
}

// maxDepth bounds the nesting of skipped values.
const maxDepth = 64

type jsonReader struct {
	s     string
	i     int
	depth int
}

func (p *jsonReader) fail(what string) error {
	return fmt.Errorf("%s at byte %d", what, p.i)
}

func (p *jsonReader) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// object reads the top-level object and returns its "message" string.
func (p *jsonReader) object() (msg string, found bool, err error) {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return "", false, p.fail("no object")
	}
	p.i++
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return "", false, nil
	}
	for {
		p.space()
		key, err := p.str()
		if err != nil {
			return "", false, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return "", false, p.fail("no colon after a key")
		}
		p.i++
		p.space()
		if key == "message" {
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return "", false, errors.New(`"message" is not a string`)
			}
			// As encoding/json does, the last of duplicate keys wins.
			if msg, err = p.str(); err != nil {
				return "", false, err
			}
			found = true
		} else if err := p.skip(); err != nil {
			return "", false, err
		}
		p.space()
		if p.i >= len(p.s) {
			return "", false, p.fail("object not closed")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return msg, found, nil
		default:
			return "", false, p.fail("unexpected byte after a value")
		}
	}
}

// skip reads past one value.
func (p *jsonReader) skip() error {
	if p.i >= len(p.s) {
		return p.fail("value missing")
	}
	switch c := p.s[p.i]; {
	case c == '"':
		_, err := p.str()
		return err
	case c == '{' || c == '[':
		return p.container(c)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if strings.HasPrefix(p.s[p.i:], lit) {
			p.i += len(lit)
			return nil
		}
	}
	return p.fail("invalid value")
}

// container reads past an object or array.
func (p *jsonReader) container(open byte) error {
	if p.depth++; p.depth > maxDepth {
		return p.fail("values nested too deeply")
	}
	defer func() { p.depth-- }()
	closing := byte(']')
	if open == '{' {
		closing = '}'
	}
	p.i++
	p.space()
	if p.i < len(p.s) && p.s[p.i] == closing {
		p.i++
		return nil
	}
	for {
		p.space()
		if open == '{' {
			if _, err := p.str(); err != nil {
				return err
			}
			p.space()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return p.fail("no colon after a key")
			}
			p.i++
			p.space()
		}
		if err := p.skip(); err != nil {
			return err
		}
		p.space()
		if p.i >= len(p.s) {
			return p.fail("value not closed")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case closing:
			p.i++
			return nil
		default:
			return p.fail("unexpected byte after a value")
		}
	}
}

// number reads past a number: -?int(.digits)?([eE][+-]?digits)?.
func (p *jsonReader) number() error {
	if p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case p.digits() == 0:
		return p.fail("invalid number")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return p.fail("invalid number")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return p.fail("invalid number")
		}
	}
	return nil
}

func (p *jsonReader) digits() int {
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// str reads a string and returns its value: a substring of the input if
// it has no escapes.
func (p *jsonReader) str() (string, error) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", p.fail("no string")
	}
	p.i++
	start := p.i
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '"':
			v := p.s[start:p.i]
			p.i++
			return v, nil
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", p.fail("control character in a string")
		}
		p.i++
	}
	return "", p.fail("string not closed")
}

// escaped reads the rest of a string that has escapes, from its first
// backslash.
func (p *jsonReader) escaped(start int) (string, error) {
	var b strings.Builder
	b.WriteString(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c != '\\':
			b.WriteByte(c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.s) {
			break
		}
		e := p.s[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail(`invalid \u escape`)
			}
			if utf16.IsSurrogate(r) {
				// A pair makes one character; a lone half is
				// replaced, as encoding/json does.
				r2 := utf8.RuneError
				save := p.i
				if strings.HasPrefix(p.s[p.i:], `\u`) {
					p.i += 2
					if x, ok := p.hex4(); ok {
						r2 = x
					}
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					r = d
				} else {
					r = utf8.RuneError
					p.i = save
				}
			}
			b.WriteRune(r)
		default:
			return "", p.fail("invalid escape")
		}
	}
	return "", p.fail("string not closed")
}

func (p *jsonReader) hex4() (rune, bool) {
	if p.i+4 > len(p.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(p.s[p.i : p.i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.i += 4
	return r, true
}
