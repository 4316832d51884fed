//go:build unix

package file

import (
	"os"
	"syscall"
)

// identOf returns the identity of the file fi describes: its device and
// inode, which survive a rename and tell a new file at the same path from
// the old one.
func identOf(_ string, fi os.FileInfo) ident {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return ident{Dev: uint64(st.Dev), Ino: uint64(st.Ino)} // Dev is int32 on some systems
	}
	return ident{}
}
