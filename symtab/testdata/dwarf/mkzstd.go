//go:build ignore

// mkzstd copies an ELF file with its .debug_* sections compressed with
// zstd (SHF_COMPRESSED, ELFCOMPRESS_ZSTD), which this box's binutils
// cannot write: usage `go run mkzstd.go IN OUT`. It needs objcopy and the
// zstd command.
package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const elfcompressZstd = 2

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run mkzstd.go IN OUT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "mkzstd:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	ef, err := elf.Open(in)
	if err != nil {
		return err
	}
	defer ef.Close()
	if ef.Class != elf.ELFCLASS64 || ef.ByteOrder != binary.LittleEndian {
		return fmt.Errorf("%s: only little-endian ELF64 is supported", in)
	}
	tmp, err := os.MkdirTemp("", "mkzstd")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := []string{}
	var names []string
	for _, s := range ef.Sections {
		if !strings.HasPrefix(s.Name, ".debug_") || s.Flags&(elf.SHF_ALLOC|elf.SHF_COMPRESSED) != 0 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return err
		}
		cmd := exec.Command("zstd", "-q", "-19", "-c")
		cmd.Stdin = bytes.NewReader(data)
		z, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		var hdr [24]byte
		binary.LittleEndian.PutUint32(hdr[0:], elfcompressZstd)
		binary.LittleEndian.PutUint64(hdr[8:], uint64(len(data)))
		binary.LittleEndian.PutUint64(hdr[16:], max(s.Addralign, 1))
		p := filepath.Join(tmp, strings.TrimPrefix(s.Name, "."))
		if err := os.WriteFile(p, append(hdr[:], z...), 0o644); err != nil {
			return err
		}
		args = append(args, "--update-section", s.Name+"="+p)
		names = append(names, s.Name)
	}
	args = append(args, in, out)
	if b, err := exec.Command("objcopy", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("objcopy: %v: %s", err, b)
	}
	return setCompressed(out, names)
}

// setCompressed sets SHF_COMPRESSED on the named sections of the ELF64
// file at path, in place.
func setCompressed(path string, names []string) error {
	ef, err := elf.Open(path)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var idx []int
	for i, s := range ef.Sections {
		if want[s.Name] {
			idx = append(idx, i)
		}
	}
	ef.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	shoff := binary.LittleEndian.Uint64(data[0x28:])
	shentsize := uint64(binary.LittleEndian.Uint16(data[0x3a:]))
	for _, i := range idx {
		at := shoff + uint64(i)*shentsize + 8 // sh_flags
		f := binary.LittleEndian.Uint64(data[at:])
		binary.LittleEndian.PutUint64(data[at:], f|uint64(elf.SHF_COMPRESSED))
	}
	return os.WriteFile(path, data, 0o755)
}
