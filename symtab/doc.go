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
package symtab
