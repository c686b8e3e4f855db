package symtab

import "strconv"

// Unknown names a frame that has no symbol: "module+0xOFFSET", with the
// offset in lower-case hex (for example "libfoo.so+0x1a2b"). module is
// normally the base name of the executable and off the ELF virtual address
// or file offset the caller reports.
func Unknown(module string, off uint64) string {
	buf := make([]byte, 0, len(module)+3+16)
	buf = append(buf, module...)
	buf = append(buf, "+0x"...)
	buf = strconv.AppendUint(buf, off, 16)
	return string(buf)
}
