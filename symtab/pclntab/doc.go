// Package pclntab reads the Go runtime's function table, .gopclntab, of
// Go 1.18 and later executables: the function entries, their names, and
// the pc-value tables that map every instruction to its stack-pointer
// offset (pcsp), source file (pcfile), line (pcln) and per-PC data such as
// the inline-tree index; plus the inline trees kept in funcdata.
//
// Two header formats are understood: magic 0xfffffff0 (Go 1.18, 1.19) and
// 0xfffffff1 (Go 1.20 and later, whose _func records add startLine and
// whose inline tree entries shrank to 16 bytes). Older formats are
// refused with an error wrapping ErrUnsupportedVersion.
//
// A Table reads its input through an io.ReaderAt, either held in memory
// (NewBytes, or Open with Options.Preload) or read on demand through a
// bounded page cache (Open's default), so a large executable costs only
// its function index (8 bytes per function) plus the cache. Open finds the
// table in an ELF file by section, by symbol, or by scanning for the
// header when section headers are gone, and finds the runtime's moduledata
// (by symbol, its own section, or by scanning the data segments for the
// pointer to the header, applying R_X86_64_RELATIVE relocations of PIE
// executables) for the text start and the go:func.* base that funcdata
// offsets are relative to.
//
// # Security
//
// Executables are untrusted input. Every offset and count taken from the
// file is checked against the bounds of the region it points into before
// use, allocations are bounded by the bytes actually present, string reads
// stop at the end of their table, and no method panics on malformed input:
// they return a *FormatError or a wrapped sentinel. debug/elf, which Open
// takes as input, is not hardened; callers recover its panics.
package pclntab
