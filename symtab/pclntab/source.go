package pclntab

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// source is a bounded region of input: in memory, in a page cache, or
// behind any io.ReaderAt. Offsets are relative to base in the underlying
// data.
type source struct {
	mem  []byte      // the region, when held in memory
	pc   *pageCache  // otherwise its pages, or
	r    io.ReaderAt // a reader
	base uint64
	size uint64
}

func memSource(b []byte) source { return source{mem: b, size: uint64(len(b))} }

// sub returns the part of s from off on.
func (s source) sub(off uint64) source {
	off = min(off, s.size)
	if s.mem != nil {
		return memSource(s.mem[off:])
	}
	s.base += off
	s.size -= off
	return s
}

// at returns the bytes of [off, min(off+n, lim)), lim being at most the
// region's size. It is shorter than asked only at lim or where the input
// ends early, and nil past lim. The result must not be modified; it does
// not alias memory the caller owns, so callers' buffers never escape.
func (s *source) at(off, n, lim uint64) []byte {
	lim = min(lim, s.size)
	if off >= lim {
		return nil
	}
	n = min(n, lim-off)
	switch {
	case s.mem != nil:
		return s.mem[off : off+n]
	case s.pc != nil:
		return s.pc.view(int64(s.base+off), int(n))
	}
	buf := make([]byte, n)
	got, _ := s.r.ReadAt(buf, int64(s.base+off))
	return buf[:got]
}

// readFull reads exactly len(p) bytes at off within lim.
func (s *source) readFull(p []byte, off, lim uint64) bool {
	return copy(p, s.at(off, uint64(len(p)), lim)) == len(p)
}

// ReadAt lets a source stand in for an io.ReaderAt.
func (s *source) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n := copy(p, s.at(uint64(off), uint64(len(p)), s.size))
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readAll reads n bytes at off from r in chunks, so that a size taken from
// a header costs no more memory than the data really present.
func readAll(r io.ReaderAt, off int64, n uint64) ([]byte, error) {
	const chunk = 1 << 20
	var buf []byte
	if n > chunk {
		// When the last byte is there, so is the rest: size the buffer
		// once.
		var last [1]byte
		if got, _ := r.ReadAt(last[:], off+int64(n)-1); got == 1 {
			buf = make([]byte, 0, n)
		}
	}
	for uint64(len(buf)) < n {
		k := int(min(n-uint64(len(buf)), chunk))
		buf = slices.Grow(buf, k)
		got, err := r.ReadAt(buf[len(buf):len(buf)+k], off+int64(len(buf)))
		buf = buf[:len(buf)+got]
		if got < k {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("read %d bytes at %#x: %w", n, off, err)
		}
	}
	return buf, nil
}

// pageCache is an io.ReaderAt that keeps the most recently used pages of
// r, up to a fixed number of bytes. It is safe for concurrent use.
type pageCache struct {
	r        io.ReaderAt
	size     int64
	pageSize int64
	maxPages int

	mu    sync.Mutex
	pages map[int64]*list.Element // page number -> element holding *page
	lru   list.List               // front = most recent
}

type page struct {
	n    int64
	data []byte
}

// newPageCache caches r, whose data ends at size, in pages of pageSize
// bytes, at most maxBytes in all (at least one page).
func newPageCache(r io.ReaderAt, size, pageSize int64, maxBytes int64) *pageCache {
	return &pageCache{
		r: r, size: size, pageSize: pageSize,
		maxPages: int(max(1, maxBytes/pageSize)),
		pages:    map[int64]*list.Element{},
	}
}

// view returns up to n bytes at off: a slice of a cached page when they
// lie in one (pages are never reused, so it stays valid), else a copy.
// It is shorter than n only where the data ends or cannot be read.
func (c *pageCache) view(off int64, n int) []byte {
	if off < 0 || n <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []byte
	for len(out) < n && off < c.size {
		pg, err := c.page(off / c.pageSize)
		if err != nil {
			break
		}
		in := off - pg.n*c.pageSize
		if in >= int64(len(pg.data)) {
			break
		}
		b := pg.data[in:min(int64(len(pg.data)), in+int64(n-len(out)))]
		if out == nil && len(b) == n {
			return b
		}
		out = append(out, b...)
		off += int64(len(b))
	}
	return out
}

func (c *pageCache) ReadAt(p []byte, off int64) (int, error) {
	n := copy(p, c.view(off, len(p)))
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// page returns page number pn, reading it on a miss. c.mu is held.
func (c *pageCache) page(pn int64) (*page, error) {
	if e, ok := c.pages[pn]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*page), nil
	}
	start := pn * c.pageSize
	n := min(c.pageSize, c.size-start)
	if c.lru.Len() >= c.maxPages {
		e := c.lru.Back()
		c.lru.Remove(e)
		delete(c.pages, e.Value.(*page).n)
	}
	// A new buffer, not the evicted page's: views of it may be in use.
	pg := &page{}
	buf := make([]byte, n)
	got, err := c.r.ReadAt(buf, start)
	if got < int(n) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		if !errors.Is(err, io.EOF) || got == 0 {
			return nil, err
		}
	}
	pg.n, pg.data = pn, buf[:got]
	c.pages[pn] = c.lru.PushFront(pg)
	return pg, nil
}
