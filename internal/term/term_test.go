package term

import (
	"bytes"
	"testing"
)

// TestWithoutTerminal: without a terminal there is no status line, and
// output and logs pass through unchanged.
func TestWithoutTerminal(t *testing.T) {
	var out, errw bytes.Buffer
	tm := New(&out, &errw)
	if tm.TTY() {
		t.Fatal("a buffer taken for a terminal")
	}
	tm.Status("42 objects")
	if _, err := tm.Logs().Write([]byte("a log line\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.Output().Write([]byte("an alert\n")); err != nil {
		t.Fatal(err)
	}
	tm.Clear()
	if out.String() != "an alert\n" || errw.String() != "a log line\n" {
		t.Errorf("output %q, errors %q", out.String(), errw.String())
	}
}

// TestStatusLine: on a terminal, a line printed while the status line is
// shown is written above it, and the status line is drawn again after.
func TestStatusLine(t *testing.T) {
	var out, errw bytes.Buffer
	tm := New(&out, &errw)
	tm.tty = true // as New finds it on a terminal
	tm.Status("1 object")
	if _, err := tm.Logs().Write([]byte("a log line\n")); err != nil {
		t.Fatal(err)
	}
	tm.Clear()
	want := "\r\x1b[2K1 object" + "\r\x1b[2K" + "a log line\n" + "\r\x1b[2K1 object" + "\r\x1b[2K"
	if errw.String() != want {
		t.Errorf("terminal got %q, want %q", errw.String(), want)
	}
}
