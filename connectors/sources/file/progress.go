package file

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/vigilsec/vigil/connectors/sources/framing"
)

// ident is a file's identity: its device and inode.
type ident struct{ Dev, Ino uint64 }

func (id ident) String() string {
	return strconv.FormatUint(id.Dev, 10) + ":" + strconv.FormatUint(id.Ino, 10)
}

// unitOf names a file's progress unit: its identity and the path it was
// read under, so that a new file that reuses a deleted one's inode at
// another path is not taken for it.
func unitOf(path string, id ident) string { return id.String() + ":" + path }

// startUnit is the progress unit that records that the source has started
// (with start: end, files present at the first start are skipped; files
// that appear later, even before a crash and restart, are read whole).
const startUnit = "start"

// Progress is how far a file has been published, as committed to the
// progress topic (JSON) in the transaction of the records it accounts for.
type Progress struct {
	// Path is where the file was when the progress was taken.
	Path string `json:"path"`
	// Dev and Inode identify the file.
	Dev   uint64 `json:"dev"`
	Inode uint64 `json:"inode"`
	// Offset is the byte offset of the next unread record. For gzip files
	// it is the offset in the decompressed stream, for information only:
	// they resume by Records.
	Offset int64 `json:"offset"`
	// Size is the file's size (as stored, compressed for gzip) when it was
	// read.
	Size int64 `json:"size"`
	// Done is set once the file has been read to its end and will not be
	// followed: a one-shot read, a gzip file, a rotated file.
	Done bool `json:"done,omitempty"`
	// Line is the 1-based line number at Offset, so that origins stay
	// path:line across restarts.
	Line int `json:"line"`
	// Records counts the records taken from the file. A gzip file resumes
	// by skipping that many.
	Records int64 `json:"records"`
	// Index is the position of the next element of an array or of a
	// CloudTrail log file's Records.
	Index int `json:"index,omitempty"`
	// Format is the file's format, once detected (needed to resume inside
	// it).
	Format string `json:"format,omitempty"`
	// InArray is set when Offset is inside an array (format array or
	// records).
	InArray bool `json:"in_array,omitempty"`
	// Gzip is set for gzip files.
	Gzip bool `json:"gzip,omitempty"`
	// Fingerprint is the FNV-1a hash (hexadecimal) of the file's first
	// FingerprintLen bytes (at most 1024): a file whose beginning differs
	// is another file, or was truncated and written again.
	Fingerprint    string `json:"fp,omitempty"`
	FingerprintLen int    `json:"fp_len,omitempty"`
}

// fpMax is the length of the longest fingerprint.
const fpMax = 1024

func (p *Progress) fingerprint() (uint64, int) {
	if p.FingerprintLen == 0 {
		return 0, 0
	}
	fp, _ := strconv.ParseUint(p.Fingerprint, 16, 64)
	return fp, p.FingerprintLen
}

func (p *Progress) ident() ident { return ident{Dev: p.Dev, Ino: p.Inode} }

// errBadProgress is wrapped by ParseProgress's errors.
var errBadProgress = errors.New("bad progress value")

// ParseProgress decodes and checks a progress value.
func ParseProgress(b []byte) (*Progress, error) {
	var p Progress
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadProgress, err)
	}
	var errs []error
	if p.Path == "" {
		errs = append(errs, errors.New("no path"))
	}
	if p.Offset < 0 || p.Size < 0 || p.Records < 0 || p.Index < 0 || p.Line < 0 {
		errs = append(errs, fmt.Errorf("negative position (offset %d, size %d, records %d, index %d, line %d)", p.Offset, p.Size, p.Records, p.Index, p.Line))
	}
	if p.Line == 0 && p.Offset > 0 && !p.Gzip {
		errs = append(errs, fmt.Errorf("offset %d without a line number", p.Offset))
	}
	if p.FingerprintLen < 0 || p.FingerprintLen > fpMax {
		errs = append(errs, fmt.Errorf("fp_len (%d) must be between 0 and %d", p.FingerprintLen, fpMax))
	}
	if _, err := strconv.ParseUint(p.Fingerprint, 16, 64); p.FingerprintLen > 0 && err != nil {
		errs = append(errs, fmt.Errorf("fp %q is not a hexadecimal hash", p.Fingerprint))
	}
	if p.Format != "" {
		if _, err := framing.ParseFormat(p.Format); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadProgress, err)
	}
	if p.Line == 0 {
		p.Line = 1
	}
	return &p, nil
}

// Marshal encodes the progress value.
func (p *Progress) Marshal() []byte {
	b, _ := json.Marshal(p)
	return b
}
