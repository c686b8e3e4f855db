package python

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrStale says a code object's co_firstlineno no longer matches what the
// walker read when it sampled: the object was freed or its memory reused.
var ErrStale = errors.New("python: code object changed since it was sampled")

// errBadObject wraps every "the bytes there are not what they should be".
var errBadObject = errors.New("python: not a valid object")

// mem reads a process's memory (or, in tests, arbitrary bytes) through an
// io.ReaderAt whose offsets are addresses. It trusts nothing it reads.
type mem struct{ r io.ReaderAt }

func (m mem) read(addr uint64, n int) ([]byte, error) {
	if addr == 0 {
		return nil, fmt.Errorf("read %d bytes at 0: %w", n, errBadObject)
	}
	if addr > 1<<63-uint64(n) {
		return nil, fmt.Errorf("read %d bytes at %#x: address out of range: %w", n, addr, errBadObject)
	}
	buf := make([]byte, n)
	got, err := m.r.ReadAt(buf, int64(addr))
	if got == n {
		return buf, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, fmt.Errorf("read %d bytes at %#x: %w", n, addr, err)
}

func (m mem) u64(addr uint64) (uint64, error) {
	b, err := m.read(addr, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// le64/le32 read from a buffer already read in one piece; off is trusted
// to be in bounds by the callers, which size the buffer from the layout.
func le64(b []byte, off uint32) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
func le32(b []byte, off uint32) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
