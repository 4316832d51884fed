package engine

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Value modifiers that transform string values, in the order written:
// contains, startswith and endswith add wildcards; windash, base64offset
// and expand make alternatives; base64, base64offset and the UTF-16
// encodings encode.

// maxAlternatives bounds how many strings one value may expand to
// (windash and expand multiply).
const maxAlternatives = 4096

// transform applies the modifier mod to the alternatives of one value.
func transform(mod string, alts []sstring) ([]sstring, error) {
	var out []sstring
	for _, s := range alts {
		switch mod {
		case "contains":
			out = append(out, s.withStars(true, true))
		case "startswith":
			out = append(out, s.withStars(false, true))
		case "endswith":
			out = append(out, s.withStars(true, false))
		case "windash":
			w, err := windash(s)
			if err != nil {
				return nil, err
			}
			out = append(out, w...)
		case "base64", "base64offset", "utf16le", "wide", "utf16be", "utf16":
			if s.hasWildcards() {
				return nil, fmt.Errorf("%s cannot encode the wildcards in %q: put contains, startswith or endswith after it instead", mod, s.String())
			}
			for _, enc := range encode(mod, s.text()) {
				out = append(out, literalString(enc))
			}
		default:
			return nil, fmt.Errorf("%s is not a string modifier", mod)
		}
		if len(out) > maxAlternatives {
			return nil, fmt.Errorf("%s makes more than %d alternatives", mod, maxAlternatives)
		}
	}
	return out, nil
}

// encode encodes s as the modifier says; base64offset gives three
// alternatives.
func encode(mod, s string) []string {
	switch mod {
	case "base64":
		return []string{base64.StdEncoding.EncodeToString([]byte(s))}
	case "base64offset":
		// As pySigma: the value shifted by 0, 1 and 2 bytes, encoded,
		// with the characters that depend on what surrounds it cut off.
		start := [3]int{0, 2, 3}
		end := [3]int{0, 3, 2} // cut from the end, by (len+shift)%3
		out := make([]string, 0, 3)
		for i := range 3 {
			enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + s))
			lo, hi := start[i], len(enc)-end[(len(s)+i)%3]
			if lo > hi {
				lo = hi
			}
			out = append(out, enc[lo:hi])
		}
		return out
	case "utf16le", "wide":
		return []string{utf16Bytes(s, false, false)}
	case "utf16be":
		return []string{utf16Bytes(s, true, false)}
	case "utf16":
		return []string{utf16Bytes(s, false, true)}
	}
	return []string{s}
}

// utf16Bytes encodes s in UTF-16, little-endian unless be, with a byte
// order mark if bom.
func utf16Bytes(s string, be, bom bool) string {
	var b []byte
	put := func(u uint16) {
		if be {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	if bom {
		put(0xFEFF)
	}
	for _, r := range s {
		if r1, r2 := utf16.EncodeRune(r); r1 != unicode.ReplacementChar || r2 != unicode.ReplacementChar {
			put(uint16(r1))
			put(uint16(r2))
		} else {
			put(uint16(r))
		}
	}
	return string(b)
}

// dashes are the characters windash makes interchangeable: hyphen-minus,
// slash, en dash, em dash and horizontal bar.
var dashes = []string{"-", "/", "–", "—", "―"}

func isDash(r rune) bool {
	return r == '-' || r == '/' || r == '–' || r == '—' || r == '―'
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// windash returns s with every dash that begins a word (one not after a
// word character and before one, as pySigma's \B[-/]\b) replaced by each
// of the dashes, in every combination.
func windash(s sstring) ([]sstring, error) {
	out := []sstring{{}}
	for _, t := range s {
		if t.kind != tokLit {
			for i := range out {
				out[i] = append(out[i], t)
			}
			continue
		}
		// Split the literal at the dashes that begin a word.
		var parts []string // literal, dash, literal, dash, ..., literal
		prev := rune(-1)
		start := 0
		for i, r := range t.lit {
			if isDash(r) && (prev < 0 || !isWordRune(prev)) {
				next, _ := utf8.DecodeRuneInString(t.lit[i+utf8.RuneLen(r):])
				if i+utf8.RuneLen(r) < len(t.lit) && isWordRune(next) {
					parts = append(parts, t.lit[start:i], "")
					start = i + utf8.RuneLen(r)
				}
			}
			prev = r
		}
		parts = append(parts, t.lit[start:])
		alts := []string{""}
		for k, p := range parts {
			if k%2 == 0 {
				for i := range alts {
					alts[i] += p
				}
				continue
			}
			next := make([]string, 0, len(alts)*len(dashes))
			for _, a := range alts {
				for _, d := range dashes {
					next = append(next, a+d)
				}
			}
			alts = next
			if len(alts)*len(out) > maxAlternatives {
				return nil, fmt.Errorf("windash makes more than %d alternatives of %q", maxAlternatives, s.String())
			}
		}
		grown := make([]sstring, 0, len(out)*len(alts))
		for _, o := range out {
			for _, a := range alts {
				n := append(append(sstring{}, o...), token{kind: tokLit, lit: a})
				grown = append(grown, n)
			}
		}
		out = grown
	}
	// Merge the literals split above.
	for i, s := range out {
		out[i] = mergeLits(s)
	}
	return out, nil
}

// mergeLits merges adjacent literal tokens and drops empty ones.
func mergeLits(s sstring) sstring {
	var out sstring
	for _, t := range s {
		if t.kind == tokLit {
			if t.lit == "" {
				continue
			}
			if n := len(out); n > 0 && out[n-1].kind == tokLit {
				out[n-1].lit += t.lit
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

var placeholderRE = regexp.MustCompile(`%(\w+)%`)

// expandPlaceholders replaces the %name% placeholders of s by each of
// their values, in every combination.
func expandPlaceholders(s string, values map[string][]string) ([]string, error) {
	locs := placeholderRE.FindAllStringSubmatchIndex(s, -1)
	out := []string{""}
	last := 0
	for _, loc := range locs {
		name := s[loc[2]:loc[3]]
		vals, ok := values[name]
		if !ok {
			return nil, fmt.Errorf("placeholder %%%s%% has no values in the configuration", name)
		}
		if len(vals) == 0 {
			return nil, nil
		}
		lit := s[last:loc[0]]
		next := make([]string, 0, len(out)*len(vals))
		for _, o := range out {
			for _, v := range vals {
				next = append(next, o+lit+v)
			}
		}
		if len(next) > maxAlternatives {
			return nil, fmt.Errorf("expanding the placeholders makes more than %d values", maxAlternatives)
		}
		out = next
		last = loc[1]
	}
	for i := range out {
		out[i] += s[last:]
	}
	return out, nil
}
