package symtab

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ulikunitz/xz/lzma"
)

// Separate debug files: found by build ID under each debug root
// (<root>/.build-id/xx/yyyy.debug), or by the name and CRC32 in
// .gnu_debuglink next to the file, in its .debug subdirectory or under
// each debug root; and MiniDebugInfo, the xz-compressed ELF file in
// .gnu_debugdata whose .symtab names the functions .dynsym leaves out.

// DefaultDebugRoot is where distributions install debug files.
const DefaultDebugRoot = "/usr/lib/debug"

const (
	// maxDebuglinkBytes bounds the .gnu_debuglink section read.
	maxDebuglinkBytes = 4 << 10
	// maxMiniDebugInput and maxMiniDebugOutput bound the compressed and
	// decompressed size of .gnu_debugdata.
	maxMiniDebugInput  = 32 << 20
	maxMiniDebugOutput = 128 << 20
)

// debuglink returns the file name and CRC32 in ef's .gnu_debuglink, or
// ok false when it has none or it is malformed. Names with a directory
// part are refused: the link names a file, never a path.
func debuglink(ef *elf.File) (name string, crc uint32, ok bool) {
	sec := ef.Section(".gnu_debuglink")
	if sec == nil || sec.Type == elf.SHT_NOBITS || sec.Flags&elf.SHF_COMPRESSED != 0 {
		return "", 0, false
	}
	data, err := io.ReadAll(io.LimitReader(sec.Open(), maxDebuglinkBytes))
	if err != nil {
		return "", 0, false
	}
	i := bytes.IndexByte(data, 0)
	if i <= 0 {
		return "", 0, false
	}
	name = string(data[:i])
	at := (i + 4) &^ 3 // the CRC follows the NUL, aligned to 4 bytes
	if at+4 > len(data) || strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return "", 0, false
	}
	return name, ef.ByteOrder.Uint32(data[at:]), true
}

// debugRoots returns the roots to search under.
func (o *Options) debugRoots() []string {
	if o.DebugRoots == nil {
		return []string{DefaultDebugRoot}
	}
	return o.DebugRoots
}

// findDebugFile opens the separate debug file of ef: by build ID first,
// then by .gnu_debuglink. It returns nil when there is none. A candidate
// must be an ELF file; one found by build ID must carry the same build
// ID, one found by debuglink must match the CRC32.
func findDebugFile(ef *elf.File, buildID string, opts *Options) (*os.File, string) {
	roots := opts.debugRoots()
	if len(buildID) >= 4 && isHex(buildID) {
		for _, root := range roots {
			p := filepath.Join(root, ".build-id", buildID[:2], buildID[2:]+".debug")
			if f := openDebugCandidate(p, opts.Path); f != nil {
				if id, ok := elfBuildID(f); ok && id == buildID {
					return f, p
				}
				f.Close()
			}
		}
	}
	name, crc, ok := debuglink(ef)
	if !ok || opts.Path == "" {
		return nil, ""
	}
	dir := filepath.Dir(opts.Path)
	cands := []string{filepath.Join(dir, name), filepath.Join(dir, ".debug", name)}
	if filepath.IsAbs(dir) {
		for _, root := range roots {
			cands = append(cands, filepath.Join(root, dir, name))
		}
	}
	for _, p := range cands {
		f := openDebugCandidate(p, opts.Path)
		if f == nil {
			continue
		}
		if sum, err := fileCRC32(f); err == nil && sum == crc {
			if id, ok := elfBuildID(f); ok && (buildID == "" || id == "" || id == buildID) {
				return f, p
			}
		}
		f.Close()
	}
	return nil, ""
}

// openDebugCandidate opens p if it is a regular file other than the file
// at self.
func openDebugCandidate(p, self string) *os.File {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil
	}
	if self != "" {
		if si, err := os.Stat(self); err == nil && os.SameFile(fi, si) {
			f.Close()
			return nil
		}
	}
	return f
}

// elfBuildID returns the build ID of the ELF file r, and false when r is
// not ELF.
func elfBuildID(r io.ReaderAt) (id string, ok bool) {
	defer func() {
		if recover() != nil {
			id, ok = "", false
		}
	}()
	ef, err := elf.NewFile(r)
	if err != nil {
		return "", false
	}
	return findBuildID(ef), true
}

// fileCRC32 returns the CRC32 (IEEE, as .gnu_debuglink uses) of f.
func fileCRC32(f *os.File) (uint32, error) {
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<62)); err != nil {
		return 0, err
	}
	return h.Sum32(), nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// maxAltlinkBytes bounds the .gnu_debugaltlink section read.
const maxAltlinkBytes = 4 << 10

// altlink returns the file name and build ID in ef's .gnu_debugaltlink,
// which names the supplementary file dwz made with the debug info that
// several files share.
func altlink(ef *elf.File) (name, buildID string, ok bool) {
	sec := ef.Section(".gnu_debugaltlink")
	if sec == nil || sec.Type == elf.SHT_NOBITS || sec.Flags&elf.SHF_COMPRESSED != 0 {
		return "", "", false
	}
	data, err := io.ReadAll(io.LimitReader(sec.Open(), maxAltlinkBytes))
	if err != nil {
		return "", "", false
	}
	i := bytes.IndexByte(data, 0)
	if i <= 0 || i+1 >= len(data) {
		return "", "", false
	}
	return string(data[:i]), hex.EncodeToString(data[i+1:]), true
}

// findAltFile opens the supplementary file that ef's .gnu_debugaltlink
// names: at its path (relative to dir, the directory of the file holding
// the link), or by its build ID under each debug root. The file must
// carry the build ID the link records.
func findAltFile(ef *elf.File, dir string, opts *Options) (*os.File, string) {
	name, id, ok := altlink(ef)
	if !ok {
		return nil, ""
	}
	var cands []string
	if filepath.IsAbs(name) {
		cands = append(cands, name)
	} else if dir != "" {
		cands = append(cands, filepath.Join(dir, name))
	}
	if len(id) >= 4 {
		for _, root := range opts.debugRoots() {
			cands = append(cands, filepath.Join(root, ".build-id", id[:2], id[2:]+".debug"))
		}
	}
	for _, p := range cands {
		f := openDebugCandidate(p, "")
		if f == nil {
			continue
		}
		if got, ok := elfBuildID(f); ok && got == id {
			return f, p
		}
		f.Close()
	}
	return nil, ""
}

// miniDebugInfo returns the symbols of the ELF file compressed in ef's
// .gnu_debugdata, or nil when it has none.
func miniDebugInfo(ef *elf.File) (*File, error) {
	sec := ef.Section(".gnu_debugdata")
	if sec == nil || sec.Type == elf.SHT_NOBITS || sec.Flags&elf.SHF_COMPRESSED != 0 {
		return nil, nil
	}
	if sec.FileSize > maxMiniDebugInput {
		return nil, &FormatError{Off: int64(sec.Offset), Msg: fmt.Sprintf(".gnu_debugdata: %d bytes, over the limit", sec.FileSize)}
	}
	comp, err := io.ReadAll(io.LimitReader(sec.Open(), maxMiniDebugInput))
	if err != nil {
		return nil, fmt.Errorf("read .gnu_debugdata: %w", err)
	}
	data, err := unxz(comp, maxMiniDebugOutput)
	if err != nil {
		return nil, fmt.Errorf(".gnu_debugdata: %w", err)
	}
	f, err := NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf(".gnu_debugdata: %w", err)
	}
	return f, nil
}

// xz container constants.
const (
	xzHeaderLen    = 12
	xzFilterLZMA2  = 0x21
	xzMaxDictBytes = 64 << 20
)

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0}

var errXZ = errors.New("unsupported or malformed xz data")

// unxz decompresses the first block of the xz stream in data, which must
// use the LZMA2 filter alone, as MiniDebugInfo does; at most limit bytes
// are produced. The dictionary is sized by the block's header but never
// beyond limit (a match cannot reach further back than the output
// produced), nor 64 MiB, so a hostile header cannot make the decoder
// allocate more.
// Block checks are not verified; the result is parsed as hostile ELF
// anyway.
func unxz(data []byte, limit int) ([]byte, error) {
	if len(data) < xzHeaderLen || !bytes.Equal(data[:6], xzMagic) {
		return nil, errXZ
	}
	if crc32.ChecksumIEEE(data[6:8]) != binary.LittleEndian.Uint32(data[8:12]) {
		return nil, fmt.Errorf("%w: stream header checksum", errXZ)
	}
	b := data[xzHeaderLen:]
	if len(b) == 0 || b[0] == 0 { // an index: no blocks
		return nil, errXZ
	}
	hlen := (int(b[0]) + 1) * 4
	if hlen > len(b) || crc32.ChecksumIEEE(b[:hlen-4]) != binary.LittleEndian.Uint32(b[hlen-4:hlen]) {
		return nil, fmt.Errorf("%w: block header", errXZ)
	}
	h := b[1 : hlen-4]
	flags := h[0]
	h = h[1:]
	if flags&0x3 != 0 || flags&0x3c != 0 { // one filter, reserved bits clear
		return nil, fmt.Errorf("%w: filter chain", errXZ)
	}
	var ok bool
	if flags&0x40 != 0 { // compressed size
		if _, h, ok = xzVarint(h); !ok {
			return nil, errXZ
		}
	}
	if flags&0x80 != 0 { // uncompressed size
		if _, h, ok = xzVarint(h); !ok {
			return nil, errXZ
		}
	}
	id, h, ok1 := xzVarint(h)
	psize, h, ok2 := xzVarint(h)
	if !ok1 || !ok2 || id != xzFilterLZMA2 || psize != 1 || len(h) < 1 {
		return nil, fmt.Errorf("%w: not LZMA2", errXZ)
	}
	dict, err := lzma.DecodeDictCap(h[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errXZ, err)
	}
	dict = min(dict, int64(limit), xzMaxDictBytes)
	rd, err := lzma.Reader2Config{DictCap: int(max(dict, 4096))}.NewReader2(bytes.NewReader(b[hlen:]))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errXZ, err)
	}
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(rd, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errXZ, err)
	}
	if n > int64(limit) {
		return nil, fmt.Errorf("%w: more than %d bytes", errXZ, limit)
	}
	return out.Bytes(), nil
}

// xzVarint decodes the xz multibyte integer at the start of b.
func xzVarint(b []byte) (uint64, []byte, bool) {
	var v uint64
	for i := 0; i < len(b) && i < 9; i++ {
		v |= uint64(b[i]&0x7f) << (7 * uint(i))
		if b[i]&0x80 == 0 {
			return v, b[i+1:], true
		}
	}
	return 0, nil, false
}
