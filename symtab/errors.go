package symtab

import (
	"errors"
	"fmt"
)

var (
	// ErrNoSymbols is wrapped by NewFile and Open when a file has neither
	// .symtab nor .dynsym. The File they return alongside is still usable
	// (BuildID works, Lookup finds nothing) and must still be closed.
	// ParseKallsyms wraps it when the input holds no text symbols.
	ErrNoSymbols = errors.New("no symbol table")

	// ErrKallsymsHidden is wrapped when every address in /proc/kallsyms
	// reads as zero: the reader lacks CAP_SYSLOG (not root) or
	// kernel.kptr_restrict hides kernel pointers.
	ErrKallsymsHidden = errors.New("kallsyms addresses are hidden (need root, or kernel.kptr_restrict=0)")
)

// FormatError reports malformed input and the byte offset in the input
// where it was found, or -1 when the place is unknown.
type FormatError struct {
	Off int64
	Msg string
}

func (e *FormatError) Error() string {
	if e.Off < 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s at offset %#x", e.Msg, e.Off)
}
