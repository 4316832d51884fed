package engine

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// scalarScanner yields the strings, numbers and booleans of a JSON text,
// keys and nulls left out, without decoding it: it is how string values
// look inside objects (see strLeaf.match). It never fails: on text that is
// not JSON it yields what it can make out.
type scalarScanner struct {
	s string
	i int
}

// next returns the next scalar as written (a string with its quotes) and
// its kind (String, Number or Bool); esc says a string has escapes. ok is
// false at the end.
func (sc *scalarScanner) next() (raw string, kind Kind, esc, ok bool) {
	s := sc.s
	for sc.i < len(s) {
		c := s[sc.i]
		switch {
		case c == '"':
			start := sc.i
			j := sc.i + 1
			esc = false
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					esc = true
					j++
				}
				j++
			}
			if j >= len(s) {
				sc.i = len(s)
				return "", Missing, false, false
			}
			sc.i = j + 1
			// A string followed by a colon is a key.
			k := sc.i
			for k < len(s) && isJSONSpace(s[k]) {
				k++
			}
			if k < len(s) && s[k] == ':' {
				sc.i = k + 1
				continue
			}
			return s[start : j+1], String, esc, true
		case c == '-' || c >= '0' && c <= '9':
			start := sc.i
			sc.i++
			for sc.i < len(s) && isNumberByte(s[sc.i]) {
				sc.i++
			}
			return s[start:sc.i], Number, false, true
		case c == 't' && strings.HasPrefix(s[sc.i:], "true"):
			sc.i += 4
			return "true", Bool, false, true
		case c == 'f' && strings.HasPrefix(s[sc.i:], "false"):
			sc.i += 5
			return "false", Bool, false, true
		default:
			// Structure, whitespace, null, or what is not JSON.
			sc.i++
		}
	}
	return "", Missing, false, false
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// appendUnescaped appends the text of the JSON string literal raw (quotes
// included) to dst, decoded as encoding/json decodes it: invalid escapes
// and unpaired surrogates become U+FFFD.
func appendUnescaped(dst []byte, raw string) []byte {
	s := raw[1 : len(raw)-1]
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := strings.IndexByte(s[i:], '\\')
			if j < 0 {
				return append(dst, s[i:]...)
			}
			dst = append(dst, s[i:i+j]...)
			i += j
			continue
		}
		if i+1 >= len(s) {
			return utf8.AppendRune(dst, utf8.RuneError)
		}
		i += 2
		switch s[i-1] {
		case '"', '\\', '/':
			dst = append(dst, s[i-1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s, i)
			if !ok {
				dst = utf8.AppendRune(dst, utf8.RuneError)
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s, i+2); ok && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						i += 6
						dst = utf8.AppendRune(dst, d)
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = utf8.AppendRune(dst, utf8.RuneError)
		}
	}
	return dst
}

// hex4 reads four hexadecimal digits at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i < 0 || i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
