package pclntab

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound is wrapped when an executable has no Go pclntab.
	ErrNotFound = errors.New("no Go pclntab")
	// ErrUnsupportedVersion is wrapped when the pclntab is older than Go
	// 1.18 (or of an unknown, newer format).
	ErrUnsupportedVersion = errors.New("unsupported pclntab version")
)

// FormatError reports malformed pclntab data at a byte offset from the
// start of the table.
type FormatError struct {
	Off uint64
	Msg string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("pclntab: %s at offset %#x", e.Msg, e.Off)
}

func formatErr(off uint64, format string, args ...any) *FormatError {
	return &FormatError{Off: off, Msg: fmt.Sprintf(format, args...)}
}
