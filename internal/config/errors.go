package config

import (
	"fmt"
	"strings"
)

// ExitError is a start-up failure: what redis-server would print on its
// standard output and error, and the exit code.
type ExitError struct {
	Stdout, Stderr string
	Code           int
}

// Error returns the printed text.
func (e *ExitError) Error() string { return strings.TrimSpace(e.Stderr + e.Stdout) }

// fatalAt is Redis's "FATAL CONFIG FILE ERROR" for a given line.
func fatalAt(line int, text, msg string) *ExitError {
	return &ExitError{
		Stderr: fmt.Sprintf("\n*** FATAL CONFIG FILE ERROR (Redis %s) ***\nReading the configuration file, at line %d\n>>> '%s'\n%s\n",
			Version, line, text, msg),
		Code: 1,
	}
}

// fatalf is the "FATAL CONFIG FILE ERROR" of checks made after the lines
// are read (no line is shown).
func fatalf(format string, args ...any) *ExitError {
	return &ExitError{
		Stderr: fmt.Sprintf("\n*** FATAL CONFIG FILE ERROR (Redis %s) ***\n", Version) + fmt.Sprintf(format, args...) + "\n",
		Code:   1,
	}
}
