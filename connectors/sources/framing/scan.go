package framing

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// scanState is the state of a structured scan carried from one chunk to the
// next.
type scanState struct {
	depth int
	inStr bool
	esc   bool // the previous chunk ended on an escaping backslash (inside a string)
}

// scanChunk consumes b as the continuation of the value being scanned. It
// returns the offset just after the byte that ends the value (the closing
// bracket that brings depth to 0, or the closing quote of a top-level
// string) and true, or len(b) and false if the value goes on past b.
//
// It does what a byte loop does (scanBytes), 64 bytes at a time,
// with bit masks in the manner of simdjson's stage 1 (in plain Go, 8 bytes
// to a 64-bit word): a mask of the quotes in the block, one of its
// backslashes, whence the escaped bytes, then by a prefix XOR of the
// unescaped quotes the mask of the bytes inside strings; the brackets
// outside strings then move the depth.
//
// The usual block (scanBlocks) is ASCII: its masks are cheaper, since a
// byte can then be compared with a constant without spilling into the next
// byte. Backslashes are rare: bytes.IndexByte (vectorised) finds the next
// one, and only the block that holds it computes their mask. Brackets
// outside strings are few: the mask is of the bytes that may be brackets
// (Y [ ] _ y { } DEL, those with bits 0, 3, 4 and 6 set, which takes one
// comparison rather than two), and each is then read to tell { [ from } ]
// from the rest.
//
// Any other block (scanBlock) has exact masks for all bytes: one with bytes
// from 0x80 up, the short last one (copied, padded with zeros), and one
// inside a top-level string. A backslash outside strings does not escape
// (it is a stray byte, skipped like any other), which the masks cannot
// tell, as they take every backslash for an escape: a block where they put
// a backslash outside strings is scanned byte by byte instead (scanBytes).
// Up to the first such backslash both readings agree, so that when there is
// none the masks are right.
//
// On amd64 CPUs with AVX2 (and PCLMULQDQ, POPCNT, BMI1) the usual blocks
// go to an assembly version of scanBlocks (scan_amd64.s): the masks come
// from vector compares, the prefix XOR from a carry-less multiply, and a
// block with fewer closing brackets than the depth moves the depth by
// counts alone. Tests run both versions against the reference;
// building with the purego tag leaves the assembly out.
//
// Called again after the value's end, scanChunk goes on as the byte loop
// would (from depth 0, or below).
func scanChunk(b []byte, st *scanState) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if len(b) < shortTail {
		return scanBytes(b, st)
	}
	i := 0
	for {
		// Outside strings at depth 0 is the value's first byte (or odd
		// input; after the value's end, depth can be below 0): byte by
		// byte, until the depth is 1 or a string opens.
		for st.depth < 0 || (st.depth == 0 && !st.inStr) {
			if i == len(b) {
				return i, false
			}
			if st.depth < 0 {
				n, done := scanBytes(b[i:], st)
				return i + n, done
			}
			c := b[i]
			i++
			switch c {
			case '"':
				st.inStr = true
			case '{', '[':
				st.depth++
			case '}', ']':
				st.depth--
				return i, true
			}
		}
		if st.depth > 0 {
			// The usual blocks, with the state in locals (or registers).
			var n int
			var done bool
			if useVec {
				n, done = scanBlocksVec(b[i:], st)
			} else {
				n, done = scanBlocks(b[i:], st)
			}
			i += n
			if done {
				return i, true
			}
		}
		if i == len(b) {
			return i, false
		}
		if len(b)-i < shortTail {
			// Cheaper byte by byte than as a block.
			n, done := scanBytes(b[i:], st)
			return i + n, done
		}
		// Any other block: one with bytes from 0x80 up or a backslash
		// outside strings, the last (shorter) one, or one in a top-level
		// string.
		n, done := scanBlock(b[i:], st)
		i += n
		if done {
			return i, true
		}
	}
}

// scanBlocks scans b from depth 1 or more, in 64-byte blocks, while they
// are usual ones: ASCII, with no backslash outside strings (see scanChunk).
// It returns where it stopped: at the end of the value (and true), or at
// the first block it leaves to scanBlock.
func scanBlocks(b []byte, st *scanState) (int, bool) {
	depth := st.depth
	var inStr, esc uint64 // all ones inside a string; 1 if b[i] is escaped
	if st.inStr {
		inStr = ^uint64(0)
	}
	if st.esc {
		esc = 1
	}
	i := 0
blocks:
	for len(b)-i >= 64 {
		// Look ahead for the next backslash: bytes.IndexByte is
		// vectorised, and backslashes are rare. The blocks of b[i:end]
		// before clean have none.
		end := min(len(b), i+lookAhead)
		clean := end
		if j := bytes.IndexByte(b[i:end], '\\'); j >= 0 {
			clean = i + j
		}
		for ; end-i >= 64; i += 64 {
			blk := (*[64]byte)(b[i : i+64])
			// nq: the mask of the bytes that are not quotes, by
			// gatherHigh(x) of each word, written out: x = word ^ quotes has
			// 0 at quotes, and x + 0x7f..7f sets bit 7 of the other bytes,
			// without carrying into the next byte if all are ASCII (any).
			var any, nq uint64
			w0 := binary.LittleEndian.Uint64(blk[0:])
			any |= w0
			nq |= ((((w0 ^ ones*'"') + low7) & high) * gather >> 56)
			w1 := binary.LittleEndian.Uint64(blk[8:])
			any |= w1
			nq |= ((((w1 ^ ones*'"') + low7) & high) * gather >> 56 << 8)
			w2 := binary.LittleEndian.Uint64(blk[16:])
			any |= w2
			nq |= ((((w2 ^ ones*'"') + low7) & high) * gather >> 56 << 16)
			w3 := binary.LittleEndian.Uint64(blk[24:])
			any |= w3
			nq |= ((((w3 ^ ones*'"') + low7) & high) * gather >> 56 << 24)
			w4 := binary.LittleEndian.Uint64(blk[32:])
			any |= w4
			nq |= ((((w4 ^ ones*'"') + low7) & high) * gather >> 56 << 32)
			w5 := binary.LittleEndian.Uint64(blk[40:])
			any |= w5
			nq |= ((((w5 ^ ones*'"') + low7) & high) * gather >> 56 << 40)
			w6 := binary.LittleEndian.Uint64(blk[48:])
			any |= w6
			nq |= ((((w6 ^ ones*'"') + low7) & high) * gather >> 56 << 48)
			w7 := binary.LittleEndian.Uint64(blk[56:])
			any |= w7
			nq |= ((((w7 ^ ones*'"') + low7) & high) * gather >> 56 << 56)
			if any&high != 0 {
				break blocks
			}
			escaped, escOut := esc, uint64(0) // with no backslashes, only the first byte can be escaped
			var bs uint64
			if clean < i+64 {
				bs = asciiBackslashes(blk)
				escaped, escOut = escapes(bs, esc)
				end = i + 64 // look ahead again after this block
			}
			in := prefixXOR(^nq&^escaped) ^ inStr
			// in is set at the bytes inside strings (and at opening quotes).
			if bs&^in != 0 {
				break blocks // a backslash outside strings: see scanBlock
			}
			// nbr: the mask of the bytes that are not Y [ ] _ y { } DEL,
			// likewise. Those outside strings are then read one by one.
			var nbr uint64
			nbr |= ((((binary.LittleEndian.Uint64(blk[0:])&(ones*0x59) ^ ones*0x59) + low7) & high) * gather >> 56)
			nbr |= ((((binary.LittleEndian.Uint64(blk[8:])&(ones*0x59) ^ ones*0x59) + low7) & high) * gather >> 56 << 8)
			nbr |= ((((binary.LittleEndian.Uint64(blk[16:])&(ones*0x59) ^ ones*0x59) + low7) & high) * gather >> 56 << 16)
			nbr |= ((((binary.LittleEndian.Uint64(blk[24:])&(ones*0x59) ^ ones*0x59) + low7) & high) * gather >> 56 << 24)
			nbr |= ((((binary.LittleEndian.Uint64(blk[32:])&(ones*0x59) ^ ones*0x59) + low7) & high) * gather >> 56 << 32)
			nbr |= ((((binary.LittleEndian.Uint64(blk[40:])&(ones*0x59) ^ ones*0x59) + low7) & high) * gather >> 56 << 40)
			nbr |= ((((binary.LittleEndian.Uint64(blk[48:])&(ones*0x59) ^ ones*0x59) + low7) & high) * gather >> 56 << 48)
			nbr |= ((((binary.LittleEndian.Uint64(blk[56:])&(ones*0x59) ^ ones*0x59) + low7) & high) * gather >> 56 << 56)
			for m := ^nbr &^ in; m != 0; m &= m - 1 {
				t := bits.TrailingZeros64(m)
				depth += int(bracketDelta[blk[t&63]>>1&3])
				if depth <= 0 {
					st.depth, st.inStr, st.esc = 0, false, false
					return i + t + 1, true
				}
			}
			inStr = uint64(int64(in) >> 63)
			esc = escOut
		}
	}
	st.depth, st.inStr, st.esc = depth, inStr != 0, esc != 0
	return i, false
}

// escapes returns the mask of the escaped bytes in a block (those after an
// odd run of backslashes, the first if carry is 1) from the mask of its
// backslashes, and the carry to the next block: 1 if the last byte is an
// escaping backslash. This is simdjson's method: see its
// json_escape_scanner.
func escapes(bs, carry uint64) (escaped, carryOut uint64) {
	pe := bs &^ carry // backslashes that can start an escape
	// pe<<1 | odd bits, minus pe: an odd-aligned run of backslashes
	// borrows through itself and comes out with its code (the escaped
	// byte) and every other backslash flipped; the XOR flips the odd bits
	// back. The result has a bit at each escaping backslash and at each
	// escaped byte.
	code := ((pe<<1 | oddBits) - pe) ^ oddBits
	return code ^ (bs | carry), (code & bs) >> 63
}

// useVec says whether scanChunk uses the assembly version of scanBlocks
// (scan_amd64.s), where the CPU has it; tests turn it off to check the
// Go version.
var useVec = haveVec

// shortTail is the length under which the end of a chunk is scanned byte
// by byte rather than as a block (a copy padded with zeros).
const shortTail = 24

// lookAhead is how far scanBlocks looks for the next backslash at a time.
const lookAhead = 1024

// bracketDelta is the change of depth for a byte that may be a bracket
// (Y [ ] _ y { } DEL), by its bits 1 and 2: { [ (01) +1, } ] (10) -1, Y y
// (00) and _ DEL (11) 0.
var bracketDelta = [4]int8{0, 1, -1, 0}

// closing returns the position of the closing bracket that brings depth to
// 0, if any, given the masks of the opening and closing brackets.
func closing(op, cl uint64, depth int) (int, bool) {
	for m := op | cl; m != 0; m &= m - 1 {
		t := bits.TrailingZeros64(m)
		if op>>uint(t)&1 != 0 {
			depth++
			continue
		}
		depth--
		if depth <= 0 {
			return t, true
		}
	}
	return 0, false
}

// scanBlock scans the first 64 bytes of b, or all of b if shorter, from
// depth 0 or more (at depth 0, inside a string). It returns the offset
// after the end of the value and true, or where it stopped and false.
//
// A backslash outside strings does not escape (it is only a stray byte),
// which the masks cannot tell (they take every backslash for an escape): a
// block where the masks put a backslash outside strings is scanned byte by
// byte instead. Up to the first such backslash both readings agree, so
// when there is none the masks are right.
func scanBlock(b []byte, st *scanState) (int, bool) {
	n := len(b)
	var blk *[64]byte
	if n >= 64 {
		n = 64
		blk = (*[64]byte)(b[:64])
	} else {
		// Zeros are no special bytes: the masks hold only b's.
		var buf [64]byte
		copy(buf[:], b)
		blk = &buf
	}
	q, bs, op, cl := blockMasks(blk)

	// Escaped bytes: those after an odd run of backslashes (simdjson's
	// method). esc is the previous block's carry.
	var carry uint64
	if st.esc {
		carry = 1
	}
	escaped, escOut := carry, uint64(0)
	if bs != 0 {
		escaped, escOut = escapes(bs, carry)
		if n < 64 {
			// The byte after the last is escaped.
			escOut = escaped >> uint(n) & 1
		}
	}

	uq := q &^ escaped
	in := prefixXOR(uq)
	if st.inStr {
		in = ^in
	}
	// in is set at the bytes inside strings (and at opening quotes).
	if bs&^in != 0 {
		// A backslash outside strings: see above.
		return scanBytes(b[:n], st)
	}
	if st.depth == 0 {
		// A top-level string: the first unescaped quote closes it.
		if uq != 0 {
			st.inStr, st.esc = false, false
			return bits.TrailingZeros64(uq) + 1, true
		}
		st.esc = escOut != 0
		return n, false
	}
	op &^= in
	cl &^= in
	if t, ok := closing(op, cl, st.depth); ok {
		st.depth, st.inStr, st.esc = 0, false, false
		return t + 1, true
	}
	st.depth += bits.OnesCount64(op) - bits.OnesCount64(cl)
	st.inStr = in>>63 != 0
	st.esc = escOut != 0
	return n, false
}

// scanBytes is scanChunk's byte loop, for short chunks and odd blocks (the
// loop Splitter.scanStructured ran before scanChunk); it skips the bytes
// that do not matter (inside strings all but quotes and backslashes,
// outside them all but brackets and quotes).
func scanBytes(b []byte, st *scanState) (int, bool) {
	depth, inStr := st.depth, st.inStr
	i := 0
	if st.esc && len(b) > 0 {
		st.esc = false
		i++
	}
	for i < len(b) {
		if inStr {
			for !inStringSpecial[b[i]] {
				if i++; i == len(b) {
					st.depth, st.inStr = depth, inStr
					return i, false
				}
			}
			if b[i] == '\\' {
				if i += 2; i > len(b) {
					st.depth, st.inStr, st.esc = depth, inStr, true
					return len(b), false
				}
				continue
			}
			inStr = false
			i++
			if depth == 0 {
				st.depth, st.inStr = depth, inStr
				return i, true
			}
			continue
		}
		for !structuralSpecial[b[i]] {
			if i++; i == len(b) {
				st.depth, st.inStr = depth, inStr
				return i, false
			}
		}
		switch b[i] {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		default:
			depth--
			if depth <= 0 {
				st.depth, st.inStr = depth, inStr
				return i + 1, true
			}
		}
		i++
	}
	st.depth, st.inStr = depth, inStr
	return len(b), false
}

// structuralSpecial marks the bytes that matter outside strings,
// inStringSpecial those that matter inside them.
var structuralSpecial, inStringSpecial = [256]bool{'{': true, '}': true, '[': true, ']': true, '"': true}, [256]bool{'"': true, '\\': true}

const (
	ones    = 0x0101010101010101
	low7    = 0x7f7f7f7f7f7f7f7f
	high    = 0x8080808080808080
	oddBits = 0xaaaaaaaaaaaaaaaa
	// gather moves the high bits of a word's 8 bytes (bit 8k+7 for byte
	// k) to its top byte (bit 56+k): byte k's bit times bit 7(7-k) of
	// gather lands on bit 56+k, and the products are distinct bits, of
	// which only those land in the top byte.
	gather = 0x0002040810204081
)

// prefixXOR returns the mask whose bit i is the parity of x's bits 0..i.
func prefixXOR(x uint64) uint64 {
	x ^= x << 1
	x ^= x << 2
	x ^= x << 4
	x ^= x << 8
	x ^= x << 16
	x ^= x << 32
	return x
}

// blockMasks returns the masks of the quotes, backslashes, opening brackets
// ({ [) and closing brackets (} ]) in blk: bit i for blk[i].
func blockMasks(blk *[64]byte) (q, bs, op, cl uint64) {
	q0, b0, o0, c0 := wordMasks(binary.LittleEndian.Uint64(blk[0:]))
	q1, b1, o1, c1 := wordMasks(binary.LittleEndian.Uint64(blk[8:]))
	q2, b2, o2, c2 := wordMasks(binary.LittleEndian.Uint64(blk[16:]))
	q3, b3, o3, c3 := wordMasks(binary.LittleEndian.Uint64(blk[24:]))
	q4, b4, o4, c4 := wordMasks(binary.LittleEndian.Uint64(blk[32:]))
	q5, b5, o5, c5 := wordMasks(binary.LittleEndian.Uint64(blk[40:]))
	q6, b6, o6, c6 := wordMasks(binary.LittleEndian.Uint64(blk[48:]))
	q7, b7, o7, c7 := wordMasks(binary.LittleEndian.Uint64(blk[56:]))
	q = q0 | q1<<8 | q2<<16 | q3<<24 | q4<<32 | q5<<40 | q6<<48 | q7<<56
	bs = b0 | b1<<8 | b2<<16 | b3<<24 | b4<<32 | b5<<40 | b6<<48 | b7<<56
	op = o0 | o1<<8 | o2<<16 | o3<<24 | o4<<32 | o5<<40 | o6<<48 | o7<<56
	cl = c0 | c1<<8 | c2<<16 | c3<<24 | c4<<32 | c5<<40 | c6<<48 | c7<<56
	return
}

// wordMasks returns the masks (bit k for byte k, little-endian) of the
// quotes, backslashes, opening and closing brackets in the 8 bytes of w.
//
// A byte equals c exactly when, x being its low 7 bits XOR c's, x+0x7f
// does not carry into bit 7 (x is 0) and the byte's own bit 7 is clear (c
// is ASCII). Working on the low 7 bits keeps the additions inside their
// bytes, so every byte's answer is exact, not only the lowest one's.
func wordMasks(w uint64) (q, bs, op, cl uint64) {
	w7 := w & low7
	ascii := high &^ w
	q = ascii &^ ((w7 ^ ones*'"') + low7)
	bs = ascii &^ ((w7 ^ ones*'\\') + low7)
	// { [ and } ] differ only in bit 5: clear it.
	a := w & (ones * 0x5f)
	op = ascii &^ ((a ^ ones*0x5b) + low7)
	cl = ascii &^ ((a ^ ones*0x5d) + low7)
	return q * gather >> 56, bs * gather >> 56, op * gather >> 56, cl * gather >> 56
}

// asciiBackslashes returns the mask of the backslashes in blk, a block of
// ASCII bytes.
func asciiBackslashes(blk *[64]byte) uint64 {
	nb := gatherHigh((binary.LittleEndian.Uint64(blk[0:]) ^ ones*'\\') + low7)
	nb |= gatherHigh((binary.LittleEndian.Uint64(blk[8:])^ones*'\\')+low7) << 8
	nb |= gatherHigh((binary.LittleEndian.Uint64(blk[16:])^ones*'\\')+low7) << 16
	nb |= gatherHigh((binary.LittleEndian.Uint64(blk[24:])^ones*'\\')+low7) << 24
	nb |= gatherHigh((binary.LittleEndian.Uint64(blk[32:])^ones*'\\')+low7) << 32
	nb |= gatherHigh((binary.LittleEndian.Uint64(blk[40:])^ones*'\\')+low7) << 40
	nb |= gatherHigh((binary.LittleEndian.Uint64(blk[48:])^ones*'\\')+low7) << 48
	nb |= gatherHigh((binary.LittleEndian.Uint64(blk[56:])^ones*'\\')+low7) << 56
	return ^nb
}

// gatherHigh returns bit 7 of x's bytes, byte k's as bit k.
func gatherHigh(x uint64) uint64 {
	return (x & high) * gather >> 56
}
