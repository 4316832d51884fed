//go:build !unix

package file

import (
	"hash/fnv"
	"os"
)

// identOf returns the identity of a file. Without device and inode numbers
// the path stands in for the inode: a file renamed is then a new file, and
// rotation by rename is seen as a file that went away and one that came.
func identOf(path string, _ os.FileInfo) ident {
	h := fnv.New64a()
	_, _ = h.Write([]byte(path))
	return ident{Ino: h.Sum64()}
}
