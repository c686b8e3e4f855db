package symtab

import (
	"bufio"
	"cmp"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// maxNameLen caps a symbol name; longer names are truncated.
const maxNameLen = 1 << 16

// readNames reads the names of cands from strtab in one forward pass and
// appends them, NUL-terminated, to b.arena. On entry each cand.name is a
// string-table offset; on return it is an arena offset and cand.nlen the
// length, or nlen is 0 when the name is empty or unreadable. Names that are
// suffixes of the previous name (linkers merge string tails) share its
// bytes, so the arena never outgrows the string table.
func (b *builder) readNames(strtab *elf.Section, cands []cand) error {
	slices.SortFunc(cands, func(x, y cand) int { return cmp.Compare(x.name, y.name) })
	if avail := b.avail(strtab); avail > 0 && len(cands) > 0 {
		// Function names are a part of the string table: reserve that
		// much, bounded by what the input holds.
		b.arena = slices.Grow(b.arena, int(min(avail, math.MaxUint32)))
	}
	rd := b.reader(strtab)
	var pos uint64 // string-table offset of rd's next byte
	var lastOff, lastLen uint64
	var lastArena uint32
	haveLast := false
	for i := range cands {
		c := &cands[i]
		off := uint64(c.name)
		c.nlen = 0
		if haveLast && off >= lastOff && off < lastOff+lastLen {
			d := off - lastOff
			c.name, c.nlen = lastArena+uint32(d), uint32(lastLen-d)
			continue
		}
		if off < pos {
			continue // inside a truncated name: unreadable
		}
		if err := discard(rd, off-pos); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // names past the table's end stay unreadable
			}
			return fmt.Errorf("read string table: %w", err)
		}
		pos = off
		if len(b.arena) > math.MaxUint32-maxNameLen-1 {
			return &FormatError{Off: int64(strtab.Offset), Msg: "string table too large"}
		}
		start := len(b.arena)
		n, err := b.readCString(rd)
		pos += n
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read string table: %w", err)
		}
		nlen := len(b.arena) - start
		haveLast = nlen > 0
		if !haveLast {
			b.arena = b.arena[:start]
			continue
		}
		b.arena = append(b.arena, 0)
		lastOff, lastLen, lastArena = off, uint64(nlen), uint32(start)
		c.name, c.nlen = uint32(start), uint32(nlen)
	}
	return nil
}

// readCString appends the string at rd's position to b.arena, up to
// maxNameLen bytes, and consumes it with its NUL. It returns the bytes
// consumed.
func (b *builder) readCString(rd *bufio.Reader) (uint64, error) {
	var n uint64
	room := maxNameLen
	for {
		chunk, err := rd.ReadSlice(0)
		n += uint64(len(chunk))
		if err == nil {
			chunk = chunk[:len(chunk)-1]
		}
		k := min(len(chunk), room)
		b.arena = append(b.arena, chunk[:k]...)
		room -= k
		if !errors.Is(err, bufio.ErrBufferFull) {
			return n, err
		}
	}
}

// discard skips n bytes of rd.
func discard(rd *bufio.Reader, n uint64) error {
	for n > 0 {
		k := int(min(n, 1<<30))
		d, err := rd.Discard(k)
		n -= uint64(d)
		if err != nil {
			return err
		}
	}
	return nil
}
