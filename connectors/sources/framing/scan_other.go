//go:build !amd64 || purego

package framing

// haveVec is false: there is no assembly version of scanBlocks here.
const haveVec = false

func scanBlocksVec(b []byte, st *scanState) (int, bool) { return scanBlocks(b, st) }
