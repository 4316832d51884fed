package framing

import "io"

// The splitter reads its input into blocks and cuts frames out of them
// without copying: a frame's Data is a slice of the block it was read
// into. A block is never written again once a frame was cut from it; the
// splitter moves on to a new one, carrying over only the start of an event
// the end of the block cut off. Who recycles blocks (OnRetire) must wait
// until it is done with the frames cut from them.

// BlockSize is the size of the blocks the splitter reads input into, and
// of the blocks GetBlock returns.
const BlockSize = 256 << 10

// firstBlock is the size of the first block a splitter over an io.Reader
// reads into; the next ones double up to BlockSize.
const firstBlock = 16 << 10

// Headroom is the room a BlockReader leaves free at the start of each
// block: the splitter moves the start of an event that the previous block
// cut off there, in front of the rest of the event, instead of copying the
// new block.
const Headroom = 16 << 10

// A BlockReader hands over its input a block at a time, so that it reaches
// the splitter without a copy.
type BlockReader interface {
	// ReadBlock returns the next block: its input is block[off:], and the
	// bytes before off are free for the splitter to write (Headroom of
	// them, or fewer). The caller owns the block from then on. After the
	// input's last byte it returns io.EOF or the read error, with the last
	// input or after it.
	ReadBlock() (block []byte, off int, err error)
}

// freeBlocks holds recycled blocks: a bounded list rather than a
// sync.Pool, because blocks come back only when the transaction holding
// their records commits, and a garbage collection in between would empty
// a pool.
var freeBlocks = make(chan []byte, maxFreeBlocks)

// maxFreeBlocks bounds the memory the free list keeps (32 MiB): an S3
// source with its default settings holds about 110 blocks (a transaction
// of 16 MiB, objects read ahead), which then come from the list alone.
const maxFreeBlocks = 128

// GetBlock returns a block of BlockSize bytes, a recycled one if there is
// one. Its contents are undefined.
func GetBlock() []byte {
	select {
	case b := <-freeBlocks:
		return b
	default:
		return make([]byte, BlockSize)
	}
}

// PutBlock recycles a block for GetBlock. Blocks of another size, and
// blocks beyond what the free list keeps, are left to the garbage
// collector. Nothing may use b afterwards.
func PutBlock(b []byte) {
	if cap(b) != BlockSize {
		return
	}
	select {
	case freeBlocks <- b[:BlockSize]:
	default:
	}
}

// NewBlocks returns a splitter over the blocks of r. maxFrame <= 0 means
// DefaultMaxFrame.
func NewBlocks(r BlockReader, f Format, maxFrame int) *Splitter {
	s := New(nil, f, maxFrame)
	s.blocks = r
	return s
}

// OnRetire sets the function the splitter hands each block that frames
// were cut from, once it will cut no more frames from it: the frames' Data
// stay valid until the function's owner recycles the block (PutBlock).
// Without it, such blocks are left to the garbage collector, held by their
// frames. Blocks no frame was cut from go back to the free list. Release
// hands over the last block.
func (s *Splitter) OnRetire(f func(block []byte)) { s.retire = f }

// Release gives up the splitter's current block (to the OnRetire function
// if frames were cut from it). The splitter must not be used afterwards.
func (s *Splitter) Release() {
	old := s.buf
	s.buf, s.pos, s.end = nil, 0, 0
	s.retireBlock(old)
}

// retireBlock hands over a block the splitter moves away from.
func (s *Splitter) retireBlock(b []byte) {
	switch {
	case b == nil:
	case !s.cut:
		PutBlock(b)
	case s.retire != nil:
		s.retire(b)
	}
	s.cut = false
}

// newBlock returns a block of at least size bytes.
func (s *Splitter) newBlock(size int) []byte {
	if size == BlockSize {
		return GetBlock()
	}
	return make([]byte, size)
}

// keepFrom is where the bytes the splitter still needs begin: the frame
// being cut, else the unread input.
func (s *Splitter) keepFrom() int {
	if s.fs >= 0 && !s.overflow {
		return s.fs
	}
	return s.pos
}

// moveTo makes b, whose bytes from start on hold the needed bytes of the
// current block (from keepFrom on) followed by end-start-(s.end-from) new
// ones, the current block, and retires the old one.
func (s *Splitter) moveTo(b []byte, start, end, from int) {
	old := s.buf
	s.pos = start + s.pos - from
	if s.fs >= 0 && !s.overflow {
		s.fs = start + s.fs - from
	}
	s.buf, s.end = b, end
	if len(old) > 0 && len(b) > 0 && &old[0] == &b[0] {
		return // the same block, reused in place
	}
	s.retireBlock(old)
}

// maxEmptyReads is how many reads in a row may return nothing before the
// splitter gives up with io.ErrNoProgress (as bufio does).
const maxEmptyReads = 100

// fill reads more input after the buffered input, keeping the frame being
// cut and the unread input (in a new block if the current one is full). It
// returns an error, the input's, only if it added no byte.
func (s *Splitter) fill() error {
	if s.err != nil {
		return s.err
	}
	from := s.keepFrom()
	if s.blocks != nil {
		return s.fillBlock(from)
	}
	if len(s.buf)-s.end < max(s.size/8, 1) {
		carry := s.end - from
		var nb []byte
		if !s.cut && s.buf != nil && carry <= len(s.buf)/2 {
			nb = s.buf // no frame came from it: move the carry to its start
		} else {
			if s.buf != nil {
				// Blocks grow from firstBlock to BlockSize: a short input
				// (an HTTP request) takes one small block.
				s.size = min(2*s.size, max(s.size, BlockSize))
			}
			size := s.size
			for size < 2*carry {
				size *= 2
			}
			nb = s.newBlock(size)
		}
		copy(nb, s.buf[from:s.end])
		s.moveTo(nb, 0, carry, from)
	}
	for range maxEmptyReads {
		n, err := s.src.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.err = err
			if n == 0 {
				return err
			}
		}
		if n > 0 {
			return nil
		}
	}
	s.err = io.ErrNoProgress
	return s.err
}

// fillBlock takes the next block of a BlockReader, moving the bytes still
// needed into its headroom (or, if they do not fit, both into a new array).
func (s *Splitter) fillBlock(from int) error {
	for range maxEmptyReads {
		b, off, err := s.blocks.ReadBlock()
		if len(b) == off {
			PutBlock(b)
			if err != nil {
				s.err = err
				return err
			}
			continue
		}
		s.err = err // after this block's input
		carry := s.end - from
		if carry <= off {
			start := off - carry
			copy(b[start:off], s.buf[from:s.end])
			s.moveTo(b, start, len(b), from)
			return nil
		}
		nb := s.newBlock(carry + len(b) - off)
		copy(nb, s.buf[from:s.end])
		copy(nb[carry:], b[off:])
		PutBlock(b)
		s.moveTo(nb, 0, len(nb), from)
		return nil
	}
	s.err = io.ErrNoProgress
	return s.err
}

// buffered returns the unread input, reading more if none is buffered. The
// slice is valid until the next read.
func (s *Splitter) buffered() ([]byte, error) {
	if s.pos == s.end {
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
	return s.buf[s.pos:s.end], nil
}

// peek returns the next n bytes of input without consuming them, or fewer
// at the end of the input (or a read error, which the next read returns).
func (s *Splitter) peek(n int) []byte {
	for s.end-s.pos < n {
		if s.fill() != nil {
			break
		}
	}
	return s.buf[s.pos:min(s.end, s.pos+n)]
}

// take consumes n bytes of input (with no line end among them) into the
// frame.
func (s *Splitter) take(n int) {
	s.keep(n)
	s.pos += n
	s.off += int64(n)
}

// discard consumes n bytes of input (with no line end among them).
func (s *Splitter) discard(n int) {
	s.pos += n
	s.off += int64(n)
}

// keep adds the n bytes of input at pos to the frame (which ends at pos).
// Beyond the limit the frame keeps its first max bytes, copied out of the
// blocks, so that the blocks need not hold the rest.
func (s *Splitter) keep(n int) {
	if s.overflow {
		return
	}
	if s.fn+n > s.max {
		s.big = append([]byte(nil), s.buf[s.fs:s.fs+s.max]...)
		s.overflow = true
		return
	}
	s.fn += n
}

// frameBytes returns the frame cut so far.
func (s *Splitter) frameBytes() []byte {
	if s.overflow {
		return s.big
	}
	return s.buf[s.fs : s.fs+s.fn]
}

// trimFrame shortens the frame to its first n bytes.
func (s *Splitter) trimFrame(n int) {
	if s.overflow {
		s.big = s.big[:n]
	} else {
		s.fn = n
	}
}
