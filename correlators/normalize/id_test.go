package normalize

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestDerivedID checks the id against its definition (SHA-256 of the bytes
// and the position, as two bytes), on both sides of the stack buffer's
// size, and that it leaves the spare capacity of raw alone.
func TestDerivedID(t *testing.T) {
	for _, n := range []int{0, 1, 100, 1021, 1022, 1023, 5000} {
		for _, i := range []int{0, 1, 300} {
			raw := []byte(strings.Repeat("r", n))
			sum := sha256.Sum256(append(bytes.Clone(raw), byte(i>>8), byte(i)))
			want := hex.EncodeToString(sum[:16])
			buf := append(bytes.Clone(raw), "next record"...)
			if got := DerivedID(buf[:n], i); got != want {
				t.Errorf("DerivedID(%d bytes, %d) = %s, want %s", n, i, got, want)
			}
			if string(buf[n:]) != "next record" {
				t.Errorf("DerivedID wrote past the end of raw: %q", buf[n:])
			}
			if got := string(AppendDerivedID([]byte("id:"), raw, i)); got != "id:"+want {
				t.Errorf("AppendDerivedID = %s", got)
			}
		}
	}
	if a := testing.AllocsPerRun(100, func() { AppendDerivedID(make([]byte, 0, 32), []byte("2 123 eni-1"), 0) }); a > 1 {
		t.Errorf("AppendDerivedID allocates %v times", a)
	}
}
