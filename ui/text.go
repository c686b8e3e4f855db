package ui

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Text helpers shared by the views and batch mode. Widths are terminal
// cells; every cut falls on a rune boundary and ends (or starts) with "…".

const ellipsis = "…"

// isPlainASCII reports whether s is printable ASCII, where bytes, runes and
// cells coincide.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// cleanText makes s safe to print on a terminal: control characters
// (including ESC) and invalid UTF-8 become U+FFFD, so names taken from
// processes can never inject escape sequences.
func cleanText(s string) string {
	if isPlainASCII(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// textWidth is the number of cells s takes.
func textWidth(s string) int {
	if isPlainASCII(s) {
		return len(s)
	}
	return ansi.StringWidth(s)
}

func runeCells(r rune) int {
	if r < 0x7f && r >= 0x20 {
		return 1
	}
	return ansi.StringWidth(string(r))
}

// truncate cuts s to at most w cells, ending in "…" when it cut.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if isPlainASCII(s) {
		if len(s) <= w {
			return s
		}
		return s[:w-1] + ellipsis
	}
	if textWidth(s) <= w {
		return s
	}
	used := 0
	for i, r := range s {
		c := runeCells(r)
		if used+c > w-1 {
			return s[:i] + ellipsis
		}
		used += c
	}
	return s
}

// truncateLeft cuts s to at most w cells keeping its end, starting with
// "…" when it cut. Paths keep their file name this way.
func truncateLeft(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if isPlainASCII(s) {
		if len(s) <= w {
			return s
		}
		return ellipsis + s[len(s)-(w-1):]
	}
	if textWidth(s) <= w {
		return s
	}
	used := 0
	for i := len(s); i > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		c := runeCells(r)
		if used+c > w-1 {
			return ellipsis + s[i:]
		}
		used += c
		i -= size
	}
	return s
}

const spaces = "                                                                                                                                "

// appendSpaces appends n spaces to b.
func appendSpaces(b []byte, n int) []byte {
	for n > 0 {
		k := min(n, len(spaces))
		b = append(b, spaces[:k]...)
		n -= k
	}
	return b
}

// fit returns s cut or padded with spaces to exactly w cells, aligned left
// (or right when right is set).
func fit(s string, w int, right bool) string {
	s = truncate(s, w)
	pad := w - textWidth(s)
	if pad <= 0 {
		return s
	}
	b := make([]byte, 0, len(s)+pad)
	if right {
		b = appendSpaces(b, pad)
		b = append(b, s...)
	} else {
		b = append(b, s...)
		b = appendSpaces(b, pad)
	}
	return string(b)
}

// formatPercent prints part/whole as a percentage with two decimals and a
// "%" sign ("12.34%"); a zero whole gives "0.00%".
func formatPercent(part, whole int64) string {
	var p float64
	if whole > 0 {
		p = float64(part) * 100 / float64(whole)
	}
	return strconv.FormatFloat(p, 'f', 2, 64) + "%"
}

// digits is the number of decimal digits of n (at least 1).
func digits(n int64) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// shortContainer abbreviates a container ID the way docker does (the first
// 12 hex digits of an ID) and names the host. Names that are not hex IDs
// are kept, cut at 24 cells.
func shortContainer(id string) string {
	if id == "" {
		return "(host)"
	}
	if len(id) > 12 && isHex(id) {
		return id[:12]
	}
	return truncate(cleanText(id), 24)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// location is where a function lives: file:line when the file is known
// (file alone without a line), else its module.
func location(file string, line int, module string) string {
	if file != "" {
		if line > 0 {
			return file + ":" + strconv.Itoa(line)
		}
		return file
	}
	return module
}
