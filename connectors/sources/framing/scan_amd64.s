//go:build amd64 && !purego

#include "textflag.h"

// func scanBlocksAVX2(b []byte, st *blockState) (n int, done bool)
//
// scanBlocks (scan.go) with AVX2 compares for the masks, a carry-less
// multiply for the prefix XOR, and POPCNT to pass over blocks whose
// closing brackets cannot end the value. Registers:
//	SI b, CX len(b), DI st, R8 offset of the block
//	R9 depth, R10 inside a string (all ones or 0), R11 escape carry (0 or 1)
//	Y1-Y6 the bytes " \ { } [ ] in every lane, X7 all ones (low 64 bits)
TEXT ·scanBlocksAVX2(SB), NOSPLIT, $0-41
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	MOVQ st+24(FP), DI
	MOVQ 0(DI), R9
	MOVQ 8(DI), R10
	MOVQ 16(DI), R11
	XORQ R8, R8

	MOVQ $0x22, AX
	MOVQ AX, X1
	VPBROADCASTB X1, Y1
	MOVQ $0x5c, AX
	MOVQ AX, X2
	VPBROADCASTB X2, Y2
	MOVQ $0x7b, AX
	MOVQ AX, X3
	VPBROADCASTB X3, Y3
	MOVQ $0x7d, AX
	MOVQ AX, X4
	VPBROADCASTB X4, Y4
	MOVQ $0x5b, AX
	MOVQ AX, X5
	VPBROADCASTB X5, Y5
	MOVQ $0x5d, AX
	MOVQ AX, X6
	VPBROADCASTB X6, Y6
	MOVQ $-1, AX
	MOVQ AX, X7

loop:
	MOVQ CX, AX
	SUBQ R8, AX
	CMPQ AX, $64
	JLT  stop
	VMOVDQU 0(SI)(R8*1), Y8
	VMOVDQU 32(SI)(R8*1), Y9

	// A byte from 0x80 up: the block is not ASCII.
	VPOR      Y8, Y9, Y10
	VPMOVMSKB Y10, AX
	TESTL     AX, AX
	JNZ       stop

	// AX: the quotes.
	VPCMPEQB  Y1, Y8, Y10
	VPMOVMSKB Y10, AX
	VPCMPEQB  Y1, Y9, Y10
	VPMOVMSKB Y10, BX
	SHLQ      $32, BX
	ORQ       BX, AX

	// DX: the backslashes.
	VPCMPEQB  Y2, Y8, Y10
	VPMOVMSKB Y10, DX
	VPCMPEQB  Y2, Y9, Y10
	VPMOVMSKB Y10, BX
	SHLQ      $32, BX
	ORQ       BX, DX

	// The escaped bytes (escapes in scan.go): R12 = escaped, R13 = the
	// carry out.
	MOVQ R11, R12
	NOTQ R12
	ANDQ DX, R12              // pe = bs &^ carry
	MOVQ R12, R13
	SHLQ $1, R13
	MOVQ $0xaaaaaaaaaaaaaaaa, BX
	ORQ  BX, R13
	SUBQ R12, R13
	XORQ BX, R13              // code = ((pe<<1 | odd) - pe) ^ odd
	MOVQ DX, R12
	ORQ  R11, R12
	XORQ R13, R12             // escaped = code ^ (bs | carry)
	ANDQ DX, R13
	SHRQ $63, R13             // carry out = (code & bs) >> 63

	// AX: inside strings, from the unescaped quotes by a prefix XOR (a
	// carry-less multiply by all ones), and the string the block began in.
	NOTQ      R12
	ANDQ      R12, AX
	MOVQ      AX, X11
	PCLMULQDQ $0, X7, X11
	MOVQ      X11, AX
	XORQ      R10, AX

	// A backslash outside strings: left to scanBlock.
	MOVQ AX, BX
	NOTQ BX
	ANDQ DX, BX
	JNZ  stop

	// BX: opening brackets, DX: closing brackets, outside strings.
	VPCMPEQB  Y3, Y8, Y10
	VPCMPEQB  Y5, Y8, Y11
	VPOR      Y10, Y11, Y10
	VPMOVMSKB Y10, BX
	VPCMPEQB  Y3, Y9, Y10
	VPCMPEQB  Y5, Y9, Y11
	VPOR      Y10, Y11, Y10
	VPMOVMSKB Y10, DX
	SHLQ      $32, DX
	ORQ       DX, BX
	VPCMPEQB  Y4, Y8, Y10
	VPCMPEQB  Y6, Y8, Y11
	VPOR      Y10, Y11, Y10
	VPMOVMSKB Y10, DX
	VPCMPEQB  Y4, Y9, Y10
	VPCMPEQB  Y6, Y9, Y11
	VPOR      Y10, Y11, Y10
	VPMOVMSKB Y10, R12
	SHLQ      $32, R12
	ORQ       R12, DX
	MOVQ      AX, R12
	NOTQ      R12
	ANDQ      R12, BX
	ANDQ      R12, DX

	// Fewer closing brackets than the depth: the value goes on past the
	// block, whatever their order.
	POPCNTQ DX, R12
	CMPQ    R12, R9
	JGE     walk
	POPCNTQ BX, BX
	ADDQ    BX, R9
	SUBQ    R12, R9
	JMP     next

walk:
	// Bracket by bracket, in order.
	MOVQ BX, R12
	ORQ  DX, R12

bracket:
	TESTQ  R12, R12
	JZ     next
	TZCNTQ R12, DX
	BTQ    DX, BX
	JCC    closing
	INCQ   R9
	BLSRQ  R12, R12
	JMP    bracket

closing:
	DECQ  R9
	JLE   found
	BLSRQ R12, R12
	JMP   bracket

next:
	SARQ $63, AX
	MOVQ AX, R10
	MOVQ R13, R11
	ADDQ $64, R8
	JMP  loop

found:
	// The value ends at the bracket: after it, from depth 0 outside
	// strings.
	LEAQ 1(R8)(DX*1), R8
	MOVQ $0, 0(DI)
	MOVQ $0, 8(DI)
	MOVQ $0, 16(DI)
	MOVQ R8, n+32(FP)
	MOVB $1, done+40(FP)
	VZEROUPPER
	RET

stop:
	MOVQ R9, 0(DI)
	MOVQ R10, 8(DI)
	MOVQ R11, 16(DI)
	MOVQ R8, n+32(FP)
	MOVB $0, done+40(FP)
	VZEROUPPER
	RET
