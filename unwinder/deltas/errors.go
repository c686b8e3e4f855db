package deltas

import (
	"errors"
	"fmt"
)

// ErrNoUnwindInfo is returned (wrapped) when an executable has no .eh_frame
// and no .debug_frame, or when those sections describe no function. The
// caller falls back to frame pointers for the whole file.
var ErrNoUnwindInfo = errors.New("no unwind information")

// FormatError reports malformed unwind data: the section it was found in
// and the byte offset inside that section.
type FormatError struct {
	Section string
	Off     uint64
	Msg     string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: malformed at offset %#x: %s", e.Section, e.Off, e.Msg)
}
