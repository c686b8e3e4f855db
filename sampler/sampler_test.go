package sampler

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/pftop/pftop/bpf"
)

// The decoder reads struct trace by hand; its offsets must match the
// layout bpf2go generated from types.h.
func TestTraceLayout(t *testing.T) {
	var tr bpf.Trace
	for _, c := range []struct {
		name string
		got  int
		want uintptr
	}{
		{"ktime", offKtime, unsafe.Offsetof(tr.Ktime)},
		{"pid", offPID, unsafe.Offsetof(tr.Pid)},
		{"tid", offTID, unsafe.Offsetof(tr.Tid)},
		{"cpu", offCPU, unsafe.Offsetof(tr.Cpu)},
		{"status", offStatus, unsafe.Offsetof(tr.Status)},
		{"kstack_len", offKLen, unsafe.Offsetof(tr.KstackLen)},
		{"ustack_len", offULen, unsafe.Offsetof(tr.UstackLen)},
		{"comm", offComm, unsafe.Offsetof(tr.Comm)},
		{"ustack", offUstack, unsafe.Offsetof(tr.Ustack)},
		{"frame", frameSize, unsafe.Sizeof(bpf.Frame{})},
		{"event", eventSize, unsafe.Sizeof(bpf.Event{})},
	} {
		if uintptr(c.got) != c.want {
			t.Errorf("%s: decoder uses %d, layout has %d", c.name, c.got, c.want)
		}
	}
}

func TestDecodeTrace(t *testing.T) {
	b := make([]byte, offUstack+2*frameSize+8)
	le := binary.LittleEndian
	le.PutUint64(b[offKtime:], 123)
	le.PutUint32(b[offPID:], 42)
	le.PutUint32(b[offTID:], 43)
	le.PutUint32(b[offCPU:], 1)
	le.PutUint32(b[offStatus:], uint32(bpf.StatusReadFailed))
	le.PutUint32(b[offKLen:], 1)
	le.PutUint32(b[offULen:], 2)
	copy(b[offComm:], "worker\x00junk")
	le.PutUint64(b[offUstack:], 7)
	le.PutUint64(b[offUstack+8:], 0x1234)
	le.PutUint64(b[offUstack+2*frameSize:], 0xffffffff81000000) // packed behind the user frames
	var s Sample
	if err := decodeTrace(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Time != 123 || s.PID != 42 || s.TID != 43 || s.CPU != 1 || s.Status != bpf.StatusReadFailed || s.Comm != "worker" {
		t.Errorf("header %+v", s)
	}
	if len(s.Kernel) != 1 || s.Kernel[0] != 0xffffffff81000000 {
		t.Errorf("kernel %x", s.Kernel)
	}
	if len(s.User) != 2 || s.User[0].FileId != 7 || s.User[0].Addr != 0x1234 {
		t.Errorf("user %+v", s.User)
	}
	if err := decodeTrace(b[:10], &s); err == nil {
		t.Error("short record decoded")
	}
	// Counts larger than the record are clamped to what it holds.
	le.PutUint32(b[offULen:], 5)
	le.PutUint32(b[offKLen:], 9)
	if err := decodeTrace(b, &s); err != nil || len(s.User) != 2 || len(s.Kernel) != 1 {
		t.Errorf("clamping: %v, %d user, %d kernel", err, len(s.User), len(s.Kernel))
	}
}

func FuzzDecodeTrace(f *testing.F) {
	f.Add(make([]byte, offUstack+frameSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Sample
		if decodeTrace(b, &s) == nil && (len(s.User) > bpf.MaxUserFrames || len(s.Kernel) > bpf.MaxKernelFrames) {
			t.Fatal("frame counts not clamped")
		}
	})
}

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string]int{"0": 1, "0-3": 4, "0-1,4,6-7": 5} {
		got, err := ParseCPUList(in)
		if err != nil || len(got) != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "x", "3-1", "0-999999"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
