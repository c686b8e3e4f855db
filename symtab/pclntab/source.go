package pclntab

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// source is a bounded region of input: in memory, or read on demand.
type source struct {
	mem  []byte      // the whole region, when held in memory
	r    io.ReaderAt // otherwise
	size uint64
}

func memSource(b []byte) source { return source{mem: b, size: uint64(len(b))} }

// at returns the bytes of [off, min(off+n, lim)), lim being at most the
// region's size. buf is scratch space for regions read on demand and must
// hold n bytes. The result is shorter than asked only at lim or when the
// input ends early; it is nil past lim.
func (s *source) at(off, n, lim uint64, buf []byte) []byte {
	lim = min(lim, s.size)
	if off >= lim {
		return nil
	}
	n = min(n, lim-off)
	if s.mem != nil {
		return s.mem[off : off+n]
	}
	got, _ := s.r.ReadAt(buf[:n], int64(off))
	return buf[:got]
}

// readFull reads exactly len(p) bytes at off within lim.
func (s *source) readFull(p []byte, off, lim uint64) bool {
	b := s.at(off, uint64(len(p)), lim, p)
	if len(b) != len(p) {
		return false
	}
	if s.mem != nil {
		copy(p, b)
	}
	return true
}

// readAll reads n bytes at off from r in chunks, so that a size taken from
// a header costs no more memory than the data really present.
func readAll(r io.ReaderAt, off int64, n uint64) ([]byte, error) {
	const chunk = 1 << 20
	var buf []byte
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

func (c *pageCache) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n := 0
	c.mu.Lock()
	defer c.mu.Unlock()
	for n < len(p) {
		if off >= c.size {
			return n, io.EOF
		}
		pg, err := c.page(off / c.pageSize)
		if err != nil {
			return n, err
		}
		in := off - pg.n*c.pageSize
		if in >= int64(len(pg.data)) {
			return n, io.EOF
		}
		k := copy(p[n:], pg.data[in:])
		n += k
		off += int64(k)
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
	var pg *page
	if c.lru.Len() >= c.maxPages {
		e := c.lru.Back()
		pg = e.Value.(*page)
		c.lru.Remove(e)
		delete(c.pages, pg.n)
		pg.data = pg.data[:0]
	} else {
		pg = &page{data: make([]byte, 0, c.pageSize)}
	}
	buf := pg.data[:n]
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
