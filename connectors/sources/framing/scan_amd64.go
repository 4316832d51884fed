//go:build amd64 && !purego

package framing

import "golang.org/x/sys/cpu"

// blockState is scanState as scan_amd64.s keeps it.
type blockState struct {
	depth int64
	inStr uint64 // all ones inside a string
	esc   uint64 // 1 if the next byte is escaped
}

// scanBlocksAVX2 is scanBlocks (same contract) in assembly.
//
//go:noescape
func scanBlocksAVX2(b []byte, st *blockState) (n int, done bool)

// haveVec reports whether this CPU runs scanBlocksAVX2.
var haveVec = cpu.X86.HasAVX2 && cpu.X86.HasPCLMULQDQ && cpu.X86.HasPOPCNT && cpu.X86.HasBMI1

// scanBlocksVec is scanBlocks with the assembly version.
func scanBlocksVec(b []byte, st *scanState) (int, bool) {
	bs := blockState{depth: int64(st.depth)}
	if st.inStr {
		bs.inStr = ^uint64(0)
	}
	if st.esc {
		bs.esc = 1
	}
	n, done := scanBlocksAVX2(b, &bs)
	st.depth, st.inStr, st.esc = int(bs.depth), bs.inStr != 0, bs.esc != 0
	return n, done
}
