// Package symtab turns addresses into function names: ELF symbol tables
// (.symtab and .dynsym) for user-space executables and /proc/kallsyms for
// the kernel, with C++ and Rust names demangled.
//
// A File is opened once per executable and keeps only a compact, sorted
// index of its functions (start, size and an offset into one name arena);
// it never holds the whole file in memory. Lookups are binary searches,
// names are demangled on first lookup and cached. Symbolization is never on
// the sampling hot path: callers look up each distinct frame once.
//
// A Symbolizer adds everything else the box has for a native executable:
// its separate debug file (by build ID under /usr/lib/debug/.build-id, or
// by .gnu_debuglink), its MiniDebugInfo (.gnu_debugdata), a dwz
// supplementary file, and DWARF (Lines) for inline chains and source
// lines. DWARF is indexed on first use by unit address ranges only; a
// unit's functions, inline tree and line table are decoded on the first
// lookup in it and kept in a cache bounded in bytes.
//
// # Security
//
// pftop opens every executable that runs on the box, so ELF input is
// treated as hostile. The standard library's debug/elf, which this package
// uses for headers and sections, documents that it is not hardened against
// such input; symtab therefore recovers any panic at the boundary of each
// file and reports it as an error, reads symbol tables through bounded,
// streaming readers, never trusts a count from a header to size an
// allocation, and refuses compressed symbol tables (which would let a small
// file expand without limit). Every allocation is bounded by the number of
// bytes actually read from the input. /proc/kallsyms is parsed with the same
// care, although it comes from the kernel.
//
// DWARF is decoded by this package, not by debug/dwarf: every read is
// bounds-checked through a sticky-error cursor, and the work and memory of
// decoding a unit are bounded by the unit's size, even where the format
// lets many entries share one range list, string or abbreviation table.
// Compressed debug sections are the exception to "bounded by the bytes
// read": they are decompressed whole, up to Options.MaxSectionBytes (1 GiB
// by default). MiniDebugInfo's xz data is decompressed to at most 128 MiB
// with a dictionary no larger than that. Panics are recovered per file
// and per unit.
package symtab
