package engine

import (
	"unicode"
	"unicode/utf8"
)

// Case-insensitive comparison without lowering the event's strings.
//
// Strings are compared unit by unit, where a unit is what
// utf8.DecodeRuneInString reads at a position: a valid rune, or one byte
// that does not begin a valid encoding. Two valid runes are equal when they
// have the same simple case folding (the orbit of unicode.SimpleFold, as in
// strings.EqualFold: "K", "k" and the Kelvin sign are one letter); an
// invalid byte equals only itself. Patterns are folded once, at compile
// time, to the canonical member of each orbit (see canon), so that a
// comparison folds only the event's side, and ASCII bytes, by far the
// common case, through a table.

// lowerASCII maps ASCII upper-case letters to lower case and every other
// byte to itself.
var lowerASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c + 'a' - 'A')
	}
	return t
}()

// canonLatin caches canon for the runes below 0x250 (Latin scripts).
var canonLatin = func() (t [0x250]rune) {
	for r := range t {
		t[r] = canonSlow(rune(r))
	}
	return t
}()

// canon returns the canonical member of r's case-folding orbit: the lower
// case letter for ASCII letters and for orbits that hold one (the Kelvin
// sign's canonical form is "k"), otherwise the orbit's smallest rune, so
// that it never takes more bytes in UTF-8 than any member. Negative values
// (invalid bytes, see unitAt) are their own canonical form.
func canon(r rune) rune {
	if r < 0 {
		return r
	}
	if r < rune(len(canonLatin)) {
		return canonLatin[r]
	}
	return canonSlow(r)
}

func canonSlow(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(lowerASCII[r])
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	if least < utf8.RuneSelf {
		return rune(lowerASCII[least])
	}
	return least
}

// orbit returns the runes with the same simple case folding as r, r
// included.
func orbit(r rune) []rune {
	out := []rune{r}
	if r < 0 {
		return out
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		out = append(out, f)
	}
	return out
}

// unitAt decodes the unit of s at byte i: a valid rune, or, for a byte
// that does not begin a valid encoding, minus that byte (always below
// -127, so never a rune).
func unitAt(s string, i int) (rune, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return rune(c), 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n == 1 {
		return -rune(c), 1
	}
	return r, n
}

// appendUnit appends the encoding of a unit as unitAt returns it.
func appendUnit(dst []byte, u rune) []byte {
	if u < 0 {
		return append(dst, byte(-u))
	}
	return utf8.AppendRune(dst, u)
}

// foldString returns s with every unit replaced by its canonical form.
func foldString(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		u, n := unitAt(s, i)
		b = appendUnit(b, canon(u))
		i += n
	}
	return string(b)
}

// appendFold appends s folded to dst.
func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, lowerASCII[c])
			i++
			continue
		}
		u, n := unitAt(s, i)
		dst = appendUnit(dst, canon(u))
		i += n
	}
	return dst
}

// isFolded reports whether s is its own folded form, cheaply for ASCII.
func isFolded(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return false
		}
		if lowerASCII[c] != c {
			return false
		}
	}
	return true
}

// hasPrefixFoldAt reports whether s, from byte i, begins with lit under
// case folding, and where that prefix ends. lit must be folded (see
// foldString).
func hasPrefixFoldAt(s string, i int, lit string) (int, bool) {
	j := 0
	for j < len(lit) {
		if i >= len(s) {
			return 0, false
		}
		pc, sc := lit[j], s[i]
		if pc|sc < utf8.RuneSelf {
			if lowerASCII[sc] != pc {
				return 0, false
			}
			i++
			j++
			continue
		}
		pu, pn := unitAt(lit, j)
		su, sn := unitAt(s, i)
		if canon(su) != pu {
			return 0, false
		}
		i += sn
		j += pn
	}
	return i, true
}

// hasPrefixAt is hasPrefixFoldAt without folding: units must be equal.
func hasPrefixAt(s string, i int, lit string, valid bool) (int, bool) {
	if valid {
		// A valid lit matches bytewise exactly where it matches unit by
		// unit: it cannot end inside one of s's units.
		if len(s)-i >= len(lit) && s[i:i+len(lit)] == lit {
			return i + len(lit), true
		}
		return 0, false
	}
	j := 0
	for j < len(lit) {
		if i >= len(s) {
			return 0, false
		}
		pu, pn := unitAt(lit, j)
		su, sn := unitAt(s, i)
		if su != pu {
			return 0, false
		}
		i += sn
		j += pn
	}
	return i, true
}

// equalFoldStrings reports whether a and b are equal under case folding,
// neither being folded beforehand (field references compare two event
// values).
func equalFoldStrings(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ac, bc := a[i], b[j]
		if ac|bc < utf8.RuneSelf {
			if lowerASCII[ac] != lowerASCII[bc] {
				return false
			}
			i++
			j++
			continue
		}
		au, an := unitAt(a, i)
		bu, bn := unitAt(b, j)
		if canon(au) != canon(bu) {
			return false
		}
		i += an
		j += bn
	}
	return i == len(a) && j == len(b)
}
