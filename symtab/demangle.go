package symtab

import (
	"strings"

	"github.com/ianlancetaylor/demangle"
)

// demangleMaxLength caps a demangled name at 2^16 bytes; pathological
// mangled names can otherwise expand exponentially.
var demangleMaxLength = demangle.MaxLength(16)

// displayName returns the name to show for a raw symbol name: demangled
// when it is a C++ (_Z), legacy Rust (_ZN...17h<hash>E) or Rust v0 (_R)
// name, the raw name otherwise or when demangling fails. The result never
// shares memory with raw.
func displayName(raw []byte) string {
	s := string(raw)
	if !strings.HasPrefix(s, "_Z") && !strings.HasPrefix(s, "_R") {
		return s
	}
	d, ok := tryDemangle(s)
	if !ok {
		return s
	}
	if strings.HasPrefix(s, "_ZN") {
		d = trimRustHash(d)
	}
	return d
}

// tryDemangle demangles s, treating a panic in the demangler as failure.
func tryDemangle(s string) (d string, ok bool) {
	defer func() {
		if recover() != nil {
			d, ok = "", false
		}
	}()
	d, err := demangle.ToString(s, demangleMaxLength)
	if err != nil || d == "" {
		return "", false
	}
	return d, true
}

// trimRustHash drops a trailing "::h" plus 16 hex digits, the hash of a
// legacy Rust name, in case the demangler kept it.
func trimRustHash(d string) string {
	const n = len("::h") + 16
	if len(d) <= n || !strings.HasPrefix(d[len(d)-n:], "::h") {
		return d
	}
	for _, c := range d[len(d)-16:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return d
		}
	}
	return d[:len(d)-n]
}
