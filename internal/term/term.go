// Package term shares a terminal between a status line and the lines
// other output prints: vigil demo's and vigil ingest's progress.
package term

import (
	"io"
	"os"
	"sync"

	"github.com/mattn/go-isatty"
)

// Term shares a terminal between a status line (on the error stream,
// redrawn in place) and the lines that output and logs print. Without a
// terminal there is no status line and output passes straight through. It
// is safe for concurrent use.
type Term struct {
	mu    sync.Mutex
	out   io.Writer
	err   io.Writer
	tty   bool
	shown bool
	line  string
}

// New returns a Term for output to out and the status line and logs to
// errw.
func New(out, errw io.Writer) *Term {
	t := &Term{out: out, err: errw}
	if f, ok := errw.(*os.File); ok {
		t.tty = isatty.IsTerminal(f.Fd())
	}
	return t
}

func (t *Term) hide() {
	if t.shown {
		_, _ = io.WriteString(t.err, "\r\x1b[2K")
		t.shown = false
	}
}

func (t *Term) show() {
	if t.tty && t.line != "" {
		_, _ = io.WriteString(t.err, "\r\x1b[2K"+t.line)
		t.shown = true
	}
}

// TTY reports whether there is a status line: the error stream is a
// terminal.
func (t *Term) TTY() bool { return t.tty }

// Status sets the status line.
func (t *Term) Status(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.line = s
	if t.tty {
		t.show()
	}
}

// Clear removes the status line.
func (t *Term) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hide()
	t.line = ""
}

type termWriter struct {
	t *Term
	w io.Writer
}

func (w termWriter) Write(p []byte) (int, error) {
	w.t.mu.Lock()
	defer w.t.mu.Unlock()
	w.t.hide()
	n, err := w.w.Write(p)
	w.t.show()
	return n, err
}

// Fd lets the console sink see whether the output is a terminal.
func (w termWriter) Fd() uintptr {
	if f, ok := w.w.(*os.File); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}

// Output is where alerts go.
func (t *Term) Output() io.Writer { return termWriter{t, t.out} }

// Logs is where log lines go.
func (t *Term) Logs() io.Writer { return termWriter{t, t.err} }
