package streams

import (
	"testing"
	"time"
)

func TestMayEnd(t *testing.T) {
	for _, w := range []*Windowed{
		{Kind: Tumbling, Size: 10 * time.Millisecond},
		{Kind: Hopping, Size: 10 * time.Millisecond, Advance: 4 * time.Millisecond},
		{Kind: Hopping, Size: 9 * time.Millisecond, Advance: 3 * time.Millisecond},
	} {
		size, adv := w.Size.Milliseconds(), w.Advance.Milliseconds()
		if w.Kind == Tumbling {
			adv = size
		}
		for from := int64(-50); from < 50; from++ {
			for to := from + 1; to < from+30; to++ {
				want := false
				for e := from; e < to; e++ {
					if ((e-size)%adv+adv)%adv == 0 {
						want = true
					}
				}
				if got := w.mayEnd(from, to); got != want {
					t.Fatalf("%v mayEnd(%d, %d) = %v, want %v", w.Kind, from, to, got, want)
				}
			}
		}
	}
}
