package framing

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unsafe"
)

// testBlocks hands over data in blocks of the given input sizes (the last
// repeated), each with headroom free bytes in front, as a BlockReader.
type testBlocks struct {
	data     []byte
	sizes    []int
	headroom int
	issued   [][]byte
}

func (r *testBlocks) ReadBlock() ([]byte, int, error) {
	if len(r.data) == 0 {
		return nil, 0, io.EOF
	}
	n := r.sizes[0]
	if len(r.sizes) > 1 {
		r.sizes = r.sizes[1:]
	}
	n = min(n, len(r.data))
	b := make([]byte, r.headroom+n)
	for i := range r.headroom {
		b[i] = '#' // the splitter must write over what it uses of it
	}
	copy(b[r.headroom:], r.data[:n])
	r.data = r.data[n:]
	r.issued = append(r.issued, b)
	return b, r.headroom, nil
}

// within reports whether p lies inside block.
func within(p, block []byte) bool {
	if len(p) == 0 || len(block) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(block)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return at >= start && at+uintptr(len(p)) <= start+uintptr(cap(block))
}

// splitBlocks splits data handed over in blocks and checks how the splitter
// retires them: no frame comes from a block it retired before, and after
// Release every frame that is a slice of input lies in a retired block, so
// that recycling retired blocks once done with their frames is safe.
func splitBlocks(t testing.TB, data []byte, sizes []int, headroom int, f Format, maxFrame int) ([]Frame, Format) {
	t.Helper()
	src := &testBlocks{data: data, sizes: sizes, headroom: headroom}
	sp := NewBlocks(src, f, maxFrame)
	var retired [][]byte
	sp.OnRetire(func(b []byte) {
		for _, r := range retired {
			if unsafe.SliceData(r) == unsafe.SliceData(b) {
				t.Fatalf("block retired twice")
			}
		}
		retired = append(retired, b)
	})
	var frames []Frame
	for i := 0; ; i++ {
		if i > len(data)+2 {
			t.Fatalf("splitter did not stop after %d frames from %d bytes", i, len(data))
		}
		fr, err := sp.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next after %d frames: unexpected error %v", len(frames), err)
		}
		for _, r := range retired {
			if within(fr.Data, r) {
				t.Fatalf("frame %d %q comes from a block retired before it", i, fr.Data)
			}
		}
		frames = append(frames, fr)
	}
	format := sp.Format()
	sp.Release()
	for i, fr := range frames {
		if len(fr.Data) == 0 {
			continue
		}
		inRetired, inIssued := false, false
		for _, r := range retired {
			inRetired = inRetired || within(fr.Data, r)
		}
		for _, b := range src.issued {
			inIssued = inIssued || within(fr.Data, b)
		}
		switch {
		case inRetired:
		case inIssued:
			t.Fatalf("frame %d %q is in a block never retired", i, fr.Data)
		case fr.Offset+int64(sp.max) > int64(len(data)):
			// Only a frame over the limit is copied out of the blocks.
			t.Fatalf("frame %d %q is in no retired block", i, fr.Data)
		}
	}
	return frames, format
}

// blockShapes are block input sizes and headrooms that take every path: a
// carry that fits the headroom, one that does not, and no headroom.
var blockShapes = []struct {
	sizes    []int
	headroom int
}{
	{[]int{1 << 20}, Headroom},
	{[]int{1}, 0},
	{[]int{3}, 2},
	{[]int{7, 1, 5}, 4},
	{[]int{16}, 64},
}

func TestSplitBlocks(t *testing.T) {
	for _, tc := range splitCases {
		for _, sh := range blockShapes {
			t.Run(tc.name, func(t *testing.T) {
				frames, format := splitBlocks(t, []byte(tc.input), sh.sizes, sh.headroom, tc.format, tc.max)
				if format != tc.wantFormat {
					t.Errorf("Format() = %v, want %v", format, tc.wantFormat)
				}
				checkFrames(t, frames, tc.frames)
			})
		}
	}
}

// TestSplitBlocksReleaseHandsOverTheLastBlock checks that the block the
// last frames came from reaches OnRetire only with Release.
func TestSplitBlocksReleaseHandsOverTheLastBlock(t *testing.T) {
	sp := NewBlocks(&testBlocks{data: []byte("{\"a\":1}\n{\"b\":2}\n"), sizes: []int{1 << 10}, headroom: 8}, Lines, 0)
	var retired int
	sp.OnRetire(func([]byte) { retired++ })
	for {
		if _, err := sp.Next(); err != nil {
			break
		}
	}
	if retired != 0 {
		t.Fatalf("%d blocks retired before Release, want 0 (one block holds both lines)", retired)
	}
	sp.Release()
	if retired != 1 {
		t.Fatalf("%d blocks retired after Release, want 1", retired)
	}
}

// TestHeaderLine checks Splitter.HeaderLine against FileHeader, also when
// blocks cut the line.
func TestHeaderLine(t *testing.T) {
	long := strings.Repeat("x", MaxHeaderLine+1)
	for _, in := range []string{"", "a b c\nd e f\n", "\xEF\xBB\xBFa,b\r\nc,d\n", "no line end", long, long[:MaxHeaderLine] + "\n1\n"} {
		want, _, err := FileHeader(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		for _, sh := range blockShapes {
			sp := NewBlocks(&testBlocks{data: []byte(in), sizes: sh.sizes, headroom: sh.headroom}, Lines, 0)
			got, err := sp.HeaderLine()
			if err != nil || !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Fatalf("%.20q in blocks %v: HeaderLine = %.20q, %v; FileHeader %.20q", in, sh.sizes, got, err, want)
			}
			// The line is still read as a frame of its own.
			fr, err := sp.Next()
			if in != "" && (err != nil || !bytes.HasPrefix([]byte(strings.TrimPrefix(in, "\xEF\xBB\xBF")), fr.Data[:min(len(fr.Data), 5)])) {
				t.Fatalf("%.20q: first frame %.20q, %v", in, fr.Data, err)
			}
		}
	}
}

// TestBlockFreeList checks that PutBlock's blocks come back from GetBlock
// and that blocks of another size are not kept.
func TestBlockFreeList(t *testing.T) {
	for len(freeBlocks) > 0 {
		<-freeBlocks
	}
	b := GetBlock()
	if len(b) != BlockSize {
		t.Fatalf("GetBlock: %d bytes, want %d", len(b), BlockSize)
	}
	PutBlock(make([]byte, 100))
	PutBlock(b[:10])
	if got := GetBlock(); unsafe.SliceData(got) != unsafe.SliceData(b) || len(got) != BlockSize {
		t.Fatalf("GetBlock after PutBlock: a new block of %d bytes, want the recycled one whole", len(got))
	}
	for range maxFreeBlocks + 5 {
		PutBlock(make([]byte, BlockSize))
	}
	if len(freeBlocks) != maxFreeBlocks {
		t.Fatalf("free list holds %d blocks, want %d", len(freeBlocks), maxFreeBlocks)
	}
	for len(freeBlocks) > 0 {
		<-freeBlocks
	}
}

// TestBlocksGrow checks that a splitter over a reader starts with a small
// block, for short inputs, and that its blocks grow to BlockSize.
func TestBlocksGrow(t *testing.T) {
	small := New(strings.NewReader("{\"a\":1}\n"), Lines, 0)
	if _, err := small.Next(); err != nil {
		t.Fatal(err)
	}
	if len(small.buf) != firstBlock {
		t.Fatalf("block of %d bytes for a short input, want %d", len(small.buf), firstBlock)
	}
	line := strings.Repeat("x", 1000) + "\n"
	big := New(strings.NewReader(strings.Repeat(line, 2*BlockSize/len(line))), Lines, 0)
	n := 0
	for {
		fr, err := big.Next()
		if err == io.EOF {
			break
		}
		if err != nil || len(fr.Data) != len(line)-1 {
			t.Fatalf("line %d: %d bytes, %v", n, len(fr.Data), err)
		}
		n++
	}
	if n != 2*BlockSize/len(line) || len(big.buf) != BlockSize {
		t.Fatalf("%d lines, last block of %d bytes; want %d lines, a block of %d", n, len(big.buf), 2*BlockSize/len(line), BlockSize)
	}
}
