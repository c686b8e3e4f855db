package symtab

import (
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"io"
)

// maxNoteBytes caps how much of one note section or segment is read.
const maxNoteBytes = 64 << 10

// ntGNUBuildID is the note type of NT_GNU_BUILD_ID in the "GNU" namespace.
const ntGNUBuildID = 3

// findBuildID returns the hex GNU build ID from the note sections, or from
// the PT_NOTE segments when the file has no section headers, or "".
func findBuildID(ef *elf.File) string {
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_NOTE || s.Flags&elf.SHF_COMPRESSED != 0 {
			continue
		}
		if id := buildIDIn(s.Open(), ef.ByteOrder, s.Addralign); id != "" {
			return id
		}
	}
	for _, p := range ef.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		if id := buildIDIn(p.Open(), ef.ByteOrder, p.Align); id != "" {
			return id
		}
	}
	return ""
}

// buildIDIn scans the notes in r, whose entries are padded to align bytes
// (4 unless the container says 8).
func buildIDIn(r io.Reader, order binary.ByteOrder, align uint64) string {
	data, err := io.ReadAll(io.LimitReader(r, maxNoteBytes))
	if err != nil && len(data) == 0 {
		return ""
	}
	if align != 8 {
		align = 4
	}
	pad := func(n uint64) uint64 { return (n + align - 1) &^ (align - 1) }
	for len(data) >= 12 {
		namesz := uint64(order.Uint32(data[0:4]))
		descsz := uint64(order.Uint32(data[4:8]))
		typ := order.Uint32(data[8:12])
		data = data[12:]
		if pad(namesz) > uint64(len(data)) {
			return ""
		}
		name := data[:namesz]
		data = data[pad(namesz):]
		if descsz > uint64(len(data)) {
			return ""
		}
		desc := data[:descsz]
		data = data[min(pad(descsz), uint64(len(data))):]
		if typ == ntGNUBuildID && isGNU(name) && len(desc) > 0 {
			return hex.EncodeToString(desc)
		}
	}
	return ""
}

func isGNU(name []byte) bool {
	return string(name) == "GNU\x00" || string(name) == "GNU"
}
