package python

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// 3.13 publishes _Py_DebugOffsets at the start of _PyRuntime so that
// out-of-process tools need no table. Its layout is fixed per minor
// version; these are the positions in 3.13 (checked against DWARF by
// TestDebugOffsetsMatchDWARF). Each group starts with the size of the
// structure it describes.
const (
	dbgCookie            = 0
	dbgVersion           = 8
	dbgFreeThreaded      = 16
	dbgRuntimeInterpHead = 40
	dbgInterpSize        = 48
	dbgInterpThreadsHead = 72
	dbgTstateSize        = 152
	dbgTstateNext        = 168
	dbgTstateFrame       = 184
	dbgTstateThreadID    = 192
	dbgFrameSize         = 224
	dbgFramePrevious     = 232
	dbgFrameExecutable   = 240
	dbgFrameInstrPtr     = 248
	dbgFrameOwner        = 264
	dbgCodeSize          = 272
	dbgCodeFilename      = 280
	dbgCodeName          = 288
	dbgCodeQualname      = 296
	dbgCodeLinetable     = 304
	dbgCodeFirstLineNo   = 312
	dbgCodeAdaptive      = 344
	dbgBytesSval         = 528
	dbgUnicodeState      = 544
	dbgUnicodeASCIISize  = 560
	dbgSize313           = 584
)

var debugCookie = []byte("xdebugpy")

// parseDebugOffsets turns the 3.13 _Py_DebugOffsets bytes into a layout for
// version v. Every member offset must lie inside the structure size the
// same record gives: a record whose positions moved fails that test.
func parseDebugOffsets(b []byte, v Version) (layout, error) {
	var l layout
	if len(b) < dbgSize313 {
		return l, fmt.Errorf("debug offsets: %d bytes: %w", len(b), errBadObject)
	}
	if !bytes.Equal(b[dbgCookie:dbgCookie+8], debugCookie) {
		return l, fmt.Errorf("debug offsets: no %q cookie: %w", debugCookie, errBadObject)
	}
	hex := binary.LittleEndian.Uint64(b[dbgVersion:])
	if int(hex>>24) != v.Major || int(hex>>16&0xff) != v.Minor {
		return l, fmt.Errorf("debug offsets are for version %#x, file is %v: %w", hex, v, errBadObject)
	}
	if binary.LittleEndian.Uint64(b[dbgFreeThreaded:]) != 0 {
		return l, fmt.Errorf("free-threaded CPython %v is not supported", v)
	}
	var bad error
	get := func(sizeAt, at int) uint32 {
		val := binary.LittleEndian.Uint64(b[at:])
		if sizeAt >= 0 {
			if size := binary.LittleEndian.Uint64(b[sizeAt:]); val >= size || size > 1<<20 {
				bad = fmt.Errorf("debug offsets: member at %d is %d, beyond its structure's size %d: %w", at, val, size, errBadObject)
			}
		}
		if val > 1<<20 {
			bad = fmt.Errorf("debug offsets: member at %d is %d: %w", at, val, errBadObject)
		}
		return uint32(val)
	}
	l.RuntimeInterpHead = get(-1, dbgRuntimeInterpHead)
	l.InterpThreadsHead = get(dbgInterpSize, dbgInterpThreadsHead)
	l.TstateNext = get(dbgTstateSize, dbgTstateNext)
	l.TstateFrame = get(dbgTstateSize, dbgTstateFrame)
	l.TstateThreadID = get(dbgTstateSize, dbgTstateThreadID)
	l.FrameBack = get(dbgFrameSize, dbgFramePrevious)
	l.FrameCode = get(dbgFrameSize, dbgFrameExecutable)
	l.FrameLasti = get(dbgFrameSize, dbgFrameInstrPtr)
	l.FrameOwner = get(dbgFrameSize, dbgFrameOwner)
	l.CodeFilename = get(dbgCodeSize, dbgCodeFilename)
	l.CodeName = get(dbgCodeSize, dbgCodeName)
	l.CodeQualname = get(dbgCodeSize, dbgCodeQualname)
	l.CodeLineTable = get(dbgCodeSize, dbgCodeLinetable)
	l.CodeFirstLineNo = get(dbgCodeSize, dbgCodeFirstLineNo)
	l.CodeAdaptive = get(-1, dbgCodeAdaptive)
	l.BytesData = get(-1, dbgBytesSval)
	l.UnicodeState = get(-1, dbgUnicodeState)
	l.ASCIISize = get(-1, dbgUnicodeASCIISize)
	// Not published: PyCompactUnicodeObject adds utf8_length and utf8 to
	// PyASCIIObject (3.12+).
	l.CompactSize = l.ASCIISize + 16
	return l, bad
}
