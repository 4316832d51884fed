package demo

import (
	"io"
	"os"
	"sync"

	"github.com/mattn/go-isatty"
)

// term shares a terminal between a status line (on stderr, redrawn in
// place) and the lines that alerts and logs print. Without a terminal there
// is no status line and output passes straight through.
type term struct {
	mu    sync.Mutex
	out   io.Writer
	err   io.Writer
	tty   bool
	shown bool
	line  string
}

func newTerm(out, errw io.Writer) *term {
	t := &term{out: out, err: errw}
	if f, ok := errw.(*os.File); ok {
		t.tty = isatty.IsTerminal(f.Fd())
	}
	return t
}

func (t *term) hide() {
	if t.shown {
		_, _ = io.WriteString(t.err, "\r\x1b[2K")
		t.shown = false
	}
}

func (t *term) show() {
	if t.tty && t.line != "" {
		_, _ = io.WriteString(t.err, "\r\x1b[2K"+t.line)
		t.shown = true
	}
}

func (t *term) status(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.line = s
	if t.tty {
		t.show()
	}
}

func (t *term) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hide()
	t.line = ""
}

type termWriter struct {
	t *term
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
func (t *term) Output() io.Writer { return termWriter{t, t.out} }

// Logs is where log lines go.
func (t *term) Logs() io.Writer { return termWriter{t, t.err} }
