package unwinder

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/pftop/pftop/bpf"
)

// FileID identifies an executable by content: SHA-256 over its first 4 KiB,
// its last 4 KiB and its length as a big-endian uint64, truncated to 128
// bits. Equal files in different containers or paths share one ID, and so
// one unwind table.
type FileID [16]byte

// Short is the ID's first 64 bits, the key the BPF maps use.
//
// Frames of interpreters carry bpf.InterpreterFrameTag in their top byte:
// a native ID with that top byte has it changed, so the two never meet.
func (id FileID) Short() uint64 {
	s := binary.BigEndian.Uint64(id[:8])
	if s>>56 == bpf.InterpreterFrameTag {
		s ^= 1 << 56
	}
	return s
}

// String prints the ID in hex.
func (id FileID) String() string { return fmt.Sprintf("%x", id[:]) }

const fileIDChunk = 4096

// ComputeFileID hashes r, whose length is size.
func ComputeFileID(r io.ReaderAt, size int64) (FileID, error) {
	var id FileID
	if size < 0 {
		return id, fmt.Errorf("file id: negative size %d", size)
	}
	h := sha256.New()
	buf := make([]byte, fileIDChunk)
	head := min(size, fileIDChunk)
	if err := readFull(r, buf[:head], 0); err != nil {
		return id, fmt.Errorf("file id: read head: %w", err)
	}
	h.Write(buf[:head])
	tailOff := max(size-fileIDChunk, 0)
	tail := size - tailOff
	if err := readFull(r, buf[:tail], tailOff); err != nil {
		return id, fmt.Errorf("file id: read tail: %w", err)
	}
	h.Write(buf[:tail])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(size))
	h.Write(n[:])
	copy(id[:], h.Sum(nil))
	return id, nil
}

// readFull reads exactly len(b) bytes at off: a file that is shorter than
// its stat said (truncated meanwhile) is an error, not a silent short hash.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
