// Command vigil is a Kafka-native streaming security correlation engine for
// cloud estates. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	_ "github.com/vigilsec/vigil/plugin/all"
)

// exitError carries a process exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return
	}
	code := 1
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case cmd != nil && !cmd.Flags().Parsed(), isUsageError(err):
		code = 2 // the command line itself is wrong
	}
	fmt.Fprintln(os.Stderr, "vigil:", err)
	os.Exit(code)
}

// isUsageError recognises cobra's errors about the command line.
func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "required flag", "unknown command", "invalid argument", "accepts ", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
