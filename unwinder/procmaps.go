package unwinder

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// Mapping is one line of /proc/PID/maps.
type Mapping struct {
	Start, End uint64
	Perms      string // "r-xp"
	Offset     uint64
	Dev        string // "fd:01"
	Inode      uint64
	Path       string // "" for anonymous memory, "[vdso]" etc. for specials
}

// Executable reports whether the mapping holds code.
func (m *Mapping) Executable() bool { return len(m.Perms) >= 3 && m.Perms[2] == 'x' }

// FileBacked reports whether the mapping maps a file (not anonymous memory
// or a kernel special such as [vdso]).
func (m *Mapping) FileBacked() bool {
	return m.Inode != 0 && len(m.Path) > 0 && m.Path[0] == '/'
}

// maxMapsLine bounds one line; paths are at most PATH_MAX plus " (deleted)".
const maxMapsLine = 8192

// ParseMaps parses the text of /proc/PID/maps. Lines that do not parse
// are an error: the file is produced by the kernel, so a bad line means we
// are reading something else.
func ParseMaps(r io.Reader) ([]Mapping, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxMapsLine)
	var out []Mapping
	for n := 1; sc.Scan(); n++ {
		m, err := parseMapsLine(sc.Bytes())
		if err != nil {
			return out, fmt.Errorf("maps line %d: %w", n, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read maps: %w", err)
	}
	return out, nil
}

func parseMapsLine(line []byte) (Mapping, error) {
	var m Mapping
	field := func() []byte {
		line = bytes.TrimLeft(line, " ")
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			f := line
			line = nil
			return f
		}
		f := line[:i]
		line = line[i+1:]
		return f
	}
	rng := field()
	lo, hi, ok := bytes.Cut(rng, []byte{'-'})
	if !ok {
		return m, fmt.Errorf("bad range %q", rng)
	}
	var err error
	if m.Start, err = strconv.ParseUint(string(lo), 16, 64); err != nil {
		return m, fmt.Errorf("bad start %q", lo)
	}
	if m.End, err = strconv.ParseUint(string(hi), 16, 64); err != nil || m.End < m.Start {
		return m, fmt.Errorf("bad end %q", hi)
	}
	m.Perms = string(field())
	if len(m.Perms) != 4 {
		return m, fmt.Errorf("bad perms %q", m.Perms)
	}
	off := field()
	if m.Offset, err = strconv.ParseUint(string(off), 16, 64); err != nil {
		return m, fmt.Errorf("bad offset %q", off)
	}
	m.Dev = string(field())
	ino := field()
	if m.Inode, err = strconv.ParseUint(string(ino), 10, 64); err != nil {
		return m, fmt.Errorf("bad inode %q", ino)
	}
	m.Path = string(bytes.TrimLeft(line, " "))
	return m, nil
}
